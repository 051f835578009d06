"""Connections, per language: server info, options, flush and RTT,
counters, server lists."""
import pytest

from harness import DriverError


def test_connect_info(driver, nats_server):
    nc = driver.connect(nats_server.url)
    assert driver.status(nc) == "CONNECTED"
    r = driver.server_info(nc)
    info = r["info"]
    # The server JW_NATS_SERVER names (2.9.10 or 2.15.3 in `make test`).
    assert info["version"] == nats_server.version
    assert info["port"] == nats_server.port
    assert info["headers"] is True
    assert info["jetstream"] is True
    assert r["max_payload"] == info["max_payload"] > 0
    assert r["connected_url"].endswith(f":{nats_server.port}")
    assert driver.version()["version"]


def test_connect_names_language(driver, lang, server_factory):
    """CONNECT says which language the client is (the server's /connz
    shows it), and the version of what speaks for it."""
    import json
    import urllib.request

    from harness.server import free_port
    port = free_port()
    server = server_factory.start(extra_args=["-m", str(port)])
    driver.connect(server.url, name="who-am-i")
    with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/connz", timeout=5) as r:
        conns = json.load(r)["connections"]
    (mine,) = [c for c in conns if c.get("name") == "who-am-i"]
    assert mine["lang"] == lang
    assert mine["version"] == driver.version()["version"]


def test_connect_server_list(driver, server_factory, nats_server):
    dead = server_factory.start()
    dead_url = dead.url
    dead.stop()
    nc = driver.connect(f"{dead_url},{nats_server.url}")
    assert driver.status(nc) == "CONNECTED"
    assert driver.server_info(nc)["connected_url"].endswith(
        f":{nats_server.port}")


def test_connect_options(driver, nats_server):
    nc = driver.connect(nats_server.url, name="conformance-client",
                        no_echo=True, ping_interval=30.0,
                        max_outstanding_pings=3, connect_timeout=2.5,
                        drain_timeout=10.0, verbose=False, pedantic=False)
    other = driver.connect(nats_server.url, name="other")
    mine = driver.subscribe(nc, "echo.x")
    theirs = driver.subscribe(other, "echo.x")
    driver.flush(nc)
    driver.flush(other)
    # no_echo: the connection does not receive its own publishes...
    driver.publish(nc, "echo.x", b"own")
    driver.flush(nc)
    assert driver.next_msg(theirs).data == b"own"
    with pytest.raises(DriverError) as e:
        driver.next_msg(mine, timeout=0.3)
    assert e.value.code == "TIMEOUT"
    # ...but does receive everyone else's.
    driver.publish(other, "echo.x", b"theirs")
    assert driver.next_msg(mine).data == b"theirs"

    # Option errors are INVALID_ARG.
    for bad in ({"no_such_option": 1}, {"no_echo": "yes"},
                {"ping_interval": "often"}, {"name": 5}):
        with pytest.raises(DriverError) as e:
            driver.call("connect", url=nats_server.url, options=bad)
        assert e.value.code == "INVALID_ARG", bad


def test_flush_rtt(driver, nats_server):
    nc = driver.connect(nats_server.url)
    driver.flush(nc, timeout=5)
    driver.flush(nc, timeout=-1)
    rtt = driver.rtt(nc)
    assert 0 < rtt < 1.0


def test_stats_counters(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    sub = driver.subscribe(sc, "stats.x")
    driver.flush(sc)
    before = driver.stats(pc)
    for payload in (b"abc", b"", b"0123456789"):
        driver.publish(pc, "stats.x", payload)
    driver.flush(pc)
    assert driver.receive_count(sub, 3, timeout=5)["received"] == 3
    after = driver.stats(pc)
    assert after["out_msgs"] - before["out_msgs"] == 3
    assert after["out_bytes"] - before["out_bytes"] >= 13
    s = driver.stats(sc)
    assert s["in_msgs"] == 3
    assert s["in_bytes"] >= 13
    assert s["reconnects"] == 0
