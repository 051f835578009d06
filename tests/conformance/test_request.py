"""Request/reply, per language: a background responder, a pulling
responder, no responders and timeouts."""
import time

import pytest

from harness import DriverError


def test_request_reply_serve(driver, nats_server):
    rc = driver.connect(nats_server.url)
    nc = driver.connect(nats_server.url)
    svc = driver.serve(rc, "svc.upper", count=21, mode="upper")
    driver.flush(rc)
    for i in range(20):
        reply = driver.request(nc, "svc.upper", f"hello {i}".encode())
        assert reply.data == f"HELLO {i}".encode()
        assert reply.subject.startswith("_INBOX.")
        assert reply.status == 0
    # An empty request body.
    assert driver.request(nc, "svc.upper", b"").data == b""
    # The responder answered its 21 and unsubscribed.
    driver.flush(rc)
    p = driver.pending(svc)
    assert p["delivered"] == 21
    assert p["valid"] is False
    with pytest.raises(DriverError) as e:
        driver.request(nc, "svc.upper", b"x", timeout=2)
    assert e.value.code == "NO_RESPONDERS"


def test_request_reply_same_connection(driver, nats_server):
    """The responder and the requester share one connection."""
    nc = driver.connect(nats_server.url)
    driver.serve(nc, "svc.echo", count=0, mode="echo")
    driver.flush(nc)
    for i in range(10):
        payload = bytes([i, 0, 255]) * (i + 1)
        assert driver.request(nc, "svc.echo", payload).data == payload


def test_request_respond_next(drivers, lang, nats_server):
    """A pulling responder in another process: the request waits while the
    responder pulls and answers."""
    req = drivers.start(lang, label=f"{lang}-requester")
    rsp = drivers.start(lang, label=f"{lang}-responder")
    rc = rsp.connect(nats_server.url)
    sub = rsp.subscribe(rc, "svc.pull")
    rsp.flush(rc)
    nc = req.connect(nats_server.url)
    for i in range(5):
        pending = req.request_async(nc, "svc.pull", b"q%d" % i, timeout=5)
        got = rsp.respond_next(sub, b"a%d" % i, timeout=5)
        assert got.data == b"q%d" % i
        assert got.reply and got.reply.startswith("_INBOX.")
        assert pending.msg().data == b"a%d" % i


def test_request_no_responders(driver, nats_server):
    nc = driver.connect(nats_server.url)
    start = time.monotonic()
    with pytest.raises(DriverError) as e:
        driver.request(nc, "nobody.home", b"x", timeout=5)
    assert e.value.code == "NO_RESPONDERS"
    # Known at once from the server, not by waiting out the timeout.
    assert time.monotonic() - start < 4
    # The connection is fine afterwards.
    driver.serve(nc, "somebody.home", count=1, mode="echo")
    driver.flush(nc)
    assert driver.request(nc, "somebody.home", b"y").data == b"y"


def test_request_timeout(driver, nats_server):
    nc = driver.connect(nats_server.url)
    # A subscriber that never answers.
    silent = driver.subscribe(nc, "svc.silent")
    driver.flush(nc)
    start = time.monotonic()
    with pytest.raises(DriverError) as e:
        driver.request(nc, "svc.silent", b"x", timeout=0.5)
    elapsed = time.monotonic() - start
    assert e.value.code == "TIMEOUT"
    assert 0.4 <= elapsed < 5
    # The request did arrive, with a reply subject nobody used.
    m = driver.next_msg(silent)
    assert m.reply and m.reply.startswith("_INBOX.")
    # A late answer to the timed-out request is harmless.
    driver.publish(nc, m.reply, b"late")
    driver.serve(nc, "svc.ok", count=1, mode="echo")
    driver.flush(nc)
    assert driver.request(nc, "svc.ok", b"fine").data == b"fine"
