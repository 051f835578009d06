"""JetStream, per language and between languages: the tutorial's ORDERS
flow, a durable consumer resuming on a new connection, nak (at once and
delayed), term, in_progress, max_deliver, duplicate detection, publish
expectations, work-queue retention, stream administration and the error
codes; then orders published in one language and processed in another,
and published from Python, processed by Lua and audited from C.

Timing scenarios use ack_wait and nak delays of about a second, so the
redeliveries they wait for (or check never come) are short."""
import json
import time

import pytest

from harness import DriverError, available_languages

# The tutorial's stream (24 h max_age, in seconds, as the protocol has it).
ORDERS = {"name": "ORDERS", "description": "Order events stream",
          "subjects": ["orders.>"], "storage": "file",
          "retention": "limits", "max_age": 86400, "max_msgs": 100000,
          "num_replicas": 1}
# The tutorial's durable consumer.
PROCESSOR = {"durable_name": "order-processor", "ack_policy": "explicit",
             "deliver_policy": "all", "ack_wait": 30, "max_deliver": 3,
             "filter_subject": "orders.created"}


def order(i: int) -> bytes:
    return json.dumps({"id": f"ORD-{i}", "amount": i * 25.5,
                       "status": "pending"}).encode()


def publish_orders(d, js, count=5, first=1):
    """Publish orders first..first+count-1 on orders.created; the PubAcks."""
    return [d.js_publish(js, "orders.created", order(i), msg_id=f"ORD-{i}")
            for i in range(first, first + count)]


def orders_consumer(d, js, count, **overrides):
    """The ORDERS stream with count orders and the order-processor
    consumer (PROCESSOR with overrides); the consumer handle."""
    d.stream_add(js, **ORDERS)
    publish_orders(d, js, count=count)
    return d.consumer_add(js, "ORDERS", **dict(PROCESSOR, **overrides))


def fetch_all(d, cons, count, timeout=5.0):
    """Fetch until count messages came (fewer only when a fetch of the
    whole timeout brings nothing)."""
    got = []
    while len(got) < count:
        batch = d.fetch(cons, count - len(got), timeout=timeout)
        if not batch:
            break
        got.extend(batch)
    return got


def settled(check, wait=3.0):
    """Poll check() (a server-side state reached asynchronously, such as
    an ack counted) until it is true or wait passed; its last value."""
    deadline = time.monotonic() + wait
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


# -- per language -----------------------------------------------------------

def test_js_orders_flow(driver, js):
    info = driver.stream_add(js, **ORDERS)
    cfg = info["config"]
    assert (cfg["name"], cfg["subjects"], cfg["retention"]) == (
        "ORDERS", ["orders.>"], "limits")
    # Durations cross in seconds, whatever the language's own unit.
    assert cfg["max_age"] == 86400
    acks = publish_orders(driver, js)
    assert acks == [{"stream": "ORDERS", "seq": i, "duplicate": False}
                    for i in range(1, 6)]
    cons = driver.consumer_add(js, "ORDERS", **PROCESSOR)
    msgs = fetch_all(driver, cons, 5)
    assert [m.data for m in msgs] == [order(i) for i in range(1, 6)]
    now_ns = time.time_ns()
    for i, m in enumerate(msgs, 1):
        assert m.msg.subject == "orders.created"
        assert m.msg.reply.startswith("$JS.ACK.ORDERS.order-processor.")
        md = m.metadata
        assert (md["stream"], md["consumer"], md["num_delivered"],
                md["stream_seq"], md["consumer_seq"], md["num_pending"]) == (
            "ORDERS", "order-processor", 1, i, i, 5 - i)
        assert abs(md["timestamp"] - now_ns) < 60 * 10**9
    for m in msgs[:-1]:
        driver.ack(m)
    driver.ack_sync(msgs[-1])
    # A terminal ack is given once.
    with pytest.raises(DriverError) as e:
        driver.ack(msgs[0])
    assert e.value.code == "INVALID_ARG"
    assert settled(lambda: driver.consumer_info(
        js, "ORDERS", "order-processor")["num_ack_pending"] == 0)
    info = driver.consumer_info(js, "ORDERS", "order-processor")
    assert (info["num_pending"], info["num_ack_pending"],
            info["delivered"]["stream_seq"], info["ack_floor"]["stream_seq"]
            ) == (0, 0, 5, 5)
    assert info["config"]["ack_wait"] == 30
    assert info["config"]["max_deliver"] == 3
    assert driver.fetch(cons, 1, timeout=1, no_wait=True) == []


def test_js_durable_resumes_on_new_connection(drivers, lang, nats_server):
    first = drivers.start(lang, label=f"{lang}-first")
    conn = first.connect(nats_server.url)
    js = first.jetstream(conn)
    first.stream_add(js, **ORDERS)
    publish_orders(first, js)
    cons = first.consumer_add(js, "ORDERS", **PROCESSOR)
    for m in fetch_all(first, cons, 2):
        first.ack_sync(m)
    first.close(conn)
    # Another process, another connection: the durable goes on at 3.
    second = drivers.start(lang, label=f"{lang}-second")
    js2 = second.jetstream(second.connect(nats_server.url))
    cons2 = second.consumer_get(js2, "ORDERS", "order-processor")
    msgs = fetch_all(second, cons2, 3)
    assert [(m.seq, m.metadata["consumer_seq"], m.delivered)
            for m in msgs] == [(3, 3, 1), (4, 4, 1), (5, 5, 1)]
    assert [m.data for m in msgs] == [order(i) for i in (3, 4, 5)]
    for m in msgs:
        second.ack_sync(m)
    info = second.consumer_info(js2, "ORDERS", "order-processor")
    assert (info["num_pending"], info["num_ack_pending"]) == (0, 0)


def test_js_nak_redelivers(driver, js):
    cons = orders_consumer(driver, js, 1)
    [m] = driver.fetch(cons, 1)
    assert m.delivered == 1
    driver.nak(m)
    [again] = driver.fetch(cons, 1)
    assert (again.seq, again.delivered, again.metadata["consumer_seq"],
            again.data) == (1, 2, 2, order(1))
    driver.ack_sync(again)
    assert driver.fetch(cons, 1, timeout=0.5) == []


def test_js_nak_delay(driver, js):
    cons = orders_consumer(driver, js, 1)
    [m] = driver.fetch(cons, 1)
    naked = time.monotonic()
    driver.nak(m, delay=1.0)
    # Not before the delay...
    assert driver.fetch(cons, 1, timeout=0.5) == []
    # ...but after it.
    [again] = driver.fetch(cons, 1, timeout=3)
    assert time.monotonic() - naked >= 0.9
    assert (again.seq, again.delivered) == (1, 2)
    driver.ack_sync(again)


def test_js_term_never_redelivered(driver, js):
    cons = orders_consumer(driver, js, 2, ack_wait=0.5)
    first, _ = fetch_all(driver, cons, 2)
    driver.term(first)
    # The unacknowledged one comes back after ack_wait, the terminated
    # one never does.
    [again] = driver.fetch(cons, 1, timeout=1.5)
    assert (again.seq, again.delivered) == (2, 2)
    driver.ack_sync(again)
    assert driver.fetch(cons, 1, timeout=1) == []
    info = driver.consumer_info(js, "ORDERS", "order-processor")
    assert (info["num_pending"], info["num_ack_pending"]) == (0, 0)


@pytest.mark.min_server("2.10.4")
def test_js_term_with_a_reason(driver, conn, js):
    """A term's reason reaches the server's MSG_TERMINATED advisory, and
    the message is not redelivered."""
    cons = orders_consumer(driver, js, 1, ack_wait=0.5)
    adv = driver.subscribe(
        conn, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.ORDERS.>")
    driver.flush(conn)
    [m] = driver.fetch(cons, 1)
    driver.term(m, reason="unparseable order")
    event = json.loads(driver.next_msg(adv, timeout=5).data)
    assert (event["reason"], event["stream_seq"]) == ("unparseable order", 1)
    assert driver.fetch(cons, 1, timeout=1) == []
    with pytest.raises(DriverError) as e:
        driver.term(m, reason="twice")
    assert e.value.code == "INVALID_ARG"


@pytest.mark.below_server("2.10.4")
def test_js_term_with_a_reason_not_supported(driver, js, nats_server):
    """Before 2.10.4 the server takes "+TERM <reason>" for no ack and
    redelivers: refused, naming the versions; a plain term still works."""
    cons = orders_consumer(driver, js, 1, ack_wait=0.5)
    [m] = driver.fetch(cons, 1)
    with pytest.raises(DriverError) as e:
        driver.term(m, reason="unparseable order")
    assert e.value.code == "NOT_SUPPORTED"
    assert "2.10.4" in e.value.message
    assert nats_server.version in e.value.message
    driver.term(m)
    assert driver.fetch(cons, 1, timeout=1) == []


def test_js_in_progress_extends_ack_wait(driver, js):
    cons = orders_consumer(driver, js, 1, ack_wait=1.0)
    [m] = driver.fetch(cons, 1)
    # Working for 1.2 s on a 1 s ack_wait, saying so every 0.4 s.
    for _ in range(3):
        time.sleep(0.4)
        driver.in_progress(m)
    assert driver.fetch(cons, 1, timeout=0.2) == []
    # Silent from now on: redelivered once ack_wait runs out.
    [again] = driver.fetch(cons, 1, timeout=3)
    assert (again.seq, again.delivered) == (1, 2)
    driver.ack_sync(again)


def test_js_max_deliver(driver, js):
    cons = orders_consumer(driver, js, 1, max_deliver=2)
    for delivered in (1, 2):
        [m] = driver.fetch(cons, 1)
        assert (m.seq, m.delivered) == (1, delivered)
        driver.nak(m)
    assert driver.fetch(cons, 1, timeout=1) == []
    # The consumer goes on with the next message.
    publish_orders(driver, js, count=1, first=2)
    [m] = driver.fetch(cons, 1)
    assert (m.seq, m.delivered, m.data) == (2, 1, order(2))
    driver.ack_sync(m)


def test_js_duplicate_msg_id(driver, js):
    info = driver.stream_add(js, **dict(ORDERS, duplicate_window=60))
    assert info["config"]["duplicate_window"] == 60
    assert publish_orders(driver, js, count=1) == [
        {"stream": "ORDERS", "seq": 1, "duplicate": False}]
    # The same msg_id within the window: stored once, reported duplicate.
    assert driver.js_publish(js, "orders.created", b"again",
                             msg_id="ORD-1") == {
        "stream": "ORDERS", "seq": 1, "duplicate": True}
    assert driver.js_publish(js, "orders.created", order(2),
                             msg_id="ORD-2")["seq"] == 2
    assert driver.stream_info(js, "ORDERS")["state"]["messages"] == 2
    assert driver.stream_get_msg(js, "ORDERS", 1)["data"] == order(1)


def test_js_expected_last_seq(driver, js):
    driver.stream_add(js, **ORDERS)
    assert driver.js_publish(js, "orders.created", order(1),
                             expected_last_seq=0)["seq"] == 1
    assert driver.js_publish(js, "orders.created", order(2),
                             expected_last_seq=1)["seq"] == 2
    with pytest.raises(DriverError) as e:
        driver.js_publish(js, "orders.created", b"stale",
                          expected_last_seq=1)
    assert e.value.code == "WRONG_LAST_SEQUENCE"
    with pytest.raises(DriverError) as e:
        driver.js_publish(js, "orders.created", b"elsewhere",
                          expected_stream="PAYMENTS")
    assert e.value.code == "JETSTREAM"
    assert driver.js_publish(js, "orders.created", order(3),
                             expected_stream="ORDERS",
                             expected_last_seq=2)["seq"] == 3
    assert driver.stream_info(js, "ORDERS")["state"]["messages"] == 3


@pytest.mark.min_server("2.11.0")
def test_js_publish_ttl(driver, js):
    """A per-message TTL (ADR-43: the publish option ttl, the header
    Nats-TTL) removes that message only, on a stream that allows it."""
    driver.stream_add(js, **dict(ORDERS, allow_msg_ttl=True))
    assert driver.js_publish(js, "orders.created", b"brief",
                             ttl=1)["seq"] == 1
    assert driver.js_publish(js, "orders.created", b"kept")["seq"] == 2
    assert driver.stream_get_msg(js, "ORDERS", 1)["data"] == b"brief"

    def gone():
        try:
            driver.stream_get_msg(js, "ORDERS", 1)
            return False
        except DriverError as e:
            assert e.code == "JETSTREAM", e
            return True
    assert settled(gone, wait=5.0)
    assert driver.stream_get_msg(js, "ORDERS", 2)["data"] == b"kept"
    # Below a second the server would refuse it: the engine says so first.
    with pytest.raises(DriverError) as e:
        driver.js_publish(js, "orders.created", b"x", ttl=0.5)
    assert e.value.code == "INVALID_ARG"


@pytest.mark.below_server("2.11.0")
def test_js_publish_ttl_not_supported(driver, js, nats_server):
    driver.stream_add(js, **ORDERS)
    with pytest.raises(DriverError) as e:
        driver.js_publish(js, "orders.created", b"x", ttl=60)
    assert e.value.code == "NOT_SUPPORTED"
    assert "'ttl'" in e.value.message and "2.11.0" in e.value.message
    assert nats_server.version in e.value.message
    assert driver.stream_info(js, "ORDERS")["state"]["messages"] == 0


def test_js_work_queue_removes_acked(driver, js):
    driver.stream_add(js, name="JOBS", subjects=["jobs.>"],
                      retention="workqueue")
    for i in range(3):
        driver.js_publish(js, f"jobs.{i}", b"job %d" % i)
    cons = driver.consumer_add(js, "JOBS", durable_name="worker",
                               ack_policy="explicit")
    msgs = fetch_all(driver, cons, 3)
    assert [m.msg.subject for m in msgs] == ["jobs.0", "jobs.1", "jobs.2"]

    def messages():
        return driver.stream_info(js, "JOBS")["state"]["messages"]
    assert messages() == 3
    driver.ack_sync(msgs[0])
    driver.ack_sync(msgs[2])
    assert settled(lambda: messages() == 1)
    with pytest.raises(DriverError) as e:
        driver.stream_get_msg(js, "JOBS", 1)
    assert e.value.code == "JETSTREAM"
    assert driver.stream_get_msg(js, "JOBS", 2)["data"] == b"job 1"
    driver.ack_sync(msgs[1])
    assert settled(lambda: messages() == 0)


def test_js_stream_admin(driver, js):
    driver.stream_add(js, **ORDERS)
    # The same configuration again is fine, another one is refused.
    driver.stream_add(js, **ORDERS)
    with pytest.raises(DriverError) as e:
        driver.stream_add(js, **dict(ORDERS, max_msgs=5))
    assert e.value.code == "JETSTREAM"
    info = driver.stream_update(js, **dict(ORDERS, max_msgs=50))
    assert info["config"]["max_msgs"] == 50
    with pytest.raises(DriverError) as e:
        driver.stream_update(js, name="NOPE", subjects=["nope.>"])
    assert e.value.code == "STREAM_NOT_FOUND"
    # (The server keeps by sequence, so the purged subject goes first.)
    driver.js_publish(js, "orders.shipped", b"shipped")
    for i in range(4):
        driver.js_publish(js, "orders.created", order(i))
    assert driver.stream_purge(js, "ORDERS", subject="orders.shipped") == 1
    assert driver.stream_purge(js, "ORDERS", keep=1) == 3
    assert driver.stream_info(js, "ORDERS")["state"]["messages"] == 1
    assert driver.stream_purge(js, "ORDERS") == 1
    # Consumers come and go; missing ones have their own codes.
    driver.consumer_add(js, "ORDERS", **PROCESSOR)
    driver.consumer_delete(js, "ORDERS", "order-processor")
    for call in (lambda: driver.consumer_info(js, "ORDERS", "order-processor"),
                 lambda: driver.consumer_get(js, "ORDERS", "order-processor"),
                 lambda: driver.consumer_delete(js, "ORDERS",
                                                "order-processor")):
        with pytest.raises(DriverError) as e:
            call()
        assert e.value.code == "CONSUMER_NOT_FOUND"
    driver.stream_delete(js, "ORDERS")
    for call in (lambda: driver.stream_info(js, "ORDERS"),
                 lambda: driver.stream_delete(js, "ORDERS"),
                 lambda: driver.consumer_info(js, "ORDERS", "x")):
        with pytest.raises(DriverError) as e:
            call()
        assert e.value.code == "STREAM_NOT_FOUND"
    # No stream captures the subject any more.
    with pytest.raises(DriverError) as e:
        driver.js_publish(js, "orders.created", b"lost", timeout=2)
    assert e.value.code == "NO_RESPONDERS"


def test_js_bad_requests_and_free(driver, nats_server, server_version):
    """Bad JetStream requests are INVALID_ARG and the driver carries on;
    freeing a connection frees the context and consumers made through
    it."""
    nc = driver.connect(nats_server.url)
    js = driver.jetstream(nc)
    cons = orders_consumer(driver, js, 1)
    [m] = driver.fetch(cons, 1)
    # A field no server knows: the engine refuses it for 2.9 and 2.10,
    # which would ignore it; 2.11 and newer refuse it themselves (10025).
    with pytest.raises(DriverError) as e:
        driver.call("stream_add", js=js, config={"name": "X",
                                                 "subjects": ["x"],
                                                 "maxage": 1})
    assert "maxage" in str(e.value)
    if server_version >= (2, 11, 0):
        assert e.value.code == "JETSTREAM" and "10025" in str(e.value), e.value
    else:
        assert e.value.code == "INVALID_ARG", e.value
    bad_requests = [
        {"op": "jetstream", "conn": js},                       # wrong kind
        {"op": "stream_add", "js": js, "config": "ORDERS"},
        {"op": "stream_info", "js": js},                       # no stream
        {"op": "js_publish", "js": js, "subject": "orders.x",
         "expected_last_seq": -1},
        {"op": "jetstream", "conn": nc, "timeout": 0},
        {"op": "fetch", "consumer": cons, "batch": 0},
        {"op": "fetch", "consumer": cons, "batch": 1, "timeout": -1},
        {"op": "fetch", "consumer": js, "batch": 1},
        {"op": "ack", "msg": cons},
        {"op": "nak", "msg": m.handle, "delay": "soon"},
    ]
    for req in bad_requests:
        op = req.pop("op")
        with pytest.raises(DriverError) as e:
            driver.call(op, **req)
        assert e.value.code == "INVALID_ARG", (op, req, e.value)
    driver.ack_sync(m)
    driver.free(nc)
    for op, args in (("fetch", {"consumer": cons, "batch": 1}),
                     ("stream_info", {"js": js, "stream": "ORDERS"}),
                     ("free", {"handle": js})):
        with pytest.raises(DriverError) as e:
            driver.call(op, **args)
        assert e.value.code == "INVALID_ARG", op
    # Another connection finds it all as it was left.
    js2 = driver.jetstream(driver.connect(nats_server.url))
    info = driver.consumer_info(js2, "ORDERS", "order-processor")
    assert (info["num_pending"], info["num_ack_pending"]) == (0, 0)


# -- between languages --------------------------------------------------------

@pytest.mark.cross
def test_js_cross_orders(drivers, lang_pair, nats_server):
    """A publishes orders; B's worker takes two and stops; A's worker
    resumes the same durable and takes the rest; B sees it all acked."""
    a_lang, b_lang = lang_pair
    a = drivers.start(a_lang, label=f"A-{a_lang}")
    b = drivers.start(b_lang, label=f"B-{b_lang}")
    ajs = a.jetstream(a.connect(nats_server.url))
    bjs = b.jetstream(b.connect(nats_server.url))
    a.stream_add(ajs, **ORDERS)
    publish_orders(a, ajs)
    bcons = b.consumer_add(bjs, "ORDERS", **PROCESSOR)
    taken = fetch_all(b, bcons, 2)
    assert [m.data for m in taken] == [order(1), order(2)]
    b.ack_sync(taken[0])
    b.nak(taken[1])
    acons = a.consumer_get(ajs, "ORDERS", "order-processor")
    rest = fetch_all(a, acons, 4)
    assert sorted((m.seq, m.delivered) for m in rest) == [
        (2, 2), (3, 1), (4, 1), (5, 1)]
    for m in rest:
        a.ack_sync(m)
    info = b.consumer_info(bjs, "ORDERS", "order-processor")
    assert (info["num_pending"], info["num_ack_pending"],
            info["ack_floor"]["stream_seq"]) == (0, 0, 5)


def language_trio():
    """Publisher, worker and auditor: Python, Lua and C when all are
    built, else the languages there are, repeated."""
    names = available_languages()
    wanted = [n for n in ("python", "lua", "c") if n in names] or names
    return [wanted[i % len(wanted)] for i in range(3)]


@pytest.mark.cross
def test_js_publish_process_audit(drivers, nats_server):
    """Orders published from Python, processed by a Lua worker, audited
    from C."""
    pub_lang, work_lang, audit_lang = language_trio()
    pub = drivers.start(pub_lang, label=f"publisher-{pub_lang}")
    work = drivers.start(work_lang, label=f"worker-{work_lang}")
    audit = drivers.start(audit_lang, label=f"auditor-{audit_lang}")
    pjs = pub.jetstream(pub.connect(nats_server.url))
    wjs = work.jetstream(work.connect(nats_server.url))
    ajs = audit.jetstream(audit.connect(nats_server.url))
    pub.stream_add(pjs, **ORDERS)
    acks = publish_orders(pub, pjs)
    assert [a["seq"] for a in acks] == [1, 2, 3, 4, 5]
    cons = work.consumer_add(wjs, "ORDERS", **PROCESSOR)
    for m in fetch_all(work, cons, 5):
        assert m.metadata["consumer"] == "order-processor"
        work.ack_sync(m)
    # The auditor reads the stream by sequence and the consumer's state.
    for i in range(1, 6):
        stored = audit.stream_get_msg(ajs, "ORDERS", i)
        assert (stored["seq"], stored["subject"], stored["data"]) == (
            i, "orders.created", order(i))
    info = audit.consumer_info(ajs, "ORDERS", "order-processor")
    assert (info["num_pending"], info["num_ack_pending"],
            info["delivered"]["stream_seq"], info["ack_floor"]["stream_seq"],
            info["num_redelivered"]) == (0, 0, 5, 5, 0)
    assert audit.stream_info(ajs, "ORDERS")["state"]["messages"] == 5
