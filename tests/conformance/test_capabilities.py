"""Capabilities (issue 17, point 2; ADR-44): the engine judges a feature
by the server version and by the JetStream API level of the servers that
answer the API, learned once per context, and the API requests that use a
feature of a level carry Nats-Required-Api-Level.

The case a version alone gets wrong is real and common: a client on a
current leaf node (nats-server 2.15.3, no JetStream of its own) using the
JetStream domain of an older hub (Debian's 2.9.10). The connected server's
version says 2.15.3; the hub would ignore allow_msg_ttl without a word and
keep the messages forever. Both binaries are needed: `make test` builds
the current one (scripts/servers.sh) next to Debian's."""
import time
from pathlib import Path

import pytest

from harness import DriverError, available_languages
from harness.drivers import REPO
from harness.server import (NatsServer, free_port, nats_server_version,
                            parse_version)

CURRENT = REPO / ".tools" / "bin" / "nats-server"
OLDEST = Path("/usr/sbin/nats-server")


@pytest.fixture
def leaf_on_old_hub(tmp_path):
    """A 2.9.10 hub with JetStream in domain "hub", and a current leaf
    node without JetStream connected to it; the leaf's URL."""
    for binary in (CURRENT, OLDEST):
        assert binary.exists(), (
            f"{binary} is missing: scripts/setup.sh and scripts/servers.sh "
            "install both servers")
    leaf_port = free_port()
    hub_dir = tmp_path / "hub"
    hub_dir.mkdir()
    (hub_dir / "hub.conf").write_text(
        f'jetstream {{ store_dir: "{hub_dir / "js"}", domain: hub }}\n'
        f"leafnodes {{ listen: 127.0.0.1:{leaf_port} }}\n")
    hub = NatsServer(hub_dir, jetstream=False, binary=str(OLDEST),
                     extra_args=["-c", str(hub_dir / "hub.conf")]).start()
    leaf_dir = tmp_path / "leaf"
    leaf_dir.mkdir()
    (leaf_dir / "leaf.conf").write_text(
        "leafnodes { remotes [ { url: "
        f'"nats-leaf://127.0.0.1:{leaf_port}" }} ] }}\n')
    leaf = NatsServer(leaf_dir, jetstream=False, binary=str(CURRENT),
                      extra_args=["-c", str(leaf_dir / "leaf.conf")]).start()
    try:
        yield leaf
    finally:
        leaf.stop()
        hub.stop()


def has_stream(d, js, name, wait=10.0):
    """Whether the hub has stream `name`, waiting (up to wait seconds) for
    the leaf connection to carry the hub's JetStream API at all."""
    deadline = time.monotonic() + wait
    while True:
        try:
            d.stream_info(js, name)
            return True
        except DriverError as e:
            if e.code == "STREAM_NOT_FOUND":
                return False
            if e.code != "NO_RESPONDERS" or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.server_independent
def test_api_level_of_the_answering_servers(driver, leaf_on_old_hub):
    assert parse_version(nats_server_version(str(CURRENT))) >= (2, 11, 0)
    conn = driver.connect(leaf_on_old_hub.url)
    js = driver.jetstream(conn, domain="hub")
    assert not has_stream(driver, js, "T")
    assert driver.js_api_level(js) == 0  # 2.9.10 says none
    # The connected server is current; the hub knows no message TTL, so
    # asking for it is NOT_SUPPORTED, not a stream that keeps everything.
    with pytest.raises(DriverError) as e:
        driver.stream_add(js, name="T", subjects=["t.>"], allow_msg_ttl=True)
    assert e.value.code == "NOT_SUPPORTED", e.value
    assert "API level" in e.value.message and "2.11.0" in e.value.message
    assert not has_stream(driver, js, "T")
    # What the hub knows still works through the leaf.
    info = driver.stream_add(js, name="T", subjects=["t.>"])
    assert info["config"]["name"] == "T"
    assert driver.js_publish(js, "t.1", b"x")["seq"] == 1
    # An option newer than the hub is refused the same way.
    with pytest.raises(DriverError) as e:
        driver.js_publish(js, "t.1", b"x", ttl=5)
    assert e.value.code == "NOT_SUPPORTED", e.value
    assert driver.stream_info(js, "T")["state"]["messages"] == 1


def test_api_level_of_the_server(driver, js, nats_server):
    """Every language reads the level the server says; 2.9.10 says none,
    and 2.11 and newer say at least 1."""
    level = driver.js_api_level(js)
    if parse_version(nats_server.version) < (2, 11, 0):
        assert level == 0
    else:
        assert level >= 1


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


@pytest.mark.min_server("2.12.0")
def test_requests_carry_the_level_they_need(drivers, nats_server):
    """A spy reads the API requests: a stream using a 2.11 field goes with
    Nats-Required-Api-Level 1, one using none without the header."""
    spy = drivers.start("c", label="spy")
    sconn = spy.connect(nats_server.url)
    sub = spy.subscribe(sconn, "$JS.API.STREAM.CREATE.>")
    spy.flush(sconn)
    for lang in available_languages():
        d = drivers.start(lang)
        js = d.jetstream(d.connect(nats_server.url))
        d.stream_add(js, name=f"PLAIN_{lang}", subjects=[f"plain.{lang}"])
        d.stream_add(js, name=f"TTL_{lang}", subjects=[f"ttl.{lang}"],
                     allow_msg_ttl=True)
        seen = {}
        for _ in range(2):
            m = spy.next_msg(sub, timeout=5.0)
            level = [v for k, v in (m.headers or [])
                     if k == "Nats-Required-Api-Level"]
            seen[m.subject.rsplit(".", 1)[-1]] = level
        assert seen == {f"PLAIN_{lang}": [], f"TTL_{lang}": ["1"]}, lang
