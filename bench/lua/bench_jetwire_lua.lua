-- The Lua module's side of the benchmarks: the same command line, windows
-- and RESULT line as bench/bench_jetwire.c (bench/common.h), so that
-- run_lua.sh sets the two side by side. Every mode uses the module's
-- fastest ordinary API:
--
--   pub     nc:publish N times, then nc:flush.
--   pubsub  one Lua state, two connections: the publisher publishes a
--           chunk (1024 messages), then the subscriber takes what has
--           arrived with sub:next_msgs(256, 0), until all N are in
--           (variant "next": sub:next_msg(0), one message per call).
--           Lua has no threads: the C program publishes from a second
--           thread, here both sides share one. Variant "proc": the
--           publisher is a second lua5.4 process (--role publisher), the
--           subscriber pulls with sub:next_msgs(256, timeout); CPU is both
--           processes'.
--   reqrep  N sequential requests after `warmup` unmeasured ones, each
--           timed alone. Requester and responder on one state, driven by
--           the readable fd the way a scheduler does it (docs/lua.md):
--           nc:request_start, jetwire.poll, nc:process, sub:next_msg(0) +
--           msg:respond, nc:request_poll. That is as many threads as the
--           C program, which answers in a handler on the engine's thread
--           (Lua code never runs there). Variant "proc": the responder is
--           a second lua5.4 process (--role responder) pulling with
--           sub:next_msg and the requester calls nc:request; CPU is both
--           processes' (the responder reports its own, in the window).
--           Variant "driven": the same two processes with connections made
--           with loop = "driven", the engine's loop running on the Lua
--           thread inside nc:request and sub:next_msg.
--
--   lua5.4 bench_jetwire_lua.lua --mode pub|pubsub|reqrep [--size B]
--       [--n N] [--url URL] [--warmup N] [--timeout-ms MS] [--variant V]
--
-- The module comes from JW_BUILD_DIR (DIR/lua/jetwire.so) when set, else
-- from Lua's default cpath.

local build = os.getenv("JW_BUILD_DIR")
if build and build ~= "" then
    package.cpath = build .. "/lua/?.so;" .. package.cpath
end
local jetwire = require "jetwire"

local LIB = "jetwire-lua"
local VARIANTS = { pub = { default = true },
                   pubsub = { default = true, next = true, proc = true },
                   reqrep = { default = true, proc = true, driven = true } }
local CHUNK = 1024 -- pubsub: messages published between two pulls
local BATCH = 256  -- pubsub: messages per next_msgs call

local function die(what, err, status)
    io.stderr:write(("bench_jetwire_lua: %s: %s\n"):format(what,
                                                           tostring(err)))
    os.exit(status or 2)
end

-- value, err from a jetwire call: the value, or exit 2 (setup) / 1.
local function must(what, value, err)
    if value == nil then die(what, err, 1) end
    return value
end

-- ------------------------------------------------------------------------
-- Command line (bench/common.h's)

local function parse_args(argv)
    local a = { mode = nil, size = 16, n = 100000,
                url = "nats://127.0.0.1:4222", warmup = 200,
                timeout_ms = 10000, variant = "default", role = "bench",
               subject = false }
    local numeric = { size = 0, n = 1, warmup = 0, timeout_ms = 1 }
    local i = 1
    while i <= #argv do
        local opt, val = argv[i], argv[i + 1]
        local key = opt:match("^%-%-([%w-]+)$")
        key = key and key:gsub("-", "_")
        if key == nil or a[key] == nil and key ~= "mode" or val == nil then
            die("usage", "bad argument " .. opt)
        end
        if numeric[key] then
            local v = math.tointeger(tonumber(val))
            if v == nil or v < numeric[key] then
                die("usage", "bad value for " .. opt .. ": " .. val)
            end
            val = v
        end
        a[key] = val
        i = i + 2
    end
    if a.role ~= "bench" then
        if not a.subject then die("usage", "--subject is required") end
        return a
    end
    if not VARIANTS[a.mode or ""] then
        die("usage", "--mode must be pub, pubsub or reqrep")
    end
    if not VARIANTS[a.mode][a.variant] then
        die("usage", "unknown variant " .. a.variant .. " for " .. a.mode)
    end
    a.subject = a.subject or ("bench.%d.%s"):format(
        math.random(1, 1 << 30), a.mode)
    a.timeout = a.timeout_ms / 1000
    return a
end

-- The payload of bench_payload(): 'a' + i % 26.
local function payload(size)
    local t = {}
    for i = 0, size - 1 do t[#t + 1] = string.char(97 + i % 26) end
    return table.concat(t)
end

-- ------------------------------------------------------------------------
-- Window, percentiles, RESULT line

local now = jetwire.now

local function window_start()
    return { cpu0 = os.clock(), t0 = now() }
end

local function window_stop(w, extra_cpu)
    w.t1 = now()
    w.cpu1 = os.clock()
    w.extra_cpu = extra_cpu or 0
end

-- Nearest rank, as bench_rank().
local function rank(sorted, pct)
    local r = (#sorted * pct + 99) // 100
    if r < 1 then r = 1 end
    return sorted[r]
end

local function report(a, w, count, samples)
    local elapsed = w.t1 - w.t0
    local cpu = w.cpu1 - w.cpu0 + w.extra_cpu
    local line = ("RESULT lib=%s mode=%s size=%d n=%d variant=%s rate=%.0f "
        .. "elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f"):format(
        LIB, a.mode, a.size, count, a.variant, count / elapsed, elapsed, cpu,
        cpu / (count / 1e6))
    if samples then
        table.sort(samples)
        local sum = 0
        for _, s in ipairs(samples) do sum = sum + s end
        line = line .. (" p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f "
            .. "mean_us=%.1f"):format(rank(samples, 50) * 1e6,
            rank(samples, 90) * 1e6, rank(samples, 99) * 1e6,
            samples[#samples] * 1e6, sum / #samples * 1e6)
    end
    print(line)
end

local function connect(a, name)
    -- Variant "driven": the connection's loop runs on this thread, inside
    -- the calls that wait (connect's loop = "driven").
    local nc, err = jetwire.connect{ servers = a.url, name = name,
                                     loop = a.variant == "driven" and "driven"
                                         or nil }
    if not nc then die("connect", err) end
    return nc
end

-- ------------------------------------------------------------------------
-- pub

local function run_pub(a)
    local nc = connect(a, "bench-pub")
    local subject, data = a.subject, payload(a.size)
    local w = window_start()
    for _ = 1, a.n do
        local ok, err = nc:publish(subject, data)
        if not ok then die("publish", err, 1) end
    end
    must("flush", nc:flush(60))
    window_stop(w)
    report(a, w, a.n)
    nc:close()
    return 0
end

-- ------------------------------------------------------------------------
-- pubsub

-- The publisher process of pubsub "proc": connects, says READY, waits for
-- GO on stdin, publishes n messages and flushes, then prints the CPU
-- seconds that took.
local function run_publisher(a)
    local nc = connect(a, "bench-pub")
    local subject, data = a.subject, payload(a.size)
    io.stdout:write("READY\n")
    io.stdout:flush()
    if io.stdin:read("l") ~= "GO" then die("publisher", "no GO") end
    local cpu0 = os.clock()
    for _ = 1, a.n do
        local ok, err = nc:publish(subject, data)
        if not ok then die("publish", err, 1) end
    end
    must("flush", nc:flush(60))
    io.stdout:write(("%.6f\n"):format(os.clock() - cpu0))
    nc:close()
    return 0
end

-- Start this file as another lua5.4 process with the given role. mode
-- "r": returns the pipe from its stdout; "w": the pipe to its stdin and
-- the file its stdout goes to.
local function spawn(a, role, mode)
    local cmd = ("%q %q --role %s --url %q --subject %q --size %d --n %d "
                 .. "--variant %s")
        :format(arg[-1] or "lua5.4", arg[0], role, a.url, a.subject, a.size,
                a.n, a.variant)
    local out
    if mode == "w" then
        out = os.tmpname()
        cmd = cmd .. (" > %q"):format(out)
    end
    local pipe = io.popen(cmd, mode)
    if not pipe then die(role, "cannot start: " .. cmd) end
    return pipe, out
end

local function start_publisher(a)
    local pipe, out = spawn(a, "publisher", "w")
    -- Wait for READY (its connection is up) without a second pipe: the
    -- line lands in its output file.
    local deadline = now() + a.timeout
    while true do
        local f = io.open(out)
        local line = f and f:read("l")
        if f then f:close() end
        if line == "READY" then return pipe, out end
        if now() > deadline then die("publisher", "did not start") end
        jetwire.poll({}, 0.01)
    end
end

-- Wait for the publisher to end; its CPU seconds.
local function publisher_cpu(pipe, out)
    pipe:close()
    local f = io.open(out)
    local lines = f and f:read("a") or ""
    if f then f:close() end
    os.remove(out)
    local cpu = tonumber(lines:match("\n([%d.]+)\n?$") or "")
    if not cpu then die("publisher", "no CPU figure: " .. lines) end
    return cpu
end

local function run_pubsub(a)
    local sub_nc = connect(a, "bench-sub")
    local pub_nc = connect(a, "bench-pub")
    local sub = must("subscribe", sub_nc:subscribe(a.subject))
    -- No limit: the run must not lose messages to a slow consumer.
    must("set_pending_limits", sub:set_pending_limits(0, 0))
    must("flush", sub_nc:flush(10)) -- the server has the SUB

    local subject, data, size, n = a.subject, payload(a.size), a.size, a.n
    local single = a.variant == "next"
    local published, received, bad_size = 0, 0, 0
    local publisher, cpu_file
    if a.variant == "proc" then
        pub_nc:close()
        publisher, cpu_file = start_publisher(a)
    end

    -- Take what has arrived; wait up to `wait` seconds for the first.
    local function pull(wait)
        if single then
            local msg, err = sub:next_msg(wait)
            if not msg then return err end
            bad_size = bad_size + (#msg.data ~= size and 1 or 0)
            received = received + 1
            return nil
        end
        local msgs, err = sub:next_msgs(BATCH, wait)
        if not msgs then return err end
        for i = 1, #msgs do
            bad_size = bad_size + (#msgs[i].data ~= size and 1 or 0)
        end
        received = received + #msgs
        return nil
    end

    local w = window_start()
    if publisher then
        publisher:write("GO\n")
        publisher:flush()
        published = n
    end
    while published < n do
        local last = math.min(published + CHUNK, n)
        for _ = published + 1, last do
            local ok, err = pub_nc:publish(subject, data)
            if not ok then die("publish", err, 1) end
        end
        published = last
        repeat until pull(0) ~= nil
    end
    if not publisher then must("flush", pub_nc:flush(60)) end
    while received < n do
        local err = pull(a.timeout)
        if err then
            if err.code ~= "TIMEOUT" then die("next_msgs", err, 1) end
            break -- stalled: the loss is reported below
        end
    end
    window_stop(w)
    if publisher then w.extra_cpu = publisher_cpu(publisher, cpu_file) end

    if received ~= n or bad_size ~= 0 then
        io.stderr:write(("bench_jetwire_lua: LOSS received %d of %d (%d "
            .. "wrong size, %d dropped by the client)\n"):format(
            received, n, bad_size, sub:dropped()))
        return 1
    end
    report(a, w, received)
    sub:close()
    pub_nc:close()
    sub_nc:close()
    return 0
end

-- ------------------------------------------------------------------------
-- reqrep

-- The responder process: echoes every request. "CPU?" is answered with
-- its CPU seconds so far, "STOP" with the same, and then it exits.
local function run_responder(a)
    local nc = connect(a, "bench-responder")
    local sub = must("subscribe", nc:subscribe(a.subject))
    must("flush", nc:flush(10))
    io.stdout:write("READY\n")
    io.stdout:flush()
    while true do
        local msg, err = sub:next_msg(math.huge)
        if not msg then die("next_msg", err, 1) end
        local data = msg.data
        if data == "CPU?" or data == "STOP" then
            must("respond", msg:respond(("%.6f"):format(os.clock())))
            if data == "STOP" then break end
        else
            must("respond", msg:respond(data))
        end
    end
    must("flush", nc:flush(10))
    nc:close()
    return 0
end

-- Requests made by once(): a.warmup unmeasured, then a.n timed one by
-- one. Returns the window and the samples (seconds). before() and after()
-- run just outside the window (the responder's CPU).
local function timed_requests(a, once, before, after)
    for _ = 1, a.warmup do once() end
    local samples = {}
    if before then before() end
    local w = window_start()
    for i = 1, a.n do
        local t0 = now()
        once()
        samples[i] = now() - t0
    end
    window_stop(w)
    if after then after(w) end
    return w, samples
end

-- A reply of the right size, or exit 1.
local function check_reply(reply, err, size)
    if not reply then die("request", err, 1) end
    if #reply.data ~= size then die("request", "reply of the wrong size", 1) end
end

local function responder_cpu(nc, a, what)
    local reply = must("request " .. what, nc:request(a.subject, what, 10))
    return tonumber(reply.data)
end

local function run_reqrep_process(a)
    local responder = spawn(a, "responder", "r")
    if responder:read("l") ~= "READY" then
        die("responder", "did not start")
    end

    local nc = connect(a, "bench-requester")
    local subject, data, size = a.subject, payload(a.size), a.size
    local timeout = a.timeout
    local function once()
        local reply, err = nc:request(subject, data, timeout)
        check_reply(reply, err, size)
    end
    local cpu0
    local w, samples = timed_requests(a, once, function()
        cpu0 = responder_cpu(nc, a, "CPU?")
    end, function(window)
        window.extra_cpu = responder_cpu(nc, a, "STOP") - cpu0
    end)
    responder:close()
    report(a, w, a.n, samples)
    nc:close()
    return 0
end

-- Requester and responder on one state, driven by the readable fd.
local function run_reqrep_fd(a)
    local resp_nc = connect(a, "bench-responder")
    local req_nc = connect(a, "bench-requester")
    local sub = must("subscribe", resp_nc:subscribe(a.subject))
    must("flush", resp_nc:flush(10))
    local subject, data, size = a.subject, payload(a.size), a.size
    local items = { resp_nc, req_nc }

    -- What the fd of each connection announces, taken without a wasted
    -- call: pending() says how many requests are queued, process() how
    -- many started requests have finished.
    local function respond_all()
        resp_nc:process()
        for _ = 1, (sub:pending()) do
            local msg = must("next_msg", sub:next_msg(0))
            must("respond", msg:respond(msg.data))
        end
    end

    local function once()
        local id = must("request_start", req_nc:request_start(subject, data))
        local deadline = now() + a.timeout
        while true do
            local ready = jetwire.poll(items, 0.1)
            for _, nc in ipairs(ready) do
                if nc == resp_nc then
                    respond_all()
                elseif req_nc:process() > 0 then
                    local rid, reply, err = req_nc:request_poll()
                    if rid == id then
                        return check_reply(reply, err, size)
                    end
                end
            end
            if #ready == 0 and now() > deadline then
                die("request", "timed out", 1)
            end
        end
    end
    local w, samples = timed_requests(a, once)
    report(a, w, a.n, samples)
    sub:close()
    req_nc:close()
    resp_nc:close()
    return 0
end

-- ------------------------------------------------------------------------

math.randomseed(os.time(), math.floor(jetwire.now() * 1e6))
local a = parse_args(arg)
local status
if a.role == "responder" then
    status = run_responder(a)
elseif a.role == "publisher" then
    status = run_publisher(a)
elseif a.mode == "pub" then
    status = run_pub(a)
elseif a.mode == "pubsub" then
    status = run_pubsub(a)
elseif a.variant == "proc" or a.variant == "driven" then
    status = run_reqrep_process(a)
else
    status = run_reqrep_fd(a)
end
os.exit(status)
