-- Signals, JSON and sleep in the Lua module. Run by
-- tests/conformance/test_lua_signals.py in two ways:
--
--   lua5.4 test_signals.lua URL unit
--       JSON round trips and errors, sleep, signal sets without a signal;
--       prints the tally and exits 0 when all passed.
--   lua5.4 test_signals.lua URL WAIT LOOP [SET]
--       a child that connects (LOOP: "thread" or "driven"), prints
--       "ready", reads a line from stdin (the test may pause the server
--       first), prints "waiting" and blocks in WAIT with an endless (or
--       very long) timeout. The test sends it a signal and times the
--       "result" line: "result <ok> <value> <code or error>". With SET
--       ("INT,TERM") a jetwire.signals set catches those first, and the
--       signal it took is printed as "taken <name>".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local jetwire = h.jetwire
io.stdout:setvbuf("no")

local what = arg[2] or "unit"

if what == "unit" then
    local json = jetwire.json

    h.test("json: objects, arrays, scalars round trip", function()
        local value = { name = "order", items = { "a", "b", { n = 1 } },
                        nested = { deep = { deeper = { true, false } } },
                        int = 42, neg = -7, float = 99.99, whole = 2.0,
                        big = math.maxinteger, tiny = 1e-300,
                        text = "quote \" back \\ nl \n tab \t é €",
                        nul = "a\0b", null = jetwire.null }
        local text = json.encode(value)
        local back = assert(json.decode(text))
        h.eq(back.name, "order")
        h.eq(back.items[3].n, 1)
        assert(jetwire.is_array(back.items), "arrays come back marked")
        h.eq(back.nested.deep.deeper[2], false)
        h.eq(math.type(back.int), "integer", "integer stays integer")
        h.eq(back.neg, -7)
        h.eq(back.float, 99.99)
        h.eq(math.type(back.whole), "float", "2.0 stays a float")
        h.eq(back.big, math.maxinteger)
        h.eq(back.tiny, 1e-300)
        h.eq(back.text, value.text)
        h.eq(back.nul, "a\0b")
        h.eq(back.null, jetwire.null)
        h.eq(json.encode(back), text, "encode(decode(t)) is t")
    end)

    h.test("json: exact text, keys sorted, shortest floats", function()
        h.eq(json.encode({ b = 1, a = { 1, 2 }, c = "x" }),
             '{"a":[1,2],"b":1,"c":"x"}')
        h.eq(json.encode(0.1), "0.1")
        h.eq(json.encode(1.0), "1.0")
        h.eq(json.encode(1 / 3), "0.3333333333333333")
        h.eq(json.encode("é"), '"é"')
        h.eq(json.encode(true), "true")
        h.eq(json.encode(jetwire.null), "null")
        h.eq(json.null, jetwire.null)
    end)

    h.test("json: empty array vs empty object", function()
        h.eq(json.encode({}), "{}")
        h.eq(json.encode(jetwire.array()), "[]")
        h.eq(json.encode(jetwire.array{}), "[]")
        h.eq(json.encode({ list = jetwire.array(), map = {} }),
             '{"list":[],"map":{}}')
        local back = assert(json.decode('{"list":[],"map":{}}'))
        assert(jetwire.is_array(back.list) and not jetwire.is_array(back.map))
        h.eq(json.encode(back), '{"list":[],"map":{}}')
        h.eq(json.encode(assert(json.decode("[]"))), "[]")
    end)

    h.test("json: decode scalars and top-level arrays", function()
        h.eq(json.decode("3"), 3)
        h.eq(math.type(json.decode("3")), "integer")
        h.eq(json.decode("3.5"), 3.5)
        h.eq(json.decode('"s"'), "s")
        h.eq(json.decode("null"), jetwire.null)
        h.eq(json.decode("false"), false)
        h.eq(#json.decode("[1,[2,[3]]]"), 2)
        h.eq(json.decode('"\\u0000"'), "\0")
    end)

    h.test("json: bad input is nil, err naming the place", function()
        for _, text in ipairs({ "", "{", "[1,", '{"a" 1}', "nul", "{'a':1}",
                                "[1] x", "1e999", "99999999999999999999" }) do
            local err = h.fails("INVALID_ARG", json.decode, text)
            assert(err.message:find("invalid JSON at line %d+, column %d+"),
                   err.message)
        end
        h.raises(json.decode, 42)
        h.raises(json.decode)
    end)

    h.test("json: values JSON cannot hold raise", function()
        local function raises_naming(word, v)
            local err = h.raises(json.encode, v)
            assert(tostring(err):find(word, 1, true), tostring(err))
        end
        raises_naming("function", { f = print })
        raises_naming("finite", 0 / 0)
        raises_naming("finite", { x = math.huge })
        raises_naming("keys must be strings", { [true] = 1 })
        raises_naming("non-sequence", { 1, 2, [10] = 3 })
        raises_naming("UTF-8", "\xff")
        local cycle = {}
        cycle.self = cycle
        raises_naming("nested too deeply", cycle)
        h.raises(json.encode)
    end)

    h.test("sleep waits, refuses bad durations", function()
        local t0 = jetwire.now()
        assert(jetwire.sleep(0.1) == true)
        local took = jetwire.now() - t0
        assert(took >= 0.095 and took < 0.5, "slept " .. took)
        assert(jetwire.sleep(0) == true)
        h.raises(jetwire.sleep)
        h.raises(jetwire.sleep, -1)
        h.raises(jetwire.sleep, "1")
    end)

    h.test("signal sets: wait times out, close, bad names", function()
        local sig = jetwire.signals{ "USR1", "SIGUSR2" }
        assert(tostring(sig):find("USR1, USR2", 1, true), tostring(sig))
        local t0 = jetwire.now()
        local err = h.fails("TIMEOUT", sig.wait, sig, 0.1)
        assert(jetwire.now() - t0 >= 0.09)
        h.eq(err.message, "no signal within 0.1 s", "timeout in seconds")
        h.fails("TIMEOUT", sig.wait, sig, 0)
        assert(math.type(sig:fd()) == "integer")
        assert(sig:close() and sig:close())
        h.fails("INVALID_ARG", sig.wait, sig, 0)
        h.raises(jetwire.signals, { "KILL" })
        h.raises(jetwire.signals, { "NOPE" })
        h.raises(jetwire.signals, {})
        h.raises(jetwire.signals, "INT")
        do
            local scoped <close> = jetwire.signals{ "HUP" }
        end
    end)

    h.finish()
end

-- ------------------------------------------------------------------------
-- The child: block in one wait until a signal ends it.

local loop, set_names = arg[3] or "thread", arg[4]
local sig
if set_names then
    local names = {}
    for name in set_names:gmatch("[^,]+") do names[#names + 1] = name end
    sig = jetwire.signals(names)
end

local nc = h.connect{ loop = loop, name = "signals-" .. what }
local sub = assert(nc:subscribe("signals.test"))
local FOREVER = math.huge
local js, cons, reader
if what:match("^consume") or what == "ordered_next" then
    js = assert(nc:jetstream())
    local stream = "SIGNALS" .. (os.time() % 100000) .. math.random(1000)
    assert(js:create_or_update_stream{ name = stream,
                                        subjects = { stream .. ".>" } })
    if what == "ordered_next" then
        reader = assert(js:ordered_consumer(stream))
    else
        cons = assert(js:create_or_update_consumer(stream,
                      { durable = "c", ack_policy = "explicit" }))
        reader = assert(cons:messages())
    end
end
local kv, held, rev
if what:match("^js_") then
    -- One request each, answered by nobody once the test paused the
    -- server (fetch waits for a message that never comes).
    js = assert(nc:jetstream{ timeout = 100 })
    local stream = "SIGNALS" .. (os.time() % 100000) .. math.random(1000)
    assert(js:create_or_update_stream{ name = stream,
                                        subjects = { stream .. ".>" } })
    assert(js:publish(stream .. ".a", "x"))
    cons = assert(js:create_or_update_consumer(stream,
                  { durable = "c", ack_policy = "explicit", ack_wait = 100 }))
    held = assert(cons:fetch(1, 5))[1]
    kv = assert(js:create_or_update_key_value{ bucket = stream })
    rev = assert(kv:put("k", "v"))
    reader = stream
end
assert(nc:flush(2))

local waits = {
    next_msg = function() return sub:next_msg(FOREVER) end,
    next_msg_timeout = function() return sub:next_msg(100) end,
    next_msgs = function() return sub:next_msgs(10, FOREVER) end,
    messages = function()
        for _ in sub:messages() do end
        return "ended"
    end,
    request = function() return nc:request("signals.test", "x", 100) end,
    flush = function()
        -- A driven connection may find a PONG that came before the server
        -- was paused: the second flush waits for sure.
        local ok, err = nc:flush(100)
        if not ok then return ok, err end
        return nc:flush(100)
    end,
    drain = function() return nc:drain(100) end,
    next_event = function() return nc:next_event(FOREVER) end,
    run = function()
        while true do
            local ok, err = nc:run(FOREVER)
            if not ok then return nil, err end
        end
    end,
    poll = function() return jetwire.poll({ nc }, FOREVER) end,
    sleep = function() return jetwire.sleep(100) end,
    signals_wait = function() return sig:wait() end,
    consume_next = function() return reader:next(FOREVER) end,
    consume_messages = function()
        for _ in reader:messages() do end
        return "ended"
    end,
    ordered_next = function() return reader:next(FOREVER) end,
    js_fetch = function() return cons:fetch(1, 1000) end, -- finite
    js_publish = function() return js:publish(reader .. ".b", "y") end,
    js_stream_info = function() return js:stream_info(reader) end,
    js_ack_sync = function() return held:ack_sync(FOREVER) end,
    js_kv_get = function() return kv:get("k") end,
    js_kv_put = function() return kv:put("k", "w") end,
    js_kv_update = function() return kv:update("k", "w", rev) end,
    busy = function() -- Lua code that never waits: only a signal ends it
        local n = 0
        while true do n = n + 1 end
    end,
}
local wait = assert(waits[what], "unknown wait " .. what)

print("ready")
io.read("l")
print("waiting")
local ok, value, err = pcall(wait)
print(("result %s %s %s"):format(ok, tostring(value),
                                  tostring(type(err) == "table" and err.code
                                           or err)))
if sig then print("taken " .. tostring(sig:wait(0))) end
os.exit(0, true)
