"""The harness itself: servers start, stop and restart on the same port;
the server is the one JW_NATS_SERVER names, at the version the harness
reports; every driver reports its language and the engine version."""
import socket

import pytest

from harness import DriverError, nats_server_binary, parse_version


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


@pytest.mark.server_independent
def test_harness_driver_version(driver):
    v = driver.version()
    assert v["lang"] == driver.lang
    assert v["version"].count(".") == 2


def test_harness_server_selection_and_version(nats_server, server_version,
                                              monkeypatch):
    """JW_NATS_SERVER picks the server (NATS_SERVER, its older name, is
    still read, after it); the version the harness reports is the one the
    running server announces."""
    assert f'"version":"{nats_server.version}"' in nats_server.info_line()
    assert server_version >= (2, 9, 10)
    assert parse_version("2.10.0") > parse_version("2.9.10")
    assert parse_version("v2.15") == (2, 15, 0)
    monkeypatch.setenv("JW_NATS_SERVER", "/opt/a/nats-server")
    monkeypatch.setenv("NATS_SERVER", "/opt/b/nats-server")
    assert nats_server_binary() == "/opt/a/nats-server"
    monkeypatch.delenv("JW_NATS_SERVER")
    assert nats_server_binary() == "/opt/b/nats-server"
