"""Reconnecting, per language, on real servers: a server restarted on the
same port, a cluster node killed, a frozen server, a full reconnect buffer,
a drain caught by an outage, a lame duck, a pool that runs out."""
import time

import pytest

from harness import DriverError

FAST = dict(reconnect_time_wait=0.1, reconnect_jitter=0.01,
            max_reconnect_attempts=-1)


def expect_event(driver, nc, kind, timeout=10.0):
    ev = driver.next_event(nc, timeout=timeout)
    assert ev["kind"] == kind, ev
    return ev


def publish_numbered(driver, nc, subject, first, count):
    for i in range(first, first + count):
        driver.publish(nc, subject, str(i).encode())


def take_numbered(driver, sub, first, count):
    for i in range(first, first + count):
        assert driver.next_msg(sub, timeout=5).data == str(i).encode()


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def test_restart_same_port_five_times(driver, nats_server):
    nc = driver.connect(nats_server.url, **FAST)
    sub = driver.subscribe(nc, "restart.n")
    n = 0
    for _ in range(5):
        publish_numbered(driver, nc, "restart.n", n, 20)
        driver.flush(nc)
        take_numbered(driver, sub, n, 20)
        n += 20
        nats_server.stop()
        ev = expect_event(driver, nc, "DISCONNECTED")
        assert ev["code"] == "IO"
        assert driver.status(nc) == "RECONNECTING"
        # Buffered during the outage, written after the SUB is back.
        publish_numbered(driver, nc, "restart.n", n, 10)
        nats_server.start()
        expect_event(driver, nc, "RECONNECTED")
        assert driver.status(nc) == "CONNECTED"
        take_numbered(driver, sub, n, 10)
        n += 10
    stats = driver.stats(nc)
    assert stats["reconnects"] == 5
    assert stats["out_msgs"] == n
    assert stats["in_msgs"] == n
    with pytest.raises(DriverError) as e:
        driver.next_msg(sub, timeout=0.1)
    assert e.value.code == "TIMEOUT"


def test_cluster_failover(drivers, lang, server_factory):
    nodes = server_factory.start_cluster(3)
    d = drivers.start(lang)
    nc = d.connect(nodes[0].url, reconnect_time_wait=1.0)
    # Given one URL, the client learned the other nodes from INFO.
    pool = d.servers(nc)
    for node in nodes[1:]:
        assert any(port_of(u) == node.port for u in pool["discovered"]), pool
    assert nodes[0].url in pool["servers"]
    sub = d.subscribe(nc, "cluster.n")
    d.flush(nc)
    assert port_of(d.server_info(nc)["connected_url"]) == nodes[0].port

    killed = time.monotonic()
    nodes[0].stop()
    expect_event(d, nc, "DISCONNECTED")
    expect_event(d, nc, "RECONNECTED", timeout=5)
    assert time.monotonic() - killed <= 1.0 + 1.0
    now_on = port_of(d.server_info(nc)["connected_url"])
    assert now_on in (nodes[1].port, nodes[2].port)

    # A publisher on the other node reaches the moved subscription once its
    # interest crossed the route.
    other = nodes[2] if now_on == nodes[1].port else nodes[1]
    pd = drivers.start(lang, label=f"{lang}-pub")
    pc = pd.connect(other.url)
    for _ in range(100):
        pd.publish(pc, "cluster.n", b"x")
        pd.flush(pc)
        try:
            assert d.next_msg(sub, timeout=0.1).data == b"x"
            break
        except DriverError as e:
            assert e.code == "TIMEOUT"
    else:
        pytest.fail("no message after the failover")


def test_frozen_server_stale_then_recovered(driver, nats_server):
    interval, max_out = 0.2, 2
    nc = driver.connect(nats_server.url, ping_interval=interval,
                        max_outstanding_pings=max_out, connect_timeout=0.5,
                        **FAST)
    sub = driver.subscribe(nc, "frozen.n")
    driver.flush(nc)
    frozen = time.monotonic()
    nats_server.pause()
    try:
        ev = expect_event(driver, nc, "DISCONNECTED", timeout=5)
        found_after = time.monotonic() - frozen
        assert "stale" in ev["text"]
        # Within ping_interval x (max_outstanding_pings + 1), plus 0.2 s
        # for a busy machine's timers and the driver's round trip.
        assert found_after <= interval * (max_out + 1) + 0.2
        driver.publish(nc, "frozen.n", b"buffered")
        time.sleep(0.7)  # attempts against the frozen server time out
    finally:
        nats_server.resume()
    expect_event(driver, nc, "RECONNECTED")
    assert driver.next_msg(sub, timeout=5).data == b"buffered"


def test_reconnect_buffer_overflow(driver, nats_server):
    nc = driver.connect(nats_server.url, reconnect_buf_size=4096, **FAST)
    sub = driver.subscribe(nc, "overflow.n")
    driver.flush(nc)
    nats_server.stop()
    expect_event(driver, nc, "DISCONNECTED")
    buffered = 0
    with pytest.raises(DriverError) as e:
        for _ in range(100):
            driver.publish(nc, "overflow.n", b"x" * 100)
            buffered += 1
    assert e.value.code == "NOT_CONNECTED"
    assert "reconnect_buf_size" in e.value.message
    assert 10 < buffered < 41
    nats_server.start()
    expect_event(driver, nc, "RECONNECTED")
    for _ in range(buffered):
        assert driver.next_msg(sub, timeout=5).data == b"x" * 100
    with pytest.raises(DriverError) as e:
        driver.next_msg(sub, timeout=0.1)
    assert e.value.code == "TIMEOUT"


def test_drain_during_reconnect_times_out(driver, nats_server):
    nc = driver.connect(nats_server.url, **FAST)
    nats_server.stop()
    expect_event(driver, nc, "DISCONNECTED")
    with pytest.raises(DriverError) as e:
        driver.drain(nc, timeout=0.3)
    assert e.value.code == "TIMEOUT"
    assert driver.status(nc) == "CLOSED"


def test_discovered_servers_event(driver, server_factory):
    nodes = server_factory.start_cluster(2)
    nc = driver.connect(nodes[0].url)
    # Known at connect: taken in silently.
    with pytest.raises(DriverError) as e:
        driver.next_event(nc, timeout=0)
    assert e.value.code == "TIMEOUT"
    new = server_factory.grow_cluster(nodes)
    expect_event(driver, nc, "DISCOVERED_SERVERS")
    assert any(port_of(u) == new.port
               for u in driver.servers(nc)["discovered"])


def test_lame_duck_moves_the_client(driver, server_factory):
    nodes = server_factory.start_cluster(2)
    nc = driver.connect(nodes[0].url, no_randomize=True)
    sub = driver.subscribe(nc, "ldm.n")
    driver.flush(nc)
    nodes[0].lame_duck()
    expect_event(driver, nc, "LAME_DUCK")
    ev = expect_event(driver, nc, "DISCONNECTED")
    assert ev["code"] == "OK"
    expect_event(driver, nc, "RECONNECTED")
    assert port_of(driver.server_info(nc)["connected_url"]) == nodes[1].port
    assert nodes[0].running  # moved before the lame duck went away
    driver.publish(nc, "ldm.n", b"still here")
    assert driver.next_msg(sub, timeout=5).data == b"still here"


def test_attempts_exhausted_closes(driver, nats_server):
    nc = driver.connect(nats_server.url, reconnect_time_wait=0.05,
                        max_reconnect_attempts=2)
    nats_server.stop()
    expect_event(driver, nc, "DISCONNECTED")
    ev = expect_event(driver, nc, "CLOSED")
    assert ev["code"] == "CONNECT"
    with pytest.raises(DriverError) as e:
        driver.publish(nc, "gone", b"x")
    assert e.value.code == "CONNECTION_CLOSED"


def test_reconnect_options_checked(driver, nats_server):
    with pytest.raises(DriverError) as e:
        driver.connect(nats_server.url, reconnect_time_wait=-1)
    assert e.value.code == "INVALID_ARG"


def test_request_in_flight_fails_cleanly(driver, nats_server):
    nc = driver.connect(nats_server.url, **FAST)
    # Someone listens (so no "no responders") but never answers.
    driver.subscribe(nc, "svc.silent")
    driver.flush(nc)
    pending = driver.request_async(nc, "svc.silent", b"q", timeout=10)
    time.sleep(0.3)  # the driver is inside its request: let it go out
    nats_server.stop()
    started = time.monotonic()
    with pytest.raises(DriverError) as e:
        pending.msg()
    assert e.value.code == "NOT_CONNECTED"
    assert time.monotonic() - started < 5  # not the request's timeout


def test_retry_on_failed_connect(driver, nats_server):
    nats_server.stop()
    with pytest.raises(DriverError) as e:
        driver.connect(nats_server.url, **FAST)
    assert e.value.code == "CONNECT"
    nc = driver.connect(nats_server.url, retry_on_failed_connect=True,
                        **FAST)
    assert driver.status(nc) == "RECONNECTING"
    sub = driver.subscribe(nc, "late.n")
    driver.publish(nc, "late.n", b"early bird")
    nats_server.start()
    expect_event(driver, nc, "RECONNECTED")
    assert driver.next_msg(sub, timeout=5).data == b"early bird"
    assert driver.stats(nc)["reconnects"] == 0
