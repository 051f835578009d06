"""Bad input and dead objects, per language: clear error codes, no crash,
no hang; and the driver itself survives malformed requests."""
import pytest

from harness import DriverError

BAD_PUBLISH = ["", "a..b", "foo.", " a", "a b", "a.*", "a.>", ".a", "*", ">",
               "a\tb", "a\r\nb", "a.b "]
BAD_SUBSCRIBE = ["", "a..b", "foo.", " a", "a b", "a.>.b", ">.a", ".a", "a\tb"]
GOOD_PATTERNS = ["a.*", "a.>", "*", ">", "*.b.>", "a.*.c"]


def expect_code(code, fn, *args, **kwargs):
    with pytest.raises(DriverError) as e:
        fn(*args, **kwargs)
    assert e.value.code == code, f"{fn.__name__}{args}: {e.value}"


def roundtrip(driver, conn, subject):
    """The connection still works: a message to itself comes back."""
    sub = driver.subscribe(conn, subject)
    driver.publish(conn, subject, b"ping")
    assert driver.next_msg(sub).data == b"ping"
    driver.unsubscribe(sub)


def test_invalid_subjects(driver, nats_server):
    nc = driver.connect(nats_server.url)
    for subject in BAD_PUBLISH:
        expect_code("INVALID_SUBJECT", driver.publish, nc, subject, b"x")
        expect_code("INVALID_SUBJECT", driver.publish, nc, subject, b"x",
                    reply="r")
        expect_code("INVALID_SUBJECT", driver.publish, nc, subject, b"x",
                    headers=[("K", "v")])
        expect_code("INVALID_SUBJECT", driver.request, nc, subject, b"x",
                    timeout=1)
    # A reply subject that would break the protocol line.
    expect_code("INVALID_SUBJECT", driver.publish, nc, "ok.subject", b"x",
                reply="a b")
    for subject in BAD_SUBSCRIBE:
        expect_code("INVALID_SUBJECT", driver.subscribe, nc, subject)
    for pattern in GOOD_PATTERNS:
        driver.free(driver.subscribe(nc, pattern))
    # Nothing bad was sent: the connection is intact.
    assert driver.status(nc) == "CONNECTED"
    driver.flush(nc)
    roundtrip(driver, nc, "still.works")


def test_max_payload(driver, nats_server):
    nc = driver.connect(nats_server.url)
    max_payload = driver.server_info(nc)["max_payload"]
    assert max_payload == 1024 * 1024
    buf = bytes(i % 251 for i in range(max_payload + 1))
    sub = driver.subscribe(nc, "big.x")
    expect_code("MAX_PAYLOAD", driver.publish, nc, "big.x", buf)
    expect_code("MAX_PAYLOAD", driver.publish, nc, "big.x", buf, reply="r")
    expect_code("MAX_PAYLOAD", driver.request, nc, "big.x", buf, timeout=1)
    # Headers count against the limit too.
    expect_code("MAX_PAYLOAD", driver.publish, nc, "big.x", buf[:max_payload],
                headers=[("K", "v")])

    # The connection survived, and exactly max_payload is fine.
    assert driver.status(nc) == "CONNECTED"
    driver.publish(nc, "big.x", buf[:max_payload])
    m = driver.next_msg(sub, timeout=10)
    assert m.data == buf[:max_payload]
    # No oversize message slipped through.
    expect_code("TIMEOUT", driver.next_msg, sub, timeout=0.1)
    driver.flush(nc)
    roundtrip(driver, nc, "after.big")


def test_after_close(driver, nats_server):
    nc = driver.connect(nats_server.url)
    sub = driver.subscribe(nc, "closed.x")
    served = driver.serve(nc, "closed.svc", count=0, mode="echo")
    driver.flush(nc)
    driver.close(nc)
    driver.close(nc)  # closing twice is harmless
    assert driver.status(nc) == "CLOSED"

    expect_code("CONNECTION_CLOSED", driver.publish, nc, "closed.x", b"x")
    expect_code("CONNECTION_CLOSED", driver.publish, nc, "closed.x", b"x",
                reply="r", headers=[("K", "v")])
    expect_code("CONNECTION_CLOSED", driver.publish_packed, nc, "closed.x",
                {"a": 1})
    expect_code("CONNECTION_CLOSED", driver.publish_many, nc, "closed.x", 3, 8)
    expect_code("CONNECTION_CLOSED", driver.request, nc, "closed.x", b"x",
                timeout=1)
    expect_code("CONNECTION_CLOSED", driver.subscribe, nc, "closed.y")
    expect_code("CONNECTION_CLOSED", driver.serve, nc, "closed.y", 1)
    expect_code("CONNECTION_CLOSED", driver.flush, nc, timeout=1)
    expect_code("CONNECTION_CLOSED", driver.rtt, nc)
    expect_code("CONNECTION_CLOSED", driver.drain, nc, timeout=1)

    # Existing subscriptions report the close without waiting out the
    # timeout.
    with pytest.raises(DriverError) as e:
        driver.call("next_msg", sub=sub, timeout=10, _wait=8)
    assert e.value.code in ("CONNECTION_CLOSED", "INVALID_SUBSCRIPTION")
    with pytest.raises(DriverError) as e:
        driver.next_msgs(sub, 4, timeout=1)
    assert e.value.code in ("CONNECTION_CLOSED", "INVALID_SUBSCRIPTION")
    assert driver.pending(sub)["valid"] is False
    assert driver.pending(served)["valid"] is False

    # Freed handles are unknown to the driver; freeing the connection first
    # leaves its subscriptions safe to use.
    driver.free(nc)
    with pytest.raises(DriverError) as e:
        driver.next_msg(sub, timeout=0.1)
    assert e.value.code in ("CONNECTION_CLOSED", "INVALID_SUBSCRIPTION")
    driver.free(sub)
    driver.free(served)
    expect_code("INVALID_ARG", driver.publish, nc, "closed.x", b"x")
    expect_code("INVALID_ARG", driver.next_msg, sub, timeout=0)
    expect_code("INVALID_ARG", driver.free, sub)


def test_connect_refused(driver, nats_server):
    url = nats_server.url
    nats_server.stop()
    with pytest.raises(DriverError) as e:
        driver.call("connect", url=url, options={"connect_timeout": 1},
                    _wait=30)
    assert e.value.code == "CONNECT"


def test_driver_survives_bad_requests(driver, nats_server):
    """The protocol's own error paths: every bad line gets an INVALID_ARG
    answer and the driver carries on."""
    bad_lines = [
        "this is not json",
        "{\"id\": 1, \"op\":",
        "[1, 2, 3]",
        "42",
        "{\"op\": \"version\"}",
        "{\"id\": \"seven\", \"op\": \"version\"}",
    ]
    for line in bad_lines:
        driver.send_line(line)
        resp = driver.read_response(10)
        assert resp["ok"] is False, line
        assert resp["code"] == "INVALID_ARG", line
        assert resp["id"] is None, line

    nc = driver.connect(nats_server.url)
    bad_requests = [
        {"op": "no_such_op"},
        {"op": "publish", "conn": nc},                        # no subject
        {"op": "publish", "conn": nc, "subject": 5},           # mistyped
        {"op": "publish", "conn": nc, "subject": "a", "data": "***"},
        {"op": "publish", "conn": nc, "subject": "a", "headers": [["K"]]},
        {"op": "publish", "conn": nc, "subject": "a", "headers": "K: v"},
        {"op": "publish", "conn": 999, "subject": "a"},        # unknown handle
        {"op": "next_msg", "sub": nc},                         # wrong kind
        {"op": "connect", "url": nats_server.url, "options": {"bogus": 1}},
        {"op": "serve", "conn": nc, "subject": "s", "count": 1, "mode": "odd"},
        {"op": "unpack", "data": "wA=="[:2]},                  # bad base64
        {"op": "unpack", "data": "kw=="},                      # truncated array
        {"op": "unpack", "data": "wMA="},                      # trailing bytes
        {"op": "free", "handle": 12345},
    ]
    for req in bad_requests:
        op = req.pop("op")
        with pytest.raises(DriverError) as e:
            driver.call(op, **req)
        assert e.value.code == "INVALID_ARG", (op, req, e.value)
    # Still alive and correct.
    assert driver.version()["lang"] == driver.lang
    driver.flush(nc)
    # Whitespace-only lines are ignored (no response).
    driver.send_line("   ")
    assert driver.send("version").result()["ok"] is True
    assert driver.stats(nc)["reconnects"] == 0
