"""The Lua JetStream API (tests/lua/test_js.lua: the tutorial's ORDERS
flow, durable resume on a new connection, nak/term/in_progress, publish
options, fetch timeouts, ack errors, bad arguments, garbage collection of
the JetStream and consumer handles, configurations handed to the engine
with durations in seconds) and its Key-Value API
(tests/lua/test_kv.lua: the tutorial's service-config flow with a watcher
on another connection, create/update by revision, history, TTL, purge,
the end-of-initial-values marker, watch options, 10,000 keys, handles
closed in any order), its atomic batches and counters
(tests/lua/test_js_batch.lua: 1,000 messages stored whole, abandoned and
refused batches storing none, counters past 64 bits, entries, a sourced
aggregate; NOT_SUPPORTED before 2.12), its fast-ingest batches
(tests/lua/test_js_fast.lua: 10,000 adds, gap "fail" and "ok" with a
refused message, 100,000 messages through publish_batch, closed batches;
NOT_SUPPORTED before 2.14), its object store (tests/lua/test_objstore.lua:
sizes 0 to 5 MB read whole and in pieces, puts from files and reader
functions, a corrupted object, deletes, meta updates, links, watchers),
run by lua5.4 against a fresh nats-server with a
temporary JetStream store; and async publishes in flight when the server
dies (tests/lua/test_js_lost.lua, a child this test answers)."""
import os
import subprocess
import time

from harness import build_dir
from test_lua_module import LUA, REPO, run_lua

SCRIPT = REPO / "tests" / "lua" / "test_js.lua"
KV_SCRIPT = REPO / "tests" / "lua" / "test_kv.lua"
BATCH_SCRIPT = REPO / "tests" / "lua" / "test_js_batch.lua"
FAST_SCRIPT = REPO / "tests" / "lua" / "test_js_fast.lua"
OBS_SCRIPT = REPO / "tests" / "lua" / "test_objstore.lua"
LOST_SCRIPT = REPO / "tests" / "lua" / "test_js_lost.lua"
LIMIT = 1.0  # seconds from the kill to the publishes' outcomes


def test_lua_jetstream(nats_server):
    out = run_lua(SCRIPT, nats_server.url)
    assert " 0 failed" in out and "FAIL" not in out, out


def test_lua_key_value(nats_server):
    out = run_lua(KV_SCRIPT, nats_server.url)
    assert " 0 failed" in out and "FAIL" not in out, out


def test_lua_atomic_batches_and_counters(nats_server):
    out = run_lua(BATCH_SCRIPT, nats_server.url)
    assert " 0 failed" in out and "FAIL" not in out, out


def test_lua_fast_ingest_batches(nats_server):
    out = run_lua(FAST_SCRIPT, nats_server.url)
    assert " 0 failed" in out and "FAIL" not in out, out


def test_lua_object_store(nats_server):
    out = run_lua(OBS_SCRIPT, nats_server.url)
    assert " 0 failed" in out and "FAIL" not in out, out


def test_lua_async_publishes_fail_fast_when_the_server_dies(nats_server):
    """200 async publishes in flight on a frozen server with a 30 s
    timeout; the server is killed while the child waits in
    publish_async_complete(30): it must return NOT_CONNECTED within a
    second of the kill (the DISCONNECTED event comes after the kill),
    every outcome NOT_CONNECTED (the child checks)."""
    env = dict(os.environ, JW_BUILD_DIR=str(build_dir()))
    proc = subprocess.Popen([LUA, str(LOST_SCRIPT), nats_server.url],
                            cwd=str(REPO), env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines = []

    def expect(line):
        got = proc.stdout.readline().strip()
        lines.append(got)
        if got != line:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"child printed {got!r}, not {line!r}; "
                                 f"so far {lines}\n{err}")

    def answer(line):
        proc.stdin.write(line + "\n")
        proc.stdin.flush()

    try:
        expect("pause")
        nats_server.pause()
        answer("paused")
        expect("kill")
        nats_server.stop()
        killed = time.monotonic()
        expect("settled")
        assert time.monotonic() - killed <= LIMIT
        expect("restart")
        nats_server.start()
        answer("started")
        expect("ok")
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
