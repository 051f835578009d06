"""Between languages (lang_pair A->B): what one language sends, another
receives unchanged. With only the C driver built these run c->c."""
import pytest

from harness import headers_by_name
from harness.values import NESTED

pytestmark = pytest.mark.cross


@pytest.fixture
def pair(drivers, lang_pair, nats_server):
    a_lang, b_lang = lang_pair
    a = drivers.start(a_lang, label=f"A-{a_lang}")
    b = drivers.start(b_lang, label=f"B-{b_lang}")
    return a, a.connect(nats_server.url), b, b.connect(nats_server.url)


def test_cross_pubsub(pair):
    a, ac, b, bc = pair
    sub = b.subscribe(bc, "cross.>")
    b.flush(bc)
    payloads = [b"", b"plain text", bytes(range(256)) * 3,
                "h\u00e9llo \u2713".encode()]
    headers = [("X-Trace", "1"), ("x-trace", "2"), ("X-Trace", "3"),
               ("Content-Type", "text/plain; charset=utf-8")]
    for i, p in enumerate(payloads):
        a.publish(ac, f"cross.{i}", p)
    a.publish(ac, "cross.h", b"with headers", reply="cross.reply",
              headers=headers)
    for i, p in enumerate(payloads):
        m = b.next_msg(sub)
        assert (m.subject, m.data, m.reply, m.headers) == (
            f"cross.{i}", p, None, [])
    m = b.next_msg(sub)
    assert (m.subject, m.reply, m.data) == ("cross.h", "cross.reply",
                                             b"with headers")
    assert headers_by_name(m.headers) == headers_by_name(headers)
    assert len(m.headers) == len(headers)
    # Volume across: sequence numbers in order.
    a.publish_many(ac, "cross.bulk", 5000, 32)
    got = b.receive_count(sub, 5000, timeout=30, ordered=True)
    assert (got["received"], got["in_order"], got["bytes"]) == (
        5000, True, 5000 * 32)


def test_cross_request_reply(pair):
    a, ac, b, bc = pair
    # B pulls and answers while A's request waits.
    sub = b.subscribe(bc, "cross.svc")
    b.flush(bc)
    for i in range(3):
        pending = a.request_async(ac, "cross.svc", b"question %d" % i,
                                  headers=[("Req", str(i))])
        got = b.respond_next(sub, b"answer %d" % i,
                             headers=[("Resp", str(i)), ("Resp", "x")])
        assert got.data == b"question %d" % i
        assert got.headers == [("Req", str(i))]
        reply = pending.msg()
        assert reply.data == b"answer %d" % i
        assert reply.headers == [("Resp", str(i)), ("Resp", "x")]
    # B answers in the background; A requests.
    b.serve(bc, "cross.upper", count=10, mode="upper")
    b.flush(bc)
    for i in range(10):
        assert a.request(ac, "cross.upper", b"abc %d" % i).data == b"ABC %d" % i


def test_cross_packed_value(pair):
    a, ac, b, bc = pair
    # Bytes packed by A unpack to the same value in B, and back.
    data = a.pack(NESTED)
    assert b.unpack(data) == NESTED
    assert a.unpack(b.pack(NESTED)) == NESTED
    # The structured publish carries its content type across.
    sub = b.subscribe(bc, "cross.packed")
    b.flush(bc)
    a.publish_packed(ac, "cross.packed", NESTED)
    m = b.next_msg(sub)
    assert m.header("Content-Type") == "application/msgpack"
    assert b.unpack(m.data) == NESTED
