"""Drain, per language: nothing in flight is lost and queued messages stay
readable after the close."""
import pytest

from harness import DriverError


def test_drain_publisher(drivers, lang, nats_server):
    subd = drivers.start(lang, label=f"{lang}-sub")
    pubd = drivers.start(lang, label=f"{lang}-pub")
    sc = subd.connect(nats_server.url)
    sub = subd.subscribe(sc, "drain.pub")
    subd.flush(sc)
    pc = pubd.connect(nats_server.url)

    # No flush: drain must write everything still queued.
    pubd.publish_many(pc, "drain.pub", 10_000, 8)
    pubd.drain(pc, timeout=30)
    assert pubd.status(pc) == "CLOSED"
    with pytest.raises(DriverError) as e:
        pubd.publish(pc, "drain.pub", b"x")
    assert e.value.code == "CONNECTION_CLOSED"

    got = subd.receive_count(sub, 10_000, timeout=30, ordered=True)
    assert got["received"] == 10_000, got
    assert got["in_order"] is True
    assert got["dropped"] == 0


def test_drain_subscriber(drivers, lang, nats_server):
    subd = drivers.start(lang, label=f"{lang}-sub")
    pubd = drivers.start(lang, label=f"{lang}-pub")
    sc = subd.connect(nats_server.url)
    pc = pubd.connect(nats_server.url)
    sub = subd.subscribe(sc, "drain.sub")
    subd.flush(sc)
    pubd.publish_many(pc, "drain.sub", 1000, 8)
    pubd.flush(pc)
    subd.flush(sc)
    assert subd.pending(sub)["msgs"] == 1000

    subd.drain(sc, timeout=10)
    assert subd.status(sc) == "CLOSED"
    # Published after the drain: must not arrive.
    pubd.publish(pc, "drain.sub", b"late")
    pubd.flush(pc)

    got = subd.receive_count(sub, 1000, timeout=10, ordered=True)
    assert got["received"] == 1000, got
    assert got["in_order"] is True
    with pytest.raises(DriverError) as e:
        subd.next_msg(sub, timeout=1)
    assert e.value.code in ("CONNECTION_CLOSED", "INVALID_SUBSCRIPTION")
    with pytest.raises(DriverError) as e:
        subd.subscribe(sc, "drain.sub")
    assert e.value.code == "CONNECTION_CLOSED"


def test_sub_drain(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    sub = driver.subscribe(sc, "sdrain.x")
    other = driver.subscribe(sc, "sdrain.x")
    driver.flush(sc)
    driver.publish_many(pc, "sdrain.x", 100, 8)
    driver.flush(pc)
    driver.flush(sc)

    driver.sub_drain(sub)
    driver.flush(sc)
    # After the drain reached the server, new messages go to `other` only.
    driver.publish_many(pc, "sdrain.x", 101, 8)
    driver.flush(pc)
    got = driver.receive_count(sub, 100, timeout=10, ordered=True)
    assert (got["received"], got["in_order"]) == (100, True)
    with pytest.raises(DriverError) as e:
        driver.next_msg(sub, timeout=1)
    assert e.value.code == "INVALID_SUBSCRIPTION"
    assert driver.pending(sub)["valid"] is False

    got = driver.receive_count(other, 201, timeout=10)
    assert got["received"] == 201
    assert driver.status(sc) == "CONNECTED"
