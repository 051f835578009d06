"""The Python package's own behaviour, beyond the shared scenarios: types,
the GIL, lifetimes, callbacks, exceptions."""
import gc
import threading
import time

import pytest

import jetwire


@pytest.fixture
def nc(nats_server):
    conn = jetwire.connect(nats_server.url, name="pytest")
    yield conn
    conn.close()


def test_blocking_calls_release_the_gil(nc):
    sub = nc.subscribe("gil.test")
    ticks = []
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=counter)
    t.start()
    with pytest.raises(jetwire.TimeoutError):
        sub.next_msg(timeout=0.5)
    stop.set()
    t.join()
    # Holding the GIL for 0.5 s would leave the counter at about 0.
    assert len(ticks) > 50


def test_wrong_types_raise_type_error(nc):
    with pytest.raises(TypeError, match="subject must be str"):
        nc.publish(b"bytes.subject", b"x")
    with pytest.raises(TypeError, match="payload must be bytes"):
        nc.publish("a.b", "text")
    with pytest.raises(TypeError):
        nc.publish("a.b", b"x", headers=["not", "a", "mapping"])
    with pytest.raises(TypeError):
        nc.publish("a.b", b"x", headers={"K": 5})
    with pytest.raises(TypeError):
        nc.subscribe(None)
    with pytest.raises(TypeError):
        nc.subscribe("a", cb="not callable")
    with pytest.raises(TypeError):
        nc.request("a", b"x", timeout="soon")
    with pytest.raises(ValueError):
        nc.flush(timeout=-1)
    with pytest.raises(TypeError):
        jetwire.connect(12345)
    with pytest.raises(TypeError, match="unexpected keyword"):
        jetwire.connect("nats://127.0.0.1:1", colour="blue")
    # The connection is unharmed by all of that.
    nc.flush()


def test_bad_input_raises_coded_errors(nc):
    for subject in ("", "a..b", "foo.", "a b", "a.*", "a.>"):
        with pytest.raises(jetwire.InvalidSubjectError) as info:
            nc.publish(subject, b"x")
        assert info.value.code == "INVALID_SUBJECT"
        assert isinstance(info.value, ValueError)
    with pytest.raises(jetwire.MaxPayloadError):
        nc.publish("big", b"x" * (nc.max_payload + 1))
    sub = nc.subscribe("still.works")
    nc.publish("still.works", b"ok")
    assert sub.next_msg(2).data == b"ok"


def test_calls_after_close(nats_server):
    conn = jetwire.connect(nats_server.url)
    sub = conn.subscribe("after.close")
    conn.close()
    conn.close()  # harmless
    assert conn.is_closed
    for call in (lambda: conn.publish("x", b""),
                 lambda: conn.subscribe("x"),
                 lambda: conn.request("x", b""),
                 lambda: conn.flush(),
                 lambda: conn.rtt()):
        with pytest.raises(jetwire.ConnectionClosedError):
            call()
    with pytest.raises(jetwire.Error) as info:
        sub.next_msg(0.1)
    assert info.value.code in ("CONNECTION_CLOSED", "INVALID_SUBSCRIPTION")
    sub.close()
    sub.close()
    with pytest.raises(jetwire.InvalidSubscriptionError):
        sub.next_msg(0.1)


def test_context_managers_close(nats_server):
    with jetwire.connect(nats_server.url) as conn:
        with conn.subscribe("ctx") as sub:
            conn.publish("ctx", b"1")
            assert sub.next_msg(2).data == b"1"
        assert not sub.is_valid
    assert conn.is_closed


def _dispatch_threads():
    return [t for t in threading.enumerate() if t.name == "jetwire-dispatch"]


def test_unclosed_connection_is_collected_without_leaking(nats_server):
    before = len(_dispatch_threads())
    conn = jetwire.connect(nats_server.url, closed_cb=lambda: None)
    conn.subscribe("gc.test", cb=lambda m: None)
    assert len(_dispatch_threads()) == before + 1
    ref = __import__("weakref").ref(conn)
    del conn
    gc.collect()
    assert ref() is None
    deadline = time.monotonic() + 5
    while len(_dispatch_threads()) > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(_dispatch_threads()) == before


def test_callback_subscription_and_error_cb(nats_server):
    errors = []
    got = []
    done = threading.Event()
    conn = jetwire.connect(nats_server.url, error_cb=errors.append)

    def on_msg(msg):
        got.append(msg.data)
        if len(got) == 3:
            done.set()

    conn.subscribe("cb.test", cb=on_msg)
    slow = conn.subscribe("slow.test", pending_msgs_limit=5)
    for i in range(3):
        conn.publish("cb.test", b"%d" % i)
    for i in range(100):
        conn.publish("slow.test", b"x")
    conn.flush()
    assert done.wait(5)
    assert got == [b"0", b"1", b"2"]
    deadline = time.monotonic() + 5
    while not errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert errors and errors[0].code == "SLOW_CONSUMER"
    assert isinstance(errors[0], jetwire.SlowConsumerError)
    assert slow.dropped > 0
    conn.close()


def test_iteration_and_batches(nc):
    sub = nc.subscribe("iter.>")
    for i in range(10):
        nc.publish("iter.%d" % i, b"%d" % i)
    nc.flush()
    batch = sub.next_msgs(4, timeout=2)
    assert [m.subject for m in batch] == ["iter.0", "iter.1", "iter.2",
                                          "iter.3"]
    rest = []
    for msg in sub:
        rest.append(msg.data)
        if len(rest) == 6:
            break
    assert rest == [b"4", b"5", b"6", b"7", b"8", b"9"]


def test_headers_mapping(nc):
    sub = nc.subscribe("hdr")
    nc.publish("hdr", b"", headers={"X-Trace": ["a", "b"], "lower": "v"})
    msg = sub.next_msg(2)
    assert msg.headers["X-Trace"] == "a"
    assert msg.headers.get_all("X-Trace") == ["a", "b"]
    assert msg.headers["lower"] == "v"
    assert "x-trace" not in msg.headers  # names are case-sensitive


def test_request_respond_and_no_responders(nc):
    nc.subscribe("svc.upper", cb=lambda m: m.respond(m.data.upper()))
    nc.flush()
    assert nc.request("svc.upper", b"abc", timeout=2).data == b"ABC"
    start = time.monotonic()
    with pytest.raises(jetwire.NoRespondersError):
        nc.request("svc.nobody", b"", timeout=5)
    assert time.monotonic() - start < 4
    silent = nc.subscribe("svc.silent")  # kept: collecting it unsubscribes
    with pytest.raises(jetwire.TimeoutError):
        nc.request("svc.silent", b"", timeout=0.2)
    silent.close()


def test_pack_and_structured_publish(nc):
    value = {"id": "ORD-1", "amount": 99.5, "items": [1, -2, 2 ** 63],
             "raw": b"\x00\xff", "ok": True, "none": None}
    assert jetwire.unpack(jetwire.pack(value)) == value
    sub = nc.subscribe("packed")
    nc.publish("packed", obj=value)
    msg = sub.next_msg(2)
    assert msg.headers["Content-Type"] == "application/msgpack"
    assert msg.unpack() == value
    with pytest.raises(TypeError):
        jetwire.pack(object())
    with pytest.raises(jetwire.InvalidArgError):
        jetwire.unpack(b"\xc1")


def test_stats_info_and_inbox(nc, nats_server):
    info = nc.server_info
    # The server JW_NATS_SERVER names (2.9.10 or 2.15.3 in `make test`).
    assert info["version"] == nats_server.version
    assert nc.connected_url.endswith(str(info["port"]))
    sub = nc.subscribe("stats")
    nc.publish("stats", b"12345")
    sub.next_msg(2)
    stats = nc.stats
    assert stats["out_msgs"] >= 1 and stats["in_msgs"] >= 1
    assert stats["in_bytes"] >= 5
    assert nc.new_inbox().startswith("_INBOX.")
    assert 0 < nc.rtt() < 1


def test_closed_cb_runs_once(nats_server):
    calls = []
    conn = jetwire.connect(nats_server.url, closed_cb=lambda: calls.append(1))
    conn.close()
    conn.close()
    time.sleep(0.2)  # a late CLOSED event must not call it again
    assert calls == [1]


def test_reconnect_callbacks_and_buffer(nats_server):
    import queue
    events: "queue.Queue[str]" = queue.Queue()
    conn = jetwire.connect(
        nats_server.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1,
        reconnect_buf_size=1024,
        # With an argument, the handler gets the error that ended the socket.
        disconnected_cb=lambda err: events.put("disconnected %s" % err.code),
        reconnected_cb=lambda: events.put("reconnected"),
        closed_cb=lambda: events.put("closed"))
    assert conn.servers == [nats_server.url]
    assert conn.discovered_servers == []
    sub = conn.subscribe("py.reconnect")
    conn.flush()
    nats_server.stop()
    assert events.get(timeout=5) == "disconnected IO"
    assert conn.status == "RECONNECTING"
    assert not conn.is_connected
    assert conn.is_reconnecting and not conn.is_draining
    conn.publish("py.reconnect", b"buffered")
    with pytest.raises(jetwire.NotConnectedError) as e:
        conn.publish("py.reconnect", b"x" * 2000)
    assert "reconnect_buf_size" in str(e.value)
    nats_server.start()
    assert events.get(timeout=10) == "reconnected"
    assert sub.next_msg(timeout=5).data == b"buffered"
    assert conn.stats["reconnects"] == 1
    conn.close()
    assert events.get(timeout=5) == "closed"


def test_reconnect_option_types(nats_server):
    with pytest.raises(TypeError):
        jetwire.connect(nats_server.url, no_randomize=1)
    with pytest.raises(TypeError):
        jetwire.connect(nats_server.url, max_reconnect_attempts=1.5)
    with pytest.raises(ValueError):
        jetwire.connect(nats_server.url, reconnect_time_wait=-1)


def test_lame_duck_and_discovered_callbacks(server_factory):
    import queue
    nodes = server_factory.start_cluster(2)
    events: "queue.Queue[str]" = queue.Queue()
    conn = jetwire.connect(
        nodes[0].url, no_randomize=True,
        lame_duck_cb=lambda: events.put("lame_duck"),
        disconnected_cb=lambda: events.put("disconnected"),
        reconnected_cb=lambda: events.put("reconnected"))
    assert conn.discovered_servers == ["nats://127.0.0.1:%d" % nodes[1].port]
    nodes[0].lame_duck()
    assert [events.get(timeout=10) for _ in range(3)] == [
        "lame_duck", "disconnected", "reconnected"]
    assert conn.connected_url == nodes[1].url
    conn.close()


def test_the_connection_keeps_its_subscriptions(nats_server):
    """As in nats.go and nats-py, a subscription nobody references stays
    until it is unsubscribed or its connection closes: its interest is not
    dropped by the garbage collector (a silent responder was
    NoResponders)."""
    import gc
    nc = jetwire.connect(nats_server.url)
    other = jetwire.connect(nats_server.url)
    nc.subscribe("kept.pull")
    answered = []
    nc.subscribe("kept.cb", cb=lambda m: (answered.append(m.data),
                                          m.respond(b"ok")))
    nc.flush()
    gc.collect()
    with pytest.raises(jetwire.TimeoutError):  # heard, not answered
        other.request("kept.pull", b"x", timeout=0.3)
    assert other.request("kept.cb", b"y", timeout=2).data == b"ok"
    assert answered == [b"y"]
    # Unsubscribing lets it go: then nobody listens.
    sub = nc.subscribe("kept.gone")
    sub.unsubscribe()
    del sub
    gc.collect()
    nc.flush()
    with pytest.raises(jetwire.NoRespondersError):
        other.request("kept.gone", b"z", timeout=2)
    # Many ended subscriptions do not pile up in the connection: they are
    # let go when the count doubles.
    ended = [nc.subscribe("kept.many.%d" % i) for i in range(300)]
    for i, sub in enumerate(ended):
        sub.unsubscribe(limit=1)
        nc.publish("kept.many.%d" % i, b"")
    nc.flush()
    deadline = time.monotonic() + 5
    while any(s.is_valid for s in ended) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(s.is_valid for s in ended)
    del ended
    live = [nc.subscribe("kept.more.%d" % i) for i in range(300)]
    assert len(nc._held) < 600  # (602 if no ended one was let go)
    assert set(nc._held.values()) >= set(live)
    for sub in live:
        sub.close()
    other.close()
    nc.close()
