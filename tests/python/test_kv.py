"""Key-Value store from Python (blocking and asyncio) against a real
nats-server with a temporary JetStream store."""
import asyncio
import threading
import time

import pytest

import jetwire
import jetwire.aio


@pytest.fixture
def nc(nats_server):
    conn = jetwire.connect(nats_server.url, name="pytest-kv")
    yield conn
    conn.close()


@pytest.fixture
def js(nc):
    return nc.jetstream(timeout=5.0)


def config(timeout_ms, retries=3):
    return (b'{"endpoint":"https://api.example.com","timeout_ms":%d,'
            b'"max_retries":%d}' % (timeout_ms, retries))


def drain_initial(w, timeout=5.0):
    """The entries a watcher yields before its marker."""
    out = []
    while True:
        e = w.updates(timeout)
        if e is None:
            return out
        out.append(e)


# -- blocking ---------------------------------------------------------------


def test_service_config_flow(js, nats_server):
    kv = js.create_or_update_key_value(
        bucket="service-config", description="Service configuration store",
        history=5, ttl=86400.0, storage="file")
    assert kv.bucket == "service-config"
    rev = kv.put("payment-service", config(5000))
    e = kv.get("payment-service")
    assert (e.bucket, e.key, e.value, e.revision, e.operation, e.delta) == \
        ("service-config", "payment-service", config(5000), rev, "PUT", 0)
    assert abs(e.created - time.time()) < 60
    assert abs(e.created_ns / 1e9 - e.created) < 1e-3
    newer = kv.update("payment-service", config(10000), last=e.revision)
    assert newer > rev
    assert kv.get("payment-service").value == config(10000)
    assert kv.get("payment-service", revision=rev).value == config(5000)
    assert kv.keys() == ["payment-service"]
    assert js.key_value_names() == ["service-config"]
    st = kv.status()
    assert (st.bucket, st.history, st.ttl, st.values, st.storage) == \
        ("service-config", 5, 86400.0, 2, "file")
    assert st.backing_store == "JetStream" and st.stream == "KV_service-config"
    assert st.bytes > 0

    # A watch sees the current value, the marker, then a write made from
    # another connection.
    with kv.watch("payment-service") as w:
        first = w.updates(5.0)
        assert first.revision == newer and first.value == config(10000)
        assert w.updates(5.0) is None
        with jetwire.connect(nats_server.url) as other:
            other_kv = other.jetstream().key_value("service-config")
            later = other_kv.put("payment-service", config(20000, 5))
        live = w.updates(5.0)
        assert (live.key, live.revision, live.value) == \
            ("payment-service", later, config(20000, 5))
    with pytest.raises(jetwire.InvalidSubscriptionError):
        w.updates(0.1)

    js.delete_key_value("service-config")
    with pytest.raises(jetwire.BucketNotFoundError):
        js.key_value("service-config")
    assert js.key_value_names() == []


def test_create_update_and_errors(js):
    kv = js.create_key_value(bucket="cfg", history=3)
    r1 = kv.create("k", b"one")
    with pytest.raises(jetwire.KeyExistsError) as e:
        kv.create("k", b"again")
    assert e.value.code == "KEY_EXISTS"
    r2 = kv.update("k", b"two", last=r1)
    with pytest.raises(jetwire.WrongLastSequenceError):
        kv.update("k", b"stale", last=r1)
    with pytest.raises(jetwire.WrongLastSequenceError):
        kv.delete("k", last=r1)
    kv.delete("k", last=r2)
    with pytest.raises(jetwire.KeyDeletedError) as e:
        kv.get("k")
    assert e.value.code == "KEY_DELETED"
    assert isinstance(e.value, jetwire.KeyNotFoundError)  # a kind of it
    # Created again over the delete marker.
    r4 = kv.create("k", b"back")
    assert kv.get("k").value == b"back" and kv.get("k").revision == r4
    with pytest.raises(jetwire.KeyNotFoundError) as e:
        kv.get("never-written")
    assert e.value.code == "KEY_NOT_FOUND"
    with pytest.raises(jetwire.KeyNotFoundError):
        kv.get("k", revision=10**6)
    with pytest.raises(jetwire.KeyNotFoundError):
        kv.history("never-written")
    with pytest.raises(jetwire.InvalidArgError):
        kv.put("bad key", b"x")
    with pytest.raises(jetwire.InvalidArgError):
        kv.put("a..b", b"x")
    with pytest.raises(TypeError):
        kv.put("k", "text is no bytes")
    # An existing bucket with another configuration cannot be created.
    with pytest.raises(jetwire.JetStreamError):
        js.create_key_value(bucket="cfg", history=5)
    updated = js.update_key_value(bucket="cfg", history=5)
    assert updated.status().history == 5
    with pytest.raises(jetwire.BucketNotFoundError):
        js.update_key_value(bucket="nope", history=2)
    with pytest.raises(jetwire.BucketNotFoundError):
        js.delete_key_value("nope")


def test_configuration_is_checked(js):
    # The engine's table of bucket fields decides, whatever the server.
    with pytest.raises(jetwire.InvalidArgError, match="histroy"):
        js.create_key_value(bucket="b", histroy=5)
    with pytest.raises(jetwire.InvalidArgError, match="colour"):
        js.create_key_value(config={"bucket": "b", "colour": "red"})
    with pytest.raises(jetwire.InvalidArgError, match="bucket"):
        js.create_key_value(history=2)
    with pytest.raises(jetwire.InvalidArgError,
                       match="'ttl' must be a duration in seconds"):
        js.create_key_value(bucket="b", ttl="1h")
    with pytest.raises(jetwire.InvalidArgError, match="ttl"):
        js.create_key_value(bucket="b", ttl=-1.0)
    with pytest.raises(jetwire.InvalidArgError):
        js.create_key_value(bucket="b", history=65)
    with pytest.raises(jetwire.InvalidArgError):
        js.create_key_value(bucket="no spaces")
    assert js.key_value_names() == []
    # The config dict and keywords together; keywords win.
    kv = js.create_key_value(config={"bucket": "b", "history": 2},
                             history=4, ttl=1.5, storage="memory")
    st = kv.status()
    assert (st.history, st.ttl, st.storage) == (4, 1.5, "memory")


def test_history_keeps_at_most_history_entries(js):
    kv = js.create_key_value(bucket="hist", history=3)
    revs = [kv.put("k", b"v%d" % i) for i in range(6)]
    entries = kv.history("k")
    assert [e.revision for e in entries] == revs[-3:]
    assert [e.value for e in entries] == [b"v3", b"v4", b"v5"]
    assert [e.delta for e in entries] == [2, 1, 0]
    kv.delete("k")
    entries = kv.history("k")
    assert len(entries) == 3 and entries[-1].operation == "DEL"
    assert [e.value for e in entries[:2]] == [b"v4", b"v5"]


def test_purge_removes_history(js):
    kv = js.create_key_value(bucket="purge", history=10)
    for i in range(4):
        kv.put("k", b"%d" % i)
    kv.put("other", b"x")
    kv.purge("k")
    entries = kv.history("k")
    assert [e.operation for e in entries] == ["PURGE"]
    with pytest.raises(jetwire.KeyDeletedError):
        kv.get("k")
    assert kv.keys() == ["other"]
    assert kv.status().values == 2  # the marker and "other"
    kv.create("k", b"again")  # a purged key can be created again
    # purge_deletes(0) drops every marker, keeping values.
    kv.delete("other")
    kv.purge_deletes(older_than=0)
    with pytest.raises(jetwire.KeyNotFoundError):
        kv.history("other")
    assert kv.get("k").value == b"again"


def test_purge_deletes_keeps_young_markers(js):
    kv = js.create_key_value(bucket="young", history=5)
    kv.put("k", b"1")
    kv.put("k", b"2")
    kv.delete("k")
    kv.purge_deletes()  # default 30 minutes: the marker is young
    assert [e.operation for e in kv.history("k")] == ["DEL"]


def test_ttl_expiry(js):
    kv = js.create_key_value(bucket="short", ttl=0.5)
    kv.put("k", b"soon gone")
    assert kv.get("k").value == b"soon gone"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            kv.get("k")
        except jetwire.KeyNotFoundError as e:
            assert e.code == "KEY_NOT_FOUND"
            break
        time.sleep(0.1)
    else:
        pytest.fail("the entry outlived its ttl")
    assert kv.keys() == []


def test_keys_empty_and_filtered(js):
    kv = js.create_key_value(bucket="keys")
    assert kv.keys() == []
    for k in ("svc.a", "svc.b", "db.url"):
        kv.put(k, b"x")
    kv.delete("svc.b")
    assert sorted(kv.keys()) == ["db.url", "svc.a"]
    assert kv.keys("svc.*") == ["svc.a"]
    assert kv.keys("db.>") == ["db.url"]


def fill(js, bucket, n, prefix="k"):
    """n keys with async publishes (one round trip for all)."""
    for i in range(n):
        js.publish_async("$KV.%s.%s%d" % (bucket, prefix, i), b"v")
    js.publish_async_complete(timeout=30.0)


def test_ten_thousand_keys(js, nats_server):
    kv = js.create_key_value(bucket="many")
    fill(js, "many", 10000)
    keys = kv.keys()
    assert len(keys) == 10000
    assert set(keys) == {"k%d" % i for i in range(10000)}
    # The streaming lister: the same keys, one at a time.
    listed = list(kv.list_keys())
    assert sorted(listed) == sorted(keys)
    kv.delete("k1")
    assert list(kv.list_keys("k2")) == ["k2"]
    assert list(kv.list_keys("k1")) == []  # deleted
    with pytest.raises(jetwire.InvalidArgError):
        kv.list_keys("k1*")
    lister = kv.list_keys()
    first = next(lister)
    lister.close()  # leaving early stops it
    assert first in set(keys)
    assert "k1" not in set(kv.list_keys())

    async def aio_listing():
        async with await jetwire.aio.connect(nats_server.url) as anc:
            akv = await anc.jetstream().key_value("many")
            return [k async for k in akv.list_keys()]
    assert sorted(asyncio.run(aio_listing())) == sorted(set(keys) - {"k1"})


def test_watch_marker_once_under_concurrent_writes(js, nats_server):
    kv = js.create_key_value(bucket="busy")
    fill(js, "busy", 200, "pre")
    other = jetwire.connect(nats_server.url)
    other_js = other.jetstream()
    started = threading.Event()

    def writer():
        started.wait(5)
        fill(other_js, "busy", 1000, "live")

    t = threading.Thread(target=writer)
    t.start()
    try:
        w = kv.watch()
        started.set()
        markers, keys = 0, set()
        while len(keys) < 1200:
            e = w.updates(10.0)
            if e is None:
                markers += 1
                assert len(keys) >= 200  # after the initial values
            else:
                keys.add(e.key)
        with pytest.raises(jetwire.TimeoutError):
            w.updates(0.3)
        w.stop()
    finally:
        t.join()
        other.close()
    assert markers == 1
    assert keys == {"pre%d" % i for i in range(200)} | \
        {"live%d" % i for i in range(1000)}


def test_watch_options(js):
    kv = js.create_key_value(bucket="opts", history=5)
    kv.put("a", b"a1")
    kv.put("a", b"a2")
    kv.put("b", b"b1")
    kv.delete("b")

    with kv.watch_all() as w:  # latest per key, markers included
        got = drain_initial(w)
        assert [(e.key, e.operation) for e in got] == [("a", "PUT"),
                                                        ("b", "DEL")]
    with kv.watch(">", ignore_deletes=True) as w:
        assert [e.value for e in drain_initial(w)] == [b"a2"]
        kv.delete("a")
        kv.put("c", b"c1")
        assert w.updates(5.0).key == "c"  # the delete was left out
    with kv.watch(">", include_history=True) as w:
        got = drain_initial(w)
        assert [(e.key, e.value) for e in got] == [
            ("a", b"a1"), ("a", b"a2"), ("b", b"b1"), ("b", b""),
            ("a", b""), ("c", b"c1")]
        assert [e.delta for e in got] == [5, 4, 3, 2, 1, 0]
    with kv.watch("c", meta_only=True) as w:
        e = w.updates(5.0)
        assert (e.key, e.value, e.operation) == ("c", b"", "PUT")
        assert w.updates(5.0) is None
    with kv.watch("c", updates_only=True) as w:
        assert w.updates(5.0) is None  # at once
        rev = kv.put("c", b"c2")
        e = w.updates(5.0)
        assert (e.value, e.revision) == (b"c2", rev)
    with pytest.raises(ValueError):
        kv.watch(include_history=True, updates_only=True)
    with pytest.raises(TypeError):
        kv.watch(meta_only=1)
    # An empty bucket: the marker alone.
    empty = js.create_key_value(bucket="empty")
    with empty.watch() as w:
        assert w.updates(5.0) is None
        with pytest.raises(jetwire.TimeoutError):
            w.updates(0.2)


def test_watch_iterator_and_stop_from_another_thread(js):
    kv = js.create_key_value(bucket="iter")
    kv.put("k", b"1")
    w = kv.watch()
    seen = []

    def stop_later():
        time.sleep(0.3)
        kv.put("k", b"2")
        time.sleep(0.3)
        w.stop()

    t = threading.Thread(target=stop_later)
    t.start()
    for e in w:  # ends when stopped
        seen.append(None if e is None else e.value)
    t.join()
    assert seen == [b"1", None, b"2"]
    w.stop()  # twice is harmless


def test_watch_batches_large_and_many_entries(js):
    """Entries cross in batches: many small ones beside values larger than
    the batch buffer arrive whole, in revision order, marker once."""
    kv = js.create_key_value(bucket="batches", max_value_size=1 << 20)
    want = {}
    for i in range(700):
        value = bytes([i % 251]) * (300_000 if i in (5, 400, 699) else 100)
        want["k%03d" % i] = value
        kv.put("k%03d" % i, value)
    w = kv.watch()
    got = drain_initial(w)
    assert [e.key for e in got] == sorted(want)
    assert all(e.value == want[e.key] for e in got)
    assert [e.revision for e in got] == list(range(1, 701))
    kv.put("k000", b"new")
    e = w.updates(5.0)
    assert (e.key, e.value, e.revision, e.operation) == \
        ("k000", b"new", 701, "PUT")
    with pytest.raises(jetwire.TimeoutError):
        w.updates(0.2)
    w.stop()


def test_closed_connection(nats_server):
    nc = jetwire.connect(nats_server.url)
    js = nc.jetstream()
    kv = js.create_key_value(bucket="gone")
    w = kv.watch()
    nc.close()
    with pytest.raises(jetwire.ConnectionClosedError):
        kv.put("k", b"x")
    with pytest.raises(jetwire.ConnectionClosedError):
        js.key_value("gone")
    with pytest.raises(jetwire.ConnectionClosedError):
        w.updates(0.1)
    assert list(w) == []


# -- asyncio ----------------------------------------------------------------


def test_aio_service_config_flow(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        kv = await js.create_or_update_key_value(
            bucket="service-config", history=5, ttl=86400.0)
        rev = await kv.put("payment-service", config(5000))
        e = await kv.get("payment-service")
        assert (e.value, e.revision, e.operation) == (config(5000), rev,
                                                      "PUT")
        newer = await kv.update("payment-service", config(10000),
                                last=e.revision)
        with pytest.raises(jetwire.WrongLastSequenceError):
            await kv.update("payment-service", b"stale", last=rev)
        assert await kv.keys() == ["payment-service"]
        assert (await kv.status()).history == 5
        assert await js.key_value_names() == ["service-config"]

        other = await jetwire.aio.connect(nats_server.url)
        other_kv = await other.jetstream().key_value("service-config")
        seen = []
        async for entry in kv.watch("payment-service"):
            if entry is None:
                seen.append(None)
                later = await other_kv.put("payment-service",
                                           config(20000))
                continue
            seen.append(entry.revision)
            if len(seen) == 3:
                break
        assert seen == [newer, None, later]
        await other.close()

        with pytest.raises(jetwire.KeyExistsError):
            await kv.create("payment-service", b"x")
        await kv.delete("payment-service")
        with pytest.raises(jetwire.KeyDeletedError):
            await kv.get("payment-service")
        await kv.create("payment-service", b"again")
        hist = await kv.history("payment-service")
        assert [h.operation for h in hist][-2:] == ["DEL", "PUT"]
        await kv.purge("payment-service")
        assert [h.operation for h in
                await kv.history("payment-service")] == ["PURGE"]
        await kv.purge_deletes(older_than=0)
        with pytest.raises(jetwire.KeyNotFoundError):
            await kv.get("missing")
        await js.delete_key_value("service-config")
        with pytest.raises(jetwire.BucketNotFoundError):
            await js.key_value("service-config")
        await nc.close()

    asyncio.run(main())


def test_aio_watch_marker_once_under_concurrent_writes(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        kv = await js.create_key_value(bucket="busy")
        sync_nc = jetwire.connect(nats_server.url)
        sync_js = sync_nc.jetstream()
        fill(sync_js, "busy", 200, "pre")
        loop = asyncio.get_running_loop()
        w = await kv.watch()
        writer = loop.run_in_executor(None, fill, sync_js, "busy", 1000,
                                      "live")
        markers, keys = 0, set()
        while len(keys) < 1200:
            e = await w.updates(10.0)
            if e is None:
                markers += 1
                assert len(keys) >= 200
            else:
                keys.add(e.key)
        await writer
        with pytest.raises(jetwire.TimeoutError):
            await w.updates(0.3)
        await w.stop()
        with pytest.raises(jetwire.InvalidSubscriptionError):
            await w.updates(0.1)
        sync_nc.close()
        await nc.close()
        return markers

    assert asyncio.run(main()) == 1


def test_aio_watch_options_and_close(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        kv = await js.create_key_value(bucket="opts", history=5)
        await kv.put("a", b"1")
        await kv.delete("a")
        await kv.put("b", b"2")
        async with kv.watch(include_history=True, ignore_deletes=True) as w:
            got = []
            async for e in w:
                if e is None:
                    break
                got.append((e.key, e.value))
            assert got == [("a", b"1"), ("b", b"2")]
        async with kv.watch_all(updates_only=True, meta_only=True) as w:
            assert await w.updates(5.0) is None
            await kv.put("c", b"payload")
            e = await w.updates(5.0)
            assert (e.key, e.value) == ("c", b"")
        # The engine refuses the pair when the watch starts (await).
        with pytest.raises(ValueError):
            await kv.watch(include_history=True, updates_only=True)
        with pytest.raises(TypeError):
            kv.watch(meta_only=1)
        with pytest.raises(TypeError):
            kv.watch(5)

        # A waiting watcher is woken by the connection's fd, well before
        # its 5 s check would look.
        loop = asyncio.get_running_loop()
        w = await kv.watch("d", updates_only=True)
        assert await w.updates(5.0) is None

        async def put_later():
            await asyncio.sleep(0.2)
            return await kv.put("d", b"1")

        started = loop.time()
        writer = asyncio.ensure_future(put_later())
        e = await w.updates(10.0)
        assert e.revision == await writer
        assert loop.time() - started < 2.0
        await w.stop()

        # A task waiting in async for ends when the connection closes.
        w = await kv.watch("zzz")
        assert await w.updates(5.0) is None

        async def consume():
            return [e async for e in w]

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.2)
        await nc.close()
        assert await asyncio.wait_for(task, 5.0) == []
        with pytest.raises(jetwire.ConnectionClosedError):
            await kv.put("a", b"x")

    asyncio.run(main())


def test_aio_put_get_update_run_on_the_connection(nats_server):
    """The asyncio put, update and get are requests on the connection's fd
    (no executor): the same results and errors as the blocking calls."""
    async def main():
        async with await jetwire.aio.connect(nats_server.url) as nc:
            js = nc.jetstream(timeout=1.0)
            kv = await js.create_key_value(bucket="aio-fd", history=3)
            r1 = await kv.put("k", b"one")
            r2 = await kv.update("k", b"two", last=r1)
            with pytest.raises(jetwire.WrongLastSequenceError):
                await kv.update("k", b"stale", last=r1)
            assert (await kv.get("k")).value == b"two"
            first = await kv.get("k", revision=r1)
            assert (first.value, first.revision, first.bucket) == (
                b"one", r1, "aio-fd")
            with pytest.raises(jetwire.KeyNotFoundError):
                await kv.get("missing")
            await kv.delete("k")
            with pytest.raises(jetwire.KeyDeletedError):
                await kv.get("k")
            assert r2 > r1
            with pytest.raises(TypeError):
                await kv.put("k", 5)
            await js.delete_key_value("aio-fd")
            with pytest.raises(jetwire.BucketNotFoundError):
                await kv.get("k")
            with pytest.raises(jetwire.BucketNotFoundError):
                await kv.put("k", b"gone")
    asyncio.run(main())


# -- asyncio get_many and history up to a point (nats-server 2.11) ----------

@pytest.mark.min_server("2.11.0")
def test_aio_get_many_and_history_options(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        kv = await js.create_key_value(bucket="many", history=5)
        r1 = await kv.put("a", b"a1")
        await kv.put("b", b"b1")
        r3 = await kv.put("a", b"a2")
        await kv.put("c.x", b"c1")
        await kv.delete("b")
        got = await kv.get_many()
        assert [(e.key, e.value) for e in got] == [("a", b"a2"),
                                                  ("c.x", b"c1")]
        assert [e.key for e in await kv.get_many(["a", "b"])] == ["a"]
        assert [e.key for e in await kv.get_many("c.*")] == ["c.x"]
        old = await kv.get_many(up_to_revision=r1 + 1)
        assert [(e.key, e.value) for e in old] == [("a", b"a1"),
                                                  ("b", b"b1")]
        hist = await kv.history("a", up_to_revision=r1)
        assert [e.revision for e in hist] == [r1]
        assert [e.revision for e in await kv.history("a")] == [r1, r3]
        with pytest.raises(TypeError):
            await kv.get_many(colour="red")
        with pytest.raises(TypeError):
            await kv.history("a", up_to_revision="1")
        await nc.close()

    asyncio.run(main())


@pytest.mark.below_server("2.11.0")
def test_aio_get_many_and_history_options_not_supported(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        kv = await js.create_key_value(bucket="many", history=5)
        rev = await kv.put("a", b"a1")
        with pytest.raises(jetwire.NotSupportedError, match="2.11"):
            await kv.get_many()
        with pytest.raises(jetwire.NotSupportedError, match="2.11"):
            await kv.history("a", up_to_revision=rev)
        # History without options works on every server.
        assert [e.revision for e in await kv.history("a")] == [rev]
        await nc.close()

    asyncio.run(main())
