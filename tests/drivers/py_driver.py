#!/usr/bin/env python3
"""The Python conformance driver: tests/drivers/PROTOCOL.md over the public
API of the installed jetwire package, and nothing else."""
import base64
import json
import math
import sys
import time

import jetwire
import py_burst

handles = {}
next_handle = [0]


class BadArg(Exception):
    pass


def new_handle(obj):
    next_handle[0] += 1
    handles[next_handle[0]] = obj
    return next_handle[0]


def get(req, key, kind):
    value = handles.get(req.get(key))
    if not isinstance(value, kind):
        raise BadArg("unknown %s handle %r" % (key, req.get(key)))
    return value


def arg(req, key, types, default=None, required=False):
    if key not in req:
        if required:
            raise BadArg("missing argument %r" % key)
        return default
    value = req[key]
    if not isinstance(value, types) or (isinstance(value, bool) and
                                        bool not in _tuple(types)):
        raise BadArg("argument %r has the wrong type" % key)
    if isinstance(value, str) and "\0" in value:
        raise BadArg("argument %r contains NUL" % key)
    return value


def _tuple(types):
    return types if isinstance(types, tuple) else (types,)


def timeout_of(req, default=5.0):
    t = arg(req, "timeout", (int, float), default)
    return None if t < 0 else float(t)


def data_of(req):
    text = arg(req, "data", str, "")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise BadArg("data is not base64")


def headers_of(req):
    pairs = arg(req, "headers", list, [])
    headers = {}
    for pair in pairs:
        if (not isinstance(pair, list) or len(pair) != 2 or
                not all(isinstance(x, str) for x in pair)):
            raise BadArg("headers must be [name, value] pairs")
        headers.setdefault(pair[0], []).append(pair[1])
    return headers or None


def msg_json(msg):
    return {"subject": msg.subject, "reply": msg.reply,
            "data": base64.b64encode(msg.data).decode(),
            "headers": [list(p) for p in msg.headers.items_all()],
            "status": msg.status}


def from_json(value):
    if isinstance(value, dict):
        if list(value) == ["$bin"]:
            return base64.b64decode(value["$bin"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def to_json(value):
    if isinstance(value, bytes):
        return {"$bin": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise BadArg("map with non-string keys")
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and \
            value > 2 ** 63 - 1:
        raise BadArg("integer above 2^63-1")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadArg("non-finite float")
    return value


OPTION_TYPES = {"name": str, "user": str, "password": str, "token": str,
                "nkeys_seed": str, "user_credentials": str,
                "tls_ca_file": str, "tls_cert_file": str, "tls_key_file": str,
                "tls_hostname": str, "tls_insecure_skip_verify": bool,
                "no_echo": bool, "verbose": bool, "pedantic": bool,
                "connect_timeout": (int, float), "ping_interval": (int, float),
                "max_outstanding_pings": int, "drain_timeout": (int, float),
                "pending_msgs_limit": int, "pending_bytes_limit": int,
                "no_randomize": bool, "allow_reconnect": bool,
                "retry_on_failed_connect": bool,
                "ignore_discovered_servers": bool,
                "reconnect_time_wait": (int, float),
                "reconnect_jitter": (int, float),
                "reconnect_jitter_tls": (int, float),
                "max_reconnect_attempts": int, "reconnect_buf_size": int}


def op_connect(req):
    url = arg(req, "url", str, required=True)
    options = arg(req, "options", dict, {})
    for key, value in options.items():
        if key not in OPTION_TYPES or not isinstance(value, OPTION_TYPES[key]):
            raise BadArg("bad option %r" % key)
    return {"conn": new_handle(jetwire.connect(url, **options))}


def op_subscribe(req):
    conn = get(req, "conn", jetwire.Connection)
    sub = conn.subscribe(arg(req, "subject", str, required=True),
                         queue=arg(req, "queue", str))
    msgs = arg(req, "pending_msgs_limit", int)
    nbytes = arg(req, "pending_bytes_limit", int)
    if msgs is not None or nbytes is not None:
        sub.set_pending_limits(msgs if msgs is not None else 524288,
                               nbytes if nbytes is not None else 64 << 20)
    return {"sub": new_handle(sub)}


def op_publish_many(req):
    conn = get(req, "conn", jetwire.Connection)
    subject = arg(req, "subject", str, required=True)
    count = arg(req, "count", int, required=True)
    size = arg(req, "size", int, required=True)
    start = arg(req, "start", int, 0)
    if size < 8:
        raise BadArg("size must be at least 8")
    if start < 0:
        raise BadArg("start must not be negative")
    pad = bytes(size - 8)
    publish = conn.publish
    for i in range(start, start + count):
        publish(subject, i.to_bytes(8, "big") + pad)
    return {"published": count}


def op_receive_count(req):
    sub = get(req, "sub", jetwire.Subscription)
    count = arg(req, "count", int, required=True)
    deadline = time.monotonic() + timeout_of(req, 60.0)
    ordered = arg(req, "ordered", bool, False)
    received = nbytes = 0
    in_order = True
    reason = "OK"
    while received < count:
        left = deadline - time.monotonic()
        if left <= 0:
            reason = "TIMEOUT"
            break
        try:
            batch = sub.next_msgs(256, left)
        except jetwire.Error as e:
            reason = e.code
            break
        for m in batch:
            if ordered and int.from_bytes(m.data[:8], "big") != received:
                in_order = False
            received += 1
            nbytes += len(m.data)
    return {"received": received, "bytes": nbytes, "dropped": sub.dropped,
            "in_order": in_order if ordered else None, "reason": reason}


def op_serve(req):
    conn = get(req, "conn", jetwire.Connection)
    mode = arg(req, "mode", str, required=True)
    if mode not in ("echo", "upper"):
        raise BadArg("mode must be echo or upper")
    count = arg(req, "count", int, 0)

    def answer(msg):
        data = msg.data.upper() if mode == "upper" else msg.data
        headers = {}
        for k, v in msg.headers.items_all():
            headers.setdefault(k, []).append(v)
        msg.respond(data, headers=headers or None)

    sub = conn.subscribe(arg(req, "subject", str, required=True),
                         queue=arg(req, "queue", str), cb=answer)
    if count:
        sub.unsubscribe(limit=count)
    return {"sub": new_handle(sub)}


def op_next_event(req):
    conn = get(req, "conn", jetwire.Connection)
    ev = conn.next_event(timeout_of(req))
    sub = None
    for h, obj in handles.items():
        if obj is ev.subscription and obj is not None:
            sub = h
    return {"event": {"kind": ev.kind.upper(),
                      "code": ev.error.code if ev.error else "OK",
                      "text": ev.text, "sub": sub}}


def op_free(req):
    if req.get("handle") not in handles:
        raise BadArg("unknown handle")
    free_handle(req["handle"])
    return {}


# -- JetStream ---------------------------------------------------------------
# A handle made through another (a context through its connection, a
# consumer through its context) is freed with it: parent[child] = parent.
parent = {}


def made_by(owner, obj):
    h = new_handle(obj)
    parent[h] = owner
    return h


def handle_arg(req, key, kind):
    return req.get(key), get(req, key, kind)


def config_of(req):
    return arg(req, "config", dict, required=True)


def metadata_json(msg):
    md = msg.metadata
    return {"stream": md.stream, "consumer": md.consumer,
            "num_delivered": md.num_delivered,
            "stream_seq": md.sequence.stream,
            "consumer_seq": md.sequence.consumer,
            "num_pending": md.num_pending, "timestamp": md.timestamp_ns}


def positive_timeout(req):
    t = arg(req, "timeout", (int, float), 5.0)
    if not t > 0:
        raise BadArg("timeout must be positive")
    return float(t)


def op_jetstream(req):
    h, conn = handle_arg(req, "conn", jetwire.Connection)
    return {"js": made_by(h, conn.jetstream(positive_timeout(req),
                                            domain=arg(req, "domain", str)))}


def op_stream_purge(req):
    js = get(req, "js", jetwire.JetStream)
    return {"purged": js.purge_stream(
        arg(req, "stream", str, required=True),
        subject=arg(req, "subject", str), seq=arg(req, "seq", int),
        keep=arg(req, "keep", int))}


def op_stream_get_msg(req):
    js = get(req, "js", jetwire.JetStream)
    seq = arg(req, "seq", int, required=True)
    m = js.get_msg(arg(req, "stream", str, required=True), seq)
    return {"subject": m.subject, "seq": seq,
            "data": base64.b64encode(m.data).decode()}


def op_direct_get_batch(req):
    js = get(req, "js", jetwire.JetStream)
    with js.direct_get_batch(
            arg(req, "stream", str, required=True),
            arg(req, "multi_last", list), timeout_of(req, 5.0),
            **call_options(req, "direct_get")) as batch:
        msgs = [dict(msg_json(m), seq=int(m.headers.get("Nats-Sequence", 0)))
                for m in batch]
        return {"msgs": msgs, "num_pending": batch.num_pending,
                "last_seq": batch.last_seq, "up_to_seq": batch.up_to_seq}


# The JSON types a request gives the engine's option types in; the names
# are the engine's (jetwire.option_fields), so a new option needs no change
# here.
OPTION_JSON_TYPES = {"string": str, "integer": int, "boolean": bool,
                     "duration": (int, float)}


def call_options(req, call, skip=()):
    """The engine's options of call that req gives, as keyword arguments."""
    out = {}
    for field in jetwire.option_fields(call):
        name = field["name"]
        if name in req and name not in skip:
            out[name] = arg(req, name,
                            OPTION_JSON_TYPES.get(field["type"], object))
    return out


def ack_json(ack):
    """A PubAck as js_publish gives it: a counter's value and a batch's id
    and count only when the ack has them."""
    out = {"stream": ack.stream, "seq": ack.seq, "duplicate": ack.duplicate}
    if ack.value is not None:
        out["value"] = str(ack.value)
    if ack.batch is not None:
        out.update(batch=ack.batch, count=ack.count)
    return out


def op_js_publish(req):
    js = get(req, "js", jetwire.JetStream)
    ack = js.publish(arg(req, "subject", str, required=True), data_of(req),
                     headers=headers_of(req), **call_options(req, "publish"))
    return ack_json(ack)


# -- atomic batches and counters ----------------------------------------------

def op_atomic_batch(req):
    h, js = handle_arg(req, "js", jetwire.JetStream)
    batch = js.atomic_batch()
    return {"batch": made_by(h, batch), "batch_id": batch.id}


def op_batch_add(req):
    batch = get(req, "batch", jetwire.AtomicBatch)
    batch.add(arg(req, "subject", str, required=True), data_of(req),
              headers=headers_of(req), **call_options(req, "publish"))
    return {"count": batch.count}


def op_batch_commit(req):
    batch = get(req, "batch", jetwire.AtomicBatch)
    subject = arg(req, "subject", str)
    if subject is None:  # commit without a message of its own
        if "data" in req or "headers" in req:
            raise BadArg("data and headers need a subject")
        ack = batch.commit(**call_options(req, "publish"))
    else:
        ack = batch.commit(subject, data_of(req), headers=headers_of(req),
                           **call_options(req, "publish"))
    return ack_json(ack)


def op_batch_close(req):
    get(req, "batch", jetwire.AtomicBatch)
    free_handle(req["batch"])
    return {}


# -- fast-ingest batches ------------------------------------------------------

def op_fast_batch(req):
    h, js = handle_arg(req, "js", jetwire.JetStream)
    return {"fast": made_by(h, js.fast_batch(**call_options(req, "fast")))}


def op_fast_add(req):
    fast = get(req, "fast", jetwire.FastBatch)
    return {"seq": fast.add(arg(req, "subject", str, required=True),
                            data_of(req), headers=headers_of(req),
                            **call_options(req, "publish"))}


def op_fast_commit(req):
    fast = get(req, "fast", jetwire.FastBatch)
    subject = arg(req, "subject", str)
    if subject is None:  # commit without a message of its own
        if "data" in req or "headers" in req:
            raise BadArg("data and headers need a subject")
        return ack_json(fast.commit())
    return ack_json(fast.commit(subject, data_of(req),
                                headers=headers_of(req)))


def op_fast_errors(req):
    fast = get(req, "fast", jetwire.FastBatch)
    return {"errors": fast.take_errors(), "acked": fast.acked}


def op_fast_close(req):
    get(req, "fast", jetwire.FastBatch)
    free_handle(req["fast"])
    return {}


def op_publish_batch(req):
    js = get(req, "js", jetwire.JetStream)
    msgs = []
    for pair in arg(req, "msgs", list, required=True):
        if (not isinstance(pair, list) or len(pair) != 2 or
                not all(isinstance(x, str) for x in pair)):
            raise BadArg("msgs must be [subject, data] pairs")
        try:
            data = base64.b64decode(pair[1], validate=True)
        except ValueError:
            raise BadArg("msgs data is not base64")
        msgs.append((pair[0], data))
    return ack_json(js.publish_batch(msgs, **call_options(req, "fast")))


def op_counter_add(req):
    js = get(req, "js", jetwire.JetStream)
    delta = arg(req, "delta", str, required=True)
    digits = delta[1:] if delta[:1] in ("+", "-") else delta
    if not (digits.isascii() and digits.isdigit()):
        raise BadArg("delta must be decimal text, not %r" % delta)
    return {"value": str(js.counter_add(
        arg(req, "subject", str, required=True), int(delta)))}


def counter_json(e):
    """A CounterEntry as the engine's entry: numbers as decimal text."""
    out = {"subject": e.subject, "val": str(e.value)}
    if e.incr is not None:
        out["incr"] = str(e.incr)
    if e.sources:
        out["sources"] = {stream: {subject: str(v) for subject, v in
                                   subjects.items()}
                          for stream, subjects in e.sources.items()}
    return out


def op_counter_get(req):
    js = get(req, "js", jetwire.JetStream)
    return {"entry": counter_json(js.counter_get(
        arg(req, "stream", str, required=True),
        arg(req, "subject", str, required=True)))}


def op_counter_get_many(req):
    js = get(req, "js", jetwire.JetStream)
    subjects = arg(req, "subjects", (str, list), required=True)
    return {"entries": [counter_json(e) for e in js.counter_get_many(
        arg(req, "stream", str, required=True), subjects)]}


def op_consumer_add(req):
    h, js = handle_arg(req, "js", jetwire.JetStream)
    calls = {None: js.create_or_update_consumer, "create": js.add_consumer,
             "update": js.update_consumer}
    action = arg(req, "action", str)
    if action not in calls:
        raise BadArg("action must be \"create\" or \"update\"")
    cons = calls[action](arg(req, "stream", str, required=True),
                         config=config_of(req))
    return {"consumer": made_by(h, cons), "name": cons.name}


def op_consumer_get(req):
    h, js = handle_arg(req, "js", jetwire.JetStream)
    cons = js.consumer(arg(req, "stream", str, required=True),
                       arg(req, "name", str, required=True))
    return {"consumer": made_by(h, cons), "name": cons.name}


def op_fetch(req):
    cons = get(req, "consumer", jetwire.Consumer)
    batch = arg(req, "batch", int, required=True)
    if batch < 1:
        raise BadArg("batch must be at least 1")
    msgs = cons.fetch(batch, positive_timeout(req),
                      **call_options(req, "fetch", ("batch", "timeout")))
    out = []
    for m in msgs:
        item = msg_json(m)
        item["metadata"] = metadata_json(m)
        item["handle"] = new_handle(m)
        out.append(item)
    return {"msgs": out}


def op_nak(req):
    delay = arg(req, "delay", (int, float))
    get(req, "msg", jetwire.Msg).nak(delay=delay)
    return {}


def free_handle(h):
    """Release h and, first, what was made through it."""
    for child in [c for c, p in parent.items() if p == h]:
        free_handle(child)
    parent.pop(h, None)
    obj = handles.pop(h)
    if isinstance(obj, jetwire.Service):
        # free stops at once: no waiting for requests on the way (the
        # server may be gone already).
        try:
            obj.stop(timeout=0)
        except jetwire.TimeoutError:
            pass
        return
    close = getattr(obj, "close", None) or getattr(obj, "stop", None)
    if close is not None:
        close()


def op_pending(req):
    sub = get(req, "sub", jetwire.Subscription)
    try:
        msgs, nbytes = sub.pending
    except jetwire.Error:
        msgs = nbytes = 0
    return {"msgs": msgs, "bytes": nbytes, "dropped": sub.dropped,
            "delivered": sub.delivered, "valid": sub.is_valid}


C = jetwire.Connection
S = jetwire.Subscription
OPS = {
    "version": lambda r: {"lang": "python", "version": jetwire.__version__},
    "connect": op_connect,
    "close": lambda r: get(r, "conn", C).close() or {},
    "drain": lambda r: get(r, "conn", C).drain(
        None if arg(r, "timeout", (int, float), -1) < 0 else r["timeout"])
    or {},
    "flush": lambda r: get(r, "conn", C).flush(timeout_of(r)) or {},
    "rtt": lambda r: {"rtt": get(r, "conn", C).rtt()},
    "status": lambda r: {"status": get(r, "conn", C).status},
    "server_info": lambda r: {
        "info": get(r, "conn", C).server_info,
        "connected_url": get(r, "conn", C).connected_url or "",
        "max_payload": get(r, "conn", C).max_payload},
    "stats": lambda r: get(r, "conn", C).stats,
    "servers": lambda r: {
        "servers": get(r, "conn", C).servers,
        "discovered": get(r, "conn", C).discovered_servers},
    "next_event": op_next_event,
    "publish": lambda r: get(r, "conn", C).publish(
        arg(r, "subject", str, required=True), data_of(r),
        reply=arg(r, "reply", str), headers=headers_of(r)) or {},
    "publish_packed": lambda r: get(r, "conn", C).publish(
        arg(r, "subject", str, required=True),
        obj=from_json(r.get("value"))) or {},
    "publish_many": op_publish_many,
    "request": lambda r: {"msg": msg_json(get(r, "conn", C).request(
        arg(r, "subject", str, required=True), data_of(r),
        timeout=timeout_of(r), headers=headers_of(r)))},
    "subscribe": op_subscribe,
    "unsubscribe": lambda r: get(r, "sub", S).unsubscribe() or {},
    "auto_unsubscribe": lambda r: get(r, "sub", S).unsubscribe(
        limit=arg(r, "max", int, required=True)) or {},
    "sub_drain": lambda r: get(r, "sub", S).drain() or {},
    "next_msg": lambda r: {"msg": msg_json(
        get(r, "sub", S).next_msg(timeout_of(r)))},
    "next_msgs": lambda r: {"msgs": [msg_json(m) for m in get(
        r, "sub", S).next_msgs(arg(r, "max", int, required=True),
                               timeout_of(r))]},
    "pending": op_pending,
    "receive_count": op_receive_count,
    "serve": op_serve,
    "pack": lambda r: {"data": base64.b64encode(
        jetwire.pack(from_json(r.get("value")))).decode()},
    "unpack": lambda r: {"value": to_json(jetwire.unpack(data_of(r)))},
    "free": op_free,
}

JS = jetwire.JetStream
M = jetwire.Msg
OPS.update({
    "jetstream": op_jetstream,
    "stream_add": lambda r: {"info": get(r, "js", JS).add_stream(
        config=config_of(r))},
    "stream_update": lambda r: {"info": get(r, "js", JS).update_stream(
        config=config_of(r))},
    "stream_info": lambda r: {"info": get(r, "js", JS).stream_info(
        arg(r, "stream", str, required=True))},
    "js_api_level": lambda r: {"level": get(r, "js", JS).api_level()},
    "stream_delete": lambda r: get(r, "js", JS).delete_stream(
        arg(r, "stream", str, required=True)) or {},
    "stream_purge": op_stream_purge,
    "stream_get_msg": op_stream_get_msg,
    "js_publish": op_js_publish,
    "atomic_batch": op_atomic_batch,
    "batch_add": op_batch_add,
    "batch_commit": op_batch_commit,
    "batch_close": op_batch_close,
    "fast_batch": op_fast_batch,
    "fast_add": op_fast_add,
    "fast_commit": op_fast_commit,
    "fast_errors": op_fast_errors,
    "fast_close": op_fast_close,
    "publish_batch": op_publish_batch,
    "counter_add": op_counter_add,
    "counter_get": op_counter_get,
    "counter_get_many": op_counter_get_many,
    "consumer_add": op_consumer_add,
    "consumer_get": op_consumer_get,
    "consumer_info": lambda r: {"info": get(r, "js", JS).consumer_info(
        arg(r, "stream", str, required=True),
        arg(r, "name", str, required=True))},
    "consumer_delete": lambda r: get(r, "js", JS).delete_consumer(
        arg(r, "stream", str, required=True),
        arg(r, "name", str, required=True)) or {},
    "consumer_pause": lambda r: {"pause": get(r, "js", JS).pause_consumer(
        arg(r, "stream", str, required=True),
        arg(r, "name", str, required=True),
        arg(r, "until", (int, float), required=True))},
    "consumer_resume": lambda r: {"pause": get(r, "js", JS).resume_consumer(
        arg(r, "stream", str, required=True),
        arg(r, "name", str, required=True))},
    "consumer_reset": lambda r: {"info": get(r, "js", JS).reset_consumer(
        arg(r, "stream", str, required=True),
        arg(r, "name", str, required=True),
        arg(r, "seq", int) or 0)},
    "consumer_unpin": lambda r: get(r, "js", JS).unpin_consumer(
        arg(r, "stream", str, required=True),
        arg(r, "name", str, required=True),
        arg(r, "group", str, required=True)) or {},
    "fetch": op_fetch,
    "ack": lambda r: get(r, "msg", M).ack() or {},
    "ack_sync": lambda r: get(r, "msg", M).ack_sync(timeout_of(r)) or {},
    "nak": op_nak,
    "term": lambda r: get(r, "msg", M).term(arg(r, "reason", str)) or {},
    "in_progress": lambda r: get(r, "msg", M).in_progress() or {},
})


# -- Key-Value ---------------------------------------------------------------
KV = jetwire.KeyValue
W = jetwire.KeyWatcher
def entry_json(e):
    if e is None:
        return None
    return {"bucket": e.bucket, "key": e.key,
            "value": base64.b64encode(e.value).decode(),
            "revision": e.revision, "delta": e.delta,
            "operation": e.operation, "created": e.created_ns}


def op_kv_bucket_create(req):
    h, js = handle_arg(req, "js", JS)
    config = config_of(req)
    make = (js.create_or_update_key_value if arg(req, "update", bool, False)
            else js.create_key_value)
    return {"kv": made_by(h, make(config=config))}


def op_kv_bucket(req):
    h, js = handle_arg(req, "js", JS)
    return {"kv": made_by(h, js.key_value(arg(req, "bucket", str,
                                                required=True)))}


def op_kv_status(req):
    st = get(req, "kv", KV).status()
    return {"status": st.as_dict()}


def kv_key(req):
    return arg(req, "key", str, required=True)


def op_kv_get(req):
    kv = get(req, "kv", KV)
    return {"entry": entry_json(kv.get(kv_key(req),
                                       **call_options(req, "get")))}


def op_kv_watch(req):
    h, kv = handle_arg(req, "kv", KV)
    return {"watcher": made_by(h, kv.watch(filters_arg(req, "keys", ">"),
                                           **call_options(req, "watch")))}


def filters_arg(req, key, default=None):
    """Key filters: a string or a list of strings (2.10: several)."""
    value = arg(req, key, (str, list), default)
    if isinstance(value, list) and not all(isinstance(v, str)
                                           for v in value):
        raise BadArg("argument %r must hold strings" % key)
    return value


OPS.update({
    "kv_bucket_create": op_kv_bucket_create,
    "kv_bucket": op_kv_bucket,
    "kv_bucket_delete": lambda r: get(r, "js", JS).delete_key_value(
        arg(r, "bucket", str, required=True)) or {},
    "kv_bucket_names": lambda r: {
        "names": sorted(get(r, "js", JS).key_value_names())},
    "kv_bucket_statuses": lambda r: {"statuses": [
        s.as_dict() for s in get(r, "js", JS).key_value_stores()]},
    "kv_status": op_kv_status,
    "kv_put": lambda r: {"revision": get(r, "kv", KV).put(
        kv_key(r), data_of(r))},
    "kv_create": lambda r: {"revision": get(r, "kv", KV).create(
        kv_key(r), data_of(r), **call_options(r, "create"))},
    "kv_update": lambda r: {"revision": get(r, "kv", KV).update(
        kv_key(r), data_of(r), arg(r, "last", int, required=True))},
    "kv_get": op_kv_get,
    "kv_delete": lambda r: get(r, "kv", KV).delete(
        kv_key(r), last=arg(r, "last", int)) or {},
    "kv_purge": lambda r: get(r, "kv", KV).purge(
        kv_key(r), last=arg(r, "last", int),
        **call_options(r, "purge")) or {},
    "kv_keys": lambda r: {"keys": sorted(get(r, "kv", KV).keys(
        filters_arg(r, "filter")))},
    "kv_list_keys": lambda r: {"keys": sorted(
        get(r, "kv", KV).list_keys(filters_arg(r, "filter")))},
    "kv_history": lambda r: {"entries": [entry_json(e) for e in get(
        r, "kv", KV).history(kv_key(r), **call_options(r, "history"))]},
    "kv_get_many": lambda r: {"entries": [entry_json(e) for e in get(
        r, "kv", KV).get_many(arg(r, "keys", list),
                              **call_options(r, "get_many"))]},
    "direct_get_batch": op_direct_get_batch,
    "kv_watch": op_kv_watch,
    "kv_watch_next": lambda r: {"entry": entry_json(get(
        r, "watcher", W).updates(timeout_of(r)))},
})


def respond_next(req):
    sub = get(req, "sub", S)
    msg = sub.next_msg(timeout_of(req))
    if not msg.reply:
        raise BadArg("message has no reply subject")
    msg.respond(data_of(req), headers=headers_of(req))
    return {"msg": msg_json(msg)}


OPS["respond_next"] = respond_next


# -- Delivery paths under load (py_burst.py) ---------------------------------

def burst_path(req):
    path = arg(req, "path", str, required=True)
    if path not in py_burst.PATHS:
        raise BadArg("unknown path %r" % path)
    return path


def op_burst_receive(req):
    params = {"url": arg(req, "url", str, required=True),
              "subject": arg(req, "subject", str, required=True),
              "path": burst_path(req),
              "count": arg(req, "count", int, required=True),
              "ready": arg(req, "ready", str),
              "publish": arg(req, "publish", bool, False),
              "size": arg(req, "size", int, 16),
              "delay": float(arg(req, "delay", (int, float), 0)),
              "after": arg(req, "after", int, 0),
              "timeout": float(arg(req, "timeout", (int, float), 60)),
              "pending_msgs_limit": arg(req, "pending_msgs_limit", int),
              "pending_bytes_limit": arg(req, "pending_bytes_limit", int)}
    if params["size"] < 8:
        raise BadArg("size must be at least 8")
    return py_burst.receive(params)


def op_burst_serve(req):
    return py_burst.serve({
        "url": arg(req, "url", str, required=True),
        "subject": arg(req, "subject", str, required=True),
        "path": burst_path(req),
        "count": arg(req, "count", int, required=True),
        "ready": arg(req, "ready", str),
        "timeout": float(arg(req, "timeout", (int, float), 60))})


OPS.update({
    "burst_paths": lambda r: {"paths": list(py_burst.PATHS)},
    "burst_receive": op_burst_receive,
    "burst_serve": op_burst_serve,
    "request_many": lambda r: py_burst.request_many(
        arg(r, "url", str, required=True),
        arg(r, "subject", str, required=True),
        arg(r, "count", int, required=True), arg(r, "size", int, 16),
        float(arg(r, "timeout", (int, float), 10))),
})


# -- services: handlers of fixed behaviour (PROTOCOL.md, "Services") --------

def service_handler(mode):
    def handle(req):
        if mode == "slow":
            time.sleep(0.02)
        if req.data == b"fail":
            req.respond_error("400", "bad input")
        else:
            req.respond(req.data)
    return handle


def config_of(req):
    return dict(arg(req, "config", dict, required=True))


def op_service_add(req):
    conn_h = req.get("conn")
    conn = get(req, "conn", jetwire.Connection)
    svc = conn.add_service(**config_of(req))
    h = new_handle(svc)
    parent[h] = conn_h
    return {"service": h, "service_id": svc.id}


def where_to_add(req):
    """The service of "service", or the group of "group" when given."""
    svc = get(req, "service", jetwire.Service)
    if req.get("group") is not None:
        return get(req, "group", jetwire.ServiceGroup)
    return svc


def op_service_group(req):
    where = where_to_add(req)
    group = where.add_group(**config_of(req))
    h = new_handle(group)
    parent[h] = req["service"]
    return {"group": h}


def op_service_endpoint(req):
    where = where_to_add(req)
    mode = arg(req, "mode", str, required=True)
    if mode not in ("echo", "slow"):
        raise BadArg("unknown endpoint mode %r" % mode)
    config = config_of(req)
    if "name" not in config:
        raise BadArg("an endpoint needs a name")
    ep = where.add_endpoint(config.pop("name"), service_handler(mode),
                            **config)
    return {"name": ep.name, "subject": ep.subject,
            "queue_group": ep.queue_group}


def op_service_stop(req):
    svc = get(req, "service", jetwire.Service)
    svc.stop(timeout=timeout_of(req))
    return {"stopped": svc.stopped}


VERBS = {"ping": "service_ping", "info": "service_info",
         "stats": "service_stats"}


def op_service_discover(req):
    conn = get(req, "conn", jetwire.Connection)
    verb = arg(req, "verb", str, required=True)
    if verb not in VERBS:
        raise BadArg("unknown verb %r" % verb)
    found = getattr(conn, VERBS[verb])(
        name=arg(req, "name", str), id=arg(req, "service_id", str),
        timeout=timeout_of(req, 1.0), max_responses=arg(req, "max", int))
    return {"responses": found}


OPS.update({
    "service_add": op_service_add,
    "service_group": op_service_group,
    "service_endpoint": op_service_endpoint,
    "service_info": lambda r: {"info": get(r, "service",
                                           jetwire.Service).info()},
    "service_stats": lambda r: {"stats": get(r, "service",
                                             jetwire.Service).stats()},
    "service_reset": lambda r: get(r, "service", jetwire.Service).reset(),
    "service_stop": op_service_stop,
    "service_discover": op_service_discover,
})


# -- object store (ADR-20) ---------------------------------------------------
OBS = jetwire.ObjectStore


def op_obs_create(req):
    h, js = handle_arg(req, "js", JS)
    return {"obs": made_by(h, js.create_or_update_object_store(
        config=config_of(req)))}


def op_obs_bind(req):
    h, js = handle_arg(req, "js", JS)
    return {"obs": made_by(h, js.object_store(arg(req, "bucket", str,
                                                  required=True)))}


def obs_name(req, key="name"):
    return arg(req, key, str, required=True)


def pieces(data, size=1000):
    """The streaming form's source: an iterable of 1,000-byte pieces."""
    return (data[i:i + size] for i in range(0, len(data), size))


def op_obs_put(req):
    obs = get(req, "obs", OBS)
    data = data_of(req)
    info = obs.put(obs_name(req),
                   pieces(data) if arg(req, "stream", bool, False) else data,
                   description=arg(req, "description", str),
                   metadata=arg(req, "metadata", dict),
                   chunk_size=arg(req, "chunk_size", int))
    return {"info": info.as_dict()}


def op_obs_get(req):
    obs = get(req, "obs", OBS)
    name = obs_name(req)
    piece = arg(req, "piece", int)
    if piece is None:  # the bytes form; the info asked after it
        data = obs.get_bytes(name)
        info = obs.info(name)
    else:
        if piece <= 0:
            raise BadArg("piece must be positive")
        out = bytearray()
        with obs.get(name) as r:
            info = r.info
            while True:
                b = r.read(piece)
                if not b:
                    break
                out += b
        data = bytes(out)
    return {"data": base64.b64encode(data).decode(), "info": info.as_dict()}


def op_obs_update_meta(req):
    meta = arg(req, "meta", dict, required=True)
    get(req, "obs", OBS).update_meta(
        obs_name(req), new_name=meta.get("name"),
        description=meta.get("description"), metadata=meta.get("metadata"))
    return {}


def op_obs_link(req):
    obs = get(req, "obs", OBS)
    target = get(req, "target", OBS)
    target_name = arg(req, "target_name", str)
    if target_name is None:
        info = obs.add_bucket_link(obs_name(req), target)
    else:
        info = obs.add_link(obs_name(req), target, target_name)
    return {"info": info.as_dict()}


OPS.update({
    "obs_create": op_obs_create,
    "obs_bind": op_obs_bind,
    "obs_delete_bucket": lambda r: get(r, "js", JS).delete_object_store(
        arg(r, "bucket", str, required=True)) or {},
    "obs_put": op_obs_put,
    "obs_get": op_obs_get,
    "obs_info": lambda r: {"info": get(r, "obs", OBS).info(
        obs_name(r), arg(r, "show_deleted", bool, False)).as_dict()},
    "obs_list": lambda r: {"infos": [i.as_dict() for i in get(
        r, "obs", OBS).list(arg(r, "show_deleted", bool, False))]},
    "obs_delete": lambda r: get(r, "obs", OBS).delete(obs_name(r)) or {},
    "obs_update_meta": op_obs_update_meta,
    "obs_link": op_obs_link,
    "obs_status": lambda r: {"status": get(r, "obs", OBS).status()},
})


def handle(line):
    try:
        req = json.loads(line)
    except ValueError:
        return {"id": None, "ok": False, "code": "INVALID_ARG",
                "message": "not JSON"}
    if not isinstance(req, dict) or not isinstance(req.get("id"), int):
        return {"id": None, "ok": False, "code": "INVALID_ARG",
                "message": "no integer id"}
    rid = req["id"]
    op = OPS.get(req.get("op"))
    if req.get("op") == "quit":
        return {"id": rid, "ok": True}
    if op is None:
        return {"id": rid, "ok": False, "code": "INVALID_ARG",
                "message": "unknown op %r" % req.get("op")}
    try:
        result = op(req) or {}
    except jetwire.Error as e:
        return {"id": rid, "ok": False, "code": e.code, "message": e.message}
    except (BadArg, TypeError, ValueError, KeyError) as e:
        return {"id": rid, "ok": False, "code": "INVALID_ARG",
                "message": str(e)}
    result.update({"id": rid, "ok": True})
    return result


def main():
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        resp = handle(line)
        out.write(json.dumps(resp) + "\n")
        out.flush()
        if resp.get("ok") and '"quit"' in line:
            break
    # Subscriptions before connections; JetStream handles with theirs.
    for h in sorted(handles, key=lambda h: isinstance(
            handles.get(h), jetwire.Connection)):
        if h in handles:
            free_handle(h)


if __name__ == "__main__":
    main()
