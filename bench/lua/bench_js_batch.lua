-- The Lua module's fast-ingest batch publishing (ADR-50, nats-server
-- 2.14+), the counterpart of bench/bench_js_fast.c --mode fast: one
-- RESULT line in bench/common.h's shape (lib=jetwire-lua mode=fast).
--
-- Makes a fresh memory stream with allow_batched (its name unique to the
-- run), publishes N messages of SIZE bytes with js:publish_batch and
-- checks that the PubAck counts N and the stream holds N, then deletes
-- the stream. The clock covers building the list of messages (one
-- {subject, payload} table that every entry refers to, as the C program
-- publishes one jw_msg N times) and the publish_batch call, which returns
-- with the final PubAck. CPU is the process's, the engine's thread
-- included.
--
--   lua5.4 bench_js_batch.lua URL N SIZE
--
-- run_js_batch.sh runs it with LUA_CPATH pointing at the build's
-- lua/jetwire.so; JW_BUILD_DIR (DIR/lua/jetwire.so) works too.

local build = os.getenv("JW_BUILD_DIR")
if build and build ~= "" then
    package.cpath = build .. "/lua/?.so;" .. package.cpath
end
local jetwire = require "jetwire"

local function die(what, err, status)
    io.stderr:write(("bench_js_batch: %s: %s\n"):format(what, tostring(err)))
    os.exit(status or 2)
end

local url = arg[1] or "nats://127.0.0.1:4222"
local n = math.tointeger(tonumber(arg[2] or "1000000"))
local size = math.tointeger(tonumber(arg[3] or "128"))
if not n or n < 1 or not size or size < 0 or #arg > 3 then
    die("usage", "lua5.4 bench_js_batch.lua URL N SIZE")
end

local nc, err = jetwire.connect { servers = url, name = "bench_js_batch" }
if not nc then die("connect", err) end
local js = assert(nc:jetstream { timeout = 60 })
local tag = ("%d%04d"):format(os.time(), math.random(0, 9999))
local stream, subject = "BENCHFASTLUA" .. tag, "bench." .. tag .. ".fast"
local ok, cerr = js:create_stream { name = stream, subjects = { subject },
                                    storage = "memory", allow_batched = true }
if not ok then die("create stream", cerr) end

local payload = string.rep("x", size)
collectgarbage()
local cpu0, t0 = os.clock(), jetwire.now()
local msg, msgs = { subject, payload }, {}
for i = 1, n do msgs[i] = msg end
local ack, perr = js:publish_batch(msgs)
local t1, cpu1 = jetwire.now(), os.clock()
if not ack then die("publish_batch", perr, 1) end

local info = assert(js:stream_info(stream))
if ack.count ~= n or info.state.messages ~= n then
    die("check", ("%s in the PubAck, %s stored, %d published"):format(
        tostring(ack.count), tostring(info.state.messages), n), 1)
end
js:delete_stream(stream)
nc:close()

local elapsed, cpu = t1 - t0, cpu1 - cpu0
print(("RESULT lib=jetwire-lua mode=fast size=%d n=%d variant=default "
       .. "rate=%.0f elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f"):format(
    size, n, n / elapsed, elapsed, cpu, cpu / (n / 1e6)))
