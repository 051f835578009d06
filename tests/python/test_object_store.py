"""The object store (ADR-20) from Python, blocking and asyncio, against a
real nats-server with a temporary JetStream store."""
import asyncio
import base64
import hashlib
import io
import threading
import time

import pytest

import jetwire
import jetwire.aio


@pytest.fixture
def nc(nats_server):
    conn = jetwire.connect(nats_server.url, name="pytest-obs")
    yield conn
    conn.close()


@pytest.fixture
def js(nc):
    return nc.jetstream(timeout=5.0)


@pytest.fixture
def obs(js):
    store = js.create_object_store("files")
    yield store
    store.close()


def pattern(n, seed=1):
    return bytes((i * 31 + seed) & 0xFF for i in range(n))


def digest(data):
    return "SHA-256=" + base64.urlsafe_b64encode(
        hashlib.sha256(data).digest()).decode()


CHUNK = 128 * 1024


# -- buckets ----------------------------------------------------------------


def test_buckets(js):
    obs = js.create_object_store("b1", description="first", ttl=3600.0,
                                 storage="memory")
    assert obs.bucket == "b1"
    st = obs.status()
    assert (st["bucket"], st["description"], st["ttl"], st["storage"],
            st["size"], st["sealed"]) == ("b1", "first", 3600.0, "memory",
                                          0, False)
    assert js.object_store_names() == ["b1"]
    js.update_object_store("b1", description="changed", storage="memory")
    assert js.object_store("b1").status()["description"] == "changed"
    again = js.create_or_update_object_store(bucket="b2")
    assert again.bucket == "b2"
    assert sorted(js.object_store_names()) == ["b1", "b2"]
    assert sorted(s["bucket"] for s in js.object_stores()) == ["b1", "b2"]
    js.delete_object_store("b2")
    assert js.object_store_names() == ["b1"]
    with pytest.raises(jetwire.BucketNotFoundError):
        js.object_store("b2")
    with pytest.raises(jetwire.BucketNotFoundError):
        js.delete_object_store("b2")
    with pytest.raises(jetwire.InvalidArgError, match="no_such_field"):
        js.create_object_store("b3", no_such_field=1)
    obs.seal()
    assert obs.status()["sealed"] is True
    with pytest.raises(jetwire.Error):
        obs.put("x", b"1")
    assert "b1" in repr(obs)


def test_new_fields_by_server(js, server_version):
    if server_version >= (2, 10):
        obs = js.create_object_store("meta", metadata={"team": "a"},
                                     compression=True)
        st = obs.status()
        assert st["metadata"].get("team") == "a"
        assert st["is_compressed"] is True
    else:
        with pytest.raises(jetwire.NotSupportedError):
            js.create_object_store("meta", metadata={"team": "a"})
        with pytest.raises(jetwire.NotSupportedError):
            js.create_object_store("comp", compression=True)


# -- put and get ------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 5 * 1024 * 1024])
def test_sizes(obs, size):
    data = pattern(size, size & 0xFF)
    info = obs.put("obj-%d" % size, data)
    assert (info.name, info.bucket, info.size, info.deleted) == \
        ("obj-%d" % size, "files", size, False)
    assert info.chunks == -(-size // CHUNK)
    assert info.digest == digest(data)
    assert info.nuid and info.mtime and info.link is None
    assert obs.get_bytes(info.name) == data
    with obs.get(info.name) as r:
        assert r.info == obs.info(info.name)
        assert r.read() == data
        assert r.read() == b""
    assert r.closed


def test_put_forms(obs):
    data = pattern(10000, 7)
    for i, src in enumerate([bytearray(data), memoryview(data),
                             io.BytesIO(data),
                             iter([data[:1], b"", data[1:4000],
                                   memoryview(data[4000:])]),
                             [data[j:j + 333]
                              for j in range(0, len(data), 333)]]):
        info = obs.put("f%d" % i, src, chunk_size=1000)
        assert (info.size, info.chunks, info.digest) == \
            (10000, 10, digest(data)), type(src)
        assert obs.get_bytes("f%d" % i) == data


def test_put_file_on_disk(obs, tmp_path):
    data = pattern(300000, 9)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    with open(path, "rb") as f:
        info = obs.put("disk", f, description="from disk",
                       headers={"A": "1", "B": ["x", "y"]},
                       metadata={"k": "v"})
    assert (info.size, info.description, info.headers) == \
        (300000, "from disk", {"A": ["1"], "B": ["x", "y"]})
    assert obs.get_bytes("disk") == data
    (tmp_path / "t.txt").write_text("some text")
    with open(tmp_path / "t.txt", "r") as text, pytest.raises(TypeError):
        obs.put("text", text)
    with pytest.raises(jetwire.KeyNotFoundError):
        obs.info("text")


def test_put_metadata_by_server(obs, server_version):
    if server_version >= (2, 10):
        assert obs.put("m", b"1", metadata={"k": "v"}).metadata == {"k": "v"}


def test_iterator_error_comes_out_of_put(obs):
    class Boom(Exception):
        pass

    def chunks():
        yield b"a" * 5000
        raise Boom("reading failed")

    with pytest.raises(Boom, match="reading failed"):
        obs.put("boom", chunks(), chunk_size=1000)
    with pytest.raises(jetwire.KeyNotFoundError):
        obs.info("boom")
    with pytest.raises(TypeError):
        obs.put("bad-chunk", [b"ok", "text"])
    assert obs.list() == []


def test_wrong_types(obs):
    with pytest.raises(TypeError):
        obs.put("s", "text")
    with pytest.raises(TypeError):
        obs.put("i", 12)
    with pytest.raises(TypeError):
        obs.put(1, b"x")
    with pytest.raises(TypeError):
        obs.put("x", b"x", chunk_size="big")
    with pytest.raises(TypeError):
        obs.put("x", b"x", headers=["A"])
    with pytest.raises(TypeError):
        obs.put("x", b"x", metadata={"k": 1})
    with pytest.raises(TypeError):
        obs.get_bytes(None)
    with pytest.raises(TypeError):
        obs.info("x", show_deleted=1)
    with pytest.raises(TypeError):
        obs.add_link("l", "files", "x")
    with pytest.raises(jetwire.InvalidArgError):
        obs.put("", b"x")
    with pytest.raises(jetwire.InvalidArgError):
        obs.put("x", b"x", chunk_size=0)


def test_reader_small_pieces(obs):
    data = pattern(50000, 4)
    obs.put("doc", data, chunk_size=4096)
    r = obs.get("doc")
    got = bytearray()
    while True:
        piece = r.read(777)
        if not piece:
            break
        assert len(piece) <= 777
        got += piece
    assert bytes(got) == data
    r.close()
    r.close()
    with pytest.raises(ValueError):
        r.read(1)
    with obs.get("doc") as r:
        buf = bytearray(1000)
        got = bytearray()
        while True:
            n = r.readinto(buf)
            if not n:
                break
            got += buf[:n]
        assert bytes(got) == data
    with obs.get("doc") as r:
        assert b"".join(r) == data
    with pytest.raises(jetwire.KeyNotFoundError):
        obs.get("missing")


def test_connection_lost_in_the_middle_of_a_put(nats_server):
    # The server dies while the pieces are being sent: the put fails, no
    # object shows (the meta is written last), and once the connection is
    # back the same put stores it whole.
    data = pattern(2 * 1024 * 1024, seed=5)
    pieces = [data[i:i + 65536] for i in range(0, len(data), 65536)]

    def dying_source():
        for i, piece in enumerate(pieces):
            if i == len(pieces) // 2:
                nats_server.stop()
            yield piece

    with jetwire.connect(nats_server.url, reconnect_time_wait=0.05,
                         max_reconnect_attempts=-1) as conn:
        js = conn.jetstream(timeout=1.0)
        store = js.create_object_store("lost", storage="file")
        with pytest.raises(jetwire.Error):
            store.put("doc", dying_source(), chunk_size=65536)
        nats_server.start()
        deadline = time.monotonic() + 10
        while not conn.is_connected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert conn.is_connected
        with pytest.raises(jetwire.KeyNotFoundError):
            store.info("doc", show_deleted=True)
        assert store.list(show_deleted=True) == []
        info = store.put("doc", iter(pieces), chunk_size=65536)
        assert info.digest == digest(data)
        assert store.get_bytes("doc") == data


def test_digest_mismatch(js, obs):
    data = bytearray(pattern(5000, 3))
    info = obs.put("doc", data, chunk_size=1000)
    subject = "$O.files.C.%s" % info.nuid
    assert js.purge_stream("OBJ_files", subject=subject) == 5
    data[2500] ^= 1
    for i in range(0, 5000, 1000):
        js.publish(subject, bytes(data[i:i + 1000]))
    with pytest.raises(jetwire.ProtocolError, match="digest"):
        obs.get_bytes("doc")
    r = obs.get("doc")
    got = bytearray()
    with pytest.raises(jetwire.ProtocolError):
        while True:
            piece = r.read(999)
            if not piece:
                break
            got += piece
    assert len(got) >= 4000  # the bytes came before the verdict
    with pytest.raises(jetwire.ProtocolError):
        r.read(10)
    r.close()


# -- info, list, delete -----------------------------------------------------


def test_info_list_delete(obs):
    assert obs.list() == []
    obs.put("a", b"aaa")
    obs.put("b", pattern(3000), chunk_size=1000)
    assert sorted(i.name for i in obs.list()) == ["a", "b"]
    assert obs.info("b").chunks == 3
    obs.delete("b")
    obs.delete("b")
    with pytest.raises(jetwire.KeyNotFoundError):
        obs.info("b")
    with pytest.raises(jetwire.KeyNotFoundError):
        obs.get_bytes("b")
    gone = obs.info("b", show_deleted=True)
    assert (gone.deleted, gone.size) == (True, 0)
    assert "deleted=True" in repr(gone)
    assert [i.name for i in obs.list()] == ["a"]
    assert sorted((i.name, i.deleted) for i in obs.list(show_deleted=True)) \
        == [("a", False), ("b", True)]
    assert obs.status()["size"] > 0


def test_closed_store(js):
    obs = js.create_object_store("closing")
    obs.put("x", b"1")
    r = obs.get("x")
    obs.close()
    obs.close()
    assert r.read() == b"1"  # a reader keeps its bucket
    r.close()
    with pytest.raises(jetwire.InvalidArgError, match="closed"):
        obs.put("y", b"2")
    with pytest.raises(jetwire.InvalidArgError):
        obs.info("x")
    with js.object_store("closing") as again:
        assert again.get_bytes("x") == b"1"
    assert "closed" in repr(again)


# -- meta, links, watch -----------------------------------------------------


def test_update_meta(obs):
    obs.put("old", b"data", description="d1", headers={"H": "1"})
    obs.update_meta("old", new_name="new", description="d2",
                    headers={"H": ["2", "3"]})
    with pytest.raises(jetwire.KeyNotFoundError):
        obs.info("old")
    info = obs.info("new")
    assert (info.description, info.headers) == ("d2", {"H": ["2", "3"]})
    assert obs.get_bytes("new") == b"data"
    obs.update_meta("new")  # removes what is not given
    info = obs.info("new")
    assert (info.description, info.headers) == (None, {})
    obs.put("other", b"o")
    with pytest.raises(jetwire.KeyExistsError):
        obs.update_meta("new", new_name="other")
    with pytest.raises(jetwire.KeyNotFoundError):
        obs.update_meta("missing", description="x")


def test_links(js, obs):
    other = js.create_object_store("other")
    other.put("target", b"linked bytes")
    link = obs.add_link("ln", other, "target")
    assert link.link == {"bucket": "other", "name": "target"}
    assert obs.get_bytes("ln") == b"linked bytes"
    with obs.get("ln") as r:
        assert r.read() == b"linked bytes"
    blink = obs.add_bucket_link("all", other)
    assert blink.link == {"bucket": "other"}
    with pytest.raises(jetwire.InvalidArgError):
        obs.get_bytes("all")
    obs.put("live", b"x")
    with pytest.raises(jetwire.KeyExistsError):
        obs.add_link("live", other, "target")
    with pytest.raises(jetwire.Error):
        obs.add_link("l2", obs, "ln")  # a link to a link
    other.close()
    with pytest.raises(jetwire.InvalidArgError):
        obs.add_link("l3", other, "target")


def test_watch(obs):
    obs.put("a", b"1")
    obs.put("b", b"2")
    with obs.watch() as w:
        first = [w.updates(5.0), w.updates(5.0)]
        assert sorted(i.name for i in first) == ["a", "b"]
        assert w.updates(5.0) is None
        obs.put("c", b"3")
        assert w.updates(5.0).name == "c"
        obs.delete("a")
        gone = w.updates(5.0)
        assert (gone.name, gone.deleted) == ("a", True)
        with pytest.raises(jetwire.TimeoutError):
            w.updates(0.05)
    with pytest.raises(jetwire.InvalidSubscriptionError):
        w.updates(0.1)
    with obs.watch(updates_only=True, ignore_deletes=True) as w:
        assert w.updates(5.0) is None
        obs.delete("b")
        obs.put("d", b"4")
        assert w.updates(5.0).name == "d"
    with obs.watch(include_history=True) as w:
        names = []
        for info in w:
            if info is None:
                break
            names.append(info.name)
        assert sorted(names) == ["a", "b", "c", "d"]


def test_watch_stopped_from_another_thread(obs):
    w = obs.watch()
    assert w.updates(5.0) is None
    seen = []
    t = threading.Thread(target=lambda: seen.extend(w))
    t.start()
    w.stop()
    t.join(10)
    assert not t.is_alive() and seen == []


# -- asyncio ----------------------------------------------------------------


def test_asyncio(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        try:
            js = nc.jetstream()
            obs = await js.create_object_store("aio")
            assert await js.object_store_names() == ["aio"]
            data = pattern(300000, 5)
            info = await obs.put("x", data, description="async")
            assert (info.size, info.digest) == (300000, digest(data))
            assert await obs.get_bytes("x") == data
            info = await obs.put("it", [data[:10], data[10:]],
                                 chunk_size=1000)
            assert info.chunks == 300
            r = await obs.get("x")
            got = bytearray()
            while True:
                piece = await r.read(10000)
                if not piece:
                    break
                got += piece
            assert bytes(got) == data
            assert r.info.name == "x"
            await r.close()
            async with await obs.get("it") as r:
                assert await r.read() == data
            assert (await obs.info("x")).description == "async"
            assert sorted(i.name for i in await obs.list()) == ["it", "x"]
            await obs.update_meta("x", new_name="y")
            await obs.delete("it")
            assert [i.name for i in await obs.list()] == ["y"]
            bound = await js.object_store("aio")
            link = await bound.add_link("ln", obs, "y")
            assert link.link == {"bucket": "aio", "name": "y"}
            assert (await bound.add_bucket_link("bl", obs)).link == \
                {"bucket": "aio"}
            w = await obs.watch()
            seen = []
            async for item in w:
                if item is None:
                    break
                seen.append((item.name, item.deleted))
            assert sorted(seen) == [("bl", False), ("it", True),
                                    ("ln", False), ("y", False)]
            await obs.put("z", b"z")
            assert (await w.updates(5.0)).name == "z"
            await w.stop()
            assert (await obs.status())["bucket"] == "aio"
            assert [s["bucket"] for s in await js.object_stores()] == ["aio"]
            await obs.seal()
            await obs.close()
            await bound.close()
            await js.delete_object_store("aio")
            with pytest.raises(jetwire.BucketNotFoundError):
                await js.object_store("aio")
        finally:
            await nc.close()

    asyncio.run(main())


def test_asyncio_errors_and_close(nats_server):
    class Boom(Exception):
        pass

    def chunks():
        yield b"a" * 3000
        raise Boom("late")

    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        try:
            js = nc.jetstream()
            async with await js.create_object_store("aioerr") as obs:
                with pytest.raises(Boom, match="late"):
                    await obs.put("x", chunks(), chunk_size=1000)
                with pytest.raises(jetwire.KeyNotFoundError):
                    await obs.info("x")
                with pytest.raises(TypeError):
                    await obs.put("x", "text")
                await obs.put("y", pattern(5000), chunk_size=1000)
                r = await obs.get("y")
                pieces = [p async for p in r]
                assert b"".join(pieces) == pattern(5000)
                await r.close()
                with pytest.raises(jetwire.InvalidArgError):
                    await r.read(1)
                async with await obs.watch(updates_only=True) as w:
                    assert await w.updates(5.0) is None
                    with pytest.raises(jetwire.TimeoutError):
                        await w.updates(0.05)
            with pytest.raises(jetwire.InvalidArgError):
                await obs.get_bytes("y")
        finally:
            await nc.close()

    asyncio.run(main())


def test_close_while_a_put_runs(js):
    obs = js.create_object_store("busy")
    started, closed = threading.Event(), threading.Event()
    data = pattern(400000, 2)

    def chunks():
        yield data[:1000]
        started.set()
        assert closed.wait(10)
        yield data[1000:]

    result = []
    t = threading.Thread(target=lambda: result.append(
        obs.put("x", chunks(), chunk_size=4096)))
    t.start()
    assert started.wait(10)
    obs.close()  # the running put keeps the handle until it returns
    closed.set()
    t.join(30)
    assert not t.is_alive() and result[0].size == len(data)
    with pytest.raises(jetwire.InvalidArgError):
        obs.info("x")
    assert js.object_store("busy").get_bytes("x") == data
