"""jetwire.aio: the same behaviour on the running asyncio loop, driven by the
engine's fd (no thread per message)."""
import asyncio
import threading

import pytest

import jetwire
import jetwire.aio as aio


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_pubsub_headers_and_iteration(nats_server):
    async def main():
        async with await aio.connect(nats_server.url) as nc:
            sub = await nc.subscribe("aio.*")
            for i in range(5):
                await nc.publish("aio.%d" % i, b"%d" % i,
                                 headers={"K": ["a", "b"]})
            got = []
            async for msg in sub.messages:
                got.append((msg.subject, msg.data, msg.headers.get_all("K")))
                if len(got) == 5:
                    break
            assert got == [("aio.%d" % i, b"%d" % i, ["a", "b"])
                           for i in range(5)]
            with pytest.raises(jetwire.TimeoutError):
                await sub.next_msg(0.1)
    run(main())


def test_subscription_pending_and_limits(nats_server):
    """pending counts what the engine queued and what the subscription
    took from it but did not hand out; the limits are the blocking
    API's, and a closed subscription says so."""
    async def main():
        async with await aio.connect(nats_server.url) as nc:
            sub = await nc.subscribe("aio.pending")
            assert sub.pending == (0, 0)
            sub.set_pending_limits(1000, 1 << 20)
            assert sub.pending_limits == (1000, 1 << 20)
            for _ in range(10):
                await nc.publish("aio.pending", b"abcd")
            await nc.flush()
            first = await sub.next_msg(2.0)
            assert first.data == b"abcd"
            msgs, size = sub.pending
            assert msgs == 9 and size >= 9 * 4
            with pytest.raises(TypeError):
                sub.set_pending_limits("many", 1)
            await sub.unsubscribe()
            sub.close()
            with pytest.raises(jetwire.InvalidSubscriptionError):
                sub.pending
            with pytest.raises(jetwire.InvalidSubscriptionError):
                sub.set_pending_limits(1, 1)
    run(main())


def test_callbacks_are_coroutines_run_in_order(nats_server):
    async def main():
        nc = await aio.connect(nats_server.url)
        seen = []
        done = asyncio.Event()

        async def handler(msg):
            await asyncio.sleep(0)  # yields, yet order is kept
            seen.append(msg.data)
            if len(seen) == 20:
                done.set()

        await nc.subscribe("aio.cb", cb=handler)
        for i in range(20):
            await nc.publish("aio.cb", b"%02d" % i)
        await asyncio.wait_for(done.wait(), 5)
        assert seen == [b"%02d" % i for i in range(20)]
        await nc.close()
    run(main())


@pytest.mark.parametrize("kind", ["coroutine", "function"])
def test_callbacks_get_a_whole_burst(nats_server, kind):
    """More messages than one batch (256) queued at once: the callback must
    look at the queue again before it waits, since the fd announces only
    an empty queue becoming non-empty (it stopped at 256 before)."""
    async def main():
        nc = await aio.connect(nats_server.url)
        pc = await aio.connect(nats_server.url)
        seen = []
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        ran = []

        def record(msg):
            if not seen:  # runs only if the loop gets a turn meanwhile
                loop.call_soon(lambda: ran.append(len(seen)))
            seen.append(int(msg.data))
            if len(seen) == 5000:
                ran.append(None)
                done.set()

        async def coro(msg):
            record(msg)

        sub = await nc.subscribe("aio.burst",
                                 cb=coro if kind == "coroutine" else record)
        await nc.flush()
        for i in range(5000):
            await pc.publish("aio.burst", b"%d" % i)
        await pc.flush()
        await asyncio.wait_for(done.wait(), 10)
        assert seen == list(range(5000))
        assert sub.dropped == 0
        # The callbacks did not keep the loop to themselves for the burst.
        assert ran[0] is not None and 0 < ran[0] < 5000, ran
        await pc.close()
        await nc.close()
    run(main())


def test_coroutine_responder_answers_concurrent_requests(nats_server):
    """The service shape: 2,000 requests at once to a coroutine callback
    that responds (256 were answered before, the rest timed out)."""
    async def main():
        srv = await aio.connect(nats_server.url)
        cli = await aio.connect(nats_server.url)

        async def responder(msg):
            await msg.respond(msg.data)

        await srv.subscribe("aio.svc", cb=responder)
        await srv.flush()
        replies = await asyncio.gather(*(
            cli.request("aio.svc", b"%d" % i, timeout=10)
            for i in range(2000)))
        assert [r.data for r in replies] == [b"%d" % i for i in range(2000)]
        await cli.close()
        await srv.close()
    run(main())


def test_publish_is_queued_by_the_call(nats_server):
    """publish and respond queue at once and return a finished future:
    awaited or not, the message goes out; errors come from the call."""
    async def main():
        nc = await aio.connect(nats_server.url)
        sub = await nc.subscribe("aio.now")
        fut = nc.publish("aio.now", b"one")  # not awaited
        assert fut.done() and fut.result() is None
        await nc.publish("aio.now", b"two")
        assert (await sub.next_msg(5)).data == b"one"
        assert (await sub.next_msg(5)).data == b"two"
        with pytest.raises(jetwire.InvalidSubjectError):
            nc.publish("bad subject", b"x")  # raised without an await
        with pytest.raises(TypeError):
            nc.publish("aio.now", "not bytes")

        async def echo(msg):
            if msg.data == b"plain":
                await msg.respond(b"re:" + msg.data)
            else:
                msg.respond(b"re:" + msg.data, headers={"K": "v"})

        await nc.subscribe("aio.echo", cb=echo)
        reply = await nc.request("aio.echo", b"plain", 5)
        assert reply.data == b"re:plain"
        reply = await nc.request("aio.echo", b"hdr", 5)
        assert (reply.data, reply.headers["K"]) == (b"re:hdr", "v")
        await nc.close()
        with pytest.raises(jetwire.ConnectionClosedError):
            nc.publish("aio.now", b"late")
    run(main())


def test_requests_concurrent_on_one_thread(nats_server):
    async def main():
        nc = await aio.connect(nats_server.url)

        async def upper(msg):
            await msg.respond(msg.data.upper())

        await nc.subscribe("aio.upper", cb=upper)
        await nc.flush()
        threads_before = threading.active_count()
        replies = await asyncio.gather(*[
            nc.request("aio.upper", b"r%d" % i, timeout=5)
            for i in range(200)])
        assert [r.data for r in replies] == [b"R%d" % i for i in range(200)]
        # No thread per request or per message.
        assert threading.active_count() <= threads_before
        with pytest.raises(jetwire.NoRespondersError):
            await nc.request("aio.nobody", b"", timeout=5)
        silent = await nc.subscribe("aio.silent")
        with pytest.raises(jetwire.TimeoutError):
            await nc.request("aio.silent", b"", timeout=0.2)
        silent.close()
        await nc.close()
    run(main())


def test_cancelled_request_and_next_msg_leave_nothing_behind(nats_server):
    async def main():
        nc = await aio.connect(nats_server.url)
        held = []

        async def slow(msg):  # answers only after the requester gave up
            held.append(msg)

        await nc.subscribe("aio.slow", cb=slow)
        await nc.flush()
        task = asyncio.ensure_future(nc.request("aio.slow", b"", timeout=10))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert nc._requests == {}
        await held[0].respond(b"late")  # the engine drops it: nobody waits
        sub = await nc.subscribe("aio.none")
        waiting = asyncio.ensure_future(sub.next_msg(timeout=10))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        # Both still work, timeouts included.
        await nc.publish("aio.none", b"x")
        assert (await sub.next_msg(timeout=5)).data == b"x"
        with pytest.raises(jetwire.TimeoutError):
            await sub.next_msg(timeout=0.1)
        with pytest.raises(jetwire.TimeoutError):
            await nc.request("aio.slow", b"", timeout=0.1)
        await nc.close()
    run(main())


def test_pending_request_fails_when_closed(nats_server):
    async def main():
        nc = await aio.connect(nats_server.url)
        silent = await nc.subscribe("aio.hang")
        task = asyncio.ensure_future(nc.request("aio.hang", b"", timeout=10))
        await asyncio.sleep(0.1)
        await nc.close()
        with pytest.raises(jetwire.ConnectionClosedError):
            await task
        silent.close()
    run(main())


def test_drain_delivers_queued_to_callbacks(nats_server):
    async def main():
        sub_nc = await aio.connect(nats_server.url)
        pub_nc = await aio.connect(nats_server.url)
        got = []

        async def handler(msg):
            got.append(msg.data)

        await sub_nc.subscribe("aio.drain", cb=handler)
        await sub_nc.flush()
        for i in range(500):
            await pub_nc.publish("aio.drain", b"%d" % i)
        await pub_nc.flush()
        await sub_nc.drain()
        assert sub_nc.is_closed
        assert got == [b"%d" % i for i in range(500)]
        await pub_nc.close()
    run(main())


def test_event_callbacks_and_errors(nats_server):
    async def main():
        errors = []
        closed = asyncio.Event()

        async def on_error(err):
            errors.append(err)

        async def on_closed():
            closed.set()

        nc = await aio.connect(nats_server.url, error_cb=on_error,
                               closed_cb=on_closed)
        slow = await nc.subscribe("aio.slow", pending_msgs_limit=3)
        for _ in range(50):
            await nc.publish("aio.slow", b"x")
        await nc.flush()
        for _ in range(100):
            if errors:
                break
            await asyncio.sleep(0.02)
        assert errors and isinstance(errors[0], jetwire.SlowConsumerError)
        assert slow.dropped > 0
        with pytest.raises(TypeError):
            await nc.publish(1, b"")
        with pytest.raises(jetwire.InvalidSubjectError):
            await nc.publish("a..b", b"")
        await nc.close()
        await nc.close()  # harmless
        assert closed.is_set()
        with pytest.raises(jetwire.ConnectionClosedError):
            await nc.publish("x", b"")
    run(main())


def test_structured_publish(nats_server):
    async def main():
        nc = await aio.connect(nats_server.url)
        sub = await nc.subscribe("aio.obj")
        await nc.publish("aio.obj", obj={"n": 1, "l": [1.5, None]})
        msg = await sub.next_msg(2)
        assert msg.unpack() == {"n": 1, "l": [1.5, None]}
        await nc.close()
    run(main())


def test_reconnect_coroutine_callbacks(nats_server):
    async def main():
        seen = []
        reconnected = asyncio.Event()

        async def on_disconnected():
            seen.append("disconnected")

        async def on_reconnected():
            seen.append("reconnected")
            reconnected.set()

        nc = await aio.connect(nats_server.url, reconnect_time_wait=0.1,
                               max_reconnect_attempts=-1,
                               disconnected_cb=on_disconnected,
                               reconnected_cb=on_reconnected)
        sub = await nc.subscribe("aio.reconnect")
        await nc.flush()
        nats_server.stop()
        for _ in range(250):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert seen == ["disconnected"]
        await nc.publish("aio.reconnect", b"buffered")
        nats_server.start()
        await asyncio.wait_for(reconnected.wait(), 10)
        assert seen == ["disconnected", "reconnected"]
        msg = await sub.next_msg(timeout=5)
        assert msg.data == b"buffered"
        assert nc.stats["reconnects"] == 1
        await nc.close()

    asyncio.run(main())


def test_the_connection_keeps_its_subscriptions(nats_server):
    """nats-py style: ``await nc.subscribe(subject, cb=...)`` without
    keeping the result, and the responder keeps answering after a garbage
    collection; an unreferenced pulled subscription keeps its interest."""
    import gc

    async def main():
        nc = await aio.connect(nats_server.url)
        other = await aio.connect(nats_server.url)

        async def responder(msg):
            await msg.respond(msg.data.upper())

        await nc.subscribe("keep.svc", cb=responder)
        await nc.subscribe("keep.pull")
        await nc.flush()
        gc.collect()
        for i in range(3):
            reply = await other.request("keep.svc", b"hi", timeout=2)
            assert reply.data == b"HI"
            gc.collect()
        with pytest.raises(jetwire.TimeoutError):
            await other.request("keep.pull", b"x", timeout=0.3)
        await other.close()
        await nc.close()
    run(main())


def test_errors_worded_as_the_blocking_api(nats_server):
    """No responders names the subject, and timeouts are worded in
    seconds, as the blocking API words them."""
    async def main():
        nc = await aio.connect(nats_server.url)
        with pytest.raises(jetwire.NoRespondersError,
                           match=r"^no responders on 'nobody\.home'$"):
            await nc.request("nobody.home", b"", timeout=1.0)
        await nc.subscribe("silent")
        with pytest.raises(jetwire.TimeoutError,
                           match=r"^no reply from 'silent' within 0\.25 s$"):
            await nc.request("silent", b"", timeout=0.25)
        sub = await nc.subscribe("quiet")
        with pytest.raises(jetwire.TimeoutError,
                           match=r"^no message within 0\.1 s$"):
            await sub.next_msg(timeout=0.1)
        await nc.close()
    run(main())


@pytest.mark.parametrize("kind", ["function", "coroutine"])
def test_two_argument_error_cb_gets_the_subscription(nats_server, kind):
    """A slow consumer's error event reaches error_cb(error, subscription)
    (a function or a coroutine), with the subscription it concerns."""
    async def main():
        seen = []

        def on_error(err, sub):
            seen.append((err, sub))

        async def on_error_async(err, sub):
            seen.append((err, sub))

        nc = await aio.connect(nats_server.url, error_cb=on_error
                               if kind == "function" else on_error_async)
        slow = await nc.subscribe("aio.slow", pending_msgs_limit=3)
        for _ in range(50):
            await nc.publish("aio.slow", b"x")
        await nc.flush()
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert seen, "error_cb never ran"
        err, where = seen[0]
        assert isinstance(err, jetwire.SlowConsumerError)
        assert where is slow
        await nc.close()
    run(main())


@pytest.mark.parametrize("kind", ["one", "two", "coroutine", "none"])
def test_callback_exceptions_go_to_error_cb(nats_server, kind, capfd):
    """An exception raised by a subscription's callback (a function or a
    coroutine) goes to error_cb, with the subscription when error_cb takes
    two arguments; without error_cb it is printed. Later messages are
    delivered as usual."""
    async def main():
        seen = []
        options = {
            "one": {"error_cb": lambda e: seen.append((e, None))},
            "two": {"error_cb": lambda e, s: seen.append((e, s))},
            "coroutine": {"error_cb": _async_two(seen)},
            "none": {},
        }[kind]
        nc = await aio.connect(nats_server.url, **options)
        got = []

        async def boom(msg):
            if msg.data == b"bad":
                raise ValueError("bad message %r" % msg.data)
            got.append(msg.data)

        sub = await nc.subscribe("boom", cb=boom)
        for data in (b"ok1", b"bad", b"ok2"):
            await nc.publish("boom", data)
        await nc.flush()
        for _ in range(100):
            if len(got) == 2 and (seen or kind == "none"):
                break
            await asyncio.sleep(0.02)
        assert got == [b"ok1", b"ok2"]
        await nc.close()
        return sub, seen

    sub, seen = run(main())
    if kind == "none":
        assert "bad message" in capfd.readouterr().err
        return
    err, where = seen[0]
    assert isinstance(err, ValueError) and "bad message" in str(err)
    assert where is (None if kind == "one" else sub)


def _async_two(seen):
    async def on_error(err, sub):
        await asyncio.sleep(0)
        seen.append((err, sub))
    return on_error


def test_a_raising_event_callback_does_not_stop_the_round(nats_server,
                                                          capfd):
    """An exception of an event callback is printed, and what the fd
    announced is still handed out (the messages of the same round)."""
    async def main():
        def on_error(err, sub):
            raise RuntimeError("error_cb failed")

        nc = await aio.connect(nats_server.url, error_cb=on_error)
        slow = await nc.subscribe("aio.slow", pending_msgs_limit=3)
        fine = await nc.subscribe("aio.fine")
        for _ in range(50):
            await nc.publish("aio.slow", b"x")
        await nc.publish("aio.fine", b"still here")
        await nc.flush()
        msg = await fine.next_msg(timeout=2.0)
        assert msg.data == b"still here"
        assert slow.dropped > 0
        await nc.close()
    run(main())
    assert "error_cb failed" in capfd.readouterr().err


def test_many_subscriptions_wait_at_once(nats_server):
    # 1,000 subscriptions each awaiting next_msg, and 1,000 callback
    # subscriptions, on one connection: each gets its own message, whatever
    # the others do (the connection fills the subscriptions the engine
    # names in jw_conn_ready).
    async def main():
        nc = await aio.connect(nats_server.url)
        pc = await aio.connect(nats_server.url)
        waiting = [await nc.subscribe("wait.%d" % i) for i in range(1000)]
        got = {}

        def make_cb(i):
            async def cb(msg):
                got[i] = msg.data
            return cb
        cbs = [await nc.subscribe("cb.%d" % i, cb=make_cb(i))
               for i in range(1000)]
        await nc.flush()
        pending = [asyncio.ensure_future(s.next_msg(10.0)) for s in waiting]
        await asyncio.sleep(0)
        for i in reversed(range(1000)):
            await pc.publish("wait.%d" % i, b"w%d" % i)
            await pc.publish("cb.%d" % i, b"c%d" % i)
        await pc.flush()
        msgs = await asyncio.gather(*pending)
        assert [m.data for m in msgs] == [b"w%d" % i for i in range(1000)]
        for _ in range(500):
            if len(got) == 1000:
                break
            await asyncio.sleep(0.01)
        assert got == {i: b"c%d" % i for i in range(1000)}
        del cbs
        await pc.close()
        await nc.close()
    run(main())
