"""Direct get batches (ADR-31, nats-server 2.11) and the KV reads built on
them, in every language: runs from a sequence or a subject, the last
message of many subjects as of a sequence or a time, KV get_many and
history up to a revision or a time; a batch of 5,000 messages and
get_many over 1,000 keys; and the NOT_SUPPORTED twins on older servers
(history without options keeps working there)."""
import base64
import time

import pytest

from harness import DriverError, KvEntry


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


def batch(d, js, stream, **args):
    return d.call("direct_get_batch", js=js, stream=stream, **args)


def get_many(d, kv, keys=None, **options):
    args = dict(options)
    if keys is not None:
        args["keys"] = keys
    return [KvEntry.from_wire(e) for e in
            d.call("kv_get_many", kv=kv, **args)["entries"]]


def history(d, kv, key, **options):
    return [KvEntry.from_wire(e) for e in
            d.call("kv_history", kv=kv, key=key, **options)["entries"]]


def code_of(call):
    with pytest.raises(DriverError) as e:
        call()
    return e.value


def filled_stream(d, js):
    """S over s.>: s.a, s.b, s.c, s.a, ... at sequences 1 to 9."""
    d.stream_add(js, name="S", subjects=["s.>"], allow_direct=True)
    for i in range(9):
        d.js_publish(js, "s." + "abc"[i % 3], b"v%d" % (i + 1))


@pytest.mark.min_server("2.11.0")
def test_direct_get_batch_runs(driver, js):
    d = driver
    filled_stream(d, js)
    got = batch(d, js, "S", seq=2, batch=3)
    assert [m["seq"] for m in got["msgs"]] == [2, 3, 4]
    assert [m["subject"] for m in got["msgs"]] == ["s.b", "s.c", "s.a"]
    assert base64.b64decode(got["msgs"][0]["data"]) == b"v2"
    assert (got["num_pending"], got["last_seq"]) == (5, 4)
    got = batch(d, js, "S", next_by_subject="s.b", batch=100)
    assert [m["seq"] for m in got["msgs"]] == [2, 5, 8]
    assert got["num_pending"] == 0
    # Nothing there is an empty batch; max_bytes still sends one.
    assert batch(d, js, "S", seq=100, batch=5)["msgs"] == []
    got = batch(d, js, "S", seq=1, max_bytes=1)
    assert len(got["msgs"]) == 1 and got["num_pending"] == 8


@pytest.mark.min_server("2.12.0")
def test_direct_get_batch_no_hdr(driver, js):
    """no_hdr: the stored data alone, without its headers or the get's."""
    d = driver
    d.stream_add(js, name="H", subjects=["h.>"], allow_direct=True)
    for i in range(3):
        d.js_publish(js, "h.a", b"v%d" % i, headers=[("App", "x")])
    full = batch(d, js, "H", seq=1, batch=3)["msgs"]
    assert ["App", "x"] in full[0]["headers"]
    got = batch(d, js, "H", seq=1, batch=3, no_hdr=True)
    assert [base64.b64decode(m["data"]) for m in got["msgs"]] == [
        b"v0", b"v1", b"v2"]
    assert all(m["headers"] == [] and m["subject"] == ""
               for m in got["msgs"])
    assert got["last_seq"] == 3


@pytest.mark.min_server("2.11.0")
def test_direct_get_batch_multi_last(driver, js):
    d = driver
    filled_stream(d, js)
    got = batch(d, js, "S", multi_last=["s.>"])
    assert [m["seq"] for m in got["msgs"]] == [7, 8, 9]  # stream order
    assert got["up_to_seq"] == 9
    got = batch(d, js, "S", multi_last=["s.a", "s.c"], up_to_seq=5)
    assert [m["seq"] for m in got["msgs"]] == [3, 4]
    assert got["up_to_seq"] == 5
    got = batch(d, js, "S", multi_last=["s.>"], batch=2)
    assert len(got["msgs"]) == 2 and got["num_pending"] == 1
    # Without batch a run is one message; no match is an empty batch.
    assert [m["seq"] for m in batch(d, js, "S", seq=5)["msgs"]] == [5]
    assert batch(d, js, "S", multi_last=["s.zz"])["msgs"] == []


@pytest.mark.min_server("2.11.0")
def test_direct_get_batch_errors(driver, js):
    d = driver
    filled_stream(d, js)
    d.stream_add(js, name="ND", subjects=["nd.>"])
    assert code_of(lambda: batch(d, js, "S")).code == "INVALID_ARG"
    e = code_of(lambda: batch(d, js, "S", seq=1, up_to_seq=3))
    assert e.code == "INVALID_ARG" and "multi_last" in e.message
    e = code_of(lambda: batch(d, js, "S", multi_last=["s.>"],
                              up_to_time="yesterday"))
    assert e.code == "INVALID_ARG" and "RFC 3339" in e.message
    e = code_of(lambda: batch(d, js, "S", seq=1, start_time="2026-01-01T"
                              "00:00:00Z"))
    assert e.code == "INVALID_ARG"
    e = code_of(lambda: batch(d, js, "ND", multi_last=["nd.>"]))
    assert e.code == "JETSTREAM" and "allow_direct" in e.message
    e = code_of(lambda: batch(d, js, "NOPE", multi_last=["x.>"]))
    assert e.code == "STREAM_NOT_FOUND"


@pytest.mark.min_server("2.11.0")
def test_direct_get_batch_of_5000(driver, js, conn):
    d = driver
    d.stream_add(js, name="BIG", subjects=["big.>"], allow_direct=True)
    d.call("publish_many", conn=conn, subject="big.x", count=5000, size=8)
    deadline = time.monotonic() + 30
    while d.stream_info(js, "BIG")["state"]["messages"] < 5000:
        assert time.monotonic() < deadline, "the stream did not fill"
        time.sleep(0.05)
    got = batch(d, js, "BIG", seq=1, batch=5000)
    msgs = got["msgs"]
    assert len(msgs) == 5000
    assert [m["seq"] for m in msgs] == list(range(1, 5001))
    assert base64.b64decode(msgs[4999]["data"]) == (4999).to_bytes(8, "big")
    assert (got["num_pending"], got["last_seq"]) == (0, 5000)


@pytest.mark.min_server("2.11.0")
def test_kv_get_many_and_history_up_to(driver, js):
    d = driver
    kv = d.kv_bucket_create(js, bucket="users", history=10)
    r1 = d.kv_put(kv, "1234.name", b"Bob")
    d.kv_put(kv, "1234.surname", b"Smith")
    r3 = d.kv_put(kv, "1234.address", b"1 Main Street")
    time.sleep(0.01)
    r4 = d.kv_put(kv, "1234.address", b"10 Oak Lane")
    d.kv_put(kv, "gone", b"x")
    d.kv_delete(kv, "gone")
    r5 = d.kv_put(kv, "1234.name", b"Robert")
    now = get_many(d, kv, ["1234.>", "gone", "never"])
    assert [(e.key, e.value) for e in now] == [
        ("1234.surname", b"Smith"), ("1234.address", b"10 Oak Lane"),
        ("1234.name", b"Robert")]
    assert now[2].revision == r5
    then = get_many(d, kv, ["1234.>"], up_to_revision=r3)
    assert {e.key: e.value for e in then} == {
        "1234.name": b"Bob", "1234.surname": b"Smith",
        "1234.address": b"1 Main Street"}
    assert len(get_many(d, kv)) == 3  # every key
    # As of a time: the time r4 was stored, which r4 itself is not in.
    stamp = d.kv_get(kv, "1234.address", revision=r4).created
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp // 10**9)) \
        + ".%09dZ" % (stamp % 10**9)
    then = get_many(d, kv, ["1234.address"], up_to_time=iso)
    assert [e.value for e in then] == [b"1 Main Street"]
    hist = history(d, kv, "1234.address", up_to_time=iso)
    assert [e.revision for e in hist] == [r3]
    hist = history(d, kv, "1234.name", up_to_revision=r5)
    assert [e.revision for e in hist] == [r1, r5]
    assert [e.delta for e in hist] == [1, 0]
    assert [e.operation for e in history(d, kv, "gone",
                                         up_to_revision=r5)] == [
        "PUT", "DEL"]
    assert code_of(lambda: history(d, kv, "1234.address",
                                   up_to_revision=r1)).code == "KEY_NOT_FOUND"
    e = code_of(lambda: get_many(d, kv, ["a"], up_to_revision=1,
                                 up_to_time=iso))
    assert e.code == "INVALID_ARG"
    # Without options history is what it always was.
    assert [e.revision for e in d.kv_history(kv, "1234.address")] == [r3, r4]


@pytest.mark.min_server("2.11.0")
def test_kv_get_many_thousand_keys(driver, js):
    d = driver
    kv = d.kv_bucket_create(js, bucket="many")
    keys = ["k%04d" % i for i in range(1000)]
    for k in keys:
        d.kv_put(kv, k, k.encode())
    got = get_many(d, kv, keys)
    assert [e.key for e in got] == keys
    assert all(e.value == e.key.encode() for e in got)


@pytest.mark.below_server("2.11.0")
def test_direct_get_batch_not_supported(driver, js, nats_server):
    d = driver
    d.stream_add(js, name="S", subjects=["s.>"], allow_direct=True)
    d.js_publish(js, "s.a", b"v")
    for call in (lambda: batch(d, js, "S", multi_last=["s.>"]),
                 lambda: batch(d, js, "S", seq=1, batch=2)):
        e = code_of(call)
        assert e.code == "NOT_SUPPORTED"
        assert "2.11.0" in e.message and nats_server.version in e.message
    kv = d.kv_bucket_create(js, bucket="users")
    rev = d.kv_put(kv, "k", b"v")
    e = code_of(lambda: get_many(d, kv, ["k"]))
    assert e.code == "NOT_SUPPORTED" and "2.11.0" in e.message
    e = code_of(lambda: history(d, kv, "k", up_to_revision=rev))
    assert e.code == "NOT_SUPPORTED" and "2.11.0" in e.message
    assert [h.revision for h in history(d, kv, "k")] == [rev]
