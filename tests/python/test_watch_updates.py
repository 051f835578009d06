"""A watcher's updates written as Go users write them (issue 18, point 7).

nats.go ranges over a channel, `for u := range w.Updates()`; in Python the
watcher itself is iterated and `updates(timeout)` gives one item (nats-py's
shape, kept). `for u in w.updates():` must fail with a message that names
the right call, and nats-py's `await w.updates(timeout)` keep working as a
coroutine (await, create_task, wait_for, gather, cancel)."""
import asyncio
import gc
import warnings

import pytest

import jetwire
import jetwire.aio as aio

BLOCKING_HINT = "for entry in watcher:"
AIO_HINT = "async for entry in watcher:"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_blocking_for_over_updates_names_the_watcher(nats_server):
    with jetwire.connect(nats_server.url) as nc:
        kv = nc.jetstream().create_key_value(bucket="UPD", storage="memory")
        kv.put("a", b"1")
        with kv.watch() as w:
            with pytest.raises(TypeError) as info:
                for u in w.updates():  # the Go way
                    pass
            assert BLOCKING_HINT in str(info.value)
            assert "updates() returns one entry" in str(info.value)
            # The right calls: the watcher goes on (the entry the wrong
            # loop took is gone, as with any call that returned it).
            assert w.updates(2.0) is None  # end of the initial values
            kv.put("b", b"2")
            assert next(iter(w)).key == "b"
        # Any Entry says the same (a get's too); it stays non-iterable.
        with pytest.raises(TypeError, match="'Entry' object is not iterable"):
            list(kv.get("a"))


def test_blocking_marker_first_is_pythons_own_error(nats_server):
    """The documented limit: None cannot carry a message."""
    with jetwire.connect(nats_server.url) as nc:
        kv = nc.jetstream().create_key_value(bucket="UPD", storage="memory")
        with kv.watch() as w:  # an empty bucket: the marker comes first
            with pytest.raises(TypeError, match="NoneType"):
                for u in w.updates():
                    pass


def test_aio_for_over_updates_names_the_watcher(nats_server):
    async def main():
        nc = await aio.connect(nats_server.url)
        kv = await nc.jetstream().create_key_value(bucket="UPD",
                                                   storage="memory")
        await kv.put("a", b"1")
        w = await kv.watch()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(TypeError) as info:
                for u in w.updates():
                    pass
            assert AIO_HINT in str(info.value)
            with pytest.raises(TypeError) as info:
                async for u in w.updates():
                    pass
            assert AIO_HINT in str(info.value)
            gc.collect()
        # Nothing was started, so nothing "was never awaited".
        assert [str(c.message) for c in caught] == []
        # Nor was an item taken: the right calls see everything.
        assert (await w.updates(2.0)).key == "a"
        assert await w.updates(2.0) is None
        await kv.put("b", b"2")
        with pytest.raises(TypeError, match="'Entry' object is not"):
            for u in await w.updates(2.0):
                pass
        await w.stop()
        await nc.close()
    run(main())


def test_aio_updates_is_still_a_coroutine(nats_server):
    """nats-py's `await w.updates(timeout)` and what asyncio does with a
    coroutine: create_task, wait_for, gather, cancel, close."""
    async def main():
        nc = await aio.connect(nats_server.url)
        kv = await nc.jetstream().create_key_value(bucket="UPD",
                                                   storage="memory")
        w = await kv.watch(updates_only=True)
        assert await w.updates(2.0) is None
        pending = w.updates()
        assert asyncio.iscoroutine(pending)
        pending.close()  # closed unstarted: no warning, nothing taken
        await kv.put("a", b"1")
        await kv.put("b", b"2")
        await kv.put("c", b"3")
        assert (await asyncio.create_task(w.updates(2.0))).key == "a"
        assert (await asyncio.wait_for(w.updates(None), 2.0)).key == "b"
        [e] = await asyncio.gather(w.updates(2.0))
        assert e.key == "c"
        with pytest.raises(jetwire.TimeoutError):
            await w.updates(0.1)
        task = asyncio.create_task(w.updates(None))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await kv.put("d", b"4")
        assert (await w.updates(2.0)).key == "d"  # the cancel lost nothing
        with pytest.raises(TypeError):
            await w.updates(timeout="1")  # checked at the await, as before
        await w.stop()
        await nc.drain()
    run(main())
