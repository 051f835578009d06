"""Lifetimes of what is made through a connection (issue 16). Each Python
object's finalizer frees its own engine handle whenever it is collected,
whatever else is open: the engine keeps what a handle was made through
alive (a consume its consumer; consumers, ordered consumers and buckets
their context; watchers and key listers their bucket; a context its
connection). Closing the connection closes and frees it; the objects made
through it then raise ConnectionClosedError, which the engine reports.

* every child kind, blocking and asyncio, used after the connection's
  close raises ConnectionClosedError (no crash, no hang);
* parents dropped (del + gc.collect()) before their children, in every
  order, leave the children working while the connection is open;
* calls blocked in one thread while another closes the connection (and
  drops the parents) return at once, 50 rounds; the same for calls on
  the connection's own handle, which close() frees only once they are
  out;
* an event callback may close its own connection.
"""
import asyncio
import gc
import itertools
import random
import threading
import time
import weakref

import pytest

import jetwire
import jetwire.aio

STREAM = "LIFE"
BUCKET = "life"
LISTED = ["l.%02d" % i for i in range(30)]
# Every call below must end well within this (the engine wakes a waiting
# call at the close; a watcher or ordered consumer waits in 0.5 s slices).
PROMPT = 3.0


def prepare(url):
    """The stream and the bucket (with the keys listed) every test uses."""
    with jetwire.connect(url) as nc:
        js = nc.jetstream()
        js.create_or_update_stream(STREAM, subjects=["life.>"],
                                   storage="memory")
        kv = js.create_or_update_key_value(bucket=BUCKET, history=1,
                                           storage="memory")
        for key in LISTED:
            kv.put(key, b"x")


def raises_closed(what, fn):
    """fn() raises ConnectionClosedError, promptly."""
    start = time.monotonic()
    with pytest.raises(jetwire.ConnectionClosedError):
        fn()
    took = time.monotonic() - start
    assert took < PROMPT, "%s took %.1f s to say so" % (what, took)


def closed_after_taken(what, take, limit=300):
    """take() gives at most limit items (taken before the close) and then
    raises ConnectionClosedError."""
    for _ in range(limit):
        try:
            take()
        except jetwire.ConnectionClosedError:
            return
    pytest.fail("%s still gives items after the close" % what)


# -- (a) used after the connection's close ----------------------------------


def test_children_after_close_raise_connection_closed(nats_server):
    prepare(nats_server.url)
    nc = jetwire.connect(nats_server.url)
    js = nc.jetstream(timeout=2.0)
    for i in range(6):
        js.publish("life.c", b"%d" % i)
    cons = js.add_consumer(STREAM, filter_subject="life.c")
    it_cons = js.add_consumer(STREAM, filter_subject="life.c")
    it = it_cons.messages(batch=2)
    assert next(it).data == b"0"
    handled = []
    cc = js.add_consumer(STREAM, filter_subject="life.c").consume(
        handled.append)
    oc = js.ordered_consumer(STREAM, "life.c")
    assert oc.next(timeout=2.0).data == b"0"
    kv = js.key_value(BUCKET)
    w = kv.watch("l.>")
    assert w.updates(2.0).key == LISTED[0]
    empty_w = kv.watch("nothing.>")  # its marker is due at once
    lister = kv.list_keys("l.>")
    assert next(lister) == LISTED[0]
    deadline = time.monotonic() + 5
    while len(handled) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(handled) == 6

    nc.close()

    # The context.
    raises_closed("js.stream_info", lambda: js.stream_info(STREAM))
    raises_closed("js.publish", lambda: js.publish("life.c", b"late"))
    raises_closed("js.publish_async",
                  lambda: js.publish_async("life.c", b"late"))
    raises_closed("js.consumer", lambda: js.add_consumer(STREAM))
    raises_closed("js.ordered_consumer",
                  lambda: js.ordered_consumer(STREAM))
    raises_closed("js.key_value", lambda: js.key_value(BUCKET))
    # A consumer.
    raises_closed("cons.fetch", lambda: cons.fetch(1, timeout=2.0))
    raises_closed("cons.info", cons.info)
    raises_closed("cons.messages", lambda: next(cons.messages()))
    raises_closed("cons.consume", lambda: cons.consume(print))
    # A running consume: what it took before the close, then the error.
    closed_after_taken("consume iterator", lambda: next(it))
    cc._thread.join(PROMPT)
    assert not cc._thread.is_alive(), "consume thread still running"
    cc.stop()  # harmless
    # An ordered consumer.
    raises_closed("oc.next", lambda: oc.next(timeout=2.0))
    raises_closed("oc.fetch", lambda: oc.fetch(2, timeout=2.0))
    raises_closed("iter(oc)", lambda: next(iter(oc)))
    raises_closed("oc.messages", lambda: next(oc.messages(timeout=2.0)))
    oc.close()  # harmless
    # A bucket.
    raises_closed("kv.get", lambda: kv.get(LISTED[0]))
    raises_closed("kv.put", lambda: kv.put("k", b"v"))
    raises_closed("kv.create", lambda: kv.create("new", b"v"))
    raises_closed("kv.update", lambda: kv.update("k", b"v", 1))
    raises_closed("kv.delete", lambda: kv.delete("k"))
    raises_closed("kv.purge", lambda: kv.purge("k"))
    raises_closed("kv.keys", kv.keys)
    raises_closed("kv.history", lambda: kv.history(LISTED[0]))
    raises_closed("kv.status", kv.status)
    raises_closed("kv.watch", kv.watch)
    raises_closed("kv.list_keys", kv.list_keys)
    # Watchers: updates() raises, iteration ends.
    raises_closed("w.updates", lambda: w.updates(2.0))
    raises_closed("empty_w.updates", lambda: empty_w.updates(2.0))
    assert list(w) == [] and list(empty_w) == []
    w.stop()
    empty_w.stop()
    # A key lister.
    closed_after_taken("key lister", lambda: next(lister))
    # Everything goes, in whatever order the collector takes it.
    del js, cons, it_cons, it, cc, oc, kv, w, empty_w, lister
    gc.collect()


def test_aio_children_after_close_raise_connection_closed(nats_server):
    prepare(nats_server.url)

    async def araises_closed(what, make):
        start = time.monotonic()
        with pytest.raises(jetwire.ConnectionClosedError):
            await asyncio.wait_for(make(), PROMPT)
        assert time.monotonic() - start < PROMPT, what

    async def aclosed_after_taken(what, make, limit=300):
        """What was taken before the close (buffered), then the error."""
        for _ in range(limit):
            try:
                await asyncio.wait_for(make(), PROMPT)
            except jetwire.ConnectionClosedError:
                return
        pytest.fail("%s still gives items after the close" % what)

    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream(timeout=2.0)
        for i in range(4):
            await js.publish("life.c", b"%d" % i)
        cons = await js.add_consumer(STREAM, filter_subject="life.c")
        it = (await js.add_consumer(STREAM, filter_subject="life.c")
              ).messages(batch=2)
        assert (await it.__anext__()).data == b"0"
        oc = await js.ordered_consumer(STREAM, "life.c")
        assert (await oc.next(timeout=2.0)).data == b"0"
        kv = await js.key_value(BUCKET)
        w = await kv.watch("l.>")
        assert (await w.updates(2.0)).key == LISTED[0]
        lister = kv.list_keys("l.>")
        assert await lister.__anext__() == LISTED[0]

        await nc.close()

        await araises_closed("js.stream_info", lambda: js.stream_info(STREAM))
        await araises_closed("js.publish",
                             lambda: js.publish("life.c", b"late"))
        await araises_closed("js.consumer", lambda: js.add_consumer(STREAM))
        await araises_closed("cons.fetch", lambda: cons.fetch(1, 2.0))
        await araises_closed("cons.info", cons.info)
        await araises_closed("cons.messages",
                             lambda: cons.messages().__anext__())
        await aclosed_after_taken("consume iterator", it.__anext__)
        # The ordered consumer hands out what its last wait took first.
        await aclosed_after_taken("oc.next", lambda: oc.next(timeout=2.0))
        await araises_closed("oc.fetch", lambda: oc.fetch(2, timeout=2.0))
        await oc.close()  # harmless
        await araises_closed("kv.get", lambda: kv.get(LISTED[0]))
        await araises_closed("kv.put", lambda: kv.put("k", b"v"))
        await araises_closed("kv.update", lambda: kv.update("k", b"v", 1))
        await araises_closed("kv.keys", kv.keys)
        await araises_closed("kv.status", kv.status)
        await araises_closed("kv.history", lambda: kv.history(LISTED[0]))
        await araises_closed("kv.watch", lambda: kv.watch().updates(2.0))
        await araises_closed("kv.list_keys",
                             lambda: kv.list_keys().__anext__())
        # Entries a watcher had taken before the close come first.
        await aclosed_after_taken("w.updates", lambda: w.updates(2.0))
        assert [e async for e in w] == []
        await w.stop()
        # A lister gives keys a batch at a time (256): this one had the
        # whole listing before the close, and may end as it would have.
        keys = [LISTED[0]]
        with pytest.raises((jetwire.ConnectionClosedError,
                            StopAsyncIteration)) as ended:
            for _ in range(300):
                keys.append(await asyncio.wait_for(lister.__anext__(),
                                                   PROMPT))
        if ended.type is StopAsyncIteration:
            assert keys == LISTED
        await it.aclose()
        await lister.aclose()

    asyncio.run(main())
    gc.collect()


# -- (b) parents dropped before their children --------------------------------

PARENTS = ("nc", "js", "cons", "kv")
# The consumer of the consume iterator: new messages only, and kept by the
# server however long a slow machine leaves it without a pull.
CONSUMER = dict(filter_subject="life.c", deliver_policy="new",
                inactive_threshold=300.0)


class Children:
    """The children of one round: a started consume iterator (of cons), an
    ordered consumer (of js), a started watcher and key lister (of kv).
    A second connection (feed) gives them something new each step."""

    def __init__(self, objs, feed_js, feed_kv):
        self.feed_js, self.feed_kv = feed_js, feed_kv
        self.n = 0
        js, cons, kv = objs["js"], objs["cons"], objs["kv"]
        self.it = cons.messages(batch=5)
        self.oc = js.ordered_consumer(STREAM, "life.o",
                                      deliver_policy="new")
        self.w = kv.watch("w.>", updates_only=True)
        assert self.w.updates(2.0) is None  # the end of the (no) initial
        self.lister = kv.list_keys("l.>")
        self.listed = [next(self.lister)]
        self.check("start")  # starts the consume

    def check(self, when):
        self.n += 1
        data = b"%d" % self.n
        self.feed_js.publish("life.c", data)
        self.feed_js.publish("life.o", data)
        rev = self.feed_kv.put("w.k", data)
        m = next(self.it)
        assert m.data == data, when
        m.ack()
        assert self.oc.next(timeout=5.0).data == data, when
        e = self.w.updates(5.0)
        assert (e.key, e.value, e.revision) == ("w.k", data, rev), when
        key = next(self.lister, None)
        if key is not None:
            self.listed.append(key)


def use_parents(objs, when):
    """Every parent still held works."""
    if "nc" in objs:
        nc = objs["nc"]
        sub = nc.subscribe("life.core." + when)
        nc.publish("life.core." + when, b"x")
        assert sub.next_msg(timeout=2.0).data == b"x", when
        sub.close()
    if "js" in objs:
        assert objs["js"].stream_info(STREAM)["config"]["name"] == STREAM
    if "cons" in objs:
        assert objs["cons"].info()["stream_name"] == STREAM
    if "kv" in objs:
        kv = objs["kv"]
        kv.put("p.k", when.encode())
        assert kv.get("p.k").value == when.encode(), when


def test_parents_dropped_before_children_in_every_order(nats_server):
    """For each of the 24 orders of the parents (connection, context,
    consumer, bucket): drop them one at a time (del + gc.collect()), and
    after each drop use every object left. A dropped context, consumer or
    bucket is collected at once (its finalizer frees its handle while its
    children live); the connection is kept open by the children and
    closes when the last of them goes."""
    prepare(nats_server.url)
    feed = jetwire.connect(nats_server.url)
    feed_js = feed.jetstream()
    feed_kv = feed_js.key_value(BUCKET)
    for order in itertools.permutations(PARENTS):
        nc = jetwire.connect(nats_server.url)
        js = nc.jetstream()
        objs = {"nc": nc, "js": js, "kv": js.key_value(BUCKET),
                "cons": js.add_consumer(STREAM, **CONSUMER)}
        del nc, js
        refs = {name: weakref.ref(obj) for name, obj in objs.items()}
        kids = Children(objs, feed_js, feed_kv)
        for i, name in enumerate(order):
            when = "-".join(order[:i + 1])
            del objs[name]
            gc.collect()
            if name == "nc":
                conn = refs["nc"]()
                assert conn is not None and not conn.is_closed, when
                del conn
            else:
                assert refs[name]() is None, "%s kept after %s" % (name,
                                                                   when)
            use_parents(objs, when)
            kids.check(when)
        assert sorted(set(kids.listed)) == kids.listed  # in order, no repeat
        kids.lister.close()
        del kids
        gc.collect()
        assert refs["nc"]() is None, "the connection outlived every object"
    feed.close()


def test_children_dropped_before_parents(nats_server):
    """The other way round, for completeness: children first, then the
    parents still work."""
    prepare(nats_server.url)
    feed = jetwire.connect(nats_server.url)
    feed_js = feed.jetstream()
    feed_kv = feed_js.key_value(BUCKET)
    for order in (("it", "oc", "w", "lister"), ("lister", "w", "oc", "it")):
        nc = jetwire.connect(nats_server.url)
        js = nc.jetstream()
        objs = {"nc": nc, "js": js, "kv": js.key_value(BUCKET),
                "cons": js.add_consumer(STREAM, **CONSUMER)}
        kids = Children(objs, feed_js, feed_kv)
        for name in order:
            setattr(kids, name, None)
            gc.collect()
            use_parents(objs, name)
        nc.close()
    feed.close()


def test_aio_parents_dropped_before_children(nats_server):
    prepare(nats_server.url)

    async def round(order, feed_js, feed_kv):
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        objs = {"nc": nc, "js": js, "kv": await js.key_value(BUCKET),
                "cons": await js.add_consumer(STREAM, **CONSUMER)}
        del nc, js
        refs = {name: weakref.ref(obj) for name, obj in objs.items()}
        it = objs["cons"].messages(batch=5)
        oc = await objs["js"].ordered_consumer(STREAM, "life.o",
                                               deliver_policy="new")
        w = await objs["kv"].watch("w.>", updates_only=True)
        assert await w.updates(2.0) is None
        lister = objs["kv"].list_keys("l.>")
        listed = [await lister.__anext__()]
        for i, name in enumerate(("start",) + order):
            when = "-".join(order[:i])
            if name != "start":
                del objs[name]
                gc.collect()
                if name == "nc":
                    assert refs["nc"]() is not None, when
                else:
                    assert refs[name]() is None, "%s kept after %s" % (
                        name, when)
            data = when.encode() or b"start"
            await feed_js.publish("life.c", data)
            await feed_js.publish("life.o", data)
            await feed_kv.put("w.k", data)
            m = await asyncio.wait_for(it.__anext__(), 5)
            assert m.data == data, when
            await m.ack()
            assert (await oc.next(timeout=5.0)).data == data, when
            assert (await w.updates(5.0)).value == data, when
            listed.append(await lister.__anext__())
            if "kv" in objs:
                await objs["kv"].put("p.k", data)
        assert listed == LISTED[:len(listed)]
        await it.aclose()
        await lister.aclose()
        await w.stop()
        await oc.close()
        # An asyncio connection stays registered with its loop until
        # closed: close it through the reference.
        conn = refs["nc"]()
        assert conn is not None and not conn.is_closed
        await conn.close()

    async def main():
        feed = await jetwire.aio.connect(nats_server.url)
        feed_js = feed.jetstream()
        feed_kv = await feed_js.key_value(BUCKET)
        orders = [PARENTS, PARENTS[::-1]]
        rnd = random.Random(16)
        orders += [tuple(rnd.sample(PARENTS, len(PARENTS))) for _ in range(2)]
        for order in orders:
            await round(order, feed_js, feed_kv)
        await feed.close()

    asyncio.run(main())


# -- (c) a close while other threads wait in calls ----------------------------


def run_blocked(calls):
    """Start a thread per (name, fn); each records (outcome, end time)."""
    results = {}

    def run(name, fn):
        try:
            outcome = fn()
        except jetwire.Error as e:
            outcome = e
        except StopIteration:
            outcome = StopIteration
        results[name] = (outcome, time.monotonic())

    threads = [threading.Thread(target=run, args=c, name=c[0], daemon=True)
               for c in calls]
    for t in threads:
        t.start()
    return threads, results


def joined(threads, results, closed_at, rounds_so_far):
    for t in threads:
        t.join(PROMPT + 5)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, "round %d: calls still blocked after the close: %s" % (
        rounds_so_far, stuck)
    for name, (outcome, end) in results.items():
        late = end - closed_at
        assert late < PROMPT, "round %d: %s returned %.1f s after the " \
            "close" % (rounds_so_far, name, late)
        if isinstance(outcome, jetwire.Error):
            assert isinstance(outcome, jetwire.ConnectionClosedError), \
                "round %d: %s raised %r" % (rounds_so_far, name, outcome)
        else:  # what a call gives when nothing came
            assert outcome in ([], StopIteration), (name, outcome)


def test_close_while_child_calls_wait(nats_server):
    """50 rounds: fetch, watcher, ordered consumer and consume iterator
    waiting (10 s timeouts) in their own threads while the main thread
    closes the connection, at a random moment; every other round it first
    drops the context and the bucket (their handles are freed while their
    children are in calls). Every call returns at once with
    ConnectionClosedError (or its nothing-came result), nothing crashes."""
    prepare(nats_server.url)
    rnd = random.Random(1616)
    for round in range(50):
        nc = jetwire.connect(nats_server.url)
        js = nc.jetstream(timeout=10.0)
        cons = js.add_consumer(STREAM, filter_subject="life.none")
        consume = js.add_consumer(STREAM, filter_subject="life.none")
        kv = js.key_value(BUCKET)
        w = kv.watch("none.>")
        assert w.updates(2.0) is None  # the marker: nothing is stored
        oc = js.ordered_consumer(STREAM, "life.none")
        it = consume.messages(timeout=10.0)
        threads, results = run_blocked([
            ("fetch", lambda: cons.fetch(1, timeout=10.0)),
            ("watch", lambda: w.updates(10.0)),
            ("ordered", lambda: oc.next(timeout=10.0)),
            ("consume", lambda: next(it)),
        ])
        time.sleep(rnd.random() * 0.05)
        if round % 2:
            del js, kv, consume
            gc.collect()
        closed_at = time.monotonic()
        nc.close()
        joined(threads, results, closed_at, round)
        assert set(results) == {"fetch", "watch", "ordered", "consume"}
        del cons, w, oc, it, threads, results
        gc.collect()


def test_close_while_connection_calls_run(nats_server):
    """The connection's own handle: 50 rounds of a request waiting, a
    flush and a publish loop in other threads while the main thread
    closes; the handle is freed only once they are out (they raise
    ConnectionClosedError). This was a use after free (ASan: freed memory
    read in jw_conn_publish and in jw_conn_flush's wait)."""
    rnd = random.Random(16)
    for round in range(50):
        nc = jetwire.connect(nats_server.url)
        silent = nc.subscribe("life.silent")  # takes requests, never answers
        nc.flush()

        def requests():
            while True:
                try:
                    nc.request("life.silent", b"?", timeout=10.0)
                except jetwire.NoRespondersError:
                    pass  # after silent.close(), before nc.close()

        def flushes():
            while True:
                nc.flush(10.0)

        def publishes():
            while True:
                nc.publish("life.pub", b"x")

        threads, results = run_blocked([("request", requests),
                                        ("flush", flushes),
                                        ("publish", publishes)])
        time.sleep(rnd.random() * 0.02)
        silent.close()  # it would keep the engine's connection alive
        del silent
        closed_at = time.monotonic()
        nc.close()
        joined(threads, results, closed_at, round)
        assert set(results) == {"request", "flush", "publish"}


def test_event_callback_closes_its_own_connection(nats_server):
    """close() from an event callback (on the connection's dispatcher
    thread) returns: the callbacks run without the lock close() takes
    (it hung there before)."""
    done = threading.Event()
    box = {}

    def disconnected():
        box["nc"].close()
        done.set()

    nc = jetwire.connect(nats_server.url, disconnected_cb=disconnected,
                         reconnect_time_wait=0.1)
    box["nc"] = nc
    nats_server.stop()
    assert done.wait(10), "close() in disconnected_cb did not return"
    assert nc.is_closed
    nc.close()  # harmless
