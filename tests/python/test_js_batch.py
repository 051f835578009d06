"""Atomic batch publishes and counters from Python (blocking and asyncio)
against a real nats-server: nats-server 2.12 (2.14 for a commit without a
message of its own), NotSupportedError naming the version before."""
import asyncio
import time

import pytest

import jetwire
import jetwire.aio


@pytest.fixture
def nc(nats_server):
    conn = jetwire.connect(nats_server.url, name="pytest-batch")
    yield conn
    conn.close()


@pytest.fixture
def js(nc):
    return nc.jetstream(timeout=5.0)


def batch_stream(js, name="B", subjects=("b.>",), **extra):
    return js.add_stream(name, subjects=list(subjects), allow_atomic=True,
                         **extra)


def counter_stream(js, name="C", subjects=("c.>",), **extra):
    return js.add_stream(name, subjects=list(subjects),
                         allow_msg_counter=True, allow_direct=True, **extra)


def stored(js, stream):
    return js.stream_info(stream)["state"]["messages"]


# -- atomic batches -----------------------------------------------------------

@pytest.mark.min_server("2.12.0")
def test_batch_of_a_thousand_is_stored_whole(js):
    batch_stream(js)
    js.publish("b.before", b"0")
    with js.atomic_batch() as batch:
        assert isinstance(batch, jetwire.AtomicBatch)
        assert isinstance(batch.id, str) and batch.id
        assert batch.count == 0
        for i in range(999):
            batch.add("b.%d" % (i % 7), b"m%d" % i)
        assert batch.count == 999
        assert stored(js, "B") == 1  # staged, not stored
        ack = batch.commit("b.last", b"end", headers={"K": "v"})
        assert batch.count == 1000
    assert isinstance(ack, jetwire.PubAck)
    assert (ack.stream, ack.seq, ack.batch, ack.count) == (
        "B", 1001, batch.id, 1000)
    assert "count=1000" in repr(ack) and batch.id in repr(ack)
    assert stored(js, "B") == 1001
    first, last = js.get_msg("B", 2), js.get_msg("B", 1001)
    assert (first.subject, first.data) == ("b.0", b"m0")
    assert (last.subject, last.data) == ("b.last", b"end")
    assert last.headers["K"] == "v"
    # Committed: the batch takes nothing more.
    assert batch.count == 1000 and "closed" in repr(batch)
    with pytest.raises(jetwire.InvalidArgError, match="closed"):
        batch.add("b.x", b"")


@pytest.mark.min_server("2.12.0")
def test_leaving_the_with_block_abandons_the_batch(js):
    batch_stream(js)
    with js.atomic_batch() as batch:
        for i in range(3):
            batch.add("b.x", b"%d" % i)
    assert batch.count == 3
    with pytest.raises(RuntimeError):
        with js.atomic_batch() as other:
            other.add("b.y", b"")
            raise RuntimeError("before the commit")
    for closed in (batch, other):
        with pytest.raises(jetwire.InvalidArgError, match="closed"):
            closed.commit("b.x", b"")
    # Nothing of either was stored; the stream goes on.
    assert stored(js, "B") == 0
    assert js.publish("b.z", b"after").seq == 1
    assert stored(js, "B") == 1


@pytest.mark.min_server("2.12.0")
def test_closed_batch(js):
    batch_stream(js)
    batch = js.atomic_batch()
    batch.add("b.a", b"1")
    batch.close()
    batch.close()  # twice is harmless
    assert batch.count == 1  # the last count seen
    with pytest.raises(jetwire.InvalidArgError):
        batch.add("b.a", b"2")
    with pytest.raises(jetwire.InvalidArgError):
        batch.commit()
    assert "closed" in repr(batch)
    assert stored(js, "B") == 0


@pytest.mark.min_server("2.12.0")
def test_refusals(js):
    js.add_stream("PLAIN", subjects=["p.>"])
    batch = js.atomic_batch()
    with pytest.raises(jetwire.JetStreamError) as err:
        batch.add("p.a", b"")  # the stream has no allow_atomic
    assert err.value.err_code == 10174
    with pytest.raises(jetwire.InvalidArgError, match="failed"):
        batch.add("p.a", b"")  # the failed batch takes nothing more
    batch.close()
    assert stored(js, "PLAIN") == 0

    batch_stream(js)
    js.publish("b.a", b"0")
    with js.atomic_batch() as batch:
        batch.add("b.a", b"1", expected_last_seq=5)  # checked at the commit
        batch.add("b.a", b"2")
        with pytest.raises(jetwire.WrongLastSequenceError):
            batch.commit("b.a", b"3")
    assert stored(js, "B") == 1

    with js.atomic_batch() as batch:
        with pytest.raises(jetwire.NoRespondersError):
            batch.add("nobody.here", b"")


@pytest.mark.min_server("2.12.0")
def test_wrong_arguments(js):
    batch_stream(js)
    with js.atomic_batch() as batch:
        with pytest.raises(TypeError):
            batch.add(5, b"")
        with pytest.raises(TypeError):
            batch.add("b.a", "text")
        with pytest.raises(TypeError):
            batch.add("b.a", b"", headers=["K", "v"])
        with pytest.raises(TypeError):
            batch.add("b.a", b"", colour="red")  # no publish option
        with pytest.raises(TypeError):
            batch.add("b.a", b"", msg_id=5)
        with pytest.raises(ValueError):
            batch.commit(None, b"data")  # no subject, no message
        # Nothing was sent: the batch goes on.
        batch.add("b.a", b"1", msg_id="one")
        ack = batch.commit("b.a", b"2")
    assert ack.count == 2
    for bad in (5, "b.a", [("b.a",)], [["b.a", b""]], [("b.a", b"", {}, 1)]):
        with pytest.raises(TypeError):
            js.publish_atomic(bad)
    with pytest.raises(ValueError):
        js.publish_atomic([])
    with pytest.raises(ValueError):
        js.publish_atomic(iter(()))


@pytest.mark.min_server("2.12.0")
def test_publish_atomic(js):
    batch_stream(js)
    ack = js.publish_atomic([("b.a", b"1"), ("b.b", b"2", {"H": "x"}),
                             ("b.c", b"3")])
    assert (ack.seq, ack.count) == (3, 3)
    assert js.get_msg("B", 2).headers["H"] == "x"
    ack = js.publish_atomic(iter([("b.one", b"only")]), msg_id="single")
    assert (ack.seq, ack.count) == (4, 1)
    # The options are the first message's: its expectation fails the
    # whole batch.
    with pytest.raises(jetwire.WrongLastSequenceError):
        js.publish_atomic([("b.a", b"x"), ("b.a", b"y")],
                          expected_last_seq=1, timeout=2.0)
    assert stored(js, "B") == 4
    ack = js.publish_atomic([("b.a", b"x"), ("b.a", b"y")],
                            expected_last_seq=4)
    assert (ack.seq, ack.count) == (6, 2)


@pytest.mark.min_server("2.14.0")
def test_commit_without_a_message(js):
    batch_stream(js)
    with js.atomic_batch() as batch:
        with pytest.raises(jetwire.InvalidArgError, match="empty"):
            batch.commit()
    with js.atomic_batch() as batch:
        batch.add("b.a", b"1")
        batch.add("b.b", b"2")
        ack = batch.commit()
    assert (ack.seq, ack.count, ack.batch) == (2, 2, batch.id)
    assert batch.count == 2
    assert stored(js, "B") == 2


@pytest.mark.min_server("2.12.0")
@pytest.mark.below_server("2.14.0")
def test_commit_without_a_message_not_supported(js):
    batch_stream(js)
    with js.atomic_batch() as batch:
        batch.add("b.a", b"1")
        with pytest.raises(jetwire.NotSupportedError, match="2.14"):
            batch.commit()


# -- counters -----------------------------------------------------------------

@pytest.mark.min_server("2.12.0")
def test_counters(js):
    counter_stream(js)
    assert js.counter_add("c.hits", 1) == 1
    assert js.counter_add("c.hits", 41) == 42
    assert js.counter_add("c.hits", -2) == 40
    assert js.counter_add("c.zero", 0) == 0
    ack = js.publish("c.hits", b"", headers={"Nats-Incr": "+2"})
    assert ack.value == 42 and "value=42" in repr(ack)
    entry = js.counter_get("C", "c.hits")
    assert isinstance(entry, jetwire.CounterEntry)
    assert (entry.subject, entry.value, entry.incr, entry.sources) == (
        "c.hits", 42, 2, {})
    assert entry == jetwire.CounterEntry("c.hits", 42, 2)
    assert entry != jetwire.CounterEntry("c.hits", 42, 1)
    assert repr(entry) == "CounterEntry(subject='c.hits', value=42, incr=2)"
    with pytest.raises(jetwire.KeyNotFoundError):
        js.counter_get("C", "c.none")


@pytest.mark.min_server("2.12.0")
def test_counters_past_64_bits(js):
    counter_stream(js)
    big = 2 ** 63 - 1
    assert js.counter_add("c.big", big) == big
    assert js.counter_add("c.big", big) == 2 * big
    huge = 10 ** 40
    assert js.counter_add("c.big", huge) == 2 * big + huge
    assert js.counter_add("c.neg", -huge) == -huge
    entry = js.counter_get("C", "c.big")
    assert (entry.value, entry.incr) == (2 * big + huge, huge)
    assert js.counter_get("C", "c.neg").value == -huge


@pytest.mark.min_server("2.12.0")
def test_counter_get_many(js):
    counter_stream(js)
    js.counter_add("c.a", 1)
    js.counter_add("c.b", 2)
    js.counter_add("c.a", 10 ** 30)
    js.counter_add("c.c", -3)
    everything = js.counter_get_many("C", "c.>")
    assert [(e.subject, e.value) for e in everything] == [
        ("c.b", 2), ("c.a", 10 ** 30 + 1), ("c.c", -3)]  # stream order
    some = js.counter_get_many("C", ["c.c", "c.a"])
    assert [e.subject for e in some] == ["c.a", "c.c"]
    assert js.counter_get_many("C", ["c.none"]) == []
    with pytest.raises(jetwire.StreamNotFoundError):
        js.counter_get_many("NOPE", "c.>")


@pytest.mark.min_server("2.12.0")
def test_counter_wrong_arguments(js):
    counter_stream(js)
    for bad in (True, 1.5, "5", b"5", None, [1]):
        with pytest.raises(TypeError):
            js.counter_add("c.a", bad)
    with pytest.raises(TypeError):
        js.counter_add(5, 1)
    with pytest.raises(TypeError):
        js.counter_add("c.a", 1, colour="red")
    with pytest.raises(TypeError):
        js.counter_get("C", None)
    with pytest.raises(TypeError):
        js.counter_get_many("C", 5)
    with pytest.raises(jetwire.InvalidArgError):
        js.counter_get_many("C", [])
    js.add_stream("PLAIN", subjects=["p.>"])
    with pytest.raises(jetwire.JetStreamError) as err:
        js.counter_add("p.a", 1)  # the stream keeps no counters
    assert err.value.err_code
    js.publish("p.b", b"not a counter")
    with pytest.raises(jetwire.InvalidArgError):
        js.counter_get("PLAIN", "p.b")


@pytest.mark.min_server("2.12.0")
def test_sourced_counters(js):
    counter_stream(js, "CA", ["ca.hits"])
    counter_stream(js, "CB", ["cb.hits"])
    js.add_stream("AGG", allow_msg_counter=True, allow_direct=True,
                  sources=[{"name": s, "subject_transforms": [
                      {"src": s.lower() + ".hits", "dest": "total.hits"}]}
                      for s in ("CA", "CB")])
    js.counter_add("ca.hits", 3)
    js.counter_add("cb.hits", 4)
    js.counter_add("ca.hits", 5)
    # Sourcing is asynchronous: wait for the aggregate to reach 12.
    deadline = time.monotonic() + 10
    entry = None
    while time.monotonic() < deadline:
        try:
            entry = js.counter_get("AGG", "total.hits")
        except jetwire.KeyNotFoundError:
            entry = None
        if entry is not None and entry.value == 12:
            break
        time.sleep(0.02)
    assert entry is not None and entry.value == 12
    assert entry.subject == "total.hits"
    assert entry.sources == {"CA": {"ca.hits": 8}, "CB": {"cb.hits": 4}}
    assert "sources=" in repr(entry)


# -- asyncio ------------------------------------------------------------------

@pytest.mark.min_server("2.12.0")
def test_aio_batches_and_counters(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream("B", subjects=["b.>"], allow_atomic=True)
        async with js.atomic_batch() as batch:
            assert isinstance(batch, jetwire.aio.AtomicBatch)
            for i in range(99):
                await batch.add("b.a", b"%d" % i)
            ack = await batch.commit("b.a", b"last", msg_id="end")
        assert (ack.seq, ack.count, ack.batch) == (100, 100, batch.id)
        assert batch.count == 100
        with pytest.raises(jetwire.InvalidArgError, match="closed"):
            await batch.add("b.a", b"")

        async with js.atomic_batch() as abandoned:
            await abandoned.add("b.a", b"x")
        assert (await js.stream_info("B"))["state"]["messages"] == 100

        ack = await js.publish_atomic([("b.x", b"1"), ("b.y", b"2")])
        assert (ack.seq, ack.count) == (102, 2)
        with pytest.raises(ValueError):
            await js.publish_atomic([])
        batch = js.atomic_batch()
        with pytest.raises(TypeError):
            await batch.add("b.a", b"", colour="red")
        await batch.close()
        await batch.close()
        with pytest.raises(jetwire.InvalidArgError):
            await batch.commit("b.a", b"")

        await js.add_stream("C", subjects=["c.>"], allow_msg_counter=True,
                            allow_direct=True)
        assert await js.counter_add("c.a", 2 ** 64) == 2 ** 64
        assert await js.counter_add("c.b", -1) == -1
        assert await js.counter_get("C", "c.a") == jetwire.CounterEntry(
            "c.a", 2 ** 64, 2 ** 64)
        many = await js.counter_get_many("C", ["c.a", "c.b"])
        assert [(e.subject, e.value) for e in many] == [("c.a", 2 ** 64),
                                                        ("c.b", -1)]
        with pytest.raises(TypeError):
            await js.counter_add("c.a", False)
        await nc.close()

    asyncio.run(main())


@pytest.mark.min_server("2.12.0")
def test_aio_cancelled_add_is_waited_for(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream("B", subjects=["b.>"], allow_atomic=True)
        batch = js.atomic_batch()
        task = asyncio.ensure_future(batch.add("b.a", b"1"))
        await asyncio.sleep(0)  # started: on the executor
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The next call runs after the cancelled one's engine call.
        await batch.add("b.a", b"2")
        ack = await batch.commit("b.a", b"3")
        # The cancelled add was sent (it had started): three stored.
        assert ack.count == batch.count == 3
        assert (await js.stream_info("B"))["state"]["messages"] == 3
        await batch.close()
        await nc.close()

    asyncio.run(main())


# -- older servers ------------------------------------------------------------

@pytest.mark.below_server("2.12.0")
def test_not_supported(js):
    js.add_stream("PLAIN", subjects=["p.>"])
    with pytest.raises(jetwire.NotSupportedError, match="2.12"):
        js.atomic_batch()
    with pytest.raises(jetwire.NotSupportedError, match="2.12"):
        js.publish_atomic([("p.a", b"")])
    with pytest.raises(jetwire.NotSupportedError, match="2.12"):
        js.counter_add("p.a", 1)
    assert js.stream_info("PLAIN")["state"]["messages"] == 0


@pytest.mark.below_server("2.12.0")
def test_aio_not_supported(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        with pytest.raises(jetwire.NotSupportedError, match="2.12"):
            js.atomic_batch()
        with pytest.raises(jetwire.NotSupportedError, match="2.12"):
            await js.counter_add("p.a", 1)
        await nc.close()

    asyncio.run(main())


def test_wrong_types_are_refused_on_any_server(js):
    # Checked before anything is sent, whatever the server.
    for bad in (True, 1.5, "5", None):
        with pytest.raises(TypeError):
            js.counter_add("c.a", bad)
    with pytest.raises(ValueError):
        js.publish_atomic([])
    with pytest.raises(TypeError):
        js.publish_atomic([("c.a",)])
    with pytest.raises(TypeError):
        js.counter_get_many("C", 5)


# -- the other current-server calls, asyncio ---------------------------------


@pytest.mark.min_server("2.14.0")
def test_aio_schedule_and_consumer_reset(nats_server):
    """asyncio: a schedule through the publish options fires, and
    reset_consumer delivers it again (2.14)."""
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream("S", subjects=["s.>", "due.>"],
                            allow_msg_schedules=True)
        cons = await js.add_consumer("S", durable_name="due",
                                     filter_subject="due.>")
        await js.publish("s.tick", b"tick", schedule_every=1.0,
                         schedule_target="due.tick")
        first = await cons.fetch(1, timeout=5.0)
        assert [m.data for m in first] == [b"tick"]
        await first[0].ack_sync()
        seq = first[0].metadata.sequence.stream
        await js.purge_stream("S", subject="s.tick")
        info = await js.reset_consumer("S", "due", seq)
        assert info["reset_seq"] == seq
        again = await cons.fetch(1, timeout=5.0)
        assert [m.data for m in again] == [b"tick"]
        with pytest.raises(jetwire.ConsumerNotFoundError):
            await js.reset_consumer("S", "nobody")
        await nc.close()
    asyncio.run(main())
