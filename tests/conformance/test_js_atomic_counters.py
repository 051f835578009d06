"""Atomic batches (ADR-50) and counters (ADR-49), nats-server 2.12, in
every language, with their NOT_SUPPORTED twins on older servers."""
import time

import pytest

from harness import DriverError


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


def stored(d, js, stream):
    return d.stream_info(js, stream)["state"]["messages"]


def code_of(call):
    with pytest.raises(DriverError) as e:
        call()
    return e.value


@pytest.mark.min_server("2.12.0")
def test_atomic_batch_of_1000_commits_whole(driver, js):
    d = driver
    d.stream_add(js, name="ORDERS", subjects=["orders.>"], allow_atomic=True)
    batch, bid = d.atomic_batch(js)
    for i in range(999):
        assert d.batch_add(batch, "orders.%d" % (i % 7), b"o%d" % i) == i + 1
    assert stored(d, js, "ORDERS") == 0  # staged until the commit
    ack = d.batch_commit(batch, "orders.last", b"last")
    assert (ack["batch"], ack["count"], ack["seq"]) == (bid, 1000, 1000)
    assert stored(d, js, "ORDERS") == 1000
    # Committed: it takes nothing more.
    assert code_of(lambda: d.batch_add(batch, "orders.x")).code == \
        "INVALID_ARG"


@pytest.mark.min_server("2.12.0")
def test_atomic_batch_failing_expectation_stores_nothing(driver, js):
    """One message in the middle expects a subject sequence the stream does
    not have: the commit is refused and none of the 1,000 is stored."""
    d = driver
    d.stream_add(js, name="ORDERS", subjects=["orders.>"], allow_atomic=True)
    d.js_publish(js, "orders.audit", b"before")
    batch, _ = d.atomic_batch(js)
    for i in range(999):
        opts = {"expected_last_subject_seq": 7} if i == 500 else {}
        d.batch_add(batch, "orders.%d" % i, b"x", **opts)
    e = code_of(lambda: d.batch_commit(batch, "orders.end", b"end"))
    assert e.code == "WRONG_LAST_SEQUENCE"
    assert stored(d, js, "ORDERS") == 1
    # The same batch with the right expectation goes through.
    batch, _ = d.atomic_batch(js)
    d.batch_add(batch, "orders.a", b"a", expected_last_seq=1)
    ack = d.batch_commit(batch, "orders.b", b"b")
    assert (ack["seq"], ack["count"]) == (3, 2)


@pytest.mark.min_server("2.12.0")
def test_atomic_batch_refusals(driver, js):
    d = driver
    d.stream_add(js, name="PLAIN", subjects=["plain.>"])
    batch, _ = d.atomic_batch(js)
    e = code_of(lambda: d.batch_add(batch, "plain.a", b"x"))
    assert e.code == "JETSTREAM" and "10174" in e.message
    d.batch_close(batch)
    # Abandoned: nothing stored, and a new batch is a new start.
    d.stream_add(js, name="ORDERS", subjects=["orders.>"], allow_atomic=True)
    batch, _ = d.atomic_batch(js)
    d.batch_add(batch, "orders.a", b"a")
    d.batch_close(batch)
    assert stored(d, js, "ORDERS") == 0
    batch, _ = d.atomic_batch(js)
    assert d.batch_commit(batch, "orders.one", b"1")["count"] == 1


@pytest.mark.min_server("2.14.0")
def test_atomic_batch_commit_without_a_message(driver, js):
    d = driver
    d.stream_add(js, name="ORDERS", subjects=["orders.>"], allow_atomic=True)
    batch, _ = d.atomic_batch(js)
    for i in range(3):
        d.batch_add(batch, "orders.%d" % i, b"x")
    ack = d.batch_commit(batch)
    assert (ack["seq"], ack["count"]) == (3, 3)
    assert stored(d, js, "ORDERS") == 3


@pytest.mark.min_server("2.12.0")
def test_counters(driver, js):
    d = driver
    d.stream_add(js, name="HITS", subjects=["hits.>"], allow_msg_counter=True,
                 allow_direct=True)
    assert d.counter_add(js, "hits.home", 1) == 1
    assert d.counter_add(js, "hits.home", 41) == 42
    assert d.counter_add(js, "hits.home", -2) == 40
    big = 99999999999999999999999  # past 64 bits: exact
    assert d.counter_add(js, "hits.big", big) == big
    assert d.counter_add(js, "hits.big", big) == 2 * big
    entry = d.counter_get(js, "HITS", "hits.home")
    assert (entry["subject"], entry["val"], entry["incr"]) == (
        "hits.home", "40", "-2")
    assert "sources" not in entry
    many = d.counter_get_many(js, "HITS", ["hits.>"])
    assert {e["subject"]: e["val"] for e in many} == {
        "hits.home": "40", "hits.big": str(2 * big)}
    # A publish through js_publish says the value too.
    ack = d.js_publish(js, "hits.home", headers=[("Nats-Incr", "+2")])
    assert ack["value"] == "42"
    for bad in ("1.5", "abc", "", "+"):
        assert code_of(lambda: d.counter_add(js, "hits.home", bad)).code \
            == "INVALID_ARG"
    assert code_of(lambda: d.counter_get(js, "HITS", "hits.none")).code \
        == "KEY_NOT_FOUND"
    d.stream_add(js, name="PLAIN", subjects=["plain.>"])
    assert code_of(lambda: d.counter_add(js, "plain.x", 1)).code == \
        "JETSTREAM"


@pytest.mark.min_server("2.12.0")
def test_counters_aggregated_from_sources(driver, js):
    """Two regions' counters sourced into a total: the total is their sum
    and says where it came from."""
    d = driver
    for region in ("eu", "us"):
        d.stream_add(js, name=region.upper(), subjects=[region + ".>"],
                     allow_msg_counter=True, allow_direct=True)
    d.counter_add(js, "eu.hits", 5)
    d.counter_add(js, "us.hits", 7)
    d.stream_add(js, name="TOTAL", allow_msg_counter=True, allow_direct=True,
                 sources=[{"name": r.upper(), "subject_transforms": [
                     {"src": r + ".hits", "dest": "total.hits"}]}
                     for r in ("eu", "us")])
    deadline = time.monotonic() + 10
    entry = None
    while time.monotonic() < deadline:
        try:
            entry = d.counter_get(js, "TOTAL", "total.hits")
        except DriverError as e:
            assert e.code == "KEY_NOT_FOUND"
        if entry and entry["val"] == "12":
            break
        time.sleep(0.1)
    assert entry and entry["val"] == "12"
    assert set(entry["sources"]) == {"EU", "US"}


@pytest.mark.below_server("2.12.0")
def test_atomic_batches_and_counters_not_supported(driver, js, nats_server):
    d = driver
    d.stream_add(js, name="ORDERS", subjects=["orders.>"])
    for call in (lambda: d.atomic_batch(js),
                 lambda: d.counter_add(js, "orders.hits", 1)):
        e = code_of(call)
        assert e.code == "NOT_SUPPORTED"
        assert "2.12.0" in e.message and nats_server.version in e.message
