"""Message headers, per language: repeated names, case and order kept,
through publish and request. Order is compared per name (see
harness.headers_by_name)."""
from harness import headers_by_name

HEADERS = [
    ("X-Trace", "a"),
    ("X-Trace", "b"),
    ("lower-case", "v"),
    ("MiXeD-Case", "Value With Spaces"),
    ("X-Trace", "c"),
    ("Empty-Ish", "-"),
]


def test_headers_roundtrip(driver, nats_server):
    sc = driver.connect(nats_server.url)
    pc = driver.connect(nats_server.url)
    sub = driver.subscribe(sc, "hdr.x")
    driver.flush(sc)

    driver.publish(pc, "hdr.x", b"body", reply="hdr.reply", headers=HEADERS)
    m = driver.next_msg(sub)
    assert (m.subject, m.reply, m.data, m.status) == (
        "hdr.x", "hdr.reply", b"body", 0)
    assert headers_by_name(m.headers) == headers_by_name(HEADERS)
    assert len(m.headers) == len(HEADERS)
    assert m.header_values("X-Trace") == ["a", "b", "c"]
    # Names match exactly: no case folding.
    assert m.header("x-trace") is None
    assert m.header("Lower-Case") is None
    assert m.header("MiXeD-Case") == "Value With Spaces"

    # Headers with an empty payload, and a message without headers after
    # one with them.
    driver.publish(pc, "hdr.x", b"", headers=[("Only", "headers")])
    driver.publish(pc, "hdr.x", b"plain")
    m = driver.next_msg(sub)
    assert (m.data, m.headers) == (b"", [("Only", "headers")])
    m = driver.next_msg(sub)
    assert (m.data, m.headers) == (b"plain", [])


def test_headers_request(driver, nats_server):
    rc = driver.connect(nats_server.url)
    nc = driver.connect(nats_server.url)
    driver.serve(rc, "hdr.svc", count=0, mode="echo")
    driver.flush(rc)
    reply = driver.request(nc, "hdr.svc", b"ask", headers=HEADERS)
    assert reply.data == b"ask"
    assert headers_by_name(reply.headers) == headers_by_name(HEADERS)
    assert len(reply.headers) == len(HEADERS)
    # And without headers the reply has none.
    reply = driver.request(nc, "hdr.svc", b"ask")
    assert reply.headers == []
