"""Call options from Python: the keyword arguments of publish,
publish_async, fetch, messages, consume, watch, watch_all and get are the
engine's options (jw_call_opts_fields), made into a jw_call_opts by one
generic path of the binding that lists no option of its own. Every option
of every call kind is walked here: accepted with a value of its type,
refused with a value of another Python type (TypeError) or one the engine
refuses (ValueError), an unknown name a TypeError, and durations in
seconds."""
import asyncio
import math
import time

import pytest

import jetwire
import jetwire.aio
from jetwire import _jetstream
from jetwire._jetwire import ffi

CALLS = ("publish", "fetch", "consume", "watch", "get")

# A value of each engine option type that every option of the type takes
# at set time, and values of Python types that do not fit it.
VALUES = {"string": ["v"], "integer": [1], "boolean": [True, False],
          "duration": [1.5, 2]}
WRONG_TYPE = {"string": [5, b"v", 1.5, True, ["v"]],
              "integer": [1.5, "1", True, b"1", [1]],
              "boolean": [1, 0, "yes", 1.0, [True]],
              "duration": ["1", True, b"1", [1], object()]}
# Values of the right Python type the engine refuses when they are set.
REFUSED = {"string": ["", "a\r\nb", "a\0b"],
           "integer": [-1, 10**20, -(10**20)],
           "boolean": [],
           "duration": [-1, -0.5, math.nan, math.inf, 10**20]}


def fields(call):
    out = jetwire.option_fields(call)
    assert out, call
    for f in out:
        assert set(f) == {"name", "type", "since", "doc"}, f
        assert f["type"] in VALUES, f  # a new type: give it values here
    return out


def every_option():
    return [(call, f["name"], f["type"]) for call in CALLS
            for f in fields(call)]


@pytest.mark.server_independent
def test_option_fields_are_the_engines():
    names = {call: [f["name"] for f in fields(call)] for call in CALLS}
    assert "msg_id" in names["publish"] and "no_wait" in names["fetch"]
    assert "expires" in names["consume"] and "revision" in names["get"]
    assert "include_history" in names["watch"]
    with pytest.raises(jetwire.InvalidArgError, match="no options for"):
        jetwire.option_fields("nope")
    with pytest.raises(TypeError):
        jetwire.option_fields(5)


@pytest.mark.server_independent
@pytest.mark.parametrize("call,name,kind", every_option(),
                         ids=lambda v: str(v))
def test_each_option_is_made_by_type(call, name, kind):
    """The generic path, without a server: a value of the option's type
    makes options; another Python type is a TypeError naming the option;
    a value the engine refuses its InvalidArgError (a ValueError)."""
    for value in VALUES[kind]:
        opts = _jetstream._call_opts(call, {name: value}, "f")
        assert opts != ffi.NULL
    for value in WRONG_TYPE[kind]:
        with pytest.raises(TypeError, match="f\\(\\) argument '%s' must be"
                           % name):
            _jetstream._call_opts(call, {name: value}, "f")
    for value in REFUSED[kind]:
        with pytest.raises(ValueError, match=name):
            _jetstream._call_opts(call, {name: value}, "f")
    # None is "not given": nothing to make.
    assert _jetstream._call_opts(call, {name: None}, "f") == ffi.NULL


@pytest.mark.server_independent
@pytest.mark.parametrize("call", CALLS)
def test_unknown_names_and_no_options(call):
    with pytest.raises(TypeError, match="^f\\(\\) got an unexpected keyword "
                       "argument 'colour'$"):
        _jetstream._call_opts(call, {"colour": "red"}, "f")
    with pytest.raises(TypeError, match="unexpected keyword"):
        _jetstream._call_opts(call, {"colour": None}, "f")
    assert _jetstream._call_opts(call, {}, "f") == ffi.NULL


# -- through the public calls, against a server ------------------------------

@pytest.fixture
def nc(nats_server):
    conn = jetwire.connect(nats_server.url, name="pytest-callopts")
    yield conn
    conn.close()


@pytest.fixture
def js(nc):
    js = nc.jetstream(timeout=5.0)
    js.create_or_update_stream(name="CO", subjects=["co.>"])
    for i in range(50):
        js.publish("co.x", b"%d" % i)
    return js


@pytest.fixture
def cons(js):
    return js.create_or_update_consumer("CO", durable="co")


@pytest.fixture
def kv(js):
    kv = js.create_or_update_key_value(bucket="co", history=5)
    assert kv.put("k", b"1") == 1
    kv.put("k", b"2")
    return kv


def sync_calls(js, cons, kv):
    """Per call kind, the public blocking calls taking its options, each
    called with the options as keyword arguments."""
    def messages(**o):
        it = cons.messages(timeout=0.5, **o)
        try:
            next(it, None)
        finally:
            it.close()

    def stop(w):
        w.stop()

    return {
        "publish": [lambda **o: js.publish("co.y", b"", **o),
                    lambda **o: js.publish("co.y", b"", headers={"H": "v"},
                                           **o),
                    lambda **o: js.publish_async("co.y", b"", **o)],
        "fetch": [lambda **o: cons.fetch(**o)],
        "consume": [messages,
                    lambda **o: cons.consume(lambda m: None, **o).stop()],
        "watch": [lambda **o: stop(kv.watch("k", **o)),
                  lambda **o: stop(kv.watch_all(**o))],
        "get": [lambda **o: kv.get("k", **o)],
    }


def accepted(fn, options):
    """The call took the options: it worked or the engine or server said
    no (an expected_stream of "v" is refused by the server)."""
    try:
        fn(**options)
    except (jetwire.Error, TypeError) as e:
        assert not isinstance(e, TypeError), (options, e)


def test_public_calls_take_every_engine_option(js, cons, kv):
    calls = sync_calls(js, cons, kv)
    for call, name, kind in every_option():
        for fn in calls[call]:
            for value in VALUES[kind]:
                if (call, name, value) in (("watch", "include_history", True),
                                           ("watch", "updates_only", True)):
                    continue  # together refused: below
                accepted(fn, {name: value})
            for value in WRONG_TYPE[kind]:
                with pytest.raises(TypeError, match=name):
                    fn(**{name: value})
            for value in REFUSED[kind]:
                with pytest.raises(ValueError):
                    fn(**{name: value})
            with pytest.raises(TypeError, match="unexpected keyword "
                               "argument 'colour'"):
                fn(colour=1)
    with pytest.raises(jetwire.InvalidArgError):
        kv.watch(include_history=True, updates_only=True)
    js.publish_async_complete(5.0)


def test_options_reach_the_engine(js, cons, kv):
    """Effects the server shows: the options are the engine's, durations
    in seconds (the context's duration_unit)."""
    ack = js.publish("co.id", b"1", msg_id="m-1")
    again = js.publish("co.id", b"1", msg_id="m-1")
    assert (again.seq, again.duplicate) == (ack.seq, True)
    with pytest.raises(jetwire.WrongLastSequenceError):
        js.publish("co.id", b"", expected_last_seq=1)
    assert js.publish("co.id", b"", expected_last_seq=ack.seq).seq == \
        ack.seq + 1
    # fetch: timeout 0.3 is 300 ms, not 0.3 ms nor 300 s.
    drained = cons.fetch(100, timeout=2.0, no_wait=True)
    assert len(drained) == 52
    for m in drained:
        m.ack()
    t = time.monotonic()
    assert cons.fetch(1, timeout=0.3) == []
    assert 0.25 < time.monotonic() - t < 2.0
    t = time.monotonic()
    assert cons.fetch(1, timeout=5, no_wait=True) == []
    assert time.monotonic() - t < 2.0
    # max_bytes caps a batch.
    for _ in range(5):
        js.publish("co.big", b"x" * 100)
    got = cons.fetch(5, timeout=2.0, max_bytes=250)
    assert 1 <= len(got) < 5
    # consume: expires 1.5 s is taken, 0.5 s refused (at least 1 s).
    cons.consume(lambda m: None, expires=1.5).stop()
    with pytest.raises(jetwire.InvalidArgError, match="expires"):
        cons.consume(lambda m: None, expires=0.5)
    # get's revision, watch's modes.
    assert kv.get("k", revision=1).value == b"1"
    assert kv.get("k").value == b"2"
    with kv.watch("k", meta_only=True) as w:
        e = w.updates(5.0)
        assert (e.key, e.value, e.revision) == ("k", b"", 2)


def test_publish_retry_wait_is_seconds(js):
    """retry_wait 0.2 (seconds) twice: about 0.4 s before no responders."""
    t = time.monotonic()
    with pytest.raises(jetwire.NoRespondersError):
        js.publish("nowhere", b"", retry_attempts=2, retry_wait=0.2)
    assert 0.35 < time.monotonic() - t < 3.0
    t = time.monotonic()
    with pytest.raises(jetwire.NoRespondersError):
        js.publish("nowhere", b"", retry_attempts=0)
    assert time.monotonic() - t < 0.3


def test_aio_calls_take_the_engines_options(nats_server):
    async def main():
        nc = await jetwire.aio.connect(nats_server.url)
        js = nc.jetstream()
        await js.create_or_update_stream(name="CO", subjects=["co.>"])
        ack = await js.publish("co.a", b"1", msg_id="a-1")
        again = await js.publish("co.a", b"1", msg_id="a-1")
        assert (again.seq, again.duplicate) == (ack.seq, True)
        with pytest.raises(TypeError, match="unexpected keyword"):
            await js.publish("co.a", b"", colour="red")
        with pytest.raises(TypeError, match="msg_id"):
            await js.publish("co.a", b"", msg_id=5)
        with pytest.raises(ValueError):
            await js.publish("co.a", b"", expected_last_seq=-1)
        # The asyncio publish retries by the same options, in seconds.
        t = time.monotonic()
        with pytest.raises(jetwire.NoRespondersError):
            await js.publish("nowhere", b"", retry_attempts=2,
                             retry_wait=0.2)
        assert 0.35 < time.monotonic() - t < 3.0
        fut = await js.publish_async("co.a", b"2", msg_id="a-2")
        await js.publish_async_complete(5.0)
        assert fut.result().seq == ack.seq + 1
        with pytest.raises(TypeError, match="unexpected keyword"):
            await js.publish_async("co.a", b"", colour="red")

        cons = await js.create_or_update_consumer("CO", durable="a")
        got = await cons.fetch(5, timeout=1.0, no_wait=True)
        assert [m.data for m in got] == [b"1", b"2"]
        t = time.monotonic()
        assert await cons.fetch(1, timeout=0.3) == []
        assert 0.25 < time.monotonic() - t < 2.0
        with pytest.raises(TypeError, match="no_wait"):
            await cons.fetch(1, no_wait=1)
        with pytest.raises(TypeError, match="unexpected keyword"):
            cons.messages(colour=1)
        with pytest.raises(TypeError, match="expires"):
            cons.messages(expires="1")
        await js.publish("co.b", b"3")
        got = [m.data async for m in cons.messages(2, timeout=0.5,
                                                   expires=1.5)]
        assert got == [b"3"]

        kv = await js.create_or_update_key_value(bucket="co", history=3)
        await kv.put("k", b"1")
        await kv.put("k", b"2")
        assert (await kv.get("k", revision=1)).value == b"1"
        with pytest.raises(ValueError):
            await kv.get("k", revision=0)
        with pytest.raises(TypeError):
            await kv.get("k", revision="1")
        with pytest.raises(TypeError, match="unexpected keyword"):
            await kv.get("k", colour=1)
        with pytest.raises(TypeError, match="unexpected keyword"):
            kv.watch("k", colour=True)
        with pytest.raises(TypeError, match="meta_only"):
            kv.watch_all(meta_only=1)
        async with kv.watch("k", include_history=True) as w:
            values = [(await w.updates(5.0)).value for _ in range(2)]
            assert values == [b"1", b"2"]
            assert await w.updates(5.0) is None
        with pytest.raises(jetwire.InvalidArgError):
            await kv.watch(include_history=True, updates_only=True)
        await nc.close()
    asyncio.run(main())
