"""The bad-input sweep: every public call of the blocking and asyncio APIs,
one argument at a time replaced by a value of the wrong kind (None,
numbers, bytes for str, NaN, negative sizes, foreign objects), on live
objects and on closed ones. Each call either works or raises
jetwire.Error, TypeError or ValueError: never another exception, a crash
or a hang.

The sweep finds the calls by introspection, and knows a valid value for
every parameter name: a new public call whose parameters it does not know
fails test_every_parameter_is_known until it is added here.
"""
import asyncio
import inspect
import math
import time

import pytest

import jetwire
import jetwire.aio

ALLOWED = (jetwire.Error, TypeError, ValueError)
# What js.direct_get_batch returns.
DirectBatch = getattr(jetwire, "DirectBatch", None) or \
    jetwire._jetstream.DirectBatch


class Foreign:
    """An object no call accepts."""


OMIT = object()  # leave the parameter out of the valid call


# A valid value per parameter name, and the bad ones tried in its place.
# Timeouts never get None (wait forever) or huge values: the sweep would
# wait instead of testing.
VALID = {
    "subject": "sweep.subject",
    "payload": b"x",
    "data": b"x",
    "reply": "sweep.reply",
    "headers": {"K": "v"},
    "obj": OMIT,  # the packed alternative to payload: tried on its own
    "queue": "sweep-q",
    "cb": None,
    "timeout": 0.05,
    "max_msgs": 2,
    "limit": 0,
    "msgs": 10,
    "bytes_": 1024,
    "pending_msgs_limit": None,
    "pending_bytes_limit": None,
    "name": "K",
    "value": {"a": [1, 2.5, "s", b"b", None, True]},
    # JetStream (nc.jetstream(), its context, consumers, msg acks)
    "delay": None,
    "reason": None,
    "domain": None,
    "prefix": None,
    "max_pending": None,
    "stream": "SWEEP",
    "config": None,
    "seq": 1,
    "keep": None,
    "erase": False,
    "batch": 1,
    "handler": print,
    "until": 1.0,  # pause_consumer: seconds since the epoch (in the past)
    "group": "g",
    # js.ordered_consumer
    "filter_subject": None,
    "deliver_policy": None,
    "opt_start_seq": None,
    "opt_start_time": None,
    "headers_only": None,
    "replay_policy": None,
    "idle_heartbeat": None,
    "description": None,
    # Key-Value (js.*key_value*, buckets, watchers); "value" is KV_VALID's
    "bucket": "sweep-kv",
    "key": "k",
    "last": 0,
    "revision": None,
    "older_than": None,
    "filter": None,
    "keys": ">",
    # js.direct_get_batch
    "multi_last": "sweep.>",
    # atomic batches and counters (js.publish_atomic, js.counter_*)
    "messages": [("sweep.subject", b"x")],
    "delta": 1,
    "subjects": "sweep.>",
    # PubAckFuture.add_done_callback
    "fn": print,
    # services (nc.add_service, discovery, Service, ServiceRequest); "name"
    # and "handler" are the ones above
    "version": "1.0.0",
    "stats_handler": None,
    "id": None,
    "max_responses": None,
    "code": "400",
    # object stores (js.*object_store*, ObjectStore, readers, watchers);
    # "name" and "data" are the ones above, target_store OBS_VALID's
    "metadata": None,
    "chunk_size": None,
    "show_deleted": False,
    "new_name": None,
    "target_name": "K",
    "include_history": False,
    "ignore_deletes": False,
    "updates_only": False,
    "n": 1,
    "b": OMIT,  # readinto's buffer: tried with the bad values alone
}
# The engine's call options (publish's msg_id, fetch's no_wait, watch's
# include_history, ...) are keyword arguments of **options, not parameters:
# test_call_options.py sweeps each of them.
# A bucket's put(key, value) takes bytes where pack(value) takes anything.
KV_VALID = dict(VALID, value=b"x")
# ServiceRequest.respond_error(code, description): ordered_consumer's
# description may be left out, an error's may not.
SERVICE_VALID = dict(VALID, description="bad input")
_KEY_BAD = [None, 12345, b"k", "", "a b", "a\0b", "a..b", ".a", "a>",
            Foreign()]
BAD_COMMON = [None, 12345, -1, 1.5, math.nan, b"bytes", "text", [], {},
              Foreign(), True]
BAD = {
    "timeout": [-1, -0.5, -math.inf, math.nan, 1e300, "soon", b"1", Foreign(),
                []],
    "max_msgs": [0, -1, 1.5, "2", None, 10**20],
    "limit": [-1, 1.5, "1", None, 10**20],
    "msgs": [-2, 1.5, "1", None, 10**20],
    "bytes_": [-2, 1.5, "1", None, 10**20],
    "headers": [12345, "K: v", ["K", "v"], {"K": 5}, {5: "v"}, {"K": ["a", 5]},
                {"K": "a\r\nb"}, {"": "v"}, {"a b": "v"}, Foreign()],
    "subject": [None, 12345, b"sweep.x", "", "a..b", "a b", "a.>", "a\0b",
                "a\r\nb", Foreign()],
    "reply": [12345, b"r", "", "a b", "a\0b", Foreign()],
    "queue": [12345, b"q", "", "a b", "q\0", Foreign()],
    "obj": [Foreign(), {1j: 2}, {"k": Foreign()}, [1, [2, [object()]]]],
    "batch": [0, -1, 1.5, "1", None, 10**20],
    "until": [None, -1, math.nan, math.inf, "soon", b"1", Foreign(), []],
    "group": [None, 12345, b"g", "", "g\0", "a b c", Foreign()],
    "seq": [0, -1, 1.5, "1", None, 10**20],
    "key": _KEY_BAD,
    "keys": [None, 12345, b">", "a b", "a\0b", "a..b", Foreign()],
    "multi_last": [12345, b"s", "", "a b", "a\0b", "a..b", [], [5],
                   Foreign()],
    "filter": [12345, b">", "a b", "a\0b", Foreign()],
    "reason": [12345, b"why", "a\0b", [], Foreign()],
    "messages": [None, 12345, [], "text", b"x", [("s",)], [["s", b""]],
                 [(5, b"")], [("s", b"", {}, 1)], Foreign()],
    "delta": [None, 1.5, "1", b"1", True, [], Foreign()],
    "subjects": [None, 12345, b"s", "", "a b", "a\0b", [], [5], Foreign()],
    "bucket": [None, 12345, b"b", "", "a b", "a.b", "a\0b", Foreign()],
    "last": [-1, 1.5, "1", 10**20, Foreign()],
    "revision": [0, -1, 1.5, "1", 10**20, Foreign()],
    "older_than": [-1, -0.5, math.nan, math.inf, "1", b"1", Foreign()],
    "fn": [None, 12345, "print", b"x", [], Foreign()],
    "version": [None, 12345, b"1.0.0", "", "1.0", "01.0.0", "1.0.0\0",
                Foreign()],
    "stats_handler": [12345, "print", b"x", [], Foreign()],
    "id": [12345, b"id", "", "a b", "a\0b", "a.b", Foreign()],
    "max_responses": [0, -1, 1.5, "1", True, [], Foreign()],
    "code": [None, 1.5, b"400", "", "4\0", "4 0\r\n", [], True, Foreign()],
    "new_name": [12345, b"K", "", "a\0b", Foreign()],
    "target_name": [None, 12345, b"K", "", "a\0b", Foreign()],
    "target_store": [None, "sweep-obs", 12345, Foreign()],
    "metadata": [12345, "k=v", {"k": 1}, {1: "v"}, ["k"], Foreign()],
    "chunk_size": [0, -1, 1.5, "1", True, Foreign()],
    "show_deleted": [None, 1, "yes", Foreign()],
    "include_history": [None, 1, "yes", Foreign()],
    "ignore_deletes": [None, 1, "yes", Foreign()],
    "updates_only": [None, 1, "yes", Foreign()],
    "n": [1.5, "1", b"1", True, Foreign()],
    "b": [None, 12345, b"read-only", "text", Foreign()],
}
def bad_values(param):
    return BAD.get(param, BAD_COMMON)


def must_refuse(param, value):
    """Bad values a live call must refuse, not just survive."""
    if param == "reply" and value == "":
        return False  # no reply, as in nats-py
    if param in ("subject", "reply", "queue"):
        return value != "a.>"  # a valid pattern where one is taken
    if param == "headers":
        return True
    if param in ("payload", "data"):
        return not isinstance(value, (bytes, bytearray, memoryview))
    if param == "timeout":
        return True  # every listed value is negative, NaN, huge or no number
    if param in ("batch", "seq", "last", "revision", "older_than", "key",
                 "keys", "filter", "reason", "bucket", "multi_last",
                 "messages",
                 "delta", "subjects"):
        return True  # every listed value is no count or name
    if param == "fn":
        return True  # none is callable
    if param in ("new_name", "target_name", "target_store",
                 "metadata", "chunk_size", "show_deleted", "include_history",
                 "ignore_deletes", "updates_only", "n", "b"):
        return True  # every listed value is of the wrong type or form
    if param in ("version", "stats_handler", "id", "max_responses", "code"):
        return True  # every listed value is of the wrong type or form
    if param in ("max_msgs", "limit", "msgs", "bytes_"):
        if isinstance(value, bool) or not isinstance(value, int):
            return True
        floor = {"max_msgs": 1, "limit": 0}.get(param, -(1 << 63))
        return not floor <= value < (1 << 63)
    return param == "obj"


def public_methods(obj):
    for name in sorted(dir(type(obj))):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(type(obj), name)
        if isinstance(attr, property) or not callable(getattr(obj, name)):
            continue
        yield name, getattr(obj, name)


def public_properties(obj):
    for name in sorted(dir(type(obj))):
        if not name.startswith("_") and isinstance(
                inspect.getattr_static(type(obj), name), property):
            yield name


def params_of(fn):
    return [p for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def call_variants(fn, valid=VALID):
    """(kwargs, label, refuse) for the valid call and each one-bad-argument
    call; refuse: the call must raise."""
    params = params_of(fn)
    base = {p.name: valid[p.name] for p in params
            if valid[p.name] is not OMIT}
    yield dict(base), "valid", False
    for p in params:
        for bad in bad_values(p.name):
            args = dict(base)
            if p.name == "obj":
                args.pop("payload", None)
            args[p.name] = bad
            # None is no bad value where it is the parameter's default.
            refuse = must_refuse(p.name, bad) and not (
                bad is None and p.default is None) and not (
                    # an empty iterable of chunks: an empty object
                    p.name == "data" and bad == [] and
                    fn.__qualname__ == "ObjectStore.put")
            yield args, f"{p.name}={bad!r}", refuse


def check_outcome(fn, label, run, refuse=False):
    try:
        run()
    except ALLOWED:
        return
    except Exception as e:  # noqa: BLE001 - the assertion names it
        pytest.fail(f"{fn.__qualname__}({label}) raised "
                    f"{type(e).__name__}: {e}")
    if refuse:
        pytest.fail(f"{fn.__qualname__}({label}) was accepted")


def sync_objects(nats_server):
    """A fresh connection, a subscription and a received message."""
    nc = jetwire.connect(nats_server.url, name="sweep")
    sub = nc.subscribe("sweep.subject")
    nc.publish("sweep.subject", b"hello", reply="sweep.reply")
    msg = sub.next_msg(timeout=2)
    return nc, sub, msg


def test_every_parameter_is_known(nats_server):
    nc, sub, msg = sync_objects(nats_server)
    fns = [fn for o in (nc, sub, msg) for _, fn in public_methods(o)]
    fns += [jetwire.pack, jetwire.unpack]
    unknown = {f"{fn.__qualname__}({p.name})" for fn in fns
               for p in params_of(fn) if p.name not in VALID}
    nc.close()
    assert not unknown, f"add these parameters to the sweep: {unknown}"


@pytest.mark.parametrize("closed", [False, True], ids=["live", "closed"])
def test_sync_sweep(nats_server, closed):
    # Each method gets fresh objects, so one that closes or drains does
    # not change what the next one sees.
    names = []
    nc, sub, msg = sync_objects(nats_server)
    for owner in ("nc", "sub", "msg"):
        names += [(owner, n) for n, _ in public_methods(locals()[owner])]
    nc.close()
    for owner, name in names:
        nc, sub, msg = sync_objects(nats_server)
        if closed:
            nc.close()
        target = {"nc": nc, "sub": sub, "msg": msg}[owner]
        fn = getattr(target, name)
        for kwargs, label, refuse in call_variants(fn):
            check_outcome(fn, label, lambda: fn(**kwargs), refuse)
        for prop in public_properties(target):
            check_outcome(fn, prop, lambda: getattr(target, prop))
        nc.close()


def test_module_functions_sweep(nats_server):
    for fn in (jetwire.pack, jetwire.unpack):
        for kwargs, label, refuse in call_variants(fn):
            check_outcome(fn, label, lambda: fn(**kwargs), refuse)
    for bad in BAD_COMMON + ["nats://127.0.0.1:1", "not a url", ["x", 5]]:
        check_outcome(jetwire.connect, f"servers={bad!r}",
                      lambda: jetwire.connect(bad, connect_timeout=0.2))
    for key in ("name", "user", "token", "nkeys_seed", "user_credentials",
                "no_echo", "connect_timeout", "ping_interval",
                "max_outstanding_pings", "pending_msgs_limit", "colour"):
        for bad in BAD_COMMON:
            check_outcome(jetwire.connect, f"{key}={bad!r}",
                          lambda: jetwire.connect(nats_server.url,
                                                  **{key: bad}).close())
    for bad in BAD_COMMON + ["NOPE", ""]:
        check_outcome(jetwire.error_for, repr(bad),
                      lambda: jetwire.error_for(bad))


async def outcome(fn, label, kwargs, refuse):
    """check_outcome for asyncio calls, coroutines and async iterators."""
    try:
        result = fn(**kwargs)
        if inspect.isawaitable(result):
            await asyncio.wait_for(result, timeout=5)
        elif hasattr(result, "__anext__"):
            try:
                await asyncio.wait_for(result.__anext__(), timeout=5)
            finally:
                await result.aclose()
    except (*ALLOWED, StopAsyncIteration):
        return
    except Exception as e:  # noqa: BLE001 - the assertion names it
        pytest.fail(f"aio {fn.__qualname__}({label}) raised "
                    f"{type(e).__name__}: {e}")
    if refuse:
        pytest.fail(f"aio {fn.__qualname__}({label}) was accepted")


def test_aio_sweep(nats_server):
    async def objects():
        nc = await jetwire.aio.connect(nats_server.url, name="sweep-aio")
        sub = await nc.subscribe("sweep.subject")
        await nc.publish("sweep.subject", b"hello", reply="sweep.reply")
        msg = await sub.next_msg(timeout=2)
        return nc, sub, msg

    async def sweep():
        nc, sub, msg = await objects()
        names = [(o, n) for o, obj in (("nc", nc), ("sub", sub), ("msg", msg))
                 for n, _ in public_methods(obj)]
        unknown = {f"{n}({p.name})" for o, n in names
                   for p in params_of(getattr({"nc": nc, "sub": sub,
                                               "msg": msg}[o], n))
                   if p.name not in VALID}
        assert not unknown, f"add these parameters to the sweep: {unknown}"
        await nc.close()
        for closed in (False, True):
            for owner, name in names:
                nc, sub, msg = await objects()
                if closed:
                    await nc.close()
                fn = getattr({"nc": nc, "sub": sub, "msg": msg}[owner], name)
                for kwargs, label, refuse in call_variants(fn):
                    await outcome(fn, label, kwargs, refuse)
                await nc.close()

    asyncio.run(sweep())


def js_objects(nats_server):
    """A connection, its JetStream context, a stream, a consumer and an
    ordered consumer."""
    nc = jetwire.connect(nats_server.url, name="sweep-js")
    js = nc.jetstream(timeout=2.0)
    js.create_or_update_stream(name="SWEEP", subjects=["sweep.>"])
    js.publish("sweep.subject", b"x")
    cons = js.create_or_update_consumer("SWEEP", durable="sweep-c")
    objs = {"js": js, "cons": cons, "ordered": js.ordered_consumer("SWEEP")}
    try:  # nats-server 2.11
        objs["batch"] = js.direct_get_batch("SWEEP", seq=1)
    except jetwire.NotSupportedError:
        pass
    try:  # nats-server 2.12
        objs["atomic"] = js.atomic_batch()
    except jetwire.NotSupportedError:
        pass
    try:  # nats-server 2.14
        objs["fast"] = js.fast_batch()
    except jetwire.NotSupportedError:
        pass
    return nc, objs


def finish(result):
    """End what a call started (a generator, a consume, a watcher, an
    ordered consumer)."""
    if inspect.isgenerator(result):
        result.close()
    elif isinstance(result, (jetwire.ConsumeContext, jetwire.KeyWatcher)):
        result.stop()
    elif isinstance(result, (jetwire.OrderedConsumer, DirectBatch,
                             jetwire.AtomicBatch, jetwire.FastBatch)):
        result.close()


def required_args(fn, valid):
    return {p.name: valid[p.name] for p in params_of(fn)
            if p.default is p.empty}


def unknown_params(objs, names, valid):
    return {f"{n}({p.name})" for o, n in names
            for p in params_of(getattr(objs[o], n)) if p.name not in valid}


def sweep_objects(make, closed, valid=VALID, closed_error=None, skip=()):
    """The blocking sweep over every public method of the objects make()
    returns (a connection and a dict of objects), fresh ones per method,
    but those named in skip. closed_error: the exceptions every call but
    stop() must raise once the connection is closed."""
    nc, objs = make()
    names = [(o, n) for o, obj in objs.items()
             for n, _ in public_methods(obj) if n not in skip]
    unknown = unknown_params(objs, names, valid)
    nc.close()
    assert not unknown, f"add these parameters to the sweep: {unknown}"
    for owner, name in names:
        nc, objs = make()
        if closed:
            nc.close()
        fn = getattr(objs[owner], name)
        for kwargs, label, refuse in call_variants(fn, valid):
            check_outcome(fn, label, lambda: finish(fn(**kwargs)), refuse)
        if closed and closed_error and name != "stop":
            with pytest.raises(closed_error):
                finish(fn(**required_args(fn, valid)))
        nc.close()


async def aio_sweep_objects(objects, valid=VALID, closed_error=None):
    """sweep_objects for the asyncio API, live then closed."""
    nc, objs = await objects()
    names = [(o, n) for o, obj in objs.items()
             for n, _ in public_methods(obj)]
    unknown = unknown_params(objs, names, valid)
    assert not unknown, f"add these parameters to the sweep: {unknown}"
    await nc.close()
    for closed in (False, True):
        for owner, name in names:
            nc, objs = await objects()
            if closed:
                await nc.close()
            fn = getattr(objs[owner], name)
            for kwargs, label, refuse in call_variants(fn, valid):
                await outcome(fn, label, kwargs, refuse)
            if closed and closed_error and name != "stop":
                with pytest.raises(closed_error):
                    result = fn(**required_args(fn, valid))
                    if inspect.isawaitable(result):
                        await result
                    else:
                        await result.__anext__()
            await nc.close()


@pytest.mark.parametrize("closed", [False, True], ids=["live", "closed"])
def test_jetstream_sweep(nats_server, closed):
    sweep_objects(lambda: js_objects(nats_server), closed)


def test_aio_jetstream_sweep(nats_server):
    async def objects():
        nc = await jetwire.aio.connect(nats_server.url, name="sweep-aio-js")
        js = nc.jetstream(timeout=2.0)
        await js.create_or_update_stream(name="SWEEP", subjects=["sweep.>"])
        await js.publish("sweep.subject", b"x")
        cons = await js.create_or_update_consumer("SWEEP", durable="c")
        objs = {"js": js, "cons": cons,
                "ordered": await js.ordered_consumer("SWEEP")}
        try:  # nats-server 2.11
            objs["batch"] = await js.direct_get_batch("SWEEP", seq=1)
        except jetwire.NotSupportedError:
            pass
        try:  # nats-server 2.12
            objs["atomic"] = js.atomic_batch()
        except jetwire.NotSupportedError:
            pass
        try:  # nats-server 2.14
            objs["fast"] = js.fast_batch()
        except jetwire.NotSupportedError:
            pass
        return nc, objs

    asyncio.run(aio_sweep_objects(objects))


def future_objects(nats_server):
    """A connection and three futures of publish_async: acknowledged,
    refused by the stream, and pending (a subscriber that never answers
    holds it in flight until the connection closes)."""
    nc = jetwire.connect(nats_server.url, name="sweep-futures")
    js = nc.jetstream(timeout=2.0)
    js.create_or_update_stream(name="SWEEP", subjects=["sweep.>"])
    nc.subscribe("silent.x")
    nc.flush()
    objs = {"acked": js.publish_async("sweep.subject", b"x"),
            "refused": js.publish_async("sweep.subject", b"",
                                        expected_last_seq=10**6),
            "pending": js.publish_async("silent.x", b"")}
    return nc, objs


# The executor's side of a Future: the binding completes its futures.
FUTURE_EXECUTOR_ONLY = ("set_result", "set_exception",
                        "set_running_or_notify_cancel")


@pytest.mark.parametrize("closed", [False, True], ids=["live", "closed"])
def test_pub_ack_future_sweep(nats_server, closed):
    sweep_objects(lambda: future_objects(nats_server), closed,
                  skip=FUTURE_EXECUTOR_ONLY)


def kv_objects(nats_server):
    """A connection, a bucket with a key, and a watcher on it."""
    nc = jetwire.connect(nats_server.url, name="sweep-kv")
    js = nc.jetstream(timeout=2.0)
    kv = js.create_or_update_key_value(bucket="sweep-kv", history=2)
    kv.put("k", b"x")
    return nc, {"kv": kv, "watcher": kv.watch("k")}


KV_CLOSED = (jetwire.ConnectionClosedError, jetwire.InvalidSubscriptionError)


@pytest.mark.parametrize("closed", [False, True], ids=["live", "closed"])
def test_kv_sweep(nats_server, closed):
    sweep_objects(lambda: kv_objects(nats_server), closed, KV_VALID,
                  KV_CLOSED)


def test_kv_stopped_watcher(nats_server):
    nc, objs = kv_objects(nats_server)
    w = objs["watcher"]
    w.stop()
    with pytest.raises(jetwire.InvalidSubscriptionError,
                       match="watcher was stopped"):
        w.updates(timeout=0.05)
    assert list(w) == []
    nc.close()


def test_aio_kv_sweep(nats_server):
    async def objects():
        nc = await jetwire.aio.connect(nats_server.url, name="sweep-aio-kv")
        js = nc.jetstream(timeout=2.0)
        kv = await js.create_or_update_key_value(bucket="sweep-kv",
                                                 history=2)
        await kv.put("k", b"x")
        return nc, {"kv": kv, "watcher": await kv.watch("k")}

    asyncio.run(aio_sweep_objects(objects, KV_VALID, KV_CLOSED))


def service_objects(nats_server):
    """A connection, a service, a group of it and a request its endpoint
    took (kept by the handler, unanswered)."""
    nc = jetwire.connect(nats_server.url, name="sweep-svc")
    svc = nc.add_service("sweep", "1.0.0")
    kept = []
    svc.add_endpoint("keep", kept.append)
    nc.publish("keep", b"x", reply="sweep.reply")
    for _ in range(500):
        if kept:
            break
        time.sleep(0.01)
    return nc, {"svc": svc, "group": svc.add_group("g"), "request": kept[0]}


@pytest.mark.parametrize("closed", [False, True], ids=["live", "closed"])
def test_service_sweep(nats_server, closed):
    sweep_objects(lambda: service_objects(nats_server), closed,
                  SERVICE_VALID)


def test_aio_service_sweep(nats_server):
    async def objects():
        nc = await jetwire.aio.connect(nats_server.url, name="sweep-aio-svc")
        svc = await nc.add_service("sweep", "1.0.0")
        kept = []
        await svc.add_endpoint("keep", kept.append)
        await nc.publish("keep", b"x", reply="sweep.reply")
        for _ in range(500):
            if kept:
                break
            await asyncio.sleep(0.01)
        return nc, {"svc": svc, "group": svc.add_group("g"),
                    "request": kept[0]}

    asyncio.run(aio_sweep_objects(objects, SERVICE_VALID))


# A bucket's calls take a live bucket as target_store: the one made last.
OBS_VALID = dict(VALID)


def obs_objects(nats_server):
    """A connection, an object store with an object, a reader of it and
    a watcher."""
    nc = jetwire.connect(nats_server.url, name="sweep-obs")
    js = nc.jetstream(timeout=2.0)
    try:  # a fresh one: seal() leaves a bucket no update unseals
        js.delete_object_store("sweep-obs")
    except jetwire.BucketNotFoundError:
        pass
    obs = js.create_object_store("sweep-obs")
    obs.put("K", b"x" * 10)
    OBS_VALID["target_store"] = obs
    return nc, {"obs": obs, "reader": obs.get("K"), "watcher": obs.watch()}


@pytest.mark.parametrize("closed", [False, True], ids=["live", "closed"])
def test_obs_sweep(nats_server, closed):
    sweep_objects(lambda: obs_objects(nats_server), closed, OBS_VALID)


def test_aio_obs_sweep(nats_server):
    async def objects():
        nc = await jetwire.aio.connect(nats_server.url, name="sweep-aio-obs")
        js = nc.jetstream(timeout=2.0)
        try:
            await js.delete_object_store("sweep-obs")
        except jetwire.BucketNotFoundError:
            pass
        obs = await js.create_object_store("sweep-obs")
        await obs.put("K", b"x" * 10)
        OBS_VALID["target_store"] = obs
        return nc, {"obs": obs, "reader": await obs.get("K"),
                    "watcher": await obs.watch()}

    asyncio.run(aio_sweep_objects(objects, OBS_VALID))
