"""The harness itself: servers start, stop and restart on the same port;
every driver reports its language and the engine version."""
import socket

import pytest

from harness import DriverError


def test_harness_server_restart(driver, server_factory):
    server = server_factory.start()
    port, url = server.port, server.url
    nc = driver.connect(url)
    assert driver.server_info(nc)["info"]["port"] == port
    driver.free(nc)

    server.stop()
    assert not server.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(DriverError) as e:
        driver.connect(url, connect_timeout=1.0)
    assert e.value.code == "CONNECT"

    server.restart()
    assert (server.port, server.url) == (port, url)
    nc = driver.connect(url)
    assert driver.status(nc) == "CONNECTED"
    assert (server.store_dir / "jetstream").is_dir()


def test_harness_two_servers(driver, server_factory, nats_server):
    other = server_factory.start()
    assert other.port != nats_server.port
    a = driver.connect(nats_server.url)
    b = driver.connect(other.url)
    # Separate servers: no traffic crosses.
    sub = driver.subscribe(b, "iso.x")
    driver.flush(b)
    driver.publish(a, "iso.x", b"nope")
    driver.flush(a)
    with pytest.raises(DriverError) as e:
        driver.next_msg(sub, timeout=0.2)
    assert e.value.code == "TIMEOUT"


def test_harness_driver_version(driver):
    v = driver.version()
    assert v["lang"] == driver.lang
    assert v["version"].count(".") == 2
