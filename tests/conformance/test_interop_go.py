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

The Go program is built once per session with the go command (module
downloads go to the usual module cache, builds to Go's build cache). A
missing go command fails these tests: it is never a skip.
"""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness import build_dir
from harness.drivers import REPO
from harness.programs import (KV_LANGS, kv_peer_argv, parse_lines, run,
                              run_example)

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


class Background:
    """A program left running: its stdout's JSON lines are collected by a
    thread, so that the test can wait for one while doing other things."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.argv = argv
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env, text=True,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.lines: list[dict] = []
        self._queue: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.strip():
                self._queue.put(json.loads(line))
        self._queue.put(None)

    def wait_for(self, op: str, timeout: float = 20.0) -> dict:
        """The next line whose op is `op` (the lines before it are kept in
        .lines)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(
                    timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {op!r} line from {self.argv} in "
                                     f"{timeout} s; got {self.lines}")
            if line is None:
                raise AssertionError(f"{self.argv} ended before a {op!r} "
                                     f"line: {self.lines}\n{self.stderr()}")
            self.lines.append(line)
            if line.get("op") == op:
                return line

    def finish(self, timeout: float = 30.0) -> list[dict]:
        """Wait for the program to exit 0; every line it printed."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.argv} still running after "
                                 f"{timeout} s; printed {self.lines}")
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        assert rc == 0, f"{self.argv} exited {rc}\n{self.stderr()}"
        return self.lines

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.poll() is not None else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Go:
    """The Go program against one server."""

    def __init__(self, binary: Path, url: str):
        self.binary = binary
        self.url = url
        self.started: list[Background] = []

    def argv(self, command: str, args) -> list[str]:
        return [str(self.binary), "-server", self.url, "-timeout", "30s",
                command, *map(str, args)]

    def run(self, command: str, *args) -> list[dict]:
        return parse_lines(run(self.argv(command, args), dict(os.environ)).stdout)

    def start(self, command: str, *args) -> Background:
        bg = Background(self.argv(command, args), dict(os.environ))
        self.started.append(bg)
        return bg

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
