"""JetStream keeps what it acknowledged, in every language: a server
restarted on its file store still has every acked message, and an R3
stream on a three-node cluster keeps every acked message when a node (the
stream's leader) is killed in the middle of the publishing.

Publishes that fail while the cluster elects a new leader (a timeout or
no responders) are published again with the same msg_id, as a careful
client would: the stream's duplicate window makes the retry exactly-once,
so the stream ends with each message once."""
import time

import pytest

from harness import DriverError

COUNT = 40


def payload(i: int) -> bytes:
    return b"msg-%03d" % i


def until(what, call, timeout=20.0):
    """call() until it stops raising DriverError (a JetStream cluster
    answers its first requests only once it has a meta leader)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except DriverError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: no success in {timeout} s")
            time.sleep(0.25)


def read_all(d, js, stream, count):
    """Every message of the stream through a new ephemeral consumer, as
    (stream sequence, data). (A cluster that just lost a node may let
    the first creation time out: it is asked again.)"""
    cons = until("consumer_add", lambda: d.consumer_add(
        js, stream, ack_policy="none", deliver_policy="all"))
    got = []
    while len(got) < count:
        batch = d.fetch(cons, count - len(got), timeout=5.0)
        if not batch:
            break
        got.extend((m.metadata["stream_seq"], m.data) for m in batch)
    return got


def test_js_file_store_survives_restart(drivers, lang, nats_server):
    d = drivers.start(lang)
    conn = d.connect(nats_server.url)
    js = d.jetstream(conn)
    d.stream_add(js, name="KEEP", subjects=["keep.>"], storage="file")
    acks = [d.js_publish(js, "keep.x", payload(i)) for i in range(COUNT)]
    assert [a["seq"] for a in acks] == list(range(1, COUNT + 1))
    d.close(conn)

    nats_server.restart()
    conn = d.connect(nats_server.url)
    js = d.jetstream(conn)
    info = d.stream_info(js, "KEEP")
    assert (info["state"]["messages"], info["state"]["last_seq"]) == (
        COUNT, COUNT)
    assert read_all(d, js, "KEEP", COUNT) == [
        (i + 1, payload(i)) for i in range(COUNT)]


def test_js_r3_keeps_acked_when_the_leader_dies(drivers, lang,
                                                server_factory):
    nodes = server_factory.start_cluster(3, jetstream=True)
    d = drivers.start(lang)
    conn = d.connect(",".join(n.url for n in nodes), reconnect_time_wait=0.1,
                     max_reconnect_attempts=-1)
    js = d.jetstream(conn, timeout=2.0)
    info = until("stream_add", lambda: d.stream_add(
        js, name="R3", subjects=["r3.>"], storage="file", num_replicas=3))
    assert info["config"]["num_replicas"] == 3
    leader = until("leader", lambda: d.stream_info(js, "R3")["cluster"][
        "leader"])
    victim = next(n for i, n in enumerate(nodes) if f"node{i}" == leader)

    acked, failed = {}, []
    for i in range(COUNT):
        if i == COUNT // 2:
            victim.stop()  # SIGKILL-like: the leader is gone mid-publish
        try:
            acked[i] = d.js_publish(js, "r3.x", payload(i),
                                    msg_id=f"m{i}")["seq"]
        except DriverError as e:
            failed.append((i, e.code))
    # What failed during the election goes again, with the same msg_id.
    for i, _code in failed:
        acked[i] = until(f"publish {i}", lambda: d.js_publish(
            js, "r3.x", payload(i), msg_id=f"m{i}"))["seq"]

    assert sorted(acked) == list(range(COUNT))
    new_leader = until("new leader", lambda: d.stream_info(
        js, "R3")["cluster"]["leader"])
    assert new_leader != leader
    stored = read_all(d, js, "R3", COUNT)
    # Each acked message is in the stream once, at the sequence its ack
    # gave, and nothing else is.
    assert sorted(stored) == sorted((seq, payload(i))
                                    for i, seq in acked.items())
