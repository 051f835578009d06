"""Keep-alive both ways, per language: the client answers the server's
PINGs, and a server that stops answering is declared stale."""
import time

import pytest

from harness import DriverError


def test_server_pings_answered(driver, server_factory, tmp_path):
    # A server that PINGs every 100 ms and drops a client after 2 missed
    # PONGs: still connected after 8 of its PINGs means we answered (one
    # that does not is dropped at the third, 0.3 s in).
    conf = tmp_path / "ping.conf"
    conf.write_text('ping_interval: "100ms"\nping_max: 2\n')
    server = server_factory.start(["-c", str(conf)])
    nc = driver.connect(server.url, ping_interval=60.0)
    time.sleep(0.8)
    assert driver.status(nc) == "CONNECTED"
    driver.flush(nc)
    with pytest.raises(DriverError) as e:
        driver.next_event(nc, timeout=0)
    assert e.value.code == "TIMEOUT"


def test_stale_connection_detected(driver, nats_server):
    nc = driver.connect(nats_server.url, ping_interval=0.1,
                        max_outstanding_pings=2, allow_reconnect=False)
    # A frozen server keeps the TCP connection open but answers nothing:
    # only the unanswered PINGs can tell.
    nats_server.pause()
    try:
        ev = driver.next_event(nc, timeout=5)
    finally:
        nats_server.resume()
    assert (ev["kind"], ev["code"]) == ("DISCONNECTED", "IO")
    assert driver.next_event(nc, timeout=5)["kind"] == "CLOSED"
    assert driver.status(nc) == "CLOSED"
    with pytest.raises(DriverError) as e:
        driver.publish(nc, "after.stale", b"x")
    assert e.value.code == "CONNECTION_CLOSED"
