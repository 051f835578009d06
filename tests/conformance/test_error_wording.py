"""One wording per error in every language (issue 18, point 8).

Each case below makes one call fail through every language's driver and
compares what the drivers report: the same code everywhere, and the same
message. Durations are the one difference allowed, and only in the unit
each API takes: the C API takes milliseconds and says "within 200 ms",
Python and Lua take seconds and say "within 0.2 s" for the same wait
(the comparison writes C's milliseconds in seconds, so the number must be
the same duration too).

test_errors.py checks the codes of the bad-input sweeps in each language;
this file checks that a user of any language reads the same sentence.
"""
from __future__ import annotations

import re

import pytest

from harness import available_languages, b64e

pytestmark = pytest.mark.skipif(len(available_languages()) < 2,
                                reason="needs two languages' drivers")

T = 0.2  # the short waits of the timeout cases, in seconds
# One slice of the bindings' sliced waits, and several: Python's Key-Value
# watch waits in slices of 0.5 s, the other waits of Python and Lua in
# slices of 0.05 s; 0.7 s is two slices of the first and 14 of the others.
WAITS = (T, 0.7)


def seconds_text(ms: int) -> str:
    """ms in the seconds Python and Lua write: 200 -> "0.2", 2000 -> "2"."""
    text = "%.3f" % (ms / 1000.0)
    return text.rstrip("0").rstrip(".") if "." in text else text


def c_in_seconds(text: str) -> str:
    """A C message with its "N ms" written as Python and Lua write them."""
    return re.sub(r"\b(\d+) ms\b",
                  lambda m: seconds_text(int(m.group(1))) + " s", text)


# Lua raises for a misused argument, as Lua does: "<where>: bad argument #3
# to 'fetch' (<the engine's text>)".
LUA_ARG_ERROR = re.compile(r"^(?:.*?: )?bad argument #\d+ to '[^']*' \((.*)\)$",
                           re.S)


def engine_part(lang: str, text: str) -> str:
    """The message as the languages can share it: C's durations in
    seconds, Lua's argument errors without Lua's framing."""
    if lang == "c":
        return c_in_seconds(text)
    if lang == "lua":
        m = LUA_ARG_ERROR.match(text)
        if m:
            return m.group(1)
    return text


def failure(d, op, **args) -> dict:
    """The ok:false response of one op (the case is wrong if it passed)."""
    resp = d.send(op, **args).response()
    assert resp.get("ok") is False, f"{d.lang}: {op} {args} succeeded: {resp}"
    return resp


# -- the cases: each takes a driver and the server's URL and returns the
# -- failed response of its last call.

def conn(d, url):
    return d.connect(url)


def js(d, url, **kw):
    return d.call("jetstream", conn=d.connect(url), **kw)["js"]


def stream(d, url, name="WORD"):
    j = js(d, url)
    d.call("stream_add", js=j, config={"name": name,
                                       "subjects": [name.lower() + ".>"]})
    return j


def kv(d, url, bucket="words"):
    j = js(d, url)
    return d.call("kv_bucket_create", js=j,
                  config={"bucket": bucket, "history": 2})["kv"]


def closed(d, url):
    nc = d.connect(url)
    d.close(nc)
    return nc


BAD_SUBJECTS = ["", "a..b", "a b", "a.>.b", "a\tb", ".a", "a."]

CASES: dict[str, object] = {}


def case(name, **marks):
    def add(fn):
        CASES[name] = (fn, marks)
        return fn
    return add


for _s in BAD_SUBJECTS:
    case(f"publish {_s!r}")(
        lambda d, url, s=_s: failure(d, "publish", conn=conn(d, url),
                                     subject=s))
    case(f"publish reply {_s!r}")(
        lambda d, url, s=_s: failure(d, "publish", conn=conn(d, url),
                                     subject="ok", reply=s or " "))
    case(f"subscribe {_s!r}")(
        lambda d, url, s=_s: failure(d, "subscribe", conn=conn(d, url),
                                     subject=s))
    case(f"request {_s!r}")(
        lambda d, url, s=_s: failure(d, "request", conn=conn(d, url),
                                     subject=s, timeout=1))
case("publish wildcard")(
    lambda d, url: failure(d, "publish", conn=conn(d, url), subject="a.*"))


def _oversized(d, url, op, **kw):
    nc = conn(d, url)
    size = d.server_info(nc)["max_payload"] + 1
    return failure(d, op, conn=nc, subject="big", data=b64e(b"x" * size),
                   **kw)


case("publish oversized")(lambda d, url: _oversized(d, url, "publish"))
case("publish oversized with headers")(
    lambda d, url: failure(d, "publish", conn=(nc := conn(d, url)),
                           subject="big",
                           data=b64e(b"x" * d.server_info(nc)["max_payload"]),
                           headers=[["K", "v"]]))
case("request oversized")(
    lambda d, url: _oversized(d, url, "request", timeout=1))

case("request no responders")(
    lambda d, url: failure(d, "request", conn=conn(d, url),
                           subject="nobody.home", timeout=1))


def _silent_request(d, url, secs):
    nc = conn(d, url)
    d.subscribe(nc, "silent.svc")  # a responder that never answers
    d.flush(nc)
    return failure(d, "request", conn=nc, subject="silent.svc", timeout=secs)


# A wait within one slice, and one that Python and Lua cut in slices (to
# stay interruptible): the message names the whole wait either way.
for _t in WAITS:
    case(f"request timeout {_t} s")(
        lambda d, url, t=_t: _silent_request(d, url, t))
    case(f"next_msg timeout {_t} s")(
        lambda d, url, t=_t: failure(
            d, "next_msg", sub=d.subscribe(conn(d, url), "quiet"), timeout=t))
    case(f"next_msgs timeout {_t} s")(
        lambda d, url, t=_t: failure(
            d, "next_msgs", sub=d.subscribe(conn(d, url), "quiet"), max=4,
            timeout=t))
    case(f"next_event timeout {_t} s")(
        lambda d, url, t=_t: failure(d, "next_event", conn=conn(d, url),
                                     timeout=t))


# -- JetStream and Key-Value

@case("js api timeout")
def _js_api_timeout(d, url):
    # A domain whose API has a responder that never answers.
    nc = conn(d, url)
    d.subscribe(nc, "$JS.nowhere.API.>")
    d.flush(nc)
    j = d.call("jetstream", conn=nc, domain="nowhere", timeout=T)["js"]
    return failure(d, "stream_info", js=j, stream="S")


@case("js api no responders")
def _js_api_no_responders(d, url):
    j = d.call("jetstream", conn=conn(d, url), domain="nowhere",
               timeout=1)["js"]
    return failure(d, "stream_info", js=j, stream="S")


@case("js publish timeout")
def _js_publish_timeout(d, url):
    nc = conn(d, url)
    d.subscribe(nc, "nostream.x")  # no stream answers: nothing acks
    d.flush(nc)
    j = d.call("jetstream", conn=nc)["js"]
    return failure(d, "js_publish", js=j, subject="nostream.x", timeout=T)


# One call on a fresh handle: (case, handle maker, op, arguments). The
# makers: js (a context), stream (a context with the stream WORD), kv (a
# bucket).
S = {"name": "S", "subjects": ["s"]}
ONE_CALL = [
    ("stream not found", "js", "stream_info", {"stream": "NOPE"}),
    ("stream delete not found", "js", "stream_delete", {"stream": "NOPE"}),
    ("stream update not found", "js", "stream_update",
     {"config": {"name": "NOPE", "subjects": ["nope"]}}),
    ("consumer not found", "stream", "consumer_info",
     {"stream": "WORD", "name": "nobody"}),
    ("consumer get not found", "stream", "consumer_get",
     {"stream": "WORD", "name": "nobody"}),
    ("stream name invalid", "js", "stream_info", {"stream": "a.b"}),
    ("stream exists", "stream", "stream_add",
     {"config": {"name": "WORD", "subjects": ["other"]}}),
    ("stream get msg missing", "stream", "stream_get_msg",
     {"stream": "WORD", "seq": 5}),
    ("config unknown field", "js", "stream_add",
     {"config": {**S, "no_such_field": 1}}),
    ("config wrong type", "js", "stream_add",
     {"config": {**S, "max_msgs": "many"}}),
    ("config negative duration", "js", "stream_add",
     {"config": {**S, "max_age": -1}}),
    ("config bad enum", "js", "stream_add",
     {"config": {**S, "retention": "limit"}}),
    ("consumer config bad enum", "stream", "consumer_add",
     {"stream": "WORD",
      "config": {"durable_name": "c", "ack_policy": "explicitly"}}),
    ("publish option out of range", "stream", "js_publish",
     {"subject": "word.a", "expected_last_seq": -1}),
    ("js publish wrong sequence", "stream", "js_publish",
     {"subject": "word.a", "expected_last_seq": 7}),
    ("js publish no responders", "js", "js_publish",
     {"subject": "nostream.y"}),
    ("bucket not found", "js", "kv_bucket", {"bucket": "nope"}),
    ("bucket name invalid", "js", "kv_bucket", {"bucket": "a.b"}),
    ("key not found", "kv", "kv_get", {"key": "missing"}),
    ("key invalid", "kv", "kv_put", {"key": "a..b", "data": b64e(b"v")}),
    ("kv history not found", "kv", "kv_history", {"key": "missing"}),
]
# Fields newer than the oldest server: NOT_SUPPORTED there.
OLD_SERVER_CALL = [
    ("config not supported", "js", "stream_add",
     {"config": {**S, "metadata": {"a": "b"}}}),
    ("bucket config not supported", "js", "kv_bucket_create",
     {"config": {"bucket": "b", "compression": True}}),
]
MAKERS = {"js": js, "stream": stream, "kv": kv}

for _name, _maker, _op, _args in ONE_CALL + OLD_SERVER_CALL:
    _marks = ({"below_server": "2.10.0"}
             if (_name, _maker, _op, _args) in OLD_SERVER_CALL else {})
    case(_name, **_marks)(
        lambda d, url, maker=_maker, op=_op, args=_args: failure(
            d, op, **{"kv" if maker == "kv" else "js": MAKERS[maker](d, url)},
            **args))
case("fetch option out of range")(
    lambda d, url: failure(
        d, "fetch", batch=1, timeout=1, max_bytes=-1,
        consumer=d.call("consumer_add", js=stream(d, url), stream="WORD",
                        config={"durable_name": "c"})["consumer"]))


@case("ack twice")
def _ack_twice(d, url):
    j = stream(d, url)
    d.js_publish(j, "word.a", b"x")
    c = d.call("consumer_add", js=j, stream="WORD",
               config={"durable_name": "twice",
                       "ack_policy": "explicit"})["consumer"]
    m = d.fetch(c, 1)[0]
    d.ack(m)
    return failure(d, "ack", msg=m.handle)


@case("key deleted")
def _key_deleted(d, url):
    k = kv(d, url)
    d.kv_put(k, "gone", b"v")
    d.kv_delete(k, "gone")
    return failure(d, "kv_get", kv=k, key="gone")


@case("key exists")
def _key_exists(d, url):
    k = kv(d, url)
    d.kv_put(k, "here", b"v")
    return failure(d, "kv_create", kv=k, key="here", data=b64e(b"w"))


@case("kv update wrong revision")
def _kv_update_wrong(d, url):
    # The message names the key's revision: a bucket of its own each time.
    j = js(d, url)
    k = d.call("kv_bucket_create", js=j, config={"bucket": "fresh"})["kv"]
    d.kv_put(k, "here", b"v")
    resp = failure(d, "kv_update", kv=k, key="here", data=b64e(b"w"),
                   last=9)
    d.kv_bucket_delete(j, "fresh")
    return resp


def _quiet_watch(d, url, secs):
    w = d.kv_watch(kv(d, url), "quiet.>")
    assert d.call("kv_watch_next", watcher=w)["entry"] is None  # no values
    return failure(d, "kv_watch_next", watcher=w, timeout=secs)


for _t in WAITS:
    case(f"kv watch timeout {_t} s")(
        lambda d, url, t=_t: _quiet_watch(d, url, t))


# -- after close

# (op, arguments) on a closed connection.
AFTER_CLOSE = [
    ("publish", {"subject": "a"}),
    ("subscribe", {"subject": "a"}),
    ("request", {"subject": "a", "timeout": 1}),
    ("flush", {"timeout": 1}),
    ("drain", {"timeout": 1}),
    ("rtt", {}),
]
for _op, _args in AFTER_CLOSE:
    case(f"{_op} after close")(
        lambda d, url, op=_op, args=_args: failure(
            d, op, conn=closed(d, url), **args))


@case("next_msg after close")
def _next_msg_closed(d, url):
    nc = conn(d, url)
    sub = d.subscribe(nc, "a")
    d.close(nc)
    return failure(d, "next_msg", sub=sub, timeout=1)


@case("next_msg after unsubscribe")
def _next_msg_unsubscribed(d, url):
    sub = d.subscribe(conn(d, url), "a")
    d.unsubscribe(sub)
    return failure(d, "next_msg", sub=sub, timeout=1)


@case("stream info after close")
def _stream_info_closed(d, url):
    nc = conn(d, url)
    j = d.call("jetstream", conn=nc)["js"]
    d.close(nc)
    return failure(d, "stream_info", js=j, stream="S")


def _params():
    out = []
    for name, (fn, marks) in CASES.items():
        m = []
        if "below_server" in marks:
            m.append(pytest.mark.below_server(marks["below_server"]))
        out.append(pytest.param(name, id=name, marks=m))
    return out


@pytest.mark.parametrize("name", _params())
def test_same_wording(name, drivers, nats_server):
    fn, _ = CASES[name]
    got = {}
    for lang in available_languages():
        resp = fn(drivers.start(lang), nats_server.url)
        message = engine_part(lang, resp.get("message", ""))
        got[lang] = (resp.get("code"), message)
    first = next(iter(got.values()))
    assert all(v == first for v in got.values()), (
        f"{name}: the languages disagree:\n"
        + "\n".join(f"  {lang:7} {code}: {msg}"
                    for lang, (code, msg) in got.items()))
    assert first[1], f"{name}: no message"
