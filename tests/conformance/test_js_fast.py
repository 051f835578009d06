"""Fast-ingest batches (ADR-50, nats-server 2.14) in every language:
10,000 messages at full speed stored in order, the array form, errors
per message with gap "ok" (reported, the batch goes on) and "fail" (the
batch stops there, the PubAck says what was stored), a stream without
allow_batched, and NOT_SUPPORTED on older servers."""
import pytest

from harness import DriverError


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


def code_of(call):
    with pytest.raises(DriverError) as e:
        call()
    return e.value


def stored(d, js, stream):
    return d.stream_info(js, stream)["state"]["messages"]


def fast_stream(d, js, name="FAST"):
    d.stream_add(js, name=name, subjects=[name.lower() + ".>"],
                 allow_batched=True)


@pytest.mark.min_server("2.14.0")
def test_fast_batch_of_10000(driver, js):
    d = driver
    fast_stream(d, js)
    fb = d.fast_batch(js)
    for i in range(1, 10001):
        assert d.fast_add(fb, "fast.readings", b"r%d" % i) == i
    ack = d.fast_commit(fb)
    assert (ack["count"], ack["seq"]) == (10000, 10000) and ack["batch"]
    assert stored(d, js, "FAST") == 10000
    assert [d.stream_get_msg(js, "FAST", s)["data"] for s in (1, 5000,
                                                              10000)] == [
        b"r1", b"r5000", b"r10000"]
    errors, acked = d.fast_errors(fb)
    assert (errors, acked) == ([], 10000)
    # Ended: it takes nothing more.
    assert code_of(lambda: d.fast_add(fb, "fast.x")).code == "INVALID_ARG"


@pytest.mark.min_server("2.14.0")
def test_publish_batch_of_1000(driver, js):
    d = driver
    fast_stream(d, js)
    ack = d.publish_batch(js, [("fast.%d" % (i % 3), b"m%d" % i)
                               for i in range(1000)], flow=500)
    assert ack["count"] == 1000 and stored(d, js, "FAST") == 1000
    assert d.stream_get_msg(js, "FAST", 1000)["data"] == b"m999"


@pytest.mark.min_server("2.14.0")
def test_fast_batch_gap_ok_reports_and_goes_on(driver, js):
    """Message 5 expects a subject sequence the stream does not have: it
    is reported with its batch sequence, the others are stored."""
    d = driver
    fast_stream(d, js)
    fb = d.fast_batch(js, gap="ok", flow=1)
    for i in range(1, 11):
        opts = {"expected_last_subject_seq": 99} if i == 5 else {}
        d.fast_add(fb, "fast.m%d" % i, b"x", **opts)
    ack = d.fast_commit(fb)
    assert ack["count"] == 10
    errors, _ = d.fast_errors(fb)
    assert [(e["type"], e["seq"], e["err_code"]) for e in errors] == [
        ("err", 5, 10071)]
    assert stored(d, js, "FAST") == 9


@pytest.mark.min_server("2.14.0")
def test_fast_batch_gap_fail_stops_there(driver, js):
    d = driver
    fast_stream(d, js)
    fb = d.fast_batch(js, flow=1)  # gap "fail", the default
    failed = None
    for i in range(1, 11):
        opts = {"expected_last_subject_seq": 99} if i == 5 else {}
        try:
            d.fast_add(fb, "fast.m%d" % i, b"x", **opts)
        except DriverError as e:
            failed = (i, e.code)
            break
    # The refusal comes back from a later add (the server answers message
    # 5 while later ones are on their way), naming the publish's error.
    assert failed and failed[0] > 5 and failed[1] == "WRONG_LAST_SEQUENCE"
    ack = d.fast_commit(fb)
    assert ack["count"] == 4 and stored(d, js, "FAST") == 4


@pytest.mark.min_server("2.14.0")
def test_fast_batch_refused_by_the_stream(driver, js):
    d = driver
    d.stream_add(js, name="PLAIN", subjects=["plain.>"])
    fb = d.fast_batch(js)
    e = code_of(lambda: d.fast_add(fb, "plain.a", b"x"))
    assert e.code == "JETSTREAM" and "10205" in e.message
    d.fast_close(fb)
    assert stored(d, js, "PLAIN") == 0
    assert code_of(lambda: d.fast_batch(js, gap="maybe")).code == \
        "INVALID_ARG"


@pytest.mark.below_server("2.14.0")
def test_fast_batch_not_supported(driver, js, nats_server):
    d = driver
    d.stream_add(js, name="FAST", subjects=["fast.>"])
    for call in (lambda: d.fast_batch(js),
                 lambda: d.publish_batch(js, [("fast.a", b"x")])):
        e = code_of(call)
        assert e.code == "NOT_SUPPORTED"
        assert "2.14.0" in e.message and nats_server.version in e.message
    assert stored(d, js, "FAST") == 0
