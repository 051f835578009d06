-- The bad-input sweep: every function of the module and every method of
-- connections, subscriptions, messages, JetStream contexts, consumers,
-- continuous consumptions, ordered consumers, direct get batches, atomic
-- and fast batches, Key-Value buckets and watchers, object stores, their
-- readers and watchers, services, their groups,
-- endpoints and requests (one kept after its handler returned), one
-- argument at a time replaced by a value of the wrong kind, on live objects and on closed ones, and
-- every method called on something that is not its object. Each call
-- returns a value, returns nil plus an error value, or raises an error
-- message: never a crash, a hang, or an invalid subject accepted.
--
--   lua5.4 tests/lua/test_sweep.lua nats://127.0.0.1:4222
--
-- Methods are found through the metatables; BASE gives every one of them
-- a valid call (timeouts 0, so nothing waits), and a method the sweep
-- does not know fails it until it is added here.

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local jetwire, url = h.jetwire, h.url

-- In BASE, the object the method is called on (an object store linking
-- to itself).
local SELF = setmetatable({}, { __name = "the sweep's self" })

-- The valid arguments of each call (after self for methods).
local BASE = {
    conn = {
        publish = { "sweep.subject", "x" },
        publish_packed = { "sweep.subject", { a = 1 } },
        request = { "sweep.nobody", "x", 0.05 },
        subscribe = { "sweep.other" },
        flush = { 1 },
        run = { 0 },
        loop_fd = {},
        loop_timeout = {},
        rtt = {},
        drain = { 1 },
        close = {},
        status = {},
        is_connected = {},
        connected_url = {},
        servers = {},
        discovered_servers = {},
        on = { "error", function() end },
        server_info = {},
        max_payload = {},
        stats = {},
        new_inbox = {},
        jetstream = {},
        fd = {},
        process = {},
        ready = { 4 },
        request_start = { "sweep.nobody", "x" },
        request_poll = {},
        request_cancel = { 1 },
        next_event = { 0 },
        servers = {},
        discovered_servers = {},
        on = { "closed", function() end },
        add_service = { { name = "sweep2", version = "1.0.0" } },
        service_ping = { { timeout = 0.05 } },
        service_info = { { name = "sweep", timeout = 0.05 } },
        service_stats = { { name = "sweep", max_responses = 1,
                            timeout = 0.05 } },
    },
    sub = {
        next_msg = { 0 },
        next_msgs = { 2, 0 },
        messages = { 0 },
        unsubscribe = {},
        drain = {},
        pending = {},
        set_pending_limits = { 10, 1024 },
        pending_limits = {},
        dropped = {},
        delivered = {},
        is_valid = {},
        close = {},
    },
    msg = {
        respond = { "x" },
        header_values = { "K" },
        header_items = {},
        unpack = {},
        ack = {},
        ack_sync = { 0.05 },
        nak = {},
        term = {},
        in_progress = {},
        metadata = {},
    },
    js = {
        account_info = {},
        api_level = {},
        pause_consumer = { "SWEEP", "c", 1 },
        resume_consumer = { "SWEEP", "c" },
        unpin_consumer = { "SWEEP", "c", "g" },
        reset_consumer = { "SWEEP", "c", 1 },
        create_stream = { { name = "SWEEP2", subjects = { "sweep2.>" } } },
        update_stream = { { name = "SWEEP", subjects = { "sweepjs.>" } } },
        create_or_update_stream = { { name = "SWEEP",
                                      subjects = { "sweepjs.>" } } },
        stream_info = { "SWEEP" },
        delete_stream = { "SWEEP" },
        purge_stream = { "SWEEP", { keep = 1 } },
        stream_names = {},
        streams = {},
        get_msg = { "SWEEP", 1 },
        get_last_msg = { "SWEEP", "sweepjs.x" },
        delete_msg = { "SWEEP", 1 },
        direct_get_batch = { "SWEEP", { seq = 1, batch = 2 } },
        publish = { "sweepjs.x", "x", { msg_id = "a" } },
        publish_async = { "sweepjs.x", "x" },
        publish_async_poll = {},
        publish_async_complete = { 0.05 },
        publish_async_wait = { 0 },
        publish_async_pending = {},
        atomic_batch = {},
        publish_atomic = { { { "sweepjs.x", "x" }, { "sweepjs.y", "y" } },
                           { timeout = 1 } },
        counter_add = { "sweepjs.n", 1 },
        counter_get = { "SWEEP", "sweepjs.n" },
        counter_get_many = { "SWEEP", { "sweepjs.n" }, 1 },
        fast_batch = { { timeout = 1 } },
        publish_batch = { { { "sweepjs.x", "x" }, { "sweepjs.y", "y" } },
                          { timeout = 1 } },
        create_consumer = { "SWEEP", { durable = "c2" } },
        update_consumer = { "SWEEP", { durable = "c", ack_wait = 10 } },
        create_or_update_consumer = { "SWEEP", { durable = "c" } },
        consumer = { "SWEEP", "c" },
        consumer_info = { "SWEEP", "c" },
        delete_consumer = { "SWEEP", "c" },
        consumer_names = { "SWEEP" },
        consumers = { "SWEEP" },
        ordered_consumer = { "SWEEP", { filter_subject = "sweepjs.x",
                                        idle_heartbeat = 1 } },
        create_key_value = { { bucket = "SWEEPKV2" } },
        update_key_value = { { bucket = "SWEEPKV", history = 2 } },
        create_or_update_key_value = { { bucket = "SWEEPKV", ttl = 60 } },
        key_value = { "SWEEPKV" },
        delete_key_value = { "SWEEPKV" },
        key_value_names = {},
        key_value_stores = {},
        create_object_store = { { bucket = "SWEEPOBS2" } },
        update_object_store = { { bucket = "SWEEPOBS", description = "d" } },
        create_or_update_object_store = { { bucket = "SWEEPOBS" } },
        object_store = { "SWEEPOBS" },
        delete_object_store = { "SWEEPOBS" },
        object_store_names = {},
        object_stores = {},
        close = {},
    },
    obs = {
        bucket = {},
        put = { "p", "x" },
        get = { "o" },
        open = { "o" },
        info = { "o", true },
        list = { true },
        delete = { "o" },
        update_meta = { "o", { description = "d" } },
        add_link = { "l", SELF, "o" },
        add_bucket_link = { "bl", SELF },
        watch = { { include_history = true } },
        status = {},
        seal = {},
        close = {},
    },
    oreader = {
        read = { 1, 0.05 },
        info = {},
        close = {},
    },
    owatcher = {
        next = { 0 },
        stop = {},
        close = {},
    },
    kv = {
        bucket = {},
        put = { "k", "v" },
        get = { "k", 1 },
        create = { "k2", "v" },
        update = { "k", "v", 1 },
        delete = { "k", 1 },
        purge = { "k" },
        purge_deletes = { 60 },
        keys = { "k.>" },
        list_keys = { "k.>" },
        history = { "k" },
        get_many = { { "k" } },
        status = {},
        watch = { "k", { include_history = true } },
        watch_all = { { ignore_deletes = true } },
        close = {},
    },
    watcher = {
        next = { 0 },
        entries = { 0 },
        stop = {},
        close = {},
    },
    cons = {
        fetch = { 1, 0.01 },
        messages = { { batch = 2, max_bytes = 0, expires = 1 } },
        info = {},
        name = {},
        stream = {},
        close = {},
    },
    cm = {
        next = { 0 },
        messages = { 0 },
        stop = {},
        close = {},
    },
    oc = {
        next = { 0 },
        messages = { 0 },
        last_sequence = {},
        close = {},
    },
    svc = {
        add_endpoint = { { name = "swept", handler = function() end } },
        add_group = { { name = "swept" } },
        id = {},
        name = {},
        version = {},
        info = {},
        stats = {},
        reset = {},
        stop = {},
        stopped = {},
        wait = { 0 },
        close = {},
    },
    group = {
        add_endpoint = { { name = "gswept", handler = function() end } },
        add_group = { { name = "inner", queue_group = "g" } },
    },
    ep = {
        name = {},
        subject = {},
        queue_group = {},
    },
    req = {
        respond = { "x" },
        respond_error = { "400", "bad" },
        header_values = { "K" },
        header_items = {},
        unpack = {},
    },
    ab = {
        add = { "sweepjs.x", "x", { msg_id = "b" } },
        commit = { "sweepjs.x", "x", { timeout = 1 } },
        id = {},
        count = {},
        close = {},
    },
    fb = {
        add = { "sweepjs.x", "x", { msg_id = "f" } },
        commit = { "sweepjs.x", "x", { headers = { K = "v" } } },
        acked = {},
        take_errors = {},
        close = {},
    },
    db = {
        next = { 0 },
        messages = { 0 },
        num_pending = {},
        last_seq = {},
        up_to_seq = {},
        close = {},
    },
    module = {
        now = {},
        connect = { { servers = url } },
        poll = { {}, 0 },
        pack = { { a = 1 } },
        unpack = { "\x81\xa1a\x01" },
        array = { {} },
        is_array = { {} },
        bin = { "b" },
        is_bin = { "b" },
        config_fields = { "stream" },
        call_options = { "fetch" },
        sleep = { 0 },
        signals = { { "USR2" } },
    },
}

-- Methods taking a subject first: a bad one must never be accepted.
local SUBJECT_FIRST = {
    publish = true, publish_packed = true, request = true,
    request_start = true, subscribe = true,
}
local BAD_SUBJECTS = { "", "a b", "a\0b", "a..b", "a.>", "a\r\nb" }

local BAD = {
    n = 17,
    nil, false, true, 0, -1, 0.001, 0 / 0, math.mininteger, math.maxinteger,
    "", "a b", "a\0b", {}, function() end, io.stdout,
    coroutine.create(function() end), setmetatable({}, { __index = error }),
}
-- Timeouts: nil (where the default waits) and huge values would make the
-- sweep wait instead of test, so those are not tried there.
local TIMEOUT = {
    ["conn.request#3"] = true, ["conn.flush#1"] = true,
    ["conn.drain#1"] = true, ["conn.next_event#1"] = true,
    ["sub.next_msg#1"] = true, ["sub.next_msgs#2"] = true,
    ["sub.messages#1"] = true, ["module.poll#2"] = true,
    ["cons.fetch#2"] = true, ["js.publish_async_complete#1"] = true,
    ["js.publish_async_wait#1"] = true,
    ["msg.ack_sync#1"] = true, ["watcher.next#1"] = true,
    ["owatcher.next#1"] = true, ["oreader.read#2"] = true,
    ["cm.next#1"] = true, ["cm.messages#1"] = true,
    ["oc.next#1"] = true, ["oc.messages#1"] = true,
    ["db.next#1"] = true, ["db.messages#1"] = true,
    ["js.counter_get_many#3"] = true,
    ["module.sleep#1"] = true, ["svc.wait#1"] = true,
    ["conn.service_ping#1"] = true, ["conn.service_info#1"] = true,
    ["conn.service_stats#1"] = true,
}
local function waits(where, value)
    return TIMEOUT[where] and (value == nil or value == math.maxinteger)
end

local calls, problems = 0, {}
local trace = os.getenv("SWEEP_TRACE")

local function problem(label, text)
    problems[#problems + 1] = label .. ": " .. text
end

local function outcome(label, ok, a, b)
    calls = calls + 1
    if not ok then
        if type(a) ~= "string" then
            problem(label, "raised a " .. type(a) .. " instead of a message")
        end
        return "raised"
    end
    if a == nil and b ~= nil then
        if getmetatable(b) == nil or type(b.code) ~= "string" or
            type(b.message) ~= "string" then
            problem(label, "returned nil and a malformed error " .. tostring(b))
        end
        return "failed"
    end
    return "ok"
end

local function objects()
    local nc = assert(jetwire.connect { servers = url, name = "sweep" })
    local sub = assert(nc:subscribe("sweep.subject"))
    assert(nc:publish("sweep.subject", "hello",
                      { reply = "sweep.reply", headers = { K = "v" } }))
    local msg = assert(sub:next_msg(2))
    local js = assert(nc:jetstream { timeout = 2 })
    js:delete_stream("SWEEP2")
    assert(js:create_or_update_stream { name = "SWEEP",
                                        subjects = { "sweepjs.>" } })
    assert(js:publish("sweepjs.x", "x"))
    local cons = assert(js:create_or_update_consumer("SWEEP",
                                                     { durable = "c" }))
    js:delete_key_value("SWEEPKV2")
    local kv = assert(js:create_or_update_key_value { bucket = "SWEEPKV" })
    assert(kv:put("k", "v"))
    local watcher = assert(kv:watch_all())
    -- A fresh object store each time: one method seals it.
    js:delete_object_store("SWEEPOBS2")
    js:delete_object_store("SWEEPOBS")
    local obs = assert(js:create_object_store { bucket = "SWEEPOBS" })
    assert(obs:put("o", "object"))
    local oreader = assert(obs:open("o"))
    local owatcher = assert(obs:watch())
    local cm = assert(cons:messages { batch = 2, expires = 1 })
    local oc = assert(js:ordered_consumer("SWEEP"))
    -- A direct get batch needs nats-server 2.11: nil before.
    local db = js:direct_get_batch("SWEEP", { seq = 1, batch = 2 })
    -- An atomic batch needs nats-server 2.12: nil before.
    local ab = js:atomic_batch()
    -- A fast batch needs nats-server 2.14: nil before.
    local fb = js:fast_batch { timeout = 1 }
    -- A service with a group and an endpoint, and a request kept after
    -- its handler returned.
    local svc = assert(nc:add_service { name = "sweep", version = "1.0.0",
                                        stats_handler = function() end })
    local group = assert(svc:add_group { name = "sweepsvc" })
    local req
    local ep = assert(group:add_endpoint { name = "ep", handler = function(r)
        req = r
        r:respond("x")
    end })
    assert(nc:request_start("sweepsvc.ep", "x", { headers = { K = "v" } }))
    local deadline = jetwire.now() + 5
    while not req and jetwire.now() < deadline do
        jetwire.poll({ nc }, 0.05)
        nc:process()
    end
    assert(req, "the sweep's service got no request")
    return { conn = nc, sub = sub, msg = msg, js = js, cons = cons, kv = kv,
             watcher = watcher, obs = obs, oreader = oreader,
             owatcher = owatcher, cm = cm, oc = oc, db = db, ab = ab, fb = fb,
             svc = svc,
             group = group, ep = ep, req = req }
end

local function methods_of(obj)
    local index = getmetatable(obj).__index
    if type(index) == "function" then
        local _, t = debug.getupvalue(index, 1)
        index = t
    end
    local names = {}
    for k, v in pairs(index) do
        if type(v) == "function" then names[#names + 1] = k end
    end
    table.sort(names)
    return names
end

local function args_with(base, pos, bad)
    local args = { n = math.max(#base, pos) }
    for i = 1, args.n do args[i] = base[i] end
    args[pos] = bad
    return args
end

local function sweep_fn(kind, name, fn, self_of, live)
    local base = BASE[kind][name]
    if not base then
        problem(kind .. "." .. name, "not in the sweep's BASE: add it")
        return
    end
    local function call(args)
        if trace then io.stderr:write(kind, ".", name, " ", args.n, "\n") end
        local self = self_of()
        for i = 1, args.n do
            if args[i] == SELF then args[i] = self end
        end
        if self == nil then
            return pcall(fn, table.unpack(args, 1, args.n))
        end
        return pcall(fn, self, table.unpack(args, 1, args.n))
    end
    outcome(kind .. "." .. name .. " valid", call(args_with(base, 1, base[1])))
    for pos = 1, math.max(#base, 1) + 1 do
        for i = 1, BAD.n do
            local bad = BAD[i]
            if not waits(kind .. "." .. name .. "#" .. pos, bad) then
                local label = string.format("%s.%s arg %d = %s", kind, name,
                                            pos, tostring(bad))
                outcome(label, call(args_with(base, pos, bad)))
            end
        end
    end
    if live and kind == "conn" and SUBJECT_FIRST[name] then
        for _, subject in ipairs(BAD_SUBJECTS) do
            if not (name == "subscribe" and subject == "a.>") then
                local label = string.format("conn.%s subject %q", name,
                                            subject)
                local result = outcome(label,
                                       call(args_with(base, 1, subject)))
                if result == "ok" then problem(label, "was accepted") end
            end
        end
    end
end

-- Each method gets fresh objects (one may close or drain them): live, with
-- the connection closed, and with the handles themselves closed (parents
-- first, so children outlive the context and bucket they borrow from).
local probe = objects()
local names = {}
local KINDS = { "conn", "sub", "msg", "js", "cons", "kv", "watcher",
                "obs", "oreader", "owatcher", "cm",
                "oc", "svc", "group", "ep", "req" }
if probe.db then KINDS[#KINDS + 1] = "db" end
if probe.ab then KINDS[#KINDS + 1] = "ab" end
if probe.fb then KINDS[#KINDS + 1] = "fb" end
for _, kind in ipairs(KINDS) do
    names[kind] = methods_of(probe[kind])
    for name in pairs(BASE[kind]) do
        local found = false
        for _, n in ipairs(names[kind]) do found = found or n == name end
        if not found then problem(kind .. "." .. name, "no longer exists") end
    end
end
probe.conn:close()

local RELEASED = { "js", "kv", "watcher", "obs", "oreader", "owatcher",
                   "cons", "cm", "oc", "sub", "svc" }
if probe.db then RELEASED[#RELEASED + 1] = "db" end
if probe.ab then RELEASED[#RELEASED + 1] = "ab" end
if probe.fb then RELEASED[#RELEASED + 1] = "fb" end
for _, mode in ipairs { "live", "conn closed", "handles closed" } do
    local live = mode == "live"
    for _, kind in ipairs(KINDS) do
        for _, name in ipairs(names[kind]) do
            local objs = objects()
            if mode == "conn closed" then objs.conn:close() end
            if mode == "handles closed" then
                for _, k in ipairs(RELEASED) do assert(objs[k]:close()) end
            end
            local fn = objs[kind][name]
            sweep_fn(kind, name, fn, function() return objs[kind] end, live)
            -- Called on something that is not its object: raises.
            for _, other in ipairs { 5, "x", {}, objs.conn, objs.sub,
                                      objs.msg, objs.js, objs.cons, objs.kv,
                                      objs.watcher, objs.obs, objs.oreader,
                                      objs.owatcher, objs.cm, objs.oc,
                                      objs.db or 5, objs.ab or 5,
                                      objs.fb or 5, objs.svc,
                                      objs.group,
                                      objs.ep, objs.req } do
                if other ~= objs[kind] then
                    local ok = outcome(kind .. "." .. name .. " on a " ..
                                       type(other), pcall(fn, other))
                    if ok ~= "raised" and getmetatable(other) ~=
                        getmetatable(objs[kind]) then
                        problem(kind .. "." .. name, "accepted a foreign self")
                    end
                end
            end
            objs.conn:close()
            collectgarbage()
        end
    end
end

for name, fn in pairs(jetwire) do
    if type(fn) == "function" then
        sweep_fn("module", name, fn, function() return nil end, true)
    end
end
collectgarbage()

print(string.format("%d calls, %d problems", calls, #problems))
for _, p in ipairs(problems) do print("PROBLEM " .. p) end
os.exit(#problems == 0 and 0 or 1)
