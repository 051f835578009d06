-- Tests of the Lua Key-Value API against a nats-server with JetStream: the
-- tutorial's service-config flow with a watcher seeing a write from another
-- connection, create over deleted and live keys, stale updates, history
-- limits, TTL expiry, purge, missing keys, the end-of-initial-values
-- marker, watch options, 10,000 keys, configurations refused (by the
-- engine), ttl in seconds and the fields of newer servers, and handles
-- closed in every order: the connection, context, consumer, consumption,
-- ordered consumer, bucket, watcher and key lister closed or collected
-- parents first in all 120 such orders, the rest used after each step.
--
--   lua5.4 tests/lua/test_kv.lua nats://127.0.0.1:4222
--
-- Exits 0 when every test passed.

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local jetwire = h.jetwire
local test, eq, fails, raises = h.test, h.eq, h.fails, h.raises

local connect = h.connect

-- A fresh bucket (deleted first when a test left it).
local function fresh_bucket(js, name, extra)
    js:delete_key_value(name)
    local cfg = { bucket = name }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(js:create_key_value(cfg))
end

-- A test on a fresh bucket: fn(kv, js) on a connection of its own; the
-- bucket is deleted when fn passed.
local function bucket_test(title, name, extra, fn)
    test(title, function()
        local nc <close> = connect()
        local js = assert(nc:jetstream())
        fn(fresh_bucket(js, name, extra), js)
        assert(js:delete_key_value(name))
    end)
end

-- Everything a watcher hands out until it is quiet for `quiet` seconds:
-- entries, and the string "MARKER" for each end-of-initial-values marker.
local function drain(w, quiet)
    local got = {}
    while true do
        local e, err = w:next(quiet or 0.3)
        if e == nil then
            eq(err.code, "TIMEOUT", "watch ends by timing out")
            return got
        end
        got[#got + 1] = e == false and "MARKER" or e
    end
end

local function count_markers(got)
    local n = 0
    for _, v in ipairs(got) do
        if v == "MARKER" then n = n + 1 end
    end
    return n
end

local function sorted(t)
    local copy = {}
    for i, v in ipairs(t) do copy[i] = v end
    table.sort(copy)
    return table.concat(copy, ",")
end

test("the tutorial's service-config flow", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    js:delete_key_value("service-config")
    local kv = assert(js:create_or_update_key_value {
        bucket = "service-config", description = "Service configuration store",
        ttl = 86400, history = 5, storage = "file" })
    eq(kv:bucket(), "service-config", "bucket name")
    assert(tostring(kv):find("service-config", 1, true), "tostring")
    local config = '{"endpoint":"https://api.example.com","timeout_ms":5000}'
    local rev = assert(kv:put("payment-service", config))
    assert(math.type(rev) == "integer" and rev >= 1, "revision")
    local e = assert(kv:get("payment-service"))
    eq(e.bucket, "service-config", "entry bucket")
    eq(e.key, "payment-service", "entry key")
    eq(e.value, config, "entry value")
    eq(e.revision, rev, "entry revision")
    eq(e.operation, "PUT", "entry operation")
    eq(e.delta, 0, "entry delta")
    assert(math.abs(e.created - os.time()) < 60, "created in seconds")
    eq(e.created_ns // 1000000000, math.floor(e.created), "created_ns")
    local newer = assert(kv:update("payment-service",
                                   config:gsub("5000", "10000"), e.revision))
    assert(newer > rev, "update gives a newer revision")
    local keys = assert(kv:keys())
    eq(#keys, 1, "one key")
    eq(keys[1], "payment-service", "the key")
    local st = assert(kv:status())
    eq(st.bucket, "service-config", "status bucket")
    eq(st.history, 5, "status history")
    eq(st.ttl, 86400, "status ttl in seconds")
    eq(st.values, 2, "status values")
    eq(st.backing_store, "JetStream", "backing store")
    local names = assert(js:key_value_names())
    local found = false
    for _, n in ipairs(names) do found = found or n == "service-config" end
    assert(found, "service-config in key_value_names")

    -- The watcher sees the current value, the marker, then a write made
    -- from another connection.
    local w = assert(kv:watch("payment-service"))
    local first = assert(w:next(2))
    eq(first.revision, newer, "current value first")
    eq(w:next(2), false, "then the marker")
    local other <close> = connect()
    local kv2 = assert(assert(other:jetstream()):key_value("service-config"))
    local changed = assert(kv2:put("payment-service", "max_retries=5"))
    local update = assert(w:next(2))
    eq(update.value, "max_retries=5", "the other connection's write")
    eq(update.revision, changed, "its revision")
    eq(update.key, "payment-service", "its key")
    fails("TIMEOUT", w.next, w, 0.05)
    assert(w:stop())
    fails("INVALID_ARG", w.next, w, 0)
    assert(w:stop(), "stop twice")
    assert(js:delete_key_value("service-config"))
    fails("BUCKET_NOT_FOUND", js.key_value, js, "service-config")
end)

bucket_test("create, update and delete by revision", "lua-kv-cas",
            { history = 5 }, function(kv)
    local r1 = assert(kv:create("k", "one"))
    local err = fails("KEY_EXISTS", kv.create, kv, "k", "again")
    assert(#err.message > 0, "a message")
    fails("WRONG_LAST_SEQUENCE", kv.update, kv, "k", "stale", r1 + 100)
    local r2 = assert(kv:update("k", "two", r1))
    fails("WRONG_LAST_SEQUENCE", kv.update, kv, "k", "stale", r1)
    fails("WRONG_LAST_SEQUENCE", kv.delete, kv, "k", r1)
    -- Older revisions stay readable by number.
    eq(assert(kv:get("k", r1)).value, "one", "get by revision")
    fails("KEY_NOT_FOUND", kv.get, kv, "other", r1)
    assert(kv:delete("k", r2))
    fails("KEY_DELETED", kv.get, kv, "k")
    fails("KEY_DELETED", kv.get, kv, "k", r2 + 1)
    local r4 = assert(kv:create("k", "reborn"), "create over a deleted key")
    eq(assert(kv:get("k")).value, "reborn", "created again")
    assert(kv:purge("k"))
    local r6 = assert(kv:create("k", "after purge"),
                      "create over a purged key")
    assert(r6 > r4, "revisions grow")
    fails("KEY_NOT_FOUND", kv.get, kv, "k", r2)
    eq(assert(kv:put("empty", "")), r6 + 1, "an empty value")
    eq(assert(kv:get("empty")).value, "", "empty value read back")
    local bin = "a\0b\255"
    assert(kv:put("bin", bin))
    eq(assert(kv:get("bin")).value, bin, "binary value")
end)

bucket_test("get of a missing key, keys of an empty bucket", "lua-kv-empty",
            nil, function(kv)
    fails("KEY_NOT_FOUND", kv.get, kv, "nothing")
    fails("KEY_NOT_FOUND", kv.history, kv, "nothing")
    local keys = assert(kv:keys())
    eq(type(keys), "table", "keys is a table")
    eq(#keys, 0, "no keys")
    eq(next(keys), nil, "empty")
    -- A marker only: the watch of an empty bucket.
    local w = assert(kv:watch_all())
    eq(w:next(2), false, "the marker at once")
    fails("TIMEOUT", w.next, w, 0.05)
    fails("INVALID_ARG", kv.get, kv, "bad key")
    fails("INVALID_ARG", kv.put, kv, "a..b", "x")
    fails("INVALID_ARG", kv.put, kv, "nul\0key", "x")
end)

bucket_test("history keeps at most `history` entries; purge drops it",
            "lua-kv-hist", { history = 3 }, function(kv)
    for i = 1, 6 do assert(kv:put("k", "v" .. i)) end
    assert(kv:delete("k"))
    local hist = assert(kv:history("k"))
    eq(#hist, 3, "three kept")
    eq(hist[1].value, "v5", "oldest kept")
    eq(hist[2].value, "v6", "then")
    eq(hist[3].operation, "DEL", "the delete marker last")
    eq(hist[1].delta, 2, "delta counts down")
    eq(hist[3].delta, 0, "to zero")
    assert(hist[1].revision < hist[2].revision, "oldest first")
    assert(kv:purge("k"))
    hist = assert(kv:history("k"))
    eq(#hist, 1, "purge leaves its marker only")
    eq(hist[1].operation, "PURGE", "the purge marker")
    eq(hist[1].value, "", "markers have no value")
    fails("KEY_DELETED", kv.get, kv, "k")
    eq(#assert(kv:keys()), 0, "no live keys")
    -- purge_deletes: young markers stay by default, all go with 0.
    assert(kv:purge_deletes())
    eq(#assert(kv:history("k")), 1, "a young marker stays")
    assert(kv:purge_deletes(0))
    fails("KEY_NOT_FOUND", kv.history, kv, "k")
    eq(assert(kv:status()).values, 0, "nothing stored")
end)

bucket_test("TTL expiry", "lua-kv-ttl", { ttl = 0.5 }, function(kv)
    eq(assert(kv:status()).ttl, 0.5, "ttl in seconds")
    assert(kv:put("short", "lived"))
    eq(assert(kv:get("short")).value, "lived", "there at first")
    local deadline = jetwire.now() + 5
    local value, err
    repeat
        jetwire.poll({}, 0.1)
        value, err = kv:get("short")
    until value == nil or jetwire.now() > deadline
    eq(value, nil, "gone after the ttl")
    eq(err.code, "KEY_NOT_FOUND", "expired is not found")
    eq(#assert(kv:keys()), 0, "no keys left")
end)

bucket_test("the marker comes exactly once, after the current values",
            "lua-kv-marker", { history = 5 }, function(kv)
    for i = 1, 20 do assert(kv:put("k" .. (i % 5), "v" .. i)) end
    assert(kv:delete("k0"))
    local w = assert(kv:watch_all())
    -- Writes from another connection while the watch starts: they come
    -- after the marker, which still comes once.
    local other <close> = connect()
    local kv2 = assert(assert(other:jetstream()):key_value("lua-kv-marker"))
    for i = 1, 50 do assert(kv2:put("live" .. i, "x")) end
    local got = drain(w)
    eq(count_markers(got), 1, "one marker")
    local before = {}
    for _, v in ipairs(got) do
        if v == "MARKER" then break end
        before[#before + 1] = v
    end
    eq(#before, 5, "one current entry per key (the delete marker too)")
    local ops = {}
    for _, e in ipairs(before) do ops[e.key] = e.operation end
    eq(ops.k0, "DEL", "the delete marker is a current value")
    eq(#got, 5 + 1 + 50, "then every live write")
    -- The iterator gives the same: entries, false once.
    local w2 = assert(kv:watch("k1"))
    local seen, markers = 0, 0
    for e in w2:entries(0.3) do
        if e == false then markers = markers + 1 else seen = seen + 1 end
    end
    eq(markers, 1, "iterator marker")
    eq(seen, 1, "iterator entries")
    fails("TIMEOUT", w2.next, w2, 0)
    w2:stop()
    for _ in w2:entries(0) do error("a stopped watcher gives nothing") end
    -- A failure is not the end: iterating a watcher whose connection
    -- closed raises.
    local other = connect()
    local okv = assert(assert(other:jetstream()):key_value(kv:bucket()))
    local w3 = assert(okv:watch_all())
    other:close()
    local ok, err = pcall(function() for _ in w3:entries(1) do end end)
    assert(not ok and tostring(err):find("CLOSED"), tostring(err))
end)

bucket_test("watch options", "lua-kv-opts", { history = 10 }, function(kv)
    assert(kv:put("a", "a1"))
    assert(kv:put("a", "a2"))
    assert(kv:put("b", "b1"))
    assert(kv:delete("b"))
    assert(kv:put("svc.x", "x1"))
    assert(kv:put("svc.y", "y1"))

    local got = drain(assert(kv:watch_all { include_history = true }))
    eq(#got, 7, "every stored entry, then the marker")
    eq(got[7], "MARKER", "marker last")
    eq(got[1].value, "a1", "history from the oldest")

    got = drain(assert(kv:watch_all { ignore_deletes = true }))
    eq(#got, 4, "a, svc.x, svc.y and the marker")
    for _, e in ipairs(got) do
        if e ~= "MARKER" then eq(e.operation, "PUT", "no markers") end
    end
    eq(count_markers(got), 1, "the marker still comes")

    got = drain(assert(kv:watch("a", { meta_only = true })))
    eq(#got, 2, "a and the marker")
    eq(got[1].value, "", "meta_only leaves the value out")
    eq(got[1].key, "a", "but not the key")

    local w = assert(kv:watch_all { updates_only = true })
    eq(w:next(1), false, "updates_only: the marker at once")
    fails("TIMEOUT", w.next, w, 0.1)
    local rev = assert(kv:put("a", "a3"))
    local e = assert(w:next(2))
    eq(e.revision, rev, "only the new write")

    got = drain(assert(kv:watch("svc.*")))
    eq(#got, 3, "a filter: svc.x, svc.y, marker")
    eq(sorted { got[1].key, got[2].key }, "svc.x,svc.y", "filtered keys")
    eq(sorted(assert(kv:keys("svc.>"))), "svc.x,svc.y", "keys by filter")

    local err = fails("INVALID_ARG", kv.watch_all, kv,
                      { include_history = true, updates_only = true })
    assert(err.message:find("exclude", 1, true), err.message)
    raises(kv.watch, kv, "a", { include_history = 1 })
    raises(kv.watch, kv, "a", { bogus = true })
end)

test("10,000 keys listed", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream { timeout = 30 })
    local kv = fresh_bucket(js, "lua-kv-many", { storage = "memory" })
    for i = 1, 10000 do
        assert(js:publish_async("$KV.lua-kv-many.key" .. i, "v"))
    end
    assert(js:publish_async_complete(30))
    local keys = assert(kv:keys())
    eq(#keys, 10000, "every key")
    local seen = {}
    for _, k in ipairs(keys) do seen[k] = true end
    assert(seen.key1 and seen.key10000, "first and last")
    eq(assert(kv:status()).values, 10000, "values")
    -- The streaming lister: the same keys, one at a time.
    local listed, again = 0, {}
    for k in kv:list_keys() do
        assert(seen[k] and not again[k], "a listed key, once: " .. k)
        again[k] = true
        listed = listed + 1
    end
    eq(listed, 10000, "every key listed")
    assert(kv:delete("key7"))
    local filtered = {}
    for k in kv:list_keys("key7") do filtered[#filtered + 1] = k end
    eq(#filtered, 0, "a deleted key is not listed")
    for k in kv:list_keys("key8") do filtered[#filtered + 1] = k end
    eq(filtered[1], "key8", "a filter")
    for _ in kv:list_keys() do break end -- leaving early closes it
    local ok, err = pcall(kv.list_keys, kv, "key*x")
    assert(not ok and tostring(err):find("INVALID_ARG"), tostring(err))
    assert(js:delete_key_value("lua-kv-many"))
end)

test("bucket configurations: checked fields, create vs update", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    js:delete_key_value("lua-kv-cfg")
    -- The engine checks the fields: nil, err naming the field.
    local err = fails("INVALID_ARG", js.create_key_value, js,
                      { bucket = "lua-kv-cfg", histroy = 5 })
    assert(err.message:find("unknown bucket configuration field 'histroy'",
                            1, true), err.message)
    for _, case in ipairs { { "bucket", { bucket = 5 } },
                            { "history", { bucket = "x", history = "5" } },
                            { "history", { bucket = "x", history = 1.5 } },
                            { "ttl", { bucket = "x", ttl = -1 } },
                            { "ttl", { bucket = "x", ttl = "1s" } },
                            { "republish", { bucket = "x",
                                             republish = "yes" } } } do
        local e = fails("INVALID_ARG", js.create_key_value, js, case[2])
        assert(e.message:find("'" .. case[1] .. "'", 1, true), e.message)
    end
    fails("INVALID_ARG", js.create_key_value, js, {})
    -- What JSON cannot hold raises, as for any configuration.
    raises(js.create_key_value, js, { bucket = "x", ttl = 0 / 0 })
    raises(js.create_key_value, js, { bucket = "x", [1] = 2 })
    raises(js.create_key_value, js, "x")
    fails("INVALID_ARG", js.create_key_value, js, { bucket = "bad name" })
    fails("INVALID_ARG", js.create_key_value, js,
          { bucket = "x", history = 65 })
    fails("INVALID_ARG", js.key_value, js, "nul\0name")
    fails("BUCKET_NOT_FOUND", js.update_key_value, js,
          { bucket = "lua-kv-cfg" })
    local kv = assert(js:create_key_value {
        bucket = "lua-kv-cfg", history = 2, max_value_size = 16,
        max_bytes = 1 << 20, replicas = 1, storage = "memory",
        republish = { src = ">", dest = "lua-kv-cfg-republished.>" } })
    local same = assert(js:create_key_value {
        bucket = "lua-kv-cfg", history = 2, max_value_size = 16,
        max_bytes = 1 << 20, replicas = 1, storage = "memory",
        republish = { src = ">", dest = "lua-kv-cfg-republished.>" } })
    assert(same:close(), "create again with the same configuration")
    local err2 = fails("JETSTREAM", js.create_key_value, js,
                       { bucket = "lua-kv-cfg", history = 3 })
    assert(err2.message:find("10058", 1, true), err2.message)
    local st = assert(kv:status())
    eq(st.history, 2, "history")
    eq(st.storage, "memory", "storage")
    fails("JETSTREAM", kv.put, kv, "big", string.rep("x", 64))
    local sub = assert(nc:subscribe("lua-kv-cfg-republished.>"))
    assert(kv:put("k", "v"))
    local m = assert(sub:next_msg(2))
    eq(m.data, "v", "republished")
    local republish = { src = ">", dest = "lua-kv-cfg-republished.>" }
    local kv2 = assert(js:update_key_value {
        bucket = "lua-kv-cfg", history = 4, max_value_size = 16,
        storage = "memory", republish = republish })
    eq(assert(kv2:status()).history, 4, "updated")
    eq(assert(kv:status()).history, 4, "seen through the first handle")
    assert(js:create_or_update_key_value {
        bucket = "lua-kv-cfg", history = 4, max_value_size = 16,
        storage = "memory", republish = republish })
    assert(js:delete_key_value("lua-kv-cfg"))
    fails("BUCKET_NOT_FOUND", kv.status, kv)
end)

test("handles closed in any order, never a crash", function()
    local nc = connect()
    local js = assert(nc:jetstream())
    local kv = fresh_bucket(js, "lua-kv-close")
    assert(kv:put("k", "v"))
    local w = assert(kv:watch("k"))
    -- Closing the context and the bucket first: the watcher still works
    -- (the engine keeps them for it), the closed handles report errors.
    assert(js:close())
    assert(kv:close())
    assert(kv:close(), "close twice")
    assert(tostring(kv):find("closed", 1, true), "tostring of a closed one")
    fails("INVALID_ARG", kv.get, kv, "k")
    fails("INVALID_ARG", kv.put, kv, "k", "v")
    fails("INVALID_ARG", kv.watch, kv, "k")
    fails("INVALID_ARG", js.key_value, js, "lua-kv-close")
    eq(assert(w:next(2)).value, "v", "the watcher outlives its parents")
    eq(w:next(2), false, "marker")
    assert(w:stop())
    assert(tostring(w):find("stopped", 1, true), "tostring of a stopped one")

    -- The connection closed under a live bucket and watcher.
    local js2 = assert(nc:jetstream())
    local kv2 = assert(js2:key_value("lua-kv-close"))
    local w2 = assert(kv2:watch_all())
    assert(js2:delete_key_value("lua-kv-close"))
    nc:close()
    fails("CONNECTION_CLOSED", kv2.get, kv2, "k")
    fails("CONNECTION_CLOSED", kv2.put, kv2, "k", "v")
    local e, err = w2:next(0.2)
    while e ~= nil do e, err = w2:next(0.2) end
    assert(err.code == "CONNECTION_CLOSED" or err.code == "TIMEOUT", err)
    -- Dropped without closing: the collector frees them in any order.
    js2, kv2, w2 = nil, nil, nil
    collectgarbage()
    collectgarbage()
    local nc3 <close> = connect()
    local js3 = assert(nc3:jetstream())
    do
        local kv3 = fresh_bucket(js3, "lua-kv-gc")
        local w3 = assert(kv3:watch_all())
        assert(w3:next(1) == false)
    end
    collectgarbage()
    do
        local kv4 <close> = assert(js3:key_value("lua-kv-gc"))
        local w4 <close> = assert(kv4:watch_all())
    end
    assert(js3:delete_key_value("lua-kv-gc"))
end)

-- Every handle made through a connection, with the one it was made
-- through (nil: the connection itself).
local PARENT = { js = "nc", cons = "js", cm = "cons", oc = "js",
                 kv = "js", w = "kv", ls = "kv" }
local HANDLES = { "nc", "js", "cons", "cm", "oc", "kv", "w", "ls" }

-- Every order of HANDLES that takes a parent before its children (120).
local function parent_first_orders()
    local orders, order, gone = {}, {}, {}
    local function walk()
        if #order == #HANDLES then
            orders[#orders + 1] = table.move(order, 1, #order, 1, {})
            return
        end
        for _, name in ipairs(HANDLES) do
            if not gone[name] and (not PARENT[name] or gone[PARENT[name]]) then
                gone[name], order[#order + 1] = true, name
                walk()
                gone[name], order[#order] = nil, nil
            end
        end
    end
    walk()
    return orders
end

-- One of each handle: a consumption of an ephemeral consumer and an
-- ordered consumer on the stream LIFE, a bucket, a watcher of it and a
-- key lister (its step function in t.step).
local function make_handles()
    local t = { nc = connect() }
    t.js = assert(t.nc:jetstream())
    t.cons = assert(t.js:create_consumer("LIFE", { ack_policy = "explicit",
        ack_wait = 60, inactive_threshold = 5 }))
    t.cm = assert(t.cons:messages { batch = 2, expires = 5 })
    t.oc = assert(t.js:ordered_consumer("LIFE"))
    t.kv = assert(t.js:key_value("lua-kv-life"))
    t.w = assert(t.kv:watch_all())
    t.step, t.ls = t.kv:list_keys()
    return t
end

-- A call that needs the handle and everything it was made through: a
-- value, or nil and an error code.
local USE = {
    nc = function(t) return t.nc:rtt() end,
    js = function(t) return t.js:account_info() end,
    cons = function(t)
        local msgs, err = t.cons:fetch(1, 2)
        if msgs and #msgs ~= 1 then return nil, { code = "NO_MESSAGE" } end
        return msgs, err
    end,
    cm = function(t) return t.cm:next(2) end,
    oc = function(t) return t.oc:next(2) end,
    kv = function(t) return t.kv:get("k01") end,
    w = function(t) return t.w:next(2) end, -- entries: 20 keys, no marker
    ls = function(t)
        local ok, key = pcall(t.step, t.ls)
        if not ok then return nil, { code = key:match("(%u[%u_]+):") } end
        if key == nil then return nil, { code = "DONE" } end
        return key
    end,
}

-- What a closed handle reports.
local CLOSED = {
    nc = { "CONNECTION_CLOSED" },
    js = { "INVALID_ARG", "JetStream context was released" },
    cons = { "INVALID_ARG", "consumer was released" },
    cm = { "INVALID_SUBSCRIPTION", "consumption was stopped" },
    oc = { "INVALID_SUBSCRIPTION", "ordered consumer was closed" },
    kv = { "INVALID_ARG", "bucket handle was closed" },
    w = { "INVALID_ARG", "watcher was stopped" },
    ls = { "DONE" }, -- a closed lister ends the loop
}

-- Readers may still hand out what arrived before their connection closed.
local READERS = { cm = true, oc = true, w = true, ls = true }

-- Use every handle not dropped: a closed one reports so, an open one
-- works while its connection is open, whatever was closed before it.
local function use_all(t, state, where)
    for _, name in ipairs(HANDLES) do
        if state[name] ~= "dropped" then
            local v, err = USE[name](t)
            local code = v == nil and err.code or "ok"
            local what = where .. ": " .. name .. " gave " .. code ..
                         (err and err.message and (" (" .. err.message ..
                                                   ")") or "")
            if state[name] == "closed" then
                eq(code, CLOSED[name][1], what)
                if CLOSED[name][2] then
                    eq(err.message, CLOSED[name][2], what)
                end
            elseif state.nc == "closed" then
                assert(code == "CONNECTION_CLOSED" or
                       (READERS[name] and code == "ok"), what)
            else
                eq(code, "ok", what)
            end
        end
    end
end

local function close_handle(t, name)
    if name == "ls" then -- closed by the generic for, or by hand
        getmetatable(t.ls).__close(t.ls)
    else
        eq(t[name]:close(), true, "close " .. name)
    end
end

-- How the handles go in each pass: "close" calls close, "drop" forgets
-- the handle and collects it, "last" closes the connection after all the
-- others, "mixed" closes and drops by turns.
test("parents closed or collected before their children, every order",
     function()
    local setup <close> = connect()
    local sjs = assert(setup:jetstream())
    sjs:delete_stream("LIFE")
    assert(sjs:create_stream { name = "LIFE", subjects = { "life.>" } })
    for i = 1, 100 do assert(sjs:publish("life.x", tostring(i))) end
    local kv = fresh_bucket(sjs, "lua-kv-life")
    for i = 1, 20 do assert(kv:put(string.format("k%02d", i), "v")) end
    kv = nil
    local orders = parent_first_orders()
    eq(#orders, 120, "orders taking parents first")
    local passes = 0
    for _, mode in ipairs { "close", "last", "drop", "mixed" } do
        for i, order in ipairs(orders) do
            local where = mode .. " " .. table.concat(order, ",")
            local t = make_handles()
            local state = {}
            local weak = setmetatable({}, { __mode = "v" })
            for _, name in ipairs(HANDLES) do weak[name] = t[name] end
            use_all(t, state, where .. ", all open")
            for pos, name in ipairs(order) do
                local how = mode == "last" and "close" or mode
                if mode == "mixed" then
                    how = (pos + i) % 2 == 0 and "close" or "drop"
                end
                if mode == "last" and name == "nc" then
                    -- closed at the end
                elseif how == "close" then
                    close_handle(t, name)
                    state[name] = "closed"
                else
                    t[name] = nil
                    if name == "ls" then t.step = nil end
                    state[name] = "dropped"
                    collectgarbage()
                    collectgarbage()
                    -- Collected at once, but for the connection: what was
                    -- made through it keeps it (and it open) while alive.
                    if name == "nc" then
                        assert(weak.nc, where .. ": connection pinned")
                    else
                        eq(weak[name], nil, where .. ": " .. name ..
                                            " collected")
                    end
                end
                use_all(t, state, where .. ", after " .. name)
            end
            if mode == "last" then
                close_handle(t, "nc")
                state.nc = "closed"
                use_all(t, state, where .. ", connection closed last")
            end
            t = nil
            collectgarbage()
            collectgarbage()
            for _, name in ipairs(HANDLES) do
                eq(weak[name], nil, where .. ": " .. name .. " collected")
            end
            passes = passes + 1
        end
    end
    eq(passes, 480, "passes")
    assert(sjs:delete_key_value("lua-kv-life"))
    assert(sjs:delete_stream("LIFE"))
end)

local server_version = h.server_version

local fails_naming = h.fails_naming

test("bucket durations in seconds, fields of newer servers", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    local version = server_version(nc)
    local kv = fresh_bucket(js, "lua-kv-units", { ttl = 1.5 })
    local st = assert(kv:status())
    eq(st.ttl, 1.5, "status ttl in seconds")
    eq(st.is_compressed, false, "not compressed")
    eq(st.limit_marker_ttl, 0, "no limit markers")
    -- On the wire: the stream's max_age in ns.
    local m = assert(nc:request("$JS.API.STREAM.INFO.KV_lua-kv-units", "", 2))
    eq(tonumber(m.data:match('"max_age":(%d+)')), 1500000000,
       "ttl on the wire")
    assert(js:delete_key_value("lua-kv-units"))
    if version < 21000 then
        fails_naming("NOT_SUPPORTED", { "compression", "2.10.0" },
                     js.create_key_value, js,
                     { bucket = "lua-kv-units", compression = true })
        fails_naming("NOT_SUPPORTED", { "metadata", "2.10.0" },
                     js.create_key_value, js,
                     { bucket = "lua-kv-units", metadata = {} })
        fails_naming("NOT_SUPPORTED", { "metadata", "2.10.0" },
                     js.create_key_value, js,
                     { bucket = "lua-kv-units", metadata = { a = "b" } })
    else
        kv = assert(js:create_key_value { bucket = "lua-kv-units",
            compression = true, metadata = { owner = "lua" } })
        st = assert(kv:status())
        eq(st.is_compressed, true, "compressed")
        eq(st.metadata.owner, "lua", "metadata")
        assert(js:delete_key_value("lua-kv-units"))
        -- An empty metadata table is an empty object.
        kv = assert(js:create_key_value { bucket = "lua-kv-units",
                                          metadata = {} })
        assert(js:delete_key_value("lua-kv-units"))
    end
    if version < 21100 then
        fails_naming("NOT_SUPPORTED", { "limit_marker_ttl", "2.11.0" },
                     js.create_key_value, js,
                     { bucket = "lua-kv-units", limit_marker_ttl = 2.5 })
    else
        kv = assert(js:create_key_value { bucket = "lua-kv-units",
                                          limit_marker_ttl = 2.5 })
        eq(assert(kv:status()).limit_marker_ttl, 2.5,
           "limit_marker_ttl in seconds")
        assert(js:delete_key_value("lua-kv-units"))
    end
    fails("BUCKET_NOT_FOUND", js.key_value, js, "lua-kv-units")
end)

h.finish()
