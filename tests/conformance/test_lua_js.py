"""The Lua JetStream API (tests/lua/test_js.lua: the tutorial's ORDERS
flow, durable resume on a new connection, nak/term/in_progress, publish
options, fetch timeouts, ack errors, bad arguments, garbage collection of
the JetStream and consumer handles, configurations handed to the engine
with durations in seconds) and its Key-Value API
(tests/lua/test_kv.lua: the tutorial's service-config flow with a watcher
on another connection, create/update by revision, history, TTL, purge,
the end-of-initial-values marker, watch options, 10,000 keys, handles
closed in any order), run by lua5.4 against a fresh nats-server with a
temporary JetStream store."""
from test_lua_module import REPO, run_lua

SCRIPT = REPO / "tests" / "lua" / "test_js.lua"
KV_SCRIPT = REPO / "tests" / "lua" / "test_kv.lua"


def test_lua_jetstream(nats_server):
    out = run_lua(SCRIPT, nats_server.url)
    assert " 0 failed" in out and "FAIL" not in out, out


def test_lua_key_value(nats_server):
    out = run_lua(KV_SCRIPT, nats_server.url)
    assert " 0 failed" in out and "FAIL" not in out, out
