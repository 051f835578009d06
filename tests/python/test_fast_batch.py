"""Fast-ingest batches from Python (blocking and asyncio) against a real
nats-server: nats-server 2.14, NotSupportedError naming the version
before."""
import asyncio

import pytest

import jetwire
import jetwire.aio

N = 100000


@pytest.fixture
def nc(nats_server):
    conn = jetwire.connect(nats_server.url, name="pytest-fast")
    yield conn
    conn.close()


@pytest.fixture
def js(nc):
    return nc.jetstream(timeout=5.0)


def fast_stream(js, name="F", subjects=("f.>",), **extra):
    return js.add_stream(name, subjects=list(subjects), allow_batched=True,
                         **extra)


def stored(js, stream):
    return js.stream_info(stream)["state"]["messages"]


def add_until_stopped(batch, limit=100000):
    """Add until an add raises (a gap "fail" batch stopped by the server);
    the error. The stop comes with the acks: the window closes long
    before limit messages."""
    for i in range(limit):
        try:
            batch.add("f.more", b"%d" % i)
        except jetwire.Error as e:
            return e
    raise AssertionError("the batch did not stop")


# -- blocking -----------------------------------------------------------------

@pytest.mark.min_server("2.14.0")
def test_hundred_thousand_messages(js):
    fast_stream(js)
    with js.fast_batch() as batch:
        assert isinstance(batch, jetwire.FastBatch)
        assert (batch.sent, batch.acked) == (0, 0)
        for i in range(N - 1):
            assert batch.add("f.%d" % (i % 5), b"m%d" % i) == i + 1
        assert batch.sent == N - 1
        ack = batch.commit("f.last", b"end", headers={"K": "v"})
        assert batch.take_errors() == []
    assert isinstance(ack, jetwire.PubAck)
    assert (ack.stream, ack.seq, ack.count) == ("F", N, N)
    assert ack.batch and "count=%d" % N in repr(ack)
    assert batch.acked <= N and "closed" in repr(batch)
    assert stored(js, "F") == N
    first, last = js.get_msg("F", 1), js.get_msg("F", N)
    assert (first.subject, first.data) == ("f.0", b"m0")
    assert (last.subject, last.data) == ("f.last", b"end")
    assert last.headers["K"] == "v"
    with pytest.raises(jetwire.InvalidArgError, match="closed"):
        batch.add("f.x", b"")


@pytest.mark.min_server("2.14.0")
def test_publish_batch(js):
    fast_stream(js)
    ack = js.publish_batch(("f.%d" % (i % 3), b"%d" % i) for i in range(N))
    assert (ack.seq, ack.count) == (N, N)
    assert stored(js, "F") == N
    assert js.get_msg("F", 7).data == b"6"
    # Headers, other payload types, one message, options.
    ack = js.publish_batch([("f.a", bytearray(b"1")),
                            ("f.b", b"2", {"H": "x"}),
                            ("f.c", memoryview(b"3"), {"H": ["y", "z"]})],
                           flow=10, max_outstanding_acks=3, timeout=2.0)
    assert (ack.seq, ack.count) == (N + 3, 3)
    assert js.get_msg("F", N + 2).headers["H"] == "x"
    assert js.get_msg("F", N + 3).data == b"3"
    ack = js.publish_batch(iter([("f.one", b"only")]), gap="ok")
    assert (ack.seq, ack.count) == (N + 4, 1)


@pytest.mark.min_server("2.14.0")
def test_options_and_commit_without_a_message(js):
    fast_stream(js)
    with js.fast_batch(flow=50, gap="ok", max_outstanding_acks=1,
                       timeout=3) as batch:
        with pytest.raises(jetwire.InvalidArgError):
            batch.commit()  # nothing to commit
        assert batch.add("f.a", b"1", msg_id="one") == 1
        assert batch.add("f.a", b"1", msg_id="one") == 2  # a duplicate
        assert batch.add("f.b", b"2", ttl=60) == 3
        ack = batch.commit()
    assert ack.seq == stored(js, "F")
    assert ack.count == 3
    with pytest.raises(jetwire.InvalidArgError):
        batch.commit()


@pytest.mark.min_server("2.14.0")
def test_gap_ok_reports_refused_messages(js):
    fast_stream(js)
    with js.fast_batch(gap="ok") as batch:
        batch.add("f.a", b"1")
        batch.add("f.a", b"2", expected_last_subject_seq=99)  # refused
        for i in range(3, 501):
            batch.add("f.a", b"%d" % i)
        ack = batch.commit("f.a", b"last")
        errors = batch.take_errors()
    assert ack.count == 501  # the highest sequence the server saw
    assert [(e["type"], e["seq"]) for e in errors] == [("err", 2)]
    assert errors[0]["err_code"] == 10071 and errors[0]["description"]
    assert stored(js, "F") == 500
    assert batch.take_errors.__doc__


@pytest.mark.min_server("2.14.0")
def test_gap_fail_stops_at_the_refused_message(js):
    fast_stream(js)
    batch = js.fast_batch()
    batch.add("f.a", b"1")
    batch.add("f.a", b"2")
    batch.add("f.a", b"3", expected_last_subject_seq=99)  # refused
    err = add_until_stopped(batch)
    assert isinstance(err, jetwire.WrongLastSequenceError)
    ack = batch.commit("f.a", b"not sent")
    assert ack.count == 2
    errors = batch.take_errors()
    assert [(e["type"], e["seq"]) for e in errors] == [("err", 3)]
    batch.close()
    batch.close()
    assert stored(js, "F") == 2


@pytest.mark.min_server("2.14.0")
def test_refusals(js):
    js.add_stream("PLAIN", subjects=["p.>"])
    with js.fast_batch() as batch:
        with pytest.raises(jetwire.JetStreamError) as err:
            batch.add("p.a", b"")  # the stream has no allow_batched
        assert err.value.err_code == 10205
    with pytest.raises(jetwire.JetStreamError) as err:
        js.publish_batch([("p.a", b"1"), ("p.a", b"2")])
    assert err.value.err_code == 10205
    assert stored(js, "PLAIN") == 0
    with js.fast_batch() as batch:
        with pytest.raises(jetwire.NoRespondersError):
            batch.add("nobody.here", b"")
    fast_stream(js)
    # Leaving the block abandons the batch: what was sent stays.
    with pytest.raises(RuntimeError):
        with js.fast_batch() as batch:
            batch.add("f.a", b"1")
            raise RuntimeError("before the commit")
    assert "closed" in repr(batch)
    assert stored(js, "F") == 1


@pytest.mark.min_server("2.14.0")
def test_wrong_arguments(js):
    fast_stream(js)
    with js.fast_batch() as batch:
        for args, kwargs in [((5, b""), {}), (("f.a", "text"), {}),
                             (("f.a", b""), {"headers": ["K", "v"]}),
                             (("f.a", b""), {"colour": "red"}),
                             (("f.a", b""), {"msg_id": 5})]:
            with pytest.raises(TypeError):
                batch.add(*args, **kwargs)
        with pytest.raises(jetwire.InvalidSubjectError):
            batch.add("f.\0a", b"")
        with pytest.raises(ValueError):
            batch.commit(None, b"data")
        with pytest.raises(TypeError):
            batch.commit("f.a", b"", msg_id="x")  # commit takes no options
        # Nothing was sent: the batch goes on.
        assert batch.add("f.a", b"1") == 1
        assert batch.commit("f.a", b"2").count == 2
    with pytest.raises(TypeError):
        js.fast_batch(colour="red")
    with pytest.raises(TypeError):
        js.fast_batch(flow="many")
    with pytest.raises(jetwire.InvalidArgError):
        js.fast_batch(gap="sometimes")
    with pytest.raises(ValueError):
        js.fast_batch(max_outstanding_acks=9)
    # A wrong message in the middle of publish_batch fails it there: the
    # messages before it were sent (one each time).
    with pytest.raises(TypeError):
        js.publish_batch([("f.a", b"1"), ("f.a", "text"), ("f.a", b"3")])
    with pytest.raises(TypeError):
        js.publish_batch([("f.a", b"1"), ["f.a", b"2"], ("f.a", b"3")])
    assert stored(js, "F") == 4


# -- asyncio ------------------------------------------------------------------

@pytest.mark.min_server("2.14.0")
def test_aio_fast_batches(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream("F", subjects=["f.>"], allow_batched=True)
        ticks = [0]

        async def ticker():  # the loop stays free while adds run
            while True:
                ticks[0] += 1
                await asyncio.sleep(0.001)

        # Adds run on the loop while the engine has room, on the executor
        # when one may wait: 100,000 one by one, the loop kept free.
        n = N
        t = asyncio.ensure_future(ticker())
        async with js.fast_batch() as batch:
            assert isinstance(batch, jetwire.aio.FastBatch)
            for i in range(n - 1):
                assert await batch.add("f.a", b"%d" % i) == i + 1
            ack = await batch.commit("f.a", b"last", {"K": "v"})
            assert batch.take_errors() == []
            assert batch.acked <= n
        t.cancel()
        assert ticks[0] > 0
        assert (ack.seq, ack.count) == (n, n)
        with pytest.raises(jetwire.InvalidArgError, match="closed"):
            await batch.add("f.a", b"")

        ack = await js.publish_batch(("f.b", b"%d" % i) for i in range(N))
        assert (ack.seq, ack.count) == (n + N, N)
        with pytest.raises(ValueError):
            await js.publish_batch([])

        async with js.fast_batch(gap="ok") as batch:
            await batch.add("f.c", b"1")
            await batch.add("f.c", b"2", expected_last_subject_seq=99)
            ack = await batch.commit()
            errors = batch.take_errors()
        assert [(e["type"], e["seq"]) for e in errors] == [("err", 2)]
        assert (await js.stream_info("F"))["state"]["messages"] == n + N + 1

        batch = js.fast_batch()
        with pytest.raises(TypeError):
            await batch.add("f.a", b"", colour="red")
        await batch.close()
        await batch.close()
        with pytest.raises(jetwire.InvalidArgError):
            await batch.commit("f.a", b"")
        await nc.close()

    asyncio.run(main())


@pytest.mark.min_server("2.14.0")
def test_aio_cancelled_add_is_waited_for(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream("F", subjects=["f.>"], allow_batched=True)
        batch = js.fast_batch()
        task = asyncio.ensure_future(batch.add("f.a", b"1"))  # the first
        await asyncio.sleep(0)  # started: on the executor
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The next call runs after the cancelled one's engine call.
        assert await batch.add("f.a", b"2") == 2
        ack = await batch.commit("f.a", b"3")
        assert ack.count == 3
        await batch.close()
        await nc.close()

    asyncio.run(main())


# -- older servers ------------------------------------------------------------

@pytest.mark.below_server("2.14.0")
def test_not_supported(js):
    js.add_stream("PLAIN", subjects=["p.>"])
    with pytest.raises(jetwire.NotSupportedError, match="2.14.0"):
        js.fast_batch()
    with pytest.raises(jetwire.NotSupportedError, match="2.14.0"):
        js.publish_batch([("p.a", b"1"), ("p.a", b"2")])
    assert js.stream_info("PLAIN")["state"]["messages"] == 0


@pytest.mark.below_server("2.14.0")
def test_aio_not_supported(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        with pytest.raises(jetwire.NotSupportedError, match="2.14.0"):
            js.fast_batch()
        with pytest.raises(jetwire.NotSupportedError, match="2.14.0"):
            await js.publish_batch([("p.a", b"")])
        await nc.close()

    asyncio.run(main())


def test_wrong_types_are_refused_on_any_server(js):
    # Checked before anything is sent, whatever the server.
    for bad in (5, b"f.a", "f.a"):
        with pytest.raises(TypeError):
            js.publish_batch(bad)
    with pytest.raises(ValueError):
        js.publish_batch([])
    with pytest.raises(TypeError):
        js.publish_batch([("f.a",)])
    with pytest.raises(TypeError):
        js.publish_batch([("f.a", b"", {}, 1)])
