"""Interop with the official Go client: the tutorial's JetStream and
Key-Value programs written on nats.go's jetstream package
(tests/interop/go, one program `gointerop` with a command per step)
against jetwire's own examples in C, Python and Lua, on one fresh
nats-server per test.

* Go publishes orders, a jetwire js_durable example consumes and acks
  them, and nats.go's consumer info sees every one acked.
* A jetwire js_setup example publishes, Go's durable consumer receives
  every order with its subject and payload.
* The durable order-processor moves between Go and jetwire mid-stream:
  each resumes where the other stopped, nothing is delivered twice.
* Key-Value: Go puts, jetwire reads it and updates it with the revision
  it read (a stale revision is refused on both sides), Go's watcher sees
  each write; Go's watcher also sees the C kv_config example's writes.
* Priority groups (ADR-42, nats-server 2.11+): a jetwire puller (the
  conformance driver of each language) and a nats.go puller share one
  consumer's group. pinned_client: one of them at a time gets messages,
  the pin moves on unpin (by either client) or when its holder stops
  pulling (or leaves) for priority_timeout; overflow: min_pending and
  min_ack_pending hold a puller back while the other is served;
  prioritized (2.12+): the waiting pull of lower priority number is
  served first. Every message is taken and acked exactly once.
* Current servers (nats.go v1.56.0 has no batch publish or counters):
  schedules published with nats.go's options fire for a jetwire
  consumer; nats.go resets a consumer jetwire pulls (2.14) and jetwire
  resets it again.
* The object store: objects and links made by each side read by the
  other byte for byte, digests checked by both.

The Go program is built once per session with the go command (module
downloads go to the usual module cache, builds to Go's build cache). A
missing go command fails these tests: it is never a skip.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import build_dir
from harness.drivers import REPO, JsMsg
from harness.programs import (KV_LANGS, Background, kv_peer_argv,
                              parse_lines, run, run_example)

GO_MODULE = REPO / "tests" / "interop" / "go"
GO_BUILD_TIMEOUT = 600  # a first build downloads nats.go and its modules


ORDERS = [{"id": f"ORD-{i}", "amount": i * 25.50, "status": "pending"}
          for i in range(1, 6)]


def go_command() -> str:
    found = (os.environ.get("GO") or shutil.which("go")
             or ("/usr/local/go/bin/go"
                 if os.path.exists("/usr/local/go/bin/go") else None))
    if not found:
        pytest.fail("the go command is not installed: the nats.go interop "
                    "tests need Go >= 1.26 (tests/interop/README.md; "
                    "Debian's golang-go is too old). GO=/path/to/go "
                    "names one off PATH.", pytrace=False)
    return found


@pytest.fixture(scope="session")
def gointerop_binary(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gointerop") / "gointerop"
    started = time.monotonic()
    proc = subprocess.run(
        [go_command(), "build", "-buildvcs=false", "-o", str(out), "."],
        cwd=GO_MODULE, capture_output=True, text=True,
        timeout=GO_BUILD_TIMEOUT)
    if proc.returncode != 0:
        pytest.fail(f"go build in {GO_MODULE} failed "
                    f"({proc.returncode}):\n{proc.stderr}", pytrace=False)
    print(f"gointerop built in {time.monotonic() - started:.1f} s")
    return out


class Go:
    """The Go program against one server."""

    def __init__(self, binary: Path, url: str):
        self.binary = binary
        self.url = url
        self.started: list[Background] = []

    def argv(self, command: str, args, timeout: str = "30s") -> list[str]:
        return [str(self.binary), "-server", self.url, "-timeout", timeout,
                command, *map(str, args)]

    def run(self, command: str, *args) -> list[dict]:
        return parse_lines(run(self.argv(command, args), dict(os.environ)).stdout)

    def start(self, command: str, *args) -> Background:
        bg = Background(self.argv(command, args), dict(os.environ))
        self.started.append(bg)
        return bg

    def peer(self, *args) -> "GoPeer":
        """group-peer: one nats.go consumer object driven on stdin."""
        peer = GoPeer(self.argv("group-peer", args, timeout="180s"),
                      dict(os.environ))
        self.started.append(peer)
        peer.wait_for("ready")
        return peer

    def consumer_info(self) -> dict:
        (info,) = self.run("consumer-info")
        return info


@pytest.fixture
def go(gointerop_binary, nats_server):
    g = Go(gointerop_binary, nats_server.url)
    yield g
    for bg in g.started:
        bg.kill()


def processed_orders(output: str) -> list[tuple[str, str]]:
    """(id, amount) of each order a js_durable example processed and
    acked, in order."""
    amounts = dict(re.findall(r"^Processing order: (ORD-\d+), Amount: \$(\S+)$",
                              output, re.M))
    done = re.findall(r"^Order (ORD-\d+) processed successfully$", output, re.M)
    return [(order_id, amounts.get(order_id)) for order_id in done]


def expected_processed(orders: list[dict]) -> list[tuple[str, str]]:
    return [(o["id"], f"{o['amount']:.2f}") for o in orders]


def check_received(lines: list[dict], orders: list[dict],
                   first_seq: int) -> None:
    """Go's consume lines: each order, on orders.created, in stream order,
    delivered once, with its payload intact."""
    assert [line["order"] for line in lines] == orders, lines
    for i, line in enumerate(lines):
        assert line["subject"] == "orders.created", line
        assert line["seq"] == first_seq + i, line
        assert line["delivered"] == 1, line
        assert json.loads(line["data"]) == orders[i], line


def check_all_acked(go: Go, count: int) -> None:
    info = go.consumer_info()
    assert info == {"name": "order-processor",
                    "delivered_stream_seq": count,
                    "ack_floor_stream_seq": count, "num_ack_pending": 0,
                    "num_redelivered": 0, "num_pending": 0}, info


def test_go_publishes_jetwire_consumes(go, nats_server, lang):
    published = go.run("publish", "-count", 5)
    assert [(p["id"], p["stream"], p["seq"]) for p in published] == [
        (o["id"], "ORDERS", i) for i, o in enumerate(ORDERS, 1)]

    out = run_example(lang, "js_durable", nats_server.url, 5)
    assert processed_orders(out) == expected_processed(ORDERS), out
    check_all_acked(go, 5)


def test_jetwire_publishes_go_consumes(go, nats_server, lang):
    out = run_example(lang, "js_setup", nats_server.url)
    sequences = re.findall(r"^Published order (ORD-\d+), sequence: (\d+)$",
                           out, re.M)
    assert sequences == [(o["id"], str(i)) for i, o in enumerate(ORDERS, 1)]

    check_received(go.run("consume", "-count", 5), ORDERS, first_seq=1)
    check_all_acked(go, 5)


def test_durable_moves_between_go_and_jetwire(go, nats_server, lang):
    """Each side creates-or-updates order-processor with the tutorial's
    configuration and resumes after the other's last ack."""
    go.run("publish", "-count", 5)
    check_received(go.run("consume", "-count", 2), ORDERS[:2], first_seq=1)
    out = run_example(lang, "js_durable", nats_server.url, 2)
    assert processed_orders(out) == expected_processed(ORDERS[2:4]), out
    check_received(go.run("consume", "-count", 1), ORDERS[4:], first_seq=5)
    check_all_acked(go, 5)


def config_value(timeout_ms: int, writer: str) -> str:
    """A configuration as a jetwire peer writes it (not byte-identical to
    Go's encoding, on purpose: the value must travel as it is)."""
    return json.dumps({"endpoint": "https://api.example.com",
                       "timeout_ms": timeout_ms, "max_retries": 3,
                       "features": ["caching", "compression", "retry"],
                       "written_by": writer, "note": "grüße"},
                      ensure_ascii=False, indent=1)


@pytest.mark.parametrize("kv_lang", KV_LANGS)
def test_kv_go_puts_jetwire_reads_and_updates(go, nats_server, kv_lang):
    env = dict(os.environ, NATS_URL=nats_server.url,
               JW_BUILD_DIR=str(build_dir()))
    peer = kv_peer_argv(kv_lang)

    def peer_run(*args) -> dict:
        (line,) = parse_lines(run(peer + [str(a) for a in args], env).stdout)
        return line

    (put,) = go.run("kv-put")
    watcher = go.start("kv-watch", "-updates", 2)
    current = watcher.wait_for("current")
    assert (current["revision"], current["value"]) == (put["revision"],
                                                       put["value"])
    watcher.wait_for("initial_done")

    # What Go put, read by jetwire byte for byte.
    got = peer_run("get", "service-config", "payment-service")
    assert got == {"op": "get", "key": "payment-service",
                   "revision": put["revision"], "value": put["value"]}

    # jetwire's update at the revision it read; then again at that
    # revision, which is stale now.
    mine = config_value(10000, kv_lang)
    updated = peer_run("update", "service-config", "payment-service",
                       got["revision"], mine)
    assert updated == {"op": "update", "key": "payment-service",
                       "revision": put["revision"] + 1}
    stale = peer_run("update", "service-config", "payment-service",
                     got["revision"], config_value(1, kv_lang))
    assert stale == {"op": "update", "key": "payment-service",
                     "conflict": True}

    # Go sees jetwire's revision as the latest: its own stale update is
    # refused, one at jetwire's revision is stored, and jetwire reads it.
    (go_stale,) = go.run("kv-update", "-revision", put["revision"])
    assert go_stale.get("conflict") is True, go_stale
    (go_update,) = go.run("kv-update", "-revision", updated["revision"],
                          "-timeout-ms", 20000)
    assert go_update["revision"] == updated["revision"] + 1, go_update
    assert peer_run("get", "service-config", "payment-service") == {
        "op": "get", "key": "payment-service",
        "revision": go_update["revision"], "value": go_update["value"]}

    # Go's watcher saw both writes, jetwire's value as it was sent.
    lines = watcher.finish()
    updates = [(u["revision"], u["value"], u["operation"])
               for u in lines if u["op"] == "update"]
    assert updates == [
        (updated["revision"], mine, "KeyValuePutOp"),
        (go_update["revision"], go_update["value"], "KeyValuePutOp")], lines


@pytest.mark.parametrize("kv_lang", KV_LANGS)
def test_kv_config_example_seen_by_go_watcher(go, nats_server, kv_lang):
    """The kv_config example on a bucket nats.go created: its put, its
    update at the revision it read and its second writer's put reach Go's
    watcher in order, with their values."""
    watcher = go.start("kv-watch", "-updates", 3)
    watcher.wait_for("initial_done")  # the bucket exists, the key does not

    out = run_example(kv_lang, "kv_config", nats_server.url)
    stored = int(re.search(r"^Stored config at revision: (\d+)$", out,
                           re.M).group(1))
    assert f"Updated config to revision: {stored + 1}\n" in out, out
    assert (f"Config updated: key=payment-service, revision={stored + 2}\n"
            in out), out

    updates = [u for u in watcher.finish() if u["op"] == "update"]
    assert [u["revision"] for u in updates] == [stored, stored + 1,
                                                stored + 2], updates
    assert [(json.loads(u["value"])["timeout_ms"],
             json.loads(u["value"])["max_retries"]) for u in updates] == [
        (5000, 3), (10000, 3), (10000, 5)], updates


# -- Priority groups (ADR-42) shared with nats.go ---------------------------
#
# One consumer on the stream ORDERS (orders.>, messages "order N" on
# orders.new published by jetwire), its priority group "jobs". The two
# pullers below take the same calls, so that each scenario runs with the
# roles either way round: `take` fetches as the group, acks what came
# (waiting for the server's confirmation) and returns it.

GROUP = "jobs"
PIN_TIMEOUT = 2  # seconds: the pinned_client consumers' priority_timeout


@dataclass(frozen=True)
class Taken:
    seq: int
    data: bytes
    delivered: int
    pin_id: str  # the message's Nats-Pin-Id, "" when it has none


class GoPeer(Background):
    """gointerop group-peer: requests on its stdin, one answer line each."""

    name = "nats.go"

    def __init__(self, argv: list[str], env: dict[str, str]):
        super().__init__(argv, env, stdin=True)
        self.last_error: str | None = None

    def request(self, answer: str, timeout: float = 30.0, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self.wait_for(answer, timeout)

    def take(self, batch: int = 2, wait: float = 0.5, ack: bool = True,
             **opts) -> list[Taken]:
        r = self.request("fetched", timeout=wait + 30, op="fetch",
                         batch=batch, max_wait=wait, group=GROUP, ack=ack,
                         **opts)
        self.last_error = r["error"]
        return [Taken(m["seq"], m["data"].encode(), m["delivered"],
                      m["pin_id"]) for m in r["msgs"]]

    def ack_held(self) -> list[int]:
        return self.request("acked", op="ack")["seqs"]

    def unpin(self) -> None:
        assert self.request("unpinned", op="unpin", group=GROUP)["error"] \
            is None

    def info(self) -> dict:
        return self.request("info", op="info")

    def pinned_id(self) -> str:
        """The server's pinned client id of the group ("" when none)."""
        (g,) = self.info()["priority_groups"]
        assert g["group"] == GROUP, g
        return g.get("pinned_client_id", "")

    def quit(self) -> None:
        self.proc.stdin.write('{"op": "quit"}\n')
        self.proc.stdin.flush()
        self.wait_for("bye")
        self.proc.stdin.close()
        self.finish()


class JetwirePuller:
    """The same calls through a conformance driver's fetch."""

    def __init__(self, d, js: int, consumer: int, name: str):
        self.d, self.js, self.consumer = d, js, consumer
        self.consumer_name = name
        self.name = f"jetwire ({d.lang})"
        self.held: list = []
        self.last_error = None  # jetwire ends a fetch on 423 without error

    def take(self, batch: int = 2, wait: float = 0.5, ack: bool = True,
             **opts) -> list[Taken]:
        got = self.d.fetch(self.consumer, batch, timeout=wait, group=GROUP,
                           **opts)
        for m in got:
            if ack:
                self.d.ack_sync(m)
            else:
                self.held.append(m)
        return [Taken(m.seq, m.data, m.delivered,
                      m.msg.header("Nats-Pin-Id") or "") for m in got]

    def ack_held(self) -> list[int]:
        seqs = []
        for m in self.held:
            self.d.ack_sync(m)
            seqs.append(m.seq)
        self.held = []
        return seqs

    def unpin(self) -> None:
        self.d.consumer_unpin(self.js, "ORDERS", self.consumer_name, GROUP)


def orders_stream(d, js: int, count: int, first: int = 0) -> None:
    """jetwire creates ORDERS (on the first call) and publishes
    "order FIRST" ... "order FIRST+COUNT-1"."""
    if first == 0:
        d.stream_add(js, name="ORDERS", subjects=["orders.>"])
    for i in range(first, first + count):
        d.js_publish(js, "orders.new", b"order %d" % i)


def order_data(*numbers: int) -> list[bytes]:
    return [b"order %d" % i for i in numbers]


def check_taken_once(taken: list[Taken], total: int, info: dict) -> None:
    """Every published message was taken by exactly one puller, once, and
    the server has them all acked."""
    assert sorted(t.seq for t in taken) == list(range(1, total + 1)), taken
    assert all(t.data == b"order %d" % (t.seq - 1) for t in taken), taken
    assert all(t.delivered == 1 for t in taken), taken
    assert (info["num_pending"], info["num_ack_pending"],
            info["num_redelivered"], info["delivered_stream_seq"],
            info["ack_floor_stream_seq"]) == (0, 0, 0, total, total), info


def one_pin(taken: list[Taken]) -> str:
    """The pin id the messages of one pull carried: one, not empty."""
    pins = {t.pin_id for t in taken}
    assert len(pins) == 1 and "" not in pins, taken
    return pins.pop()


@pytest.fixture
def jw(driver, nats_server):
    """(driver, js) of the language's jetwire."""
    return driver, driver.jetstream(driver.connect(nats_server.url))


@pytest.mark.min_server("2.11.0")
@pytest.mark.parametrize("first", ["nats.go", "jetwire"])
def test_priority_pinned_client_shared_with_go(go, jw, first):
    """pinned_client between nats.go and jetwire on a consumer jetwire
    made: the first puller is pinned and alone served; the other's pulls
    get nothing until it unpins the group itself, then it is pinned and
    the old holder is told (423: nats.go reports "pin ID mismatch",
    jetwire ends the fetch empty) and gets nothing, with or without its
    old id; when the holder stops pulling for priority_timeout, the other
    is pinned again, with a new id."""
    d, js = jw
    orders_stream(d, js, 12)
    cons = d.consumer_add(js, "ORDERS", durable_name="pinned",
                          ack_policy="explicit", priority_groups=[GROUP],
                          priority_policy="pinned_client",
                          priority_timeout=PIN_TIMEOUT)
    g = go.peer("-consumer", "pinned")
    j = JetwirePuller(d, js, cons, "pinned")
    a, b = (g, j) if first == "nats.go" else (j, g)
    taken: list[Taken] = []

    def take(puller, *args, **kw) -> list[Taken]:
        got = puller.take(*args, **kw)
        taken.extend(got)
        return got

    assert g.pinned_id() == ""
    got = take(a, wait=5.0)
    assert [t.data for t in got] == order_data(0, 1), a.name
    pin_a = one_pin(got)
    assert g.pinned_id() == pin_a
    assert take(b) == [], f"{b.name} served while {a.name} holds the pin"
    got = take(a)
    assert [t.data for t in got] == order_data(2, 3)
    assert one_pin(got) == pin_a  # a sent its id back and kept the pin

    b.unpin()  # b releases a's pin, and b is the next to pull
    assert g.pinned_id() == ""
    got = take(b, wait=5.0)
    assert [t.data for t in got] == order_data(4, 5), b.name
    pin_b = one_pin(got)
    assert pin_b != pin_a and g.pinned_id() == pin_b
    assert take(a) == [], f"{a.name} served with the pin it lost"
    if a is g:
        assert a.last_error == "nats: pin ID mismatch"
    assert take(a) == [], f"{a.name} served while {b.name} holds the pin"
    got = take(b)
    assert [t.data for t in got] == order_data(6, 7)
    assert one_pin(got) == pin_b

    # b stops pulling: after priority_timeout the pin is gone, and a's
    # next pull is pinned with a new id.
    time.sleep(PIN_TIMEOUT + 0.5)
    assert g.pinned_id() == ""
    got = take(a, wait=5.0)
    assert [t.data for t in got] == order_data(8, 9), a.name
    pin_c = one_pin(got)
    assert pin_c not in (pin_a, pin_b) and g.pinned_id() == pin_c
    assert take(b) == [], f"{b.name} served with the pin that timed out"
    if b is g:
        assert b.last_error == "nats: pin ID mismatch"
    got = take(a)
    assert [t.data for t in got] == order_data(10, 11)

    check_taken_once(taken, 12, g.info())
    g.quit()


@pytest.mark.min_server("2.11.0")
def test_priority_pinned_go_leaves_jetwire_takes_over(go, jw):
    """A consumer nats.go made (pinned_client, priority_timeout 2 s): a Go
    process pulls 4 messages pinned and leaves; the pin outlives it until
    priority_timeout, then jetwire's waiting pull is pinned and served."""
    d, js = jw
    orders_stream(d, js, 8)
    out = go.run("group-pull", "-consumer", "pinned", "-create",
                 "pinned_client", "-priority-timeout", f"{PIN_TIMEOUT}s",
                 "-batch", 2, "-count", 4)
    assert out[-1] == {"op": "done", "received": 4}, out
    gone = [Taken(m["seq"], m["data"].encode(), m["delivered"], m["pin_id"])
            for m in (line["msg"] for line in out[:-1])]
    assert [t.data for t in gone] == order_data(0, 1, 2, 3)
    pin_go = one_pin(gone)

    info = d.consumer_info(js, "ORDERS", "pinned")
    assert info["config"]["priority_policy"] == "pinned_client"
    assert info["config"]["priority_timeout"] == PIN_TIMEOUT
    (group,) = info["priority_groups"]
    assert group.get("pinned_client_id") == pin_go, info  # still held

    j = JetwirePuller(d, js, d.consumer_get(js, "ORDERS", "pinned"),
                      "pinned")
    started = time.monotonic()
    got = j.take(batch=2, wait=PIN_TIMEOUT + 5)
    waited = time.monotonic() - started
    assert [t.data for t in got] == order_data(4, 5)
    assert one_pin(got) != pin_go
    assert waited > PIN_TIMEOUT / 4, (
        f"jetwire served {waited:.2f} s after the pinned Go client left: "
        "the pin did not outlive it")
    got += j.take(batch=4)  # the pin is jetwire's now: no waiting
    assert [t.data for t in got] == order_data(4, 5, 6, 7)
    g = go.peer("-consumer", "pinned")
    check_taken_once(gone + got, 8, g.info())
    g.quit()


@pytest.mark.min_server("2.11.0")
@pytest.mark.parametrize("overflow_side", ["nats.go", "jetwire"])
def test_priority_overflow_shared_with_go(go, jw, overflow_side):
    """overflow on a consumer nats.go made: the puller with min_pending
    is served only while at least that many messages are pending
    (counting the one delivered), the one with min_ack_pending only while
    that many are unacknowledged; the other puller of the group, without
    either, is always served."""
    d, js = jw
    orders_stream(d, js, 10)
    g = go.peer("-consumer", "overflow", "-create", "overflow")
    j = JetwirePuller(d, js, d.consumer_get(js, "ORDERS", "overflow"),
                      "overflow")
    ov, plain = (g, j) if overflow_side == "nats.go" else (j, g)
    taken: list[Taken] = []

    def take(puller, *args, **kw) -> list[bytes]:
        got = puller.take(*args, **kw)
        taken.extend(got)
        return [t.data for t in got]

    # 10 pending.
    assert take(ov, 5, min_pending=11) == [], ov.name
    assert ov.last_error is None
    # Served at 10 and 9 pending, not at 8: the pull waits out its time.
    assert take(ov, 5, min_pending=9) == order_data(0, 1), ov.name
    assert take(plain, 3) == order_data(2, 3, 4), plain.name  # 5 left
    assert take(ov, 2, min_pending=6) == [], ov.name
    orders_stream(d, js, 3, first=10)  # 8 pending
    assert take(ov, 2, min_pending=6) == order_data(5, 6), ov.name
    assert take(plain, 10) == order_data(7, 8, 9, 10, 11, 12), plain.name

    # min_ack_pending: 3 delivered and unacknowledged to the plain puller.
    orders_stream(d, js, 4, first=13)
    assert take(plain, 3, wait=5.0, ack=False) == order_data(13, 14, 15)
    assert take(ov, 1, min_ack_pending=4) == [], ov.name
    assert take(ov, 1, min_ack_pending=3) == order_data(16), ov.name
    assert plain.ack_held() == [14, 15, 16]

    check_taken_once(taken, 17, g.info())
    g.quit()


# How long the prioritized pulls wait: the messages come 0.5 s in, and the
# pull that gets none ends when this runs out.
PULL_WAIT = 2


@pytest.mark.min_server("2.12.0")
@pytest.mark.parametrize("first", ["nats.go", "jetwire"])
def test_priority_prioritized_shared_with_go(go, jw, drivers, nats_server,
                                             lang, first):
    """prioritized on a consumer nats.go made: with both pullers waiting,
    new messages go to the pull of priority 0, none to that of priority
    5; with only the priority-5 pull waiting, to it."""
    d, js = jw
    orders_stream(d, js, 0)
    g = go.peer("-consumer", "ranked", "-create", "prioritized")
    cons = d.consumer_get(js, "ORDERS", "ranked")
    publisher = drivers.start(lang)  # d is busy with its waiting fetch
    pjs = publisher.jetstream(publisher.connect(nats_server.url))
    prio = ({"nats.go": 0, "jetwire": 5} if first == "nats.go"
            else {"nats.go": 5, "jetwire": 0})
    second = "jetwire" if first == "nats.go" else "nats.go"

    def start_pull(side: str):
        """Send a waiting pull (batch 2, PULL_WAIT s) of `side` at its
        priority; returns what collects its messages (acked)."""
        if side == "nats.go":
            g.proc.stdin.write(json.dumps({
                "op": "fetch", "batch": 2, "max_wait": PULL_WAIT,
                "group": GROUP,
                "priority": prio[side]}) + "\n")
            g.proc.stdin.flush()

            def collect() -> list[Taken]:
                return [Taken(m["seq"], m["data"].encode(), m["delivered"],
                              "")
                        for m in g.wait_for("fetched", timeout=20)["msgs"]]
            return collect
        pending = d.send("fetch", consumer=cons, batch=2,
                         timeout=PULL_WAIT, group=GROUP,
                         priority=prio[side])

        def collect() -> list[Taken]:
            got = [JsMsg.from_wire(m)
                   for m in pending.result(wait=20)["msgs"]]
            for m in got:
                d.ack_sync(m)
            return [Taken(m.seq, m.data, m.delivered, "") for m in got]
        return collect

    def publish(*numbers: int) -> None:
        time.sleep(0.5)  # the pull requests are waiting at the server
        for i in numbers:
            publisher.js_publish(pjs, "orders.new", b"order %d" % i)

    collect_first, collect_second = start_pull(first), start_pull(second)
    publish(0, 1)
    got_first, got_second = collect_first(), collect_second()
    assert [t.data for t in got_first] == order_data(0, 1), first
    assert got_second == [], f"{second} (priority 5) was served"

    collect_second = start_pull(second)  # alone now
    publish(2, 3)
    got_later = collect_second()
    assert [t.data for t in got_later] == order_data(2, 3), second

    check_taken_once(got_first + got_later, 4, g.info())
    g.quit()


def test_go_micro_reads_jetwire_services(driver, go, nats_server):
    """nats.go's micro types parse what a jetwire service answers to PING,
    INFO and STATS (issue 20, point 5)."""
    d = driver
    conn = d.connect(nats_server.url)
    svc, sid = d.service_add(conn, name="users", version="2.0.0-rc.1",
                             metadata={"lang": d.lang})
    d.service_endpoint(svc, name="get", subject="user.get",
                       metadata={"kind": "read"})
    d.flush(conn)
    for _ in range(3):
        d.request(conn, "user.get", b"x")
    d.request(conn, "user.get", b"fail")
    # A request counts once its handler returned, just after the answer.
    for _ in range(100):
        stats = d.service_stats(svc)
        if stats["endpoints"][0]["num_requests"] == 4:
            break
        time.sleep(0.02)
    for verb in ("ping", "info", "stats"):
        *answers, done = go.run("micro-discover", "-verb", verb, "-name",
                                "users", "-id", sid, "-max", 1)
        assert done == {"op": "done", "count": 1}, (verb, answers)
        (one,) = answers
        assert one["type"] == f"io.nats.micro.v1.{verb}_response"
        assert (one["name"], one["id"], one["version"], one["metadata"]) == (
            "users", sid, "2.0.0-rc.1", {"lang": d.lang})
        if verb == "info":
            assert one["endpoints"] == [{"name": "get", "subject": "user.get",
                                         "queue_group": "q",
                                         "metadata": {"kind": "read"}}]
        if verb == "stats":
            (ep,) = one["endpoints"]
            assert (ep["num_requests"], ep["num_errors"],
                    ep["last_error"]) == (4, 1, "400:bad input")
            assert ep["processing_time"] >= ep["average_processing_time"] > 0


def test_jetwire_calls_and_discovers_a_go_service(driver, go, nats_server):
    """A nats.go micro service, discovered and called by jetwire."""
    d = driver
    conn = d.connect(nats_server.url)
    # It serves until its stdin closes: a pipe of its own.
    serving = Background(go.argv("micro-serve", ["-name", "go-echo"]),
                         dict(os.environ), stdin=True)
    go.started.append(serving)
    ready = serving.wait_for("ready")
    (ping,) = d.service_discover(conn, "ping", "go-echo", max=1)
    assert (ping["id"], ping["metadata"]) == (ready["id"], {"lang": "go"})
    (info,) = d.service_discover(conn, "info", "go-echo", ready["id"],
                                 max=1)
    assert [(e["name"], e["subject"]) for e in info["endpoints"]] == [
        ("echo", "go.echo"), ("add", "math.add")]
    assert d.request(conn, "go.echo", b"hi go").data == b"hi go"
    assert json.loads(d.request(conn, "math.add", b'{"a":2,"b":40}').data) == {
        "sum": 42}
    bad = d.request(conn, "math.add", b"not json")
    assert {n: v for n, v in bad.headers} == {
        "Nats-Service-Error": "bad input", "Nats-Service-Error-Code": "400"}
    (stats,) = d.service_discover(conn, "stats", "go-echo", timeout=2,
                                  max=1)
    by_name = {e["name"]: e for e in stats["endpoints"]}
    assert (by_name["add"]["num_requests"], by_name["add"]["num_errors"]) == (
        2, 1)
    serving.kill()


# --- current servers, part 2 (issue 21): what nats.go v1.56.0 has of it --


@pytest.mark.min_server("2.12.0")
def test_go_schedules_into_a_jetwire_stream(go, jw):
    """A schedule published with nats.go's options (WithScheduleAt,
    WithScheduleEvery, WithScheduleTarget) into a stream jetwire made
    fires for jetwire's consumer; jetwire stops the repeating one by
    purging its subject."""
    d, js = jw
    d.stream_add(js, name="SCHED", subjects=["sched.>", "due.>"],
                 allow_msg_schedules=True)
    cons = d.consumer_add(js, "SCHED", durable_name="due",
                          filter_subject="due.>")
    go.run("schedule", "-subject", "sched.once", "-target", "due.once",
           "-data", "once", "-at", "1s")
    go.run("schedule", "-subject", "sched.tick", "-target", "due.tick",
           "-data", "tick", "-every", "1s")
    got = []
    deadline = time.monotonic() + 8
    while (b"once" not in got or got.count(b"tick") < 2) and \
            time.monotonic() < deadline:
        for m in d.fetch(cons, 5, timeout=0.5):
            d.ack(m)
            got.append(m.data)
    assert b"once" in got and got.count(b"tick") >= 2, got
    d.stream_purge(js, "SCHED", subject="sched.tick")


@pytest.mark.min_server("2.14.0")
def test_go_resets_a_jetwire_consumer(go, jw):
    """nats.go's ResetConsumerToSequence on a consumer jetwire pulls:
    jetwire's next fetch starts at that sequence again; its own reset
    answers as nats.go's does."""
    d, js = jw
    orders_stream(d, js, 0)
    for i in range(1, 6):
        d.js_publish(js, "orders.new", b"order %d" % i)
    cons = d.consumer_add(js, "ORDERS", durable_name="billing")
    for m in d.fetch(cons, 5, timeout=5.0):
        d.ack(m)
    (reset,) = go.run("consumer-reset", "-stream", "ORDERS", "-consumer",
                      "billing", "-seq", 2)
    assert (reset["reset_seq"], reset["delivered_consumer_seq"]) == (2, 0)
    got = d.fetch(cons, 2, timeout=5.0)
    assert [m.data for m in got] == [b"order 2", b"order 3"]
    info = d.consumer_reset(js, "ORDERS", "billing", seq=4)
    assert info["reset_seq"] == 4
    assert [m.data for m in d.fetch(cons, 1, timeout=5.0)] == [b"order 4"]


def test_objects_both_ways_with_go(go, jw, tmp_path):
    """The object store (ADR-20): an object jetwire put is read
    byte-identical by nats.go's GetBytes (which checks the digest), one
    nats.go put (in its own chunk size) by jetwire, and each side follows
    the other's links."""
    d, js = jw
    obs = d.obs_create(js, bucket="shared")
    data = bytes((i * 31) % 256 for i in range(300_000))
    d.obs_put(obs, "from-jetwire.bin", data)
    out = tmp_path / "got.bin"
    (got,) = go.run("obj-get", "-bucket", "shared", "-name",
                    "from-jetwire.bin", "-file", out)
    assert out.read_bytes() == data and got["size"] == len(data)
    src = tmp_path / "from-go.bin"
    src.write_bytes(data[::-1])
    (put,) = go.run("obj-put", "-bucket", "shared", "-name", "from-go.bin",
                    "-file", src, "-chunk", 1000)
    assert put["chunks"] == 300
    back, info = d.obs_get(obs, "from-go.bin", piece=7777)
    assert back == data[::-1] and info["digest"] == put["digest"]
    # Links: nats.go's to jetwire's object, jetwire's to nats.go's.
    go.run("obj-link", "-bucket", "shared", "-name", "go-link",
           "-target-bucket", "shared", "-target-name", "from-jetwire.bin")
    assert d.obs_get(obs, "go-link")[0] == data
    d.obs_link(obs, "jw-link", obs, "from-go.bin")
    go.run("obj-get", "-bucket", "shared", "-name", "jw-link", "-file", out)
    assert out.read_bytes() == data[::-1]
