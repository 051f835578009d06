"""Core publish/subscribe, per language: payloads, wildcards, queue groups,
unsubscribe, auto-unsubscribe, pending limits and slow consumers."""
import struct

import pytest

from harness import DriverError


def test_pubsub_basic(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    sub = driver.subscribe(sc, "greet.joe")
    driver.flush(sc)

    driver.publish(pc, "greet.joe", b"hello")
    m = driver.next_msg(sub)
    assert m.subject == "greet.joe"
    assert m.reply is None
    assert m.data == b"hello"
    assert m.headers == []
    assert m.status == 0

    driver.publish(pc, "greet.joe", b"hi", reply="answer.here")
    m = driver.next_msg(sub)
    assert (m.subject, m.reply, m.data) == ("greet.joe", "answer.here", b"hi")

    # Nothing else; a zero timeout does not wait.
    for timeout in (0, 0.1):
        with pytest.raises(DriverError) as e:
            driver.next_msg(sub, timeout=timeout)
        assert e.value.code == "TIMEOUT"
    p = driver.pending(sub)
    assert p["delivered"] == 2
    assert (p["msgs"], p["bytes"], p["dropped"]) == (0, 0, 0)
    assert p["valid"] is True


def test_pubsub_zero_payload(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    sub = driver.subscribe(sc, "empty")
    driver.flush(sc)
    driver.publish(pc, "empty", b"")
    driver.publish(pc, "empty", b"", headers=[])
    # Framing after empty payloads stays right.
    driver.publish(pc, "empty", b"after")
    for _ in range(2):
        m = driver.next_msg(sub)
        assert m.subject == "empty"
        assert m.data == b""
    assert driver.next_msg(sub).data == b"after"


def test_pubsub_binary_payload(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    sub = driver.subscribe(sc, "bin.x")
    driver.flush(sc)
    # Bytes a text-minded parser would trip over.
    tricky = b"h\x00\r\n\xffMSG \r\n\r\n\x80z\x00"
    every_byte = bytes(range(256))
    big = bytes((i * 31 + (i >> 8)) & 0xFF for i in range(512 * 1024 + 7))
    for payload in (tricky, every_byte, b"\x00", big):
        driver.publish(pc, "bin.x", payload)
    for payload in (tricky, every_byte, b"\x00", big):
        m = driver.next_msg(sub, timeout=10)
        assert len(m.data) == len(payload)
        assert m.data == payload


def _collect_until(driver, sub, last):
    """Subjects received before the marker subject `last`."""
    got = []
    for _ in range(100):
        m = driver.next_msg(sub)
        if m.subject == last:
            return got
        got.append(m.subject)
    raise AssertionError(f"marker {last} never came; got {got}")


def test_pubsub_wildcards(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    star = driver.subscribe(sc, "foo.*")
    tail = driver.subscribe(sc, "foo.>")
    mid = driver.subscribe(sc, "*.bar")
    everything = driver.subscribe(sc, ">")
    driver.flush(sc)
    for subject in ("foo", "foo.bar", "foo.bar.baz", "other.bar",
                    "foo.baz.bar", "bar"):
        driver.publish(pc, subject, b"x")
    # End markers: order is kept per publisher.
    driver.publish(pc, "foo.zz", b"end")
    driver.publish(pc, "zz.bar", b"end")

    assert _collect_until(driver, star, "foo.zz") == ["foo.bar"]
    assert _collect_until(driver, tail, "foo.zz") == [
        "foo.bar", "foo.bar.baz", "foo.baz.bar"]
    assert _collect_until(driver, mid, "zz.bar") == ["foo.bar", "other.bar"]
    assert _collect_until(driver, everything, "zz.bar") == [
        "foo", "foo.bar", "foo.bar.baz", "other.bar", "foo.baz.bar", "bar",
        "foo.zz"]
    for sub in (star, tail):
        with pytest.raises(DriverError) as e:
            driver.next_msg(sub, timeout=0)
        assert e.value.code == "TIMEOUT"


QUEUE_MSGS = 300


def test_queue_group(drivers, lang, nats_server):
    members = []
    for i in range(3):
        d = drivers.start(lang, label=f"{lang}-member{i}")
        c = d.connect(nats_server.url)
        s = d.subscribe(c, "work.items", queue="workers")
        d.flush(c)
        members.append((d, s))
    pub = drivers.start(lang, label=f"{lang}-publisher")
    pc = pub.connect(nats_server.url)
    assert pub.publish_many(pc, "work.items", QUEUE_MSGS, 8) == QUEUE_MSGS
    pub.flush(pc)

    seen = [0] * QUEUE_MSGS
    per_member = [0] * 3
    total = 0
    idle_rounds = 0
    while total < QUEUE_MSGS and idle_rounds < 20:
        progressed = False
        for i, (d, s) in enumerate(members):
            try:
                msgs = d.next_msgs(s, 256, timeout=0.05)
            except DriverError as e:
                assert e.code == "TIMEOUT"
                continue
            for m in msgs:
                (seq,) = struct.unpack(">Q", m.data[:8])
                assert 0 <= seq < QUEUE_MSGS
                seen[seq] += 1
                per_member[i] += 1
                total += 1
            progressed = True
        idle_rounds = 0 if progressed else idle_rounds + 1
    assert total == QUEUE_MSGS
    assert all(n == 1 for n in seen), "every message exactly once"
    assert all(n > 0 for n in per_member), f"each member got some: {per_member}"
    for d, s in members:
        with pytest.raises(DriverError) as e:
            d.next_msg(s, timeout=0.05)
        assert e.value.code == "TIMEOUT"


def test_unsubscribe(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    gone = driver.subscribe(sc, "unsub.x")
    kept = driver.subscribe(sc, "unsub.x")
    driver.flush(sc)
    driver.publish(pc, "unsub.x", b"1")
    driver.flush(pc)
    driver.flush(sc)

    # Unsubscribing discards the queued message.
    driver.unsubscribe(gone)
    assert driver.pending(gone)["valid"] is False
    with pytest.raises(DriverError) as e:
        driver.next_msg(gone, timeout=0.1)
    assert e.value.code == "INVALID_SUBSCRIPTION"
    with pytest.raises(DriverError) as e:
        driver.unsubscribe(gone)
    assert e.value.code == "INVALID_SUBSCRIPTION"
    driver.flush(sc)

    driver.publish(pc, "unsub.x", b"2")
    assert driver.next_msg(kept).data == b"1"
    assert driver.next_msg(kept).data == b"2"
    with pytest.raises(DriverError) as e:
        driver.next_msg(gone, timeout=0)
    assert e.value.code == "INVALID_SUBSCRIPTION"


def test_auto_unsubscribe(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    sub = driver.subscribe(sc, "auto.x")
    driver.auto_unsubscribe(sub, 3)
    driver.flush(sc)
    for i in range(10):
        driver.publish(pc, "auto.x", str(i).encode())
    driver.flush(pc)
    driver.flush(sc)
    assert [driver.next_msg(sub).data for _ in range(3)] == [b"0", b"1", b"2"]
    with pytest.raises(DriverError) as e:
        driver.next_msg(sub, timeout=1)
    assert e.value.code == "INVALID_SUBSCRIPTION"
    p = driver.pending(sub)
    assert p["valid"] is False
    assert p["delivered"] == 3

    # The limit counts messages already received.
    sub = driver.subscribe(sc, "auto.y")
    driver.flush(sc)
    driver.publish(pc, "auto.y", b"a")
    driver.publish(pc, "auto.y", b"b")
    driver.flush(pc)
    assert [driver.next_msg(sub).data for _ in range(2)] == [b"a", b"b"]
    driver.auto_unsubscribe(sub, 3)
    driver.flush(sc)
    for _ in range(5):
        driver.publish(pc, "auto.y", b"c")
    driver.flush(pc)
    assert driver.next_msg(sub).data == b"c"
    driver.flush(sc)
    with pytest.raises(DriverError) as e:
        driver.next_msg(sub, timeout=1)
    assert e.value.code == "INVALID_SUBSCRIPTION"


def _next_error_event(driver, conn, timeout):
    """The next ERROR event (others are skipped)."""
    while True:
        ev = driver.next_event(conn, timeout=timeout)
        if ev["kind"] == "ERROR":
            return ev


def test_slow_consumer(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    sub = driver.subscribe(sc, "slow.x", pending_msgs_limit=10,
                           pending_bytes_limit=1024 * 1024)
    driver.flush(sc)
    driver.publish_many(pc, "slow.x", 1000, 8)
    driver.flush(pc)
    # The PONG comes after every delivery the server sent before it.
    driver.flush(sc)

    p = driver.pending(sub)
    assert p["dropped"] > 0
    assert 0 < p["msgs"] <= 10
    assert p["dropped"] + p["msgs"] == 1000

    ev = _next_error_event(driver, sc, 5)
    assert ev["code"] == "SLOW_CONSUMER"
    assert ev["sub"] == sub
    # Reported once per episode.
    with pytest.raises(DriverError) as e:
        _next_error_event(driver, sc, 0.2)
    assert e.value.code == "TIMEOUT"

    # What was kept are the oldest messages, in order.
    kept = driver.receive_count(sub, p["msgs"], timeout=5, ordered=True)
    assert kept["received"] == p["msgs"]
    assert kept["in_order"] is True

    # After catching up, a new overflow is a new episode.
    driver.publish_many(pc, "slow.x", 100, 8)
    driver.flush(pc)
    driver.flush(sc)
    assert driver.pending(sub)["dropped"] > p["dropped"]
    ev = _next_error_event(driver, sc, 5)
    assert ev["code"] == "SLOW_CONSUMER"
    assert ev["sub"] == sub
    assert driver.status(sc) == "CONNECTED"


def test_slow_consumer_bytes(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    # No message-count limit, 10 KiB of bytes.
    sub = driver.subscribe(sc, "slowb.x", pending_msgs_limit=-1,
                           pending_bytes_limit=10 * 1024)
    driver.flush(sc)
    driver.publish_many(pc, "slowb.x", 100, 1024)
    driver.flush(pc)
    driver.flush(sc)
    p = driver.pending(sub)
    assert 0 < p["bytes"] <= 10 * 1024
    assert p["msgs"] > 0
    assert p["dropped"] > 0
    assert p["dropped"] + p["msgs"] == 100
    assert _next_error_event(driver, sc, 5)["code"] == "SLOW_CONSUMER"
