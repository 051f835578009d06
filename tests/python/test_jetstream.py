"""JetStream from Python (blocking and asyncio) against a real nats-server
with a temporary JetStream store."""
import asyncio
import time

import pytest

import jetwire
import jetwire.aio


@pytest.fixture
def nc(nats_server):
    conn = jetwire.connect(nats_server.url, name="pytest-js")
    yield conn
    conn.close()


@pytest.fixture
def js(nc):
    return nc.jetstream(timeout=5.0)


def orders(js, **extra):
    return js.create_or_update_stream(name="ORDERS", subjects=["orders.>"],
                                      storage="file", **extra)


def test_orders_flow(js):
    info = orders(js, max_age=86400.0, replicas=1)
    assert info["config"]["max_age"] == 86400.0
    assert info["config"]["num_replicas"] == 1
    acks = [js.publish("orders.created", b"order-%d" % i) for i in range(5)]
    assert [a.seq for a in acks] == [1, 2, 3, 4, 5]
    assert all(a.stream == "ORDERS" and not a.duplicate for a in acks)
    cons = js.create_or_update_consumer(
        "ORDERS", durable="order-processor", ack_policy="explicit",
        deliver_policy="all", ack_wait=30.0, max_deliver=3,
        filter_subject="orders.created")
    assert cons.name == "order-processor" and cons.stream == "ORDERS"
    msgs = cons.fetch(10, timeout=2.0)
    assert [m.data for m in msgs] == [b"order-%d" % i for i in range(5)]
    md = msgs[0].metadata
    assert (md.stream, md.consumer, md.num_delivered) == \
        ("ORDERS", "order-processor", 1)
    assert (md.sequence.stream, md.sequence.consumer) == (1, 1)
    assert md.num_pending == 4
    assert abs(md.timestamp - time.time()) < 60
    for m in msgs:
        m.ack()
    info = js.consumer_info("ORDERS", "order-processor")
    assert info["config"]["ack_wait"] == 30.0
    assert info["config"]["max_deliver"] == 3
    assert js.stream_info("ORDERS")["state"]["messages"] == 5
    assert js.stream_names() == ["ORDERS"]
    assert [s["config"]["name"] for s in js.streams()] == ["ORDERS"]
    assert [c["name"] for c in js.consumers("ORDERS")] == ["order-processor"]
    assert js.get_msg("ORDERS", 2).data == b"order-1"
    assert js.get_last_msg("ORDERS", "orders.created").data == b"order-4"
    js.delete_msg("ORDERS", 1)
    with pytest.raises(jetwire.JetStreamError) as e:
        js.get_msg("ORDERS", 1)
    assert e.value.err_code == 10037
    assert js.purge_stream("ORDERS", keep=1) == 3
    js.delete_consumer("ORDERS", "order-processor")
    with pytest.raises(jetwire.ConsumerNotFoundError):
        js.consumer_info("ORDERS", "order-processor")
    js.delete_stream("ORDERS")
    with pytest.raises(jetwire.StreamNotFoundError) as e:
        js.stream_info("ORDERS")
    assert e.value.err_code == 10059


def test_durable_resumes_on_a_new_connection(nats_server):
    with jetwire.connect(nats_server.url) as nc:
        js = nc.jetstream()
        orders(js)
        for i in range(4):
            js.publish("orders.created", b"%d" % i)
        cons = js.create_or_update_consumer("ORDERS", durable="p")
        for m in cons.fetch(2, timeout=2.0):
            m.ack_sync()
    with jetwire.connect(nats_server.url) as nc:
        cons = nc.jetstream().consumer("ORDERS", "p")
        msgs = cons.fetch(10, timeout=1.0)
        assert [m.data for m in msgs] == [b"2", b"3"]


def test_nak_redelivers_and_nak_delay_waits(js):
    orders(js)
    js.publish("orders.a", b"x")
    cons = js.create_or_update_consumer("ORDERS", durable="n")
    m = cons.fetch(1, timeout=2.0)[0]
    m.nak()
    again = cons.fetch(1, timeout=2.0)[0]
    assert again.data == b"x" and again.metadata.num_delivered == 2
    again.nak(delay=1.5)
    assert cons.fetch(1, timeout=0.5) == []  # not before the delay
    third = cons.fetch(1, timeout=3.0)[0]
    assert third.metadata.num_delivered == 3
    third.ack()


def test_term_never_redelivers(js):
    orders(js)
    js.publish("orders.a", b"x")
    cons = js.create_or_update_consumer("ORDERS", durable="t", ack_wait=1.0)
    cons.fetch(1, timeout=2.0)[0].term()
    assert cons.fetch(1, timeout=2.0) == []


def test_in_progress_extends_ack_wait(js):
    orders(js)
    js.publish("orders.a", b"x")
    cons = js.create_or_update_consumer("ORDERS", durable="w", ack_wait=1.0)
    m = cons.fetch(1, timeout=2.0)[0]
    for _ in range(3):
        time.sleep(0.5)
        m.in_progress()
    # 1.5 s after delivery with ack_wait 1 s: still not redelivered.
    assert cons.fetch(1, timeout=0.5) == []
    m.ack_sync()


def test_max_deliver_respected(js):
    orders(js)
    js.publish("orders.a", b"x")
    cons = js.create_or_update_consumer("ORDERS", durable="md",
                                        max_deliver=2)
    for n in (1, 2):
        m = cons.fetch(1, timeout=2.0)[0]
        assert m.metadata.num_delivered == n
        m.nak()
    assert cons.fetch(1, timeout=1.0) == []


def test_duplicate_msg_id_and_expectations(js):
    orders(js, duplicate_window=60.0)
    first = js.publish("orders.a", b"1", msg_id="order-1")
    dup = js.publish("orders.a", b"1", msg_id="order-1")
    assert dup.duplicate and dup.seq == first.seq
    assert js.publish("orders.a", b"2", expected_last_seq=1).seq == 2
    with pytest.raises(jetwire.WrongLastSequenceError) as e:
        js.publish("orders.a", b"3", expected_last_seq=1)
    assert e.value.err_code == 10071
    with pytest.raises(jetwire.JetStreamError):
        js.publish("orders.a", b"3", expected_stream="OTHER")
    with pytest.raises(jetwire.NoRespondersError):
        js.publish("nothing.here", b"")


def test_publish_async(js):
    orders(js)
    futs = [js.publish_async("orders.a", b"%d" % i, msg_id=str(i))
            for i in range(50)]
    js.publish_async_complete(timeout=5.0)
    assert [f.result().seq for f in futs] == list(range(1, 51))
    bad = js.publish_async("orders.a", b"", expected_last_seq=1)
    with pytest.raises(jetwire.WrongLastSequenceError):
        bad.result(timeout=5.0)


def test_work_queue_retention_removes_acked(js):
    js.add_stream(name="WQ", subjects=["jobs.>"], retention="workqueue")
    for i in range(3):
        js.publish("jobs.x", b"%d" % i)
    cons = js.add_consumer("WQ", durable="worker")
    for m in cons.fetch(3, timeout=2.0):
        m.ack_sync()
    assert js.stream_info("WQ")["state"]["messages"] == 0


def test_messages_iterates_continuously(js):
    orders(js)
    for i in range(5):
        js.publish("orders.a", b"%d" % i)
    cons = js.create_or_update_consumer("ORDERS", durable="it")
    got = []
    for m in cons.messages(batch=2, timeout=1.0):
        got.append(m.data)
        m.ack()
    assert got == [b"%d" % i for i in range(5)]


def test_ack_errors_are_clear(nc, js):
    orders(js)
    js.publish("orders.a", b"x")
    m = js.create_or_update_consumer("ORDERS", durable="a").fetch(
        1, timeout=2.0)[0]
    m.ack()
    with pytest.raises(jetwire.InvalidArgError, match="already"):
        m.ack()
    with pytest.raises(jetwire.InvalidArgError, match="already"):
        m.nak()
    sub = nc.subscribe("plain")
    nc.publish("plain", b"", reply="some.reply")
    plain = sub.next_msg(timeout=2.0)
    with pytest.raises(jetwire.InvalidArgError,
                       match="not a JetStream message"):
        plain.ack()
    with pytest.raises(jetwire.InvalidArgError,
                       match="not a JetStream message"):
        plain.metadata


def test_bad_arguments(nc, js):
    # The engine checks configurations (its table of fields): a field a
    # 2.9/2.10 server would ignore, a value of the wrong type or unit. A
    # 2.11+ server refuses unknown fields itself (10025).
    if _version(nc) < (2, 11, 0):
        with pytest.raises(jetwire.InvalidArgError,
                           match="unknown stream configuration field "
                                 "'colour'"):
            js.create_or_update_stream(name="S", subjects=["s"],
                                       colour="red")
        with pytest.raises(jetwire.InvalidArgError,
                           match="unknown consumer configuration field "
                                 "'speed'"):
            js.create_or_update_consumer("S", durable="d", speed=3)
    else:
        with pytest.raises(jetwire.JetStreamError, match="colour") as e:
            js.create_or_update_stream(name="S", subjects=["s"],
                                       colour="red")
        assert e.value.err_code == 10025
        js.create_or_update_stream(name="S", subjects=["s"])
        with pytest.raises(jetwire.JetStreamError, match="speed"):
            js.create_or_update_consumer("S", durable="d", speed=3)
        js.delete_stream("S")
    with pytest.raises(jetwire.InvalidArgError,
                       match="'subjects' must be an array of strings"):
        js.create_or_update_stream(name="S", subjects="s")
    with pytest.raises(jetwire.InvalidArgError,
                       match="'max_age' must be a duration in seconds"):
        js.create_or_update_stream(name="S", subjects=["s"], max_age="1d")
    with pytest.raises(jetwire.InvalidArgError, match="max_age"):
        js.create_or_update_stream(name="S", subjects=["s"], max_age=-1.0)
    with pytest.raises(TypeError, match="not JSON"):
        js.create_or_update_stream(name="S", subjects=["s"],
                                   metadata={"k": object()})
    with pytest.raises(TypeError):
        js.stream_info(42)
    with pytest.raises(TypeError):
        js.publish("s", "not bytes")
    with pytest.raises(TypeError):
        js.publish("s", b"", expected_last_seq="1")
    with pytest.raises(ValueError):
        js.publish("s", b"", expected_last_seq=-1)
    with pytest.raises(TypeError):
        js.publish(b"s", b"")
    orders(js)
    cons = js.create_or_update_consumer("ORDERS", durable="b")
    with pytest.raises(TypeError):
        cons.fetch("10")
    with pytest.raises(ValueError):
        cons.fetch(0)
    with pytest.raises(TypeError):
        cons.fetch(1, timeout="1")
    with pytest.raises(TypeError):
        js.create_or_update_consumer("ORDERS", config=["not", "a", "dict"])
    # config= is the escape hatch: the server's names, merged with kwargs.
    cons = js.create_or_update_consumer(
        "ORDERS", config={"durable_name": "c", "max_ack_pending": 7})
    assert cons.info()["config"]["max_ack_pending"] == 7


def test_closed_connection(nats_server):
    nc = jetwire.connect(nats_server.url)
    js = nc.jetstream()
    orders(js)
    cons = js.create_or_update_consumer("ORDERS", durable="x")
    nc.close()
    with pytest.raises(jetwire.ConnectionClosedError):
        js.stream_info("ORDERS")
    with pytest.raises(jetwire.ConnectionClosedError):
        cons.fetch(1, timeout=0.1)


def test_aio_core_flow(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.create_or_update_stream(name="ORDERS",
                                         subjects=["orders.>"])
        acks = [await js.publish("orders.created", b"%d" % i)
                for i in range(5)]
        assert [a.seq for a in acks] == [1, 2, 3, 4, 5]
        cons = await js.create_or_update_consumer(
            "ORDERS", durable="order-processor", max_deliver=3)
        # The loop stays free while a fetch waits.
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1
        ticker = asyncio.ensure_future(tick())
        await asyncio.sleep(0)
        assert await cons.fetch(1, timeout=1.0, no_wait=True) != []
        msgs = await cons.fetch(10, timeout=1.0)
        assert len(msgs) == 4
        empty = await cons.fetch(1, timeout=0.5)
        assert empty == []
        assert ticks > 10
        ticker.cancel()
        for m in msgs:
            assert isinstance(m, jetwire.aio.Msg)
            await m.ack()
        with pytest.raises(jetwire.InvalidArgError):
            await msgs[0].ack()
        await js.publish("orders.created", b"late")
        got = []
        async for m in cons.messages(timeout=1.0):
            got.append(m.data)
            await m.ack_sync()
        assert got == [b"late"]
        info = await js.consumer_info("ORDERS", "order-processor")
        assert info["num_ack_pending"] == 1  # the no_wait one
        with pytest.raises(jetwire.WrongLastSequenceError):
            await js.publish("orders.x", b"", expected_last_seq=1)
        # The asyncio publish runs on the connection's fd: options become
        # headers, duplicates are reported, no stream is no responders.
        first = await js.publish("orders.z", b"1", msg_id="z1",
                                 headers={"Trace": "t"})
        again = await js.publish("orders.z", b"1", msg_id="z1")
        assert (again.seq, again.duplicate) == (first.seq, True)
        stored = await js.get_msg("ORDERS", first.seq)
        assert stored.headers["Trace"] == "t"
        with pytest.raises(jetwire.NoRespondersError):
            await js.publish("nowhere.at.all", b"")
        with pytest.raises(TypeError):
            await js.publish("orders.z", b"", colour="red")
        futs = [await js.publish_async("orders.y", b"") for _ in range(10)]
        await js.publish_async_complete(5.0)
        assert futs[-1].result().seq == 17
        await nc.close()
    asyncio.run(main())


def test_push_consumer_through_a_subscription(nc, js):
    orders(js)
    sub = nc.subscribe("deliver.orders", queue="g")
    js.create_or_update_consumer("ORDERS", durable="push",
                                 deliver_subject="deliver.orders",
                                 deliver_group="g", ack_wait=1.0)
    js.publish("orders.a", b"x")
    m = sub.next_msg(timeout=2.0)
    assert m.metadata.consumer == "push"
    m.ack_sync()
    with pytest.raises(jetwire.InvalidArgError, match="already"):
        m.ack()
    with pytest.raises(jetwire.TimeoutError):
        sub.next_msg(timeout=1.5)  # acked: not redelivered after ack_wait


def test_push_consumer_consumed_like_a_pull_one(js):
    """messages() and consume() take a push consumer from its deliver
    subject, as nats.go's js.Subscribe does, answering its flow control;
    the pull options are refused, not ignored."""
    import threading
    orders(js)
    cons = js.create_or_update_consumer(
        "ORDERS", durable="pusher", deliver_subject="deliver.py",
        flow_control=True, idle_heartbeat=0.2, ack_wait=5.0)
    with pytest.raises(jetwire.InvalidArgError, match="push consumer"):
        next(cons.messages(batch=10, timeout=1.0))
    payload = b"p" * 1024
    for _ in range(1500):
        js.publish_async("orders.a", payload)
    js.publish_async_complete(10.0)
    got = []
    for m in cons.messages(timeout=2.0):
        assert m.data == payload
        got.append(m.metadata.sequence.stream)
        m.ack()
        if len(got) == 1500:
            break
    assert got == list(range(1, 1501))
    seen = []
    done = threading.Event()

    def handler(m):
        seen.append(m.metadata.sequence.stream)
        m.ack()
        if len(seen) == 20:
            done.set()
    ctx = cons.consume(handler)
    for _ in range(20):
        js.publish("orders.b", b"x")
    assert done.wait(5.0)
    ctx.stop()
    assert seen == list(range(1501, 1521))
    deadline = time.monotonic() + 3.0  # the acks were not waited for
    while js.consumer_info("ORDERS", "pusher")["num_ack_pending"] and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert js.consumer_info("ORDERS", "pusher")["num_ack_pending"] == 0


def test_aio_push_consumer_messages(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.create_or_update_stream(name="ORDERS",
                                         subjects=["orders.>"])
        cons = await js.create_or_update_consumer(
            "ORDERS", durable="apush", deliver_subject="deliver.aio",
            flow_control=True, idle_heartbeat=0.2)
        for i in range(500):
            await js.publish("orders.b", b"%d" % i)
        got = []
        async for m in cons.messages(timeout=2.0):
            got.append(int(m.data))
            await m.ack()
            if len(got) == 500:
                break
        assert got == list(range(500))
        await nc.close()
    asyncio.run(main())


def test_aio_consume_with_a_handler(nats_server):
    """asyncio consume(handler): plain functions and coroutines, in order,
    on a task of the loop; stop() ends it; a bad start raises at once and
    a deleted consumer ends it with error set."""
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.create_or_update_stream(name="ORDERS",
                                         subjects=["orders.>"])
        # A short ack_wait: what the stopped consumption's last pull
        # request got comes again soon (as with nats.go's Stop).
        cons = await js.create_or_update_consumer("ORDERS", durable="h",
                                                  ack_wait=1.0)
        for i in range(300):
            await js.publish("orders.c", b"%d" % i)
        seen = []
        done = asyncio.get_running_loop().create_future()

        async def handler(m):
            await m.ack()
            seen.append(int(m.data))
            if len(seen) == 300:
                done.set_result(None)
        cc = await cons.consume(handler, batch=50)
        assert isinstance(cc, jetwire.aio.ConsumeContext) and cc.running
        await asyncio.wait_for(done, 10.0)
        assert seen == list(range(300))
        await cc.stop()
        assert not cc.running and cc.error is None
        plain = []
        cc = await cons.consume(lambda m: plain.append(m.data))
        await js.publish("orders.c", b"after")
        for _ in range(250):
            if plain:
                break
            await asyncio.sleep(0.02)
        assert plain[:1] == [b"after"]
        await js.delete_consumer("ORDERS", "h")
        for _ in range(250):
            if not cc.running:
                break
            await asyncio.sleep(0.02)
        assert isinstance(cc.error, jetwire.ConsumerNotFoundError)
        await cc.stop()
        with pytest.raises(jetwire.ConsumerNotFoundError):
            await cons.consume(lambda m: None)
        with pytest.raises(TypeError):
            await cons.consume("not callable")
        await nc.close()
    asyncio.run(main())


def test_close_while_other_threads_are_in_jetstream_calls(nats_server):
    """Closing from one thread while others wait in fetch, publish_async
    and consume: the waiting calls end (CONNECTION_CLOSED or an empty
    fetch), the handles are freed only after them, nothing crashes."""
    import threading
    for round in range(16):
        nc = jetwire.connect(nats_server.url)
        js = nc.jetstream()
        js.create_or_update_stream("RACE", subjects=["race.>"],
                                   storage="memory")
        cons = js.create_or_update_consumer("RACE", durable_name="d")
        codes: list = []

        def fetch():
            try:
                while True:
                    cons.fetch(10, timeout=2.0)
            except jetwire.Error as e:
                codes.append(e.code)

        def publish():
            try:
                while True:
                    for _ in range(20000):
                        js.publish_async("race.x", b"x")
                    js.publish_async_complete(5.0)
            except jetwire.Error as e:
                codes.append(e.code)

        def iterate():
            try:
                for m in cons.messages(batch=50, timeout=5.0):
                    m.ack()
            except jetwire.Error as e:
                codes.append(e.code)

        threads = [threading.Thread(target=f) for f in (fetch, publish,
                                                         iterate)]
        for t in threads:
            t.start()
        time.sleep(0.05 + 0.02 * (round % 4))
        nc.close()
        for t in threads:
            t.join(10)
        assert not any(t.is_alive() for t in threads)
        assert set(codes) <= {"CONNECTION_CLOSED"}, codes
        assert "CONNECTION_CLOSED" in codes
        with pytest.raises(jetwire.ConnectionClosedError):
            js.publish("race.x", b"late")


def read_ordered(oc, want, first):
    """want messages from an ordered consumer within ten seconds; their
    stream sequences must be first, first+1, ..."""
    got = []
    deadline = time.monotonic() + 10
    while len(got) < want and time.monotonic() < deadline:
        got += oc.fetch(want - len(got), timeout=1.0)
    assert [m.metadata.sequence.stream for m in got] == \
        list(range(first, first + want))
    return got


def test_ordered_consumer_in_order_and_recreated(js):
    orders(js)
    for i in range(50):
        js.publish("orders.new", b"%d" % i)
    with pytest.raises(TypeError):
        js.ordered_consumer("ORDERS", durable="x")
    with pytest.raises(jetwire.StreamNotFoundError):
        js.ordered_consumer("NOPE")
    with pytest.raises(jetwire.InvalidArgError):
        js.ordered_consumer("ORDERS", idle_heartbeat=0.01)
    oc = js.ordered_consumer("ORDERS", idle_heartbeat=0.3)
    assert isinstance(oc, jetwire.OrderedConsumer)
    assert oc.last_sequence == 0
    got = [oc.next(timeout=2.0) for _ in range(20)]
    assert oc.last_sequence == 20
    for m in oc.messages(timeout=1.0):
        got.append(m)
        if len(got) == 50:
            break
    assert oc.last_sequence == 50
    assert [m.data for m in got] == [b"%d" % i for i in range(50)]
    assert [m.metadata.sequence.stream for m in got] == list(range(1, 51))
    # No acks: the consumer's ack policy is none.
    (name,) = js.consumer_names("ORDERS")
    assert got[0].metadata.consumer == name
    assert js.consumer_info("ORDERS", name)["config"]["ack_policy"] == "none"
    # Lose the server's consumer: after three silent heartbeats the
    # engine makes it again from sequence 51, without gaps or duplicates.
    js.delete_consumer("ORDERS", name)
    for i in range(50, 60):
        js.publish("orders.new", b"%d" % i)
    again = read_ordered(oc, 10, 51)
    assert [m.data for m in again] == [b"%d" % i for i in range(50, 60)]
    with pytest.raises(jetwire.TimeoutError):
        oc.next(timeout=0.3)
    (new_name,) = js.consumer_names("ORDERS")
    assert new_name != name
    assert oc.last_sequence == 60
    oc.close()
    oc.close()
    assert js.consumer_names("ORDERS") == []  # close deleted it
    assert oc.last_sequence == 60
    with pytest.raises(jetwire.InvalidSubscriptionError):
        oc.next(timeout=0.1)
    assert list(oc.messages(timeout=0.1)) == []
    assert "closed" in repr(oc)


def test_ordered_consumer_filter_and_start(js):
    orders(js)
    for i in range(1, 11):
        js.publish("orders.a" if i % 2 else "orders.b", b"%d" % i)
    with js.ordered_consumer("ORDERS", "orders.b",
                             deliver_policy="by_start_sequence",
                             opt_start_seq=5) as oc:
        got = oc.fetch(10, timeout=2.0)
        assert [m.data for m in got] == [b"6", b"8", b"10"]
        assert oc.last_sequence == 10
        with pytest.raises(jetwire.TimeoutError):
            oc.next(timeout=0.3)
        js.publish("orders.a", b"11")
        js.publish("orders.b", b"12")
        m = oc.next(timeout=2.0)
        assert (m.subject, m.data) == ("orders.b", b"12")
        assert oc.last_sequence == 12
        assert len(js.consumer_names("ORDERS")) == 1
    assert js.consumer_names("ORDERS") == []
    with js.ordered_consumer("ORDERS", deliver_policy="last") as oc:
        assert oc.next(timeout=2.0).data == b"12"
    with js.ordered_consumer("ORDERS", "orders.a",
                             deliver_policy="new") as oc:
        with pytest.raises(jetwire.TimeoutError):
            oc.next(timeout=0.3)
        js.publish("orders.a", b"13")
        assert oc.next(timeout=2.0).data == b"13"


def test_ordered_consumer_closed_from_other_threads(nats_server):
    """close() from another thread ends an iteration waiting forever; a
    closed connection ends one with CONNECTION_CLOSED."""
    import threading
    nc = jetwire.connect(nats_server.url)
    js = nc.jetstream()
    orders(js)
    js.publish("orders.x", b"1")
    oc = js.ordered_consumer("ORDERS")
    seen = []
    t = threading.Thread(target=lambda: seen.extend(m.data for m in oc))
    t.start()
    time.sleep(0.3)
    oc.close()
    t.join(5)
    assert not t.is_alive() and seen == [b"1"]
    oc = js.ordered_consumer("ORDERS")
    codes = []

    def follow():
        try:
            for _ in oc:
                pass
        except jetwire.Error as e:
            codes.append(e.code)
    t = threading.Thread(target=follow)
    t.start()
    time.sleep(0.3)
    nc.close()
    t.join(5)
    assert not t.is_alive() and codes == ["CONNECTION_CLOSED"]
    oc.close()  # harmless after the connection's close


def test_aio_ordered_consumer(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.create_or_update_stream(name="ORDERS",
                                         subjects=["orders.>"])
        for i in range(10):
            await js.publish("orders.new", b"%d" % i)
        oc = await js.ordered_consumer("ORDERS", idle_heartbeat=0.3)
        assert isinstance(oc, jetwire.aio.OrderedConsumer)
        got = []
        async for m in oc:
            assert isinstance(m, jetwire.aio.Msg)
            got.append(m.metadata.sequence.stream)
            if len(got) == 10:
                break
        assert got == list(range(1, 11)) and oc.last_sequence == 10
        (name,) = await js.consumer_names("ORDERS")
        await js.delete_consumer("ORDERS", name)
        for i in range(10, 15):
            await js.publish("orders.new", b"%d" % i)
        for seq in range(11, 16):
            m = await oc.next(timeout=5.0)
            assert m.metadata.sequence.stream == seq
        # A cancelled wait loses nothing: its slice's message comes next.
        task = asyncio.ensure_future(oc.next(timeout=None))
        await asyncio.sleep(0.1)
        task.cancel()
        await js.publish("orders.new", b"15")
        m = await oc.next(timeout=3.0)
        assert (m.data, oc.last_sequence) == (b"15", 16)
        with pytest.raises(jetwire.TimeoutError):
            await oc.next(timeout=0.2)
        assert await oc.fetch(5, timeout=0.2) == []
        await js.publish("orders.new", b"16")
        assert [m.data for m in await oc.fetch(5, timeout=2.0)] == [b"16"]
        assert [m async for m in oc.messages(timeout=0.2)] == []
        await oc.close()
        assert await js.consumer_names("ORDERS") == []
        with pytest.raises(jetwire.InvalidSubscriptionError):
            await oc.next(timeout=0.1)
        async with await js.ordered_consumer(
                "ORDERS", "orders.new", deliver_policy="by_start_sequence",
                opt_start_seq=17) as oc2:
            assert (await oc2.next(timeout=2.0)).data == b"16"
        await nc.close()
    asyncio.run(main())


def _version(nc):
    text = nc.server_info["version"]
    return tuple(int(p) for p in text.split("-")[0].split(".")[:3])


def test_fields_of_later_servers_are_the_engines_to_judge(nc, js):
    """Python holds no list of fields: the fields of 2.11 and 2.12 servers
    reach the engine, which refuses them on an older server naming the
    version (they were TypeError: unknown stream field), and sends them in
    the right unit to a server that knows them."""
    server = _version(nc)
    cases = [("allow_msg_ttl", True, (2, 11, 0)),
             ("subject_delete_marker_ttl", 60, (2, 11, 0)),
             ("allow_atomic", True, (2, 12, 0)),
             ("allow_msg_counter", True, (2, 12, 0))]
    for i, (field, value, since) in enumerate(cases):
        kwargs = {field: value}
        if field == "subject_delete_marker_ttl":
            kwargs["allow_msg_ttl"] = True
        if server < since:
            with pytest.raises(jetwire.NotSupportedError,
                               match="'%s' needs nats-server %d.%d.%d"
                               % ((field,) + since)):
                js.add_stream("LATER%d" % i, subjects=["later%d" % i],
                              **kwargs)
        else:
            cfg = js.add_stream("LATER%d" % i, subjects=["later%d" % i],
                                **kwargs)["config"]
            assert cfg[field] == value
    # Consumer fields of 2.11 the same way, durations in seconds.
    js.add_stream("LATERC", subjects=["laterc"])
    if server < (2, 11, 0):
        with pytest.raises(jetwire.NotSupportedError, match="2.11.0"):
            js.add_consumer("LATERC", durable="p", priority_groups=["g"],
                            priority_policy="pinned_client",
                            priority_timeout=30)
    else:
        cfg = js.add_consumer("LATERC", durable="p", priority_groups=["g"],
                              priority_policy="pinned_client",
                              priority_timeout=30).info()["config"]
        assert cfg["priority_timeout"] == 30


def test_stream_config_round_trip(js):
    """What the server says the configuration is can be written back as it
    is, whatever fields the server adds (2.15 adds allow_msg_ttl)."""
    js.add_stream("RT", subjects=["rt.>"], max_age=1.5, metadata=None)
    cfg = js.stream_info("RT")["config"]
    assert cfg["max_age"] == 1.5
    assert js.update_stream(config=cfg)["config"] == cfg
    cons = js.add_consumer("RT", durable="d", ack_wait=2.5)
    ccfg = cons.info()["config"]
    assert ccfg["ack_wait"] == 2.5
    js.create_or_update_consumer("RT", config=ccfg)
    assert js.consumer_info("RT", "d")["config"] == ccfg


# -- asyncio direct get batches (nats-server 2.11) ---------------------------

async def _filled_direct_stream(js):
    """DG over dg.>: dg.a, dg.b, dg.c, dg.a, ... at sequences 1 to 9."""
    await js.create_or_update_stream(name="DG", subjects=["dg.>"],
                                     allow_direct=True)
    for i in range(9):
        await js.publish("dg." + "abc"[i % 3], b"v%d" % (i + 1))


@pytest.mark.min_server("2.11.0")
def test_aio_direct_get_batch(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await _filled_direct_stream(js)
        ticks = []

        async def tick():
            while True:
                ticks.append(1)
                await asyncio.sleep(0.005)

        ticker = asyncio.ensure_future(tick())
        batch = await js.direct_get_batch("DG", seq=2, batch=3)
        assert isinstance(batch, jetwire.aio.DirectBatch)
        got = [m async for m in batch]
        assert all(isinstance(m, jetwire.aio.Msg) for m in got)
        assert [m.subject for m in got] == ["dg.b", "dg.c", "dg.a"]
        assert [m.headers["Nats-Sequence"] for m in got] == ["2", "3", "4"]
        assert got[0].data == b"v2"
        assert (batch.num_pending, batch.last_seq) == (5, 4)
        assert await batch.next() is None  # and again after the end
        await batch.close()
        await batch.close()  # twice is harmless
        with pytest.raises(jetwire.InvalidArgError):
            await batch.next()

        # multi_last, with next() and async with.
        async with await js.direct_get_batch(
                "DG", multi_last=["dg.a", "dg.c"], up_to_seq=5,
                timeout=2.0) as b:
            seqs = []
            while True:
                m = await b.next(timeout=2.0)
                if m is None:
                    break
                seqs.append(int(m.headers["Nats-Sequence"]))
            assert seqs == [3, 4]
            assert b.up_to_seq == 5
        ticker.cancel()
        assert ticks  # the loop ran while the batch was read

        # Options are the engine's: checked at the call.
        with pytest.raises(TypeError):
            await js.direct_get_batch("DG", seq=1, colour="red")
        with pytest.raises(jetwire.StreamNotFoundError):
            b = await js.direct_get_batch("NOPE", seq=1)
            await b.next()
        await nc.close()

    asyncio.run(main())


@pytest.mark.min_server("2.11.0")
def test_aio_direct_get_batch_cancelled_next_loses_nothing(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.create_or_update_stream(name="DG", subjects=["dg.>"],
                                         allow_direct=True)
        batch = await js.direct_get_batch("DG", next_by_subject="dg.x",
                                          batch=10)
        # An empty batch ends at once.
        assert await batch.next() is None
        await batch.close()
        await _filled_direct_stream(js)
        batch = await js.direct_get_batch("DG", seq=1, batch=9)
        task = asyncio.ensure_future(batch.next(timeout=None))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        got = [m.data async for m in batch]
        assert got == [b"v%d" % i for i in range(1, 10)]
        await batch.close()
        await nc.close()

    asyncio.run(main())


@pytest.mark.below_server("2.11.0")
def test_aio_direct_get_batch_not_supported(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.create_or_update_stream(name="DG", subjects=["dg.>"],
                                         allow_direct=True)
        with pytest.raises(jetwire.NotSupportedError, match="2.11"):
            await js.direct_get_batch("DG", seq=1)
        await nc.close()

    asyncio.run(main())
