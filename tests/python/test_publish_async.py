"""publish_async's futures (issue 19, points 4 and 7).

Point 4: a publish in flight when the connection loses its socket fails at
once with NotConnectedError, whatever the context's timeout (30 s here, so
a future left to it fails the 1 s bound), in the blocking and the asyncio
API; the first publish_async_complete after it reports the loss once.
The server is frozen (SIGSTOP) before the publishes, so none of them can
be acknowledged, then killed.

Point 7: a PubAckFuture is a concurrent.futures.Future: exception(),
add_done_callback(), concurrent.futures.wait / as_completed and
asyncio.wrap_future work without anybody calling publish_async_complete;
cancel() is always False (the publish is already on its way)."""
import asyncio
import concurrent.futures
import gc
import threading
import time

import pytest

import jetwire
import jetwire.aio

FAST = dict(reconnect_time_wait=0.1, reconnect_jitter=0.01,
            max_reconnect_attempts=-1)
N = 200
LIMIT = 1.0  # seconds from the DISCONNECTED event to every future settled


def pump_threads():
    return [t for t in threading.enumerate() if t.name == "jetwire-puback"]


def wait_no_pump(timeout=5.0):
    deadline = time.monotonic() + timeout
    while pump_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not pump_threads()


def test_in_flight_futures_fail_at_once_when_the_server_dies(nats_server):
    nc = jetwire.connect(nats_server.url, **FAST)
    try:
        js = nc.jetstream(timeout=30.0)  # nothing may wait for it
        js.add_stream(name="LOST", subjects=["lost.>"])
        acked = [js.publish_async("lost.a", b"%d" % i) for i in range(10)]
        js.publish_async_complete(10.0)

        nats_server.pause()
        futs = [js.publish_async("lost.a", b"x") for _ in range(N)]
        assert not any(f.done() for f in futs)
        settled = {}

        def wait_all():
            done, not_done = concurrent.futures.wait(futs, timeout=30.0)
            settled["all"] = (len(not_done), time.monotonic())

        def wait_one():
            try:
                futs[-1].result(timeout=30.0)
            except jetwire.Error as e:
                settled["one"] = (e.code, time.monotonic())

        threads = [threading.Thread(target=fn, daemon=True)
                   for fn in (wait_all, wait_one)]
        for t in threads:
            t.start()
        time.sleep(0.1)
        assert not settled  # waiting: nothing can be acknowledged

        nats_server.stop()
        ev = nc.next_event(timeout=10.0)
        lost = time.monotonic()
        assert ev.kind == "disconnected"
        for t in threads:
            t.join(timeout=5.0)
        assert "all" in settled and "one" in settled, settled
        assert settled["all"][0] == 0
        assert settled["all"][1] - lost <= LIMIT
        assert settled["one"][0] == "NOT_CONNECTED"
        assert settled["one"][1] - lost <= LIMIT
        for f in futs:
            err = f.exception(timeout=0)
            assert isinstance(err, jetwire.NotConnectedError)
            assert isinstance(err, ConnectionError)
            assert "msg_id" in str(err)  # how to publish it again safely
        # Acknowledged before the loss: still their PubAcks.
        assert [f.result(timeout=0).seq for f in acked] == list(range(1, 11))
        # The loss is reported once.
        with pytest.raises(jetwire.NotConnectedError) as e:
            js.publish_async_complete(1.0)
        assert "%d async publishes" % N in str(e.value)
        js.publish_async_complete(1.0)

        nats_server.start()
        assert nc.next_event(timeout=10.0).kind == "reconnected"
        ack = js.publish_async("lost.b", b"y").result(timeout=10.0)
        assert ack.stream == "LOST"
    finally:
        nc.close()


def test_aio_in_flight_futures_fail_at_once(nats_server):
    async def main():
        loop = asyncio.get_running_loop()
        lost = loop.create_future()

        def disconnected():
            if not lost.done():
                lost.set_result(time.monotonic())

        nc = await jetwire.aio.connect(nats_server.url,
                                       disconnected_cb=disconnected, **FAST)
        try:
            js = nc.jetstream(timeout=30.0)
            await js.add_stream(name="LOST", subjects=["lost.>"])
            first = await js.publish_async("lost.a", b"0")
            assert (await asyncio.wrap_future(first)).seq == 1
            await loop.run_in_executor(None, nats_server.pause)
            futs = [await js.publish_async("lost.a", b"x") for _ in range(N)]
            gathered = asyncio.gather(
                *(asyncio.wrap_future(f) for f in futs),
                return_exceptions=True)
            await asyncio.sleep(0.1)
            assert not gathered.done()
            await loop.run_in_executor(None, nats_server.stop)
            results = await asyncio.wait_for(gathered, 10.0)
            settled = time.monotonic()
            at = await asyncio.wait_for(lost, 5.0)
            assert settled - at <= LIMIT
            assert all(isinstance(r, jetwire.NotConnectedError)
                       for r in results), results
            with pytest.raises(jetwire.NotConnectedError):
                await js.publish_async_complete(1.0)
        finally:
            await nc.close()

    asyncio.run(main())


@pytest.fixture
def nc(nats_server):
    conn = jetwire.connect(nats_server.url)
    yield conn
    conn.close()


@pytest.fixture
def js(nc):
    js = nc.jetstream(timeout=5.0)
    js.add_stream(name="F", subjects=["f.>"])
    return js


def test_a_future_is_a_concurrent_future(js):
    assert issubclass(jetwire.PubAckFuture, concurrent.futures.Future)
    fut = js.publish_async("f.a", b"1")
    assert isinstance(fut, concurrent.futures.Future)
    assert isinstance(fut, jetwire.PubAckFuture)
    assert fut.cancel() is False  # on its way already
    assert fut.result(timeout=5.0).seq == 1
    assert fut.done() and not fut.running() and not fut.cancelled()
    assert fut.exception(timeout=0) is None
    assert fut.cancel() is False
    assert "acked" in repr(fut)
    bad = js.publish_async("f.a", b"", expected_last_seq=99)
    err = bad.exception(timeout=5.0)
    assert isinstance(err, jetwire.WrongLastSequenceError)
    with pytest.raises(jetwire.WrongLastSequenceError):
        bad.result(timeout=0)
    assert "raised WrongLastSequenceError" in repr(bad)


def test_wait_and_as_completed_need_no_complete(js):
    futs = [js.publish_async("f.a", b"%d" % i) for i in range(500)]
    done, not_done = concurrent.futures.wait(futs, timeout=10.0)
    assert len(done) == 500 and not not_done
    assert sorted(f.result().seq for f in futs) == list(range(1, 501))
    futs = [js.publish_async("f.a", b"%d" % i) for i in range(500)]
    seen = list(concurrent.futures.as_completed(futs, timeout=10.0))
    assert sorted(f.id for f in seen) == sorted(f.id for f in futs)
    futs.append(js.publish_async("f.a", b"", expected_last_seq=1))
    done, not_done = concurrent.futures.wait(
        futs[-3:], timeout=10.0,
        return_when=concurrent.futures.FIRST_EXCEPTION)
    assert futs[-1] in done


def test_done_callbacks_run_once_the_ack_is_in(js):
    called = []
    lock = threading.Lock()

    def cb(f):
        with lock:
            called.append((f.id, f.result(timeout=0).seq))

    futs = [js.publish_async("f.a", b"%d" % i) for i in range(100)]
    for f in futs:
        f.add_done_callback(cb)
    deadline = time.monotonic() + 10.0
    while len(called) < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(called) == sorted((f.id, f.result().seq) for f in futs)
    # On a finished future the callback runs at once.
    futs[0].add_done_callback(cb)
    assert len(called) == 101
    with pytest.raises(TypeError):
        futs[0].add_done_callback("not callable")


def test_a_callback_may_wait_for_another_future(nc, js):
    """Done callbacks run on the pump thread: one that waits for a pending
    future there pumps the outcomes itself instead of blocking them."""
    # The first publish is answered by hand, after its callback is set.
    stand_in = nc.subscribe("standin.x")
    nc.flush()
    first = js.publish_async("standin.x", b"1")
    seen = []

    def cb(f):
        seen.append(threading.current_thread().name)
        second = js.publish_async("f.a", b"2")
        seen.append(second.result(timeout=5.0).seq)

    first.add_done_callback(cb)
    assert not seen
    stand_in.next_msg(timeout=5.0).respond(b'{"stream":"F","seq":7}')
    deadline = time.monotonic() + 10.0
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == ["jetwire-puback", 1]
    assert first.result(timeout=0).seq == 7


def test_pending_future(nats_server, nc, js):
    # A subscriber that never answers holds the publish in flight.
    silent = nc.subscribe("silent.x")
    nc.flush()
    fut = js.publish_async("silent.x", b"")
    assert fut.running() and not fut.done() and fut.cancel() is False
    assert "pending" in repr(fut)
    with pytest.raises(jetwire.TimeoutError):
        fut.result(timeout=0.1)
    with pytest.raises(TimeoutError):  # jetwire's is the builtin's too
        fut.exception(timeout=0.05)
    with pytest.raises(TypeError):
        fut.result(timeout="soon")
    # Closing the connection completes it.
    waited = []
    t = threading.Thread(target=lambda: waited.append(
        concurrent.futures.wait([fut], timeout=10.0)), daemon=True)
    t.start()
    time.sleep(0.1)
    nc.close()
    t.join(timeout=5.0)
    assert waited and not waited[0].not_done
    assert isinstance(fut.exception(timeout=0), jetwire.ConnectionClosedError)
    assert silent is not None


def test_asyncio_wraps_a_future(js):
    async def main():
        futs = [js.publish_async("f.a", b"%d" % i) for i in range(50)]
        acks = await asyncio.gather(*(asyncio.wrap_future(f) for f in futs))
        return [a.seq for a in acks]

    assert asyncio.run(main()) == list(range(1, 51))


def test_the_pump_thread_ends_and_the_context_can_go(nats_server):
    assert wait_no_pump()
    nc = jetwire.connect(nats_server.url)
    js = nc.jetstream(timeout=5.0)
    js.add_stream(name="F", subjects=["f.>"])
    # Futures nobody waits on need no thread.
    futs = [js.publish_async("f.a", b"") for _ in range(10)]
    js.publish_async_complete(5.0)
    assert all(f.done() for f in futs)
    assert futs[0].result(timeout=0).seq == 1
    assert not pump_threads()
    # One waited for (result, wait, as_completed, a callback) gets one.
    futs.append(js.publish_async("f.a", b""))
    concurrent.futures.wait(futs, timeout=5.0)
    assert len(pump_threads()) == 1
    assert wait_no_pump(), "the pump thread stays after its linger"
    # The context collected while the thread lingers: the finalizer
    # stops the thread before it frees the context.
    concurrent.futures.wait([js.publish_async("f.a", b"")], timeout=5.0)
    assert pump_threads()
    del js, futs
    gc.collect()
    assert not pump_threads()
    nc.close()
