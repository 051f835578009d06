-- Async publishes in flight when the server dies fail at once with
-- NOT_CONNECTED, whatever the context's timeout (issue 19, point 4). Run
-- by tests/conformance/test_lua_js.py, which owns the server and answers
-- this script's lines on stdout:
--
--   "pause"   -> freezes the server (SIGSTOP), answers "paused"
--   "kill"    -> kills it at once; this script is then waiting in
--                js:publish_async_complete(30), and prints "settled" when
--                that returns: the parent times kill -> settled
--   "restart" -> starts it again on the same port, answers "started"
--   "ok"      -> every check here passed
--
--   lua5.4 tests/lua/test_js_lost.lua nats://127.0.0.1:PORT

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local jetwire, eq, fails = h.jetwire, h.eq, h.fails

local N = 200

local function say(line)
    io.write(line, "\n")
    io.flush()
end

local function expect(line)
    local got = io.read("l")
    if got ~= line then
        error(string.format("the parent said %q, not %q", tostring(got), line))
    end
end

local nc <close> = h.connect{ reconnect_time_wait = 0.1,
                              reconnect_jitter = 0.01,
                              max_reconnect_attempts = -1 }
-- A timeout the test would notice: nothing may wait for it.
local js = assert(nc:jetstream{ timeout = 30 })
assert(js:create_or_update_stream{ name = "LOST", subjects = { "lost.>" } })

-- Nothing queued: the wait for an outcome times out.
fails("TIMEOUT", js.publish_async_wait, js, 0)
for i = 1, 10 do assert(js:publish_async("lost.a", tostring(i))) end
assert(js:publish_async_complete(10))
assert(js:publish_async_wait(0), "outcomes are queued")
for i = 1, 10 do
    local id, ack = js:publish_async_poll()
    eq(id, i, "id")
    eq(ack.seq, i, "acknowledged before the server froze")
end

say("pause")
expect("paused")
for _ = 1, N do assert(js:publish_async("lost.a", "x")) end
eq(js:publish_async_pending(), N, "in flight")
fails("TIMEOUT", js.publish_async_wait, js, 0.1) -- nobody acknowledges

say("kill")
local err = fails("NOT_CONNECTED", js.publish_async_complete, js, 30)
say("settled")
assert(err.message:find(N .. " async publishes", 1, true), err.message)

-- The outcomes were queued before the DISCONNECTED event.
local ev = assert(nc:next_event(10))
eq(ev.kind, "disconnected", "event")
local failed = 0
while true do
    local id, ack, e = js:publish_async_poll()
    if not id then break end
    eq(ack, nil, "no ack")
    eq(e.code, "NOT_CONNECTED", "outcome")
    assert(e.message:find("msg_id", 1, true), e.message)
    failed = failed + 1
end
eq(failed, N, "every publish in flight failed")
eq(js:publish_async_pending(), 0, "none in flight")
assert(js:publish_async_complete(0), "the loss is reported once")

-- Published during the outage: out after the reconnect, acknowledged.
local id = assert(js:publish_async("lost.b", "y"))
say("restart")
expect("started")
ev = assert(nc:next_event(10))
eq(ev.kind, "reconnected", "event")
assert(js:publish_async_complete(10))
local got, ack = js:publish_async_poll()
eq(got, id, "id")
eq(ack.stream, "LOST", "acknowledged after the reconnect")
say("ok")
