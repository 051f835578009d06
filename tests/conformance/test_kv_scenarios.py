"""Key-Value, per language and between languages, through the drivers: the
tutorial's service-config flow, create over a deleted key, stale updates,
history limits, TTL expiry, purge, the watch options, the end-of-initial-
values marker under 1,000 concurrent writes, 10,000 keys listed; then a
bucket shared by two languages.

Bulk writes that only set the stage (the concurrent writer, the 10,000
keys) come from this process through the jetwire package, so that the
driver under test does the reading the scenario is about."""
import json
import threading
import time

import pytest

import jetwire
from harness import DriverError


def config(timeout_ms, retries=3):
    return json.dumps({"endpoint": "https://api.example.com",
                       "timeout_ms": timeout_ms,
                       "max_retries": retries}).encode()


def initial(d, w, timeout=5.0):
    """The entries a watcher gives before its marker."""
    out = []
    while True:
        e = d.kv_watch_next(w, timeout)
        if e is None:
            return out
        out.append(e)


def fill(url, bucket, n, prefix):
    """n keys of bucket from this process, one round trip for all."""
    with jetwire.connect(url) as nc:
        js = nc.jetstream(timeout=30.0)
        for i in range(n):
            js.publish_async("$KV.%s.%s%d" % (bucket, prefix, i), b"v")
        js.publish_async_complete(timeout=60.0)


def code_of(call, *args, **kwargs):
    with pytest.raises(DriverError) as err:
        call(*args, **kwargs)
    return err.value.code


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


# -- per language -----------------------------------------------------------

def test_kv_service_config_flow(driver, js, nats_server):
    d = driver
    kv = d.kv_bucket_create(js, bucket="service-config",
                            description="Service configuration store",
                            history=5, ttl=86400, storage="file")
    rev = d.kv_put(kv, "payment-service", config(5000))
    e = d.kv_get(kv, "payment-service")
    assert (e.bucket, e.key, e.value, e.revision, e.operation, e.delta) == (
        "service-config", "payment-service", config(5000), rev, "PUT", 0)
    assert abs(e.created / 1e9 - time.time()) < 60

    # A watcher on another connection sees the update made here.
    other = d.kv_bucket(d.jetstream(d.connect(nats_server.url)),
                        "service-config")
    w = d.kv_watch(other, "payment-service")
    assert [x.value for x in initial(d, w)] == [config(5000)]
    newer = d.kv_update(kv, "payment-service", config(10000), e.revision)
    assert newer > rev
    seen = d.kv_watch_next(w, 5.0)
    assert (seen.key, seen.value, seen.revision) == (
        "payment-service", config(10000), newer)
    assert code_of(d.kv_update, kv, "payment-service", config(1),
                   e.revision) == "WRONG_LAST_SEQUENCE"
    assert d.kv_get(kv, "payment-service").value == config(10000)
    assert d.kv_get(kv, "payment-service", revision=rev).value == \
        config(5000)
    assert d.kv_keys(kv) == ["payment-service"]
    assert d.kv_bucket_names(js) == ["service-config"]
    st = d.kv_status(kv)
    assert (st["bucket"], st["values"], st["history"], st["ttl"],
            st["storage"]) == ("service-config", 2, 5, 86400, "file")
    # Every bucket's status in one call (nats.go's KeyValueStores): the
    # same document; a plain stream is not a bucket.
    d.kv_bucket_create(js, bucket="other", history=1)
    d.stream_add(js, name="PLAIN", subjects=["plain.>"])
    statuses = sorted(d.kv_bucket_statuses(js), key=lambda s: s["bucket"])
    assert [s["bucket"] for s in statuses] == ["other", "service-config"]
    one = d.kv_status(kv)
    # The server adds its version and API level to one stream's info, not
    # to a listing: the rest is the same document.
    meta = [{k: v for k, v in s.pop("metadata").items()
             if not k.startswith("_nats.")} for s in (statuses[1], one)]
    assert statuses[1] == one and meta[0] == meta[1]
    assert (statuses[0]["history"], statuses[0]["values"]) == (1, 0)
    d.free(w)
    assert code_of(d.kv_watch_next, w, 0.1) == "INVALID_ARG"


def test_kv_create_delete_purge(driver, js):
    d = driver
    kv = d.kv_bucket_create(js, bucket="entries", history=10)
    first = d.kv_create(kv, "user.1", b"alice")
    assert code_of(d.kv_create, kv, "user.1", b"again") == "KEY_EXISTS"
    assert code_of(d.kv_delete, kv, "user.1", last=first + 5) == \
        "WRONG_LAST_SEQUENCE"
    d.kv_delete(kv, "user.1", last=first)
    assert code_of(d.kv_get, kv, "user.1") == "KEY_DELETED"
    assert code_of(d.kv_get, kv, "nobody") == "KEY_NOT_FOUND"
    assert d.kv_keys(kv) == []  # a deleted key is not listed
    again = d.kv_create(kv, "user.1", b"alice-2")  # over the delete marker
    assert d.kv_get(kv, "user.1").revision == again
    assert [(h.operation, h.value) for h in d.kv_history(kv, "user.1")] == [
        ("PUT", b"alice"), ("DEL", b""), ("PUT", b"alice-2")]
    d.kv_put(kv, "user.2", b"bob")
    d.kv_purge(kv, "user.1")
    assert [h.operation for h in d.kv_history(kv, "user.1")] == ["PURGE"]
    assert code_of(d.kv_get, kv, "user.1") == "KEY_DELETED"
    assert d.kv_keys(kv) == ["user.2"]
    assert code_of(d.kv_history, kv, "never") == "KEY_NOT_FOUND"


def test_kv_history_limit_and_ttl(driver, js):
    d = driver
    kv = d.kv_bucket_create(js, bucket="limited", history=3)
    revs = [d.kv_put(kv, "k", b"v%d" % i) for i in range(5)]
    hist = d.kv_history(kv, "k")
    assert [(h.revision, h.value) for h in hist] == [
        (revs[2], b"v2"), (revs[3], b"v3"), (revs[4], b"v4")]
    assert [h.delta for h in hist] == [2, 1, 0]
    assert code_of(d.kv_get, kv, "k", revision=revs[0]) == "KEY_NOT_FOUND"

    short = d.kv_bucket_create(js, bucket="short", ttl=1)
    d.kv_put(short, "session", b"token")
    assert d.kv_get(short, "session").value == b"token"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            d.kv_get(short, "session")
        except DriverError as e:
            assert e.code == "KEY_NOT_FOUND"
            break
        time.sleep(0.25)
    else:
        pytest.fail("the entry outlived the bucket's 1 s TTL")
    assert d.kv_keys(short) == []


@pytest.mark.min_server("2.11.0")
def test_kv_limit_markers(driver, js):
    """ADR-48: a bucket with limit_marker_ttl gets a marker from the server
    when a key ages out (Nats-Marker-Reason: MaxAge). The marker is a purge
    to every read: get says KEY_DELETED, keys() leaves the key out,
    history and watch show PURGE, and create succeeds over it."""
    d = driver
    kv = d.kv_bucket_create(js, bucket="marked", ttl=1, limit_marker_ttl=5,
                            history=2)
    assert d.kv_status(kv)["limit_marker_ttl"] == 5
    w = d.kv_watch(kv, updates_only=True)
    assert d.kv_watch_next(w) is None  # the end of (no) initial values
    rev = d.kv_put(kv, "session", b"token")
    put = d.kv_watch_next(w)
    assert (put.key, put.operation, put.revision) == ("session", "PUT", rev)
    # The server's marker when the value ages out, a second later.
    marker = d.kv_watch_next(w, timeout=10.0)
    assert (marker.key, marker.operation) == ("session", "PURGE")
    assert marker.revision > rev and marker.value == b""
    assert code_of(d.kv_get, kv, "session") == "KEY_DELETED"
    assert d.kv_keys(kv) == []
    assert [h.operation for h in d.kv_history(kv, "session")] == ["PURGE"]
    again = d.kv_create(kv, "session", b"fresh")
    assert d.kv_get(kv, "session").value == b"fresh"
    assert again > marker.revision


@pytest.mark.min_server("2.11.0")
def test_kv_per_key_ttl(driver, js):
    """ADR-48: create with a ttl makes a key that goes by itself (the
    bucket keeps values for a day); purge with a ttl leaves a marker that
    goes too, and with it the key's last trace."""
    d = driver
    kv = d.kv_bucket_create(js, bucket="perkey", ttl=86400,
                            limit_marker_ttl=60)
    d.kv_put(kv, "stays", b"v")
    d.kv_create(kv, "brief", b"x", ttl=1)
    assert d.kv_get(kv, "brief").value == b"x"
    deadline = time.monotonic() + 10
    while code_of_or_none(d.kv_get, kv, "brief") is None:
        assert time.monotonic() < deadline, "the key outlived its 1 s TTL"
        time.sleep(0.2)
    assert d.kv_keys(kv) == ["stays"]
    d.kv_purge(kv, "stays", ttl=1)
    assert code_of(d.kv_get, kv, "stays") == "KEY_DELETED"
    deadline = time.monotonic() + 10
    while code_of_or_none(d.kv_history, kv, "stays") != "KEY_NOT_FOUND":
        assert time.monotonic() < deadline, "the purge marker stayed"
        time.sleep(0.2)
    with pytest.raises(DriverError) as e:
        d.kv_create(kv, "bad", b"x", ttl=0.5)  # below a second
    assert e.value.code == "INVALID_ARG"


def code_of_or_none(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
        return None
    except DriverError as e:
        return e.code


@pytest.mark.below_server("2.11.0")
def test_kv_limit_markers_not_supported(driver, js, nats_server):
    kv = driver.kv_bucket_create(js, bucket="plain")
    for call in (lambda: driver.kv_create(kv, "k", b"x", ttl=5),
                 lambda: driver.kv_purge(kv, "k", ttl=5)):
        with pytest.raises(DriverError) as e:
            call()
        assert e.value.code == "NOT_SUPPORTED" and "2.11.0" in \
            e.value.message
    with pytest.raises(DriverError) as e:
        driver.kv_bucket_create(js, bucket="marked", limit_marker_ttl=5)
    assert e.value.code == "NOT_SUPPORTED"
    assert "2.11.0" in e.value.message
    assert nats_server.version in e.value.message
    assert "marked" not in driver.kv_bucket_names(js)


@pytest.mark.min_server("2.10.0")
def test_kv_several_filters(driver, js):
    """keys() and watch() over several filters at once (the consumer's
    filter_subjects of 2.10), as nats.go's ListKeysFiltered and
    WatchFiltered."""
    d = driver
    kv = d.kv_bucket_create(js, bucket="multi")
    for key in ("a.1", "a.2", "b.1", "c.1"):
        d.kv_put(kv, key, key.encode())
    assert d.kv_keys(kv, ["a.*", "c.>"]) == ["a.1", "a.2", "c.1"]
    assert d.kv_list_keys(kv, filter=["a.*", "c.>"]) == ["a.1", "a.2", "c.1"]
    assert d.kv_list_keys(kv, filter="b.*") == ["b.1"]
    w = d.kv_watch(kv, ["a.1", "c.*"])
    assert sorted(e.key for e in initial(d, w)) == ["a.1", "c.1"]
    d.kv_put(kv, "b.2", b"unseen")
    d.kv_put(kv, "c.2", b"seen")
    e = d.kv_watch_next(w)
    assert (e.key, e.value) == ("c.2", b"seen")


@pytest.mark.below_server("2.10.0")
def test_kv_several_filters_not_supported(driver, js, nats_server):
    d = driver
    kv = d.kv_bucket_create(js, bucket="multi")
    for call in (lambda: d.kv_keys(kv, ["a.*", "c.>"]),
                 lambda: d.kv_list_keys(kv, filter=["a.*", "c.>"]),
                 lambda: d.kv_watch(kv, ["a.1", "c.*"])):
        with pytest.raises(DriverError) as e:
            call()
        assert e.value.code == "NOT_SUPPORTED"
        assert "2.10.0" in e.value.message
    assert d.kv_keys(kv, ["a.*"]) == []  # one filter is any server's


def eventually(check, timeout=10.0):
    """check() until it returns a true value (a mirror or a source copies
    in the background); its last value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = check()
        except DriverError:
            got = None
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_kv_mirror(driver, js):
    """A mirror bucket (ADR-8): reads come from the mirror's own stream,
    under the origin's keys; writes go to the origin; the handle made by
    create and the one bound by name behave the same."""
    d = driver
    origin = d.kv_bucket_create(js, bucket="origin", history=3)
    d.kv_put(origin, "a", b"1")
    d.kv_put(origin, "b", b"2")
    made = d.kv_bucket_create(js, bucket="replica", history=3,
                              mirror={"name": "origin"})
    assert d.kv_status(made)["mirror"]["name"] == "KV_origin"
    for replica in (made, d.kv_bucket(js, "replica")):
        assert eventually(lambda: d.kv_get(replica, "b").value == b"2")
    entry = d.kv_get(made, "a")
    assert (entry.bucket, entry.key, entry.value) == ("replica", "a", b"1")
    rev = d.kv_put(made, "c", b"3")  # to the origin, copied back
    assert d.kv_get(origin, "c").revision == rev
    assert eventually(lambda: d.kv_keys(made) == ["a", "b", "c"])
    w = d.kv_watch(made, "a")
    assert [e.value for e in initial(d, w)] == [b"1"]
    d.kv_put(origin, "a", b"4")
    e = d.kv_watch_next(w, 10.0)
    assert (e.key, e.value, e.bucket) == ("a", b"4", "replica")
    d.kv_delete(made, "b")
    assert code_of(d.kv_get, origin, "b") == "KEY_DELETED"
    assert eventually(lambda: code_of(d.kv_get, made, "b") == "KEY_DELETED")
    assert [h.value for h in d.kv_history(made, "a")] == [b"1", b"4"]


@pytest.mark.min_server("2.10.0")
def test_kv_sources(driver, js):
    """A bucket fed by others (ADR-8 sources): their keys appear under
    this bucket's name, next to its own."""
    d = driver
    east = d.kv_bucket_create(js, bucket="east")
    west = d.kv_bucket_create(js, bucket="west")
    d.kv_put(east, "e1", b"east")
    d.kv_put(west, "w1", b"west")
    both = d.kv_bucket_create(js, bucket="both",
                              sources=[{"name": "east"}, {"name": "west"}])
    d.kv_put(both, "own", b"mine")
    assert eventually(lambda: d.kv_keys(both) == ["e1", "own", "w1"])
    assert d.kv_get(both, "w1").value == b"west"
    d.kv_put(east, "e1", b"east 2")
    assert eventually(lambda: d.kv_get(both, "e1").value == b"east 2")
    assert d.kv_keys(east) == ["e1"]  # nothing flows back
    assert [s["name"] for s in d.kv_status(both)["sources"]] == [
        "KV_east", "KV_west"]


@pytest.mark.below_server("2.10.0")
def test_kv_sources_not_supported(driver, js, nats_server):
    with pytest.raises(DriverError) as e:
        driver.kv_bucket_create(js, bucket="both", sources=[{"name": "a"}])
    assert e.value.code == "NOT_SUPPORTED"
    assert "2.10.0" in e.value.message
    assert nats_server.version in e.value.message
    assert "both" not in driver.kv_bucket_names(js)


def test_kv_republish(driver, conn, js):
    """A bucket that republishes its writes (ADR-8): a plain subscriber
    sees each put with the entry's subject in Nats-Subject, and with
    headers_only the value's size instead of the value."""
    d = driver
    full = d.subscribe(conn, "changes.>")
    sizes = d.subscribe(conn, "sizes.>")
    d.flush(conn)
    kv = d.kv_bucket_create(js, bucket="config", republish={
        "src": ">", "dest": "changes.>"})
    rev = d.kv_put(kv, "db.url", b"postgres://db")
    m = d.next_msg(full)
    assert (m.subject, m.data) == ("changes.$KV.config.db.url",
                                   b"postgres://db")
    headers = dict(m.headers)
    assert headers["Nats-Subject"] == "$KV.config.db.url"
    assert headers["Nats-Sequence"] == str(rev)
    small = d.kv_bucket_create(js, bucket="meta", republish={
        "src": "$KV.meta.>", "dest": "sizes.>", "headers_only": True})
    d.kv_put(small, "blob", b"x" * 1000)
    m = d.next_msg(sizes)
    assert m.subject == "sizes.blob" and m.data == b""
    assert dict(m.headers)["Nats-Msg-Size"] == "1000"
    assert d.kv_status(small)["republish"]["dest"] == "sizes.>"


def test_kv_mirror_and_sources_refused(driver, js):
    for bad in ({"mirror": {"name": "a"}, "sources": [{"name": "b"}]},
                {"mirror": {}}, {"mirror": "a"}):
        with pytest.raises(DriverError) as e:
            driver.kv_bucket_create(js, bucket="bad", **bad)
        assert e.value.code in ("INVALID_ARG", "NOT_SUPPORTED")


def test_kv_watch_options(driver, js):
    d = driver
    kv = d.kv_bucket_create(js, bucket="opts", history=5)
    d.kv_put(kv, "a", b"a1")
    d.kv_put(kv, "a", b"a2")
    d.kv_put(kv, "b", b"b1")
    d.kv_delete(kv, "b")

    w = d.kv_watch(kv)  # the latest per key, delete markers included
    assert [(e.key, e.operation) for e in initial(d, w)] == [
        ("a", "PUT"), ("b", "DEL")]
    d.free(w)
    w = d.kv_watch(kv, ignore_deletes=True)
    assert [e.value for e in initial(d, w)] == [b"a2"]
    d.kv_delete(kv, "a")
    d.kv_put(kv, "c", b"c1")
    assert d.kv_watch_next(w, 5.0).key == "c"  # the delete was left out
    d.free(w)
    w = d.kv_watch(kv, include_history=True)
    got = initial(d, w)
    assert [(e.key, e.value) for e in got] == [
        ("a", b"a1"), ("a", b"a2"), ("b", b"b1"), ("b", b""), ("a", b""),
        ("c", b"c1")]
    d.free(w)
    w = d.kv_watch(kv, "c", meta_only=True)
    e = d.kv_watch_next(w, 5.0)
    assert (e.key, e.value, e.operation) == ("c", b"", "PUT")
    assert d.kv_watch_next(w, 5.0) is None
    d.free(w)
    w = d.kv_watch(kv, "c", updates_only=True)
    assert d.kv_watch_next(w, 5.0) is None  # at once, nothing before it
    rev = d.kv_put(kv, "c", b"c2")
    e = d.kv_watch_next(w, 5.0)
    assert (e.value, e.revision) == (b"c2", rev)
    assert code_of(d.kv_watch_next, w, 0.2) == "TIMEOUT"
    d.free(w)
    empty = d.kv_bucket_create(js, bucket="empty")
    w = d.kv_watch(empty)
    assert d.kv_watch_next(w, 5.0) is None  # the marker alone
    assert code_of(d.kv_watch_next, w, 0.2) == "TIMEOUT"


def test_kv_watch_marker_once_under_writes(driver, js, nats_server):
    """The marker comes once, after the initial values, while this process
    writes 1,000 more keys during the watcher's initial phase."""
    d = driver
    kv = d.kv_bucket_create(js, bucket="busy")
    fill(nats_server.url, "busy", 200, "pre")
    started = threading.Event()
    failed = []

    def writer():
        started.wait(5)
        try:
            fill(nats_server.url, "busy", 1000, "live")
        except Exception as e:  # reported by the assertion below
            failed.append(e)

    t = threading.Thread(target=writer)
    t.start()
    try:
        w = d.kv_watch(kv)
        started.set()
        markers, keys = 0, set()
        while len(keys) < 1200:
            e = d.kv_watch_next(w, 10.0)
            if e is None:
                markers += 1
                assert len(keys) >= 200  # after the initial values
            else:
                keys.add(e.key)
        assert code_of(d.kv_watch_next, w, 0.3) == "TIMEOUT"
    finally:
        t.join()
    assert not failed
    assert markers == 1
    assert keys == {"pre%d" % i for i in range(200)} | \
        {"live%d" % i for i in range(1000)}


def test_kv_ten_thousand_keys(driver, js, nats_server):
    d = driver
    kv = d.kv_bucket_create(js, bucket="many", storage="memory")
    fill(nats_server.url, "many", 10000, "k")
    want = sorted("k%d" % i for i in range(10000))
    assert d.kv_keys(kv) == want
    assert d.kv_list_keys(kv, _wait=60.0) == want
    assert d.kv_keys(kv, filter="k42") == ["k42"]
    assert code_of(d.kv_keys, kv, filter="k99*") == "INVALID_ARG"
    assert d.kv_status(kv)["values"] == 10000


def test_kv_bad_requests(driver, conn):
    d = driver
    # A get from a deleted bucket is answered by nobody: a short timeout.
    js = d.jetstream(conn, timeout=1.0)
    assert code_of(d.kv_bucket, js, "missing") == "BUCKET_NOT_FOUND"
    assert code_of(d.kv_bucket_delete, js, "missing") == "BUCKET_NOT_FOUND"
    assert code_of(d.kv_bucket_create, js, bucket="bad.name") == \
        "INVALID_ARG"
    assert code_of(d.kv_bucket_create, js, bucket="ok",
                   colour="blue") == "INVALID_ARG"
    kv = d.kv_bucket_create(js, bucket="ok", history=2)
    assert code_of(d.kv_bucket_create, js, bucket="ok", history=3) == \
        "JETSTREAM"
    assert d.kv_status(d.kv_bucket_create(
        js, update=True, bucket="ok", history=3))["history"] == 3
    for key in ("", "a b", ".a", "a.", "a..b", "a>", "$KV"):
        assert code_of(d.kv_put, kv, key, b"x") == "INVALID_ARG", key
    assert code_of(d.call, "kv_put", kv=kv) == "INVALID_ARG"
    assert code_of(d.call, "kv_update", kv=kv, key="k",
                   last="1") == "INVALID_ARG"
    d.kv_bucket_delete(js, "ok")
    assert code_of(d.kv_get, kv, "k") == "BUCKET_NOT_FOUND"
    d.free(kv)
    assert code_of(d.kv_get, kv, "k") == "INVALID_ARG"


# -- between languages ------------------------------------------------------

@pytest.mark.cross
def test_kv_cross(drivers, lang_pair, nats_server):
    """A creates the bucket and puts; B watches, reads by revision and
    updates with the revision; A sees B's value and B's watcher A's next
    one."""
    a_lang, b_lang = lang_pair
    a = drivers.start(a_lang, label=f"A-{a_lang}")
    b = drivers.start(b_lang, label=f"B-{b_lang}")
    ajs = a.jetstream(a.connect(nats_server.url))
    bjs = b.jetstream(b.connect(nats_server.url))
    akv = a.kv_bucket_create(ajs, bucket="shared", history=5)
    r1 = a.kv_put(akv, "svc.timeout", b"5000")
    r2 = a.kv_put(akv, "svc.retries", b"3")
    bkv = b.kv_bucket(bjs, "shared")
    w = b.kv_watch(bkv, "svc.>")
    assert [(e.key, e.value, e.revision) for e in initial(b, w)] == [
        ("svc.timeout", b"5000", r1), ("svc.retries", b"3", r2)]
    assert b.kv_get(bkv, "svc.timeout", revision=r1).value == b"5000"
    r3 = b.kv_update(bkv, "svc.timeout", b"10000", r1)
    assert a.kv_get(akv, "svc.timeout").revision == r3
    assert b.kv_watch_next(w, 5.0).value == b"10000"
    a.kv_delete(akv, "svc.retries")
    e = b.kv_watch_next(w, 5.0)
    assert (e.key, e.operation) == ("svc.retries", "DEL")
    assert code_of(b.kv_get, bkv, "svc.retries") == "KEY_DELETED"
    assert b.kv_keys(bkv) == ["svc.timeout"]
