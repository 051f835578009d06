"""Blocking-API callbacks (issue 18): where they run, the callback_threads
pool, order per subscription, exceptions to error_cb with their
subscription, stats after close, subscriptions nobody references."""
import gc
import threading
import time

import pytest

import jetwire


@pytest.fixture
def url(nats_server):
    return nats_server.url


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _queue_workers(url, threads):
    """The issue's case: three queue-group subscribers in one process, nine
    messages, each callback sleeping 0.2 s. Returns how many callbacks ran
    at the same time at most (times measured, not compared with a clock:
    a loaded machine makes everything slower, not more parallel)."""
    spans = []
    lock = threading.Lock()

    def work(msg):
        begin = time.monotonic()
        time.sleep(0.2)
        with lock:
            spans.append((begin, time.monotonic()))

    options = {} if threads is None else {"callback_threads": threads}
    with jetwire.connect(url, **options) as nc, jetwire.connect(url) as pub:
        for _ in range(3):
            nc.subscribe("tasks", queue="workers", cb=work)
        nc.flush()
        for i in range(9):
            pub.publish("tasks", b"task %d" % i)
        pub.flush()
        assert _wait_for(lambda: len(spans) == 9, 20.0)
    edges = sorted([(b, 1) for b, _ in spans] + [(e, -1) for _, e in spans])
    running = most = 0
    for _, step in edges:  # an end sorts before a begin at the same time
        running += step
        most = max(most, running)
    return most


def test_one_dispatcher_thread_by_default(url):
    # Today's behaviour, documented: one thread runs every callback of the
    # connection, one at a time.
    assert _queue_workers(url, None) == 1


def test_callback_threads_run_subscriptions_side_by_side(url):
    # The three subscriptions' callbacks overlap (Go's per-subscription
    # goroutines take ~0.6 s for this; one thread takes 1.8 s).
    assert _queue_workers(url, 3) >= 2


def test_callbacks_run_on_jetwire_threads(url):
    names = []
    with jetwire.connect(url, callback_threads=2) as nc:
        nc.subscribe("where", cb=lambda m: names.append(
            threading.current_thread().name))
        nc.publish("where", b"")
        assert _wait_for(lambda: names)
    assert names[0].startswith("jetwire-callback-")
    names.clear()
    with jetwire.connect(url) as nc:
        nc.subscribe("where", cb=lambda m: names.append(
            threading.current_thread().name))
        nc.publish("where", b"")
        assert _wait_for(lambda: names)
    assert names == ["jetwire-dispatch"]


def test_order_kept_per_subscription_with_a_pool(url):
    got = {"a": [], "b": []}
    running = {"a": 0, "b": 0}
    overlap = []

    def handler(name):
        def cb(msg):
            running[name] += 1
            if running[name] > 1:
                overlap.append(name)
            got[name].append(int(msg.data))
            time.sleep(0.0005)
            running[name] -= 1
        return cb

    with jetwire.connect(url, callback_threads=4) as nc:
        nc.subscribe("order.a", cb=handler("a"))
        nc.subscribe("order.b", cb=handler("b"))
        nc.flush()
        for i in range(500):
            nc.publish("order.a", b"%d" % i)
            nc.publish("order.b", b"%d" % i)
        nc.flush()
        assert _wait_for(lambda: len(got["a"]) == 500 and
                         len(got["b"]) == 500, 10.0)
    assert got["a"] == list(range(500))
    assert got["b"] == list(range(500))
    assert overlap == []


def test_callback_threads_is_checked(url):
    with pytest.raises(ValueError, match="callback_threads"):
        jetwire.connect(url, callback_threads=0)
    with pytest.raises(TypeError, match="callback_threads"):
        jetwire.connect(url, callback_threads="4")


def test_drain_lets_the_pool_finish(url):
    done = []
    with jetwire.connect(url) as pub:
        nc = jetwire.connect(url, callback_threads=2)
        nc.subscribe("slow", cb=lambda m: (time.sleep(0.1),
                                           done.append(m.data)))
        nc.flush()
        for i in range(4):
            pub.publish("slow", b"%d" % i)
        pub.flush()
        time.sleep(0.05)
        nc.drain()
    assert sorted(done) == [b"0", b"1", b"2", b"3"]


def test_callback_exception_goes_to_error_cb_with_subscription(url):
    seen = []

    def error_cb(error, sub):
        seen.append((error, sub))

    with jetwire.connect(url, error_cb=error_cb) as nc:
        def boom(msg):
            raise ValueError("bad message %r" % msg.data)
        sub = nc.subscribe("boom", cb=boom)
        nc.publish("boom", b"x")
        assert _wait_for(lambda: seen)
    error, where = seen[0]
    assert isinstance(error, ValueError)
    assert "bad message" in str(error)
    assert where is sub


def test_one_argument_error_cb_still_works(url):
    seen = []
    with jetwire.connect(url, error_cb=lambda e: seen.append(e)) as nc:
        nc.subscribe("boom", cb=lambda m: 1 / 0)
        nc.publish("boom", b"x")
        assert _wait_for(lambda: seen)
    assert isinstance(seen[0], ZeroDivisionError)


def test_callback_exception_printed_without_error_cb(url, capfd):
    with jetwire.connect(url) as nc:
        nc.subscribe("boom", cb=lambda m: 1 / 0)
        nc.subscribe("after", cb=lambda m: seen.append(m))
        seen = []
        nc.publish("boom", b"x")
        nc.publish("after", b"x")
        assert _wait_for(lambda: seen)  # the thread lives on
    assert "ZeroDivisionError" in capfd.readouterr().err


def test_slow_consumer_error_names_its_subscription(url):
    seen = []
    release = threading.Event()

    def error_cb(error, sub):
        seen.append((error, sub))

    with jetwire.connect(url, error_cb=error_cb,
                         callback_threads=2) as nc:
        sub = nc.subscribe("flood", cb=lambda m: release.wait(5),
                           pending_msgs_limit=5)
        for _ in range(50):
            nc.publish("flood", b"x")
        nc.flush()
        assert _wait_for(lambda: seen)
        release.set()
    error, where = seen[0]
    assert isinstance(error, jetwire.SlowConsumerError)
    assert where is sub


def test_stats_after_close_and_drain(url):
    nc = jetwire.connect(url)
    sub = nc.subscribe("count")
    for _ in range(3):
        nc.publish("count", b"abc")
    nc.flush()
    sub.next_msgs(3, timeout=1.0)
    live = nc.stats
    nc.close()
    after = nc.stats
    assert after["out_msgs"] == live["out_msgs"] == 3
    assert after["in_msgs"] == 3
    assert after["out_bytes"] == 9
    nc2 = jetwire.connect(url)
    nc2.publish("count", b"z")
    nc2.drain()
    assert nc2.stats["out_msgs"] == 1


def test_unreferenced_subscriptions_keep_receiving(url):
    # Issue 18, point 2 (also issue 16): the connection keeps what it
    # subscribed until unsubscribe, drain or close.
    got = []
    with jetwire.connect(url) as nc, jetwire.connect(url) as client:
        nc.subscribe("svc.echo", cb=lambda m: m.respond(m.data))
        nc.subscribe("svc.store", cb=lambda m: got.append(m.data))
        pulled = nc.subscribe("svc.pull")
        pulled_id = id(pulled)
        del pulled
        nc.flush()
        gc.collect()
        gc.collect()
        assert client.request("svc.echo", b"hi", timeout=2.0).data == b"hi"
        client.publish("svc.store", b"kept")
        client.publish("svc.pull", b"queued")
        client.flush()
        assert _wait_for(lambda: got == [b"kept"])
        # The pull subscription is still there, with its message queued.
        (kept,) = [s for s in nc._held.values() if id(s) == pulled_id]
        assert kept.next_msg(timeout=2.0).data == b"queued"


@pytest.mark.parametrize("threads", [1, 3])
def test_many_subscriptions_each_in_order(url, threads):
    # 2,000 callback subscriptions on one connection, five messages each
    # sent round the subscriptions: every callback, each subscription's
    # in order. The dispatcher takes the subscriptions the engine names
    # as having messages (jw_conn_ready), not each of the 2,000 per round.
    subs, each = 2000, 5
    seen = {}
    lock = threading.Lock()

    def make_cb(i):
        def cb(msg):
            with lock:
                seen.setdefault(i, []).append(int(msg.data))
        return cb

    with jetwire.connect(url, callback_threads=threads) as nc, \
            jetwire.connect(url) as pc:
        held = [nc.subscribe("many.%d" % i, cb=make_cb(i))
                for i in range(subs)]
        nc.flush()
        for k in range(each):
            for i in range(subs):
                pc.publish("many.%d" % i, b"%d" % k)
        pc.flush()
        assert _wait_for(lambda: sum(map(len, seen.values())) == subs * each,
                         10.0)
        assert all(seen[i] == list(range(each)) for i in range(subs))
        # One busy subscription among the 2,000 idle ones.
        for k in range(each, 1000):
            pc.publish("many.7", b"%d" % k)
        pc.flush()
        assert _wait_for(lambda: len(seen[7]) == 1000, 10.0)
        assert seen[7] == list(range(1000))
        del held
