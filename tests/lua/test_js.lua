-- Tests of the Lua JetStream API against a nats-server with JetStream:
-- the tutorial's ORDERS flow, durable resume on a new connection, acks
-- (nak, term, in_progress, double ack), publish options, fetch timeouts,
-- continuous consumption (cons:messages), ordered consumers, bad
-- arguments and garbage collection of the handles in every state (a
-- consumer fetching after its context was closed or collected), and
-- configurations as the engine takes them: durations in seconds (checked
-- on the wire), fields of newer servers NOT_SUPPORTED, round trips; and
-- the engine's table of call options walked through the calls that take
-- them (publish, fetch, consume, watch, get).
--
--   lua5.4 tests/lua/test_js.lua nats://127.0.0.1:4222
--
-- Exits 0 when every test passed.

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local test, eq, fails, raises = h.test, h.eq, h.fails, h.raises

local connect = h.connect

-- A fresh stream over <name>.> (deleted first when a test left it).
local function fresh_stream(js, name, extra)
    js:delete_stream(name)
    local cfg = { name = name, subjects = { name:lower() .. ".>" } }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(js:create_or_update_stream(cfg))
end

local server_version = h.server_version

-- A member of the server's own answer to an API request (durations in
-- ns), read over plain NATS, past the binding and the engine.
local function wire_number(nc, subject, field)
    local m = assert(nc:request(subject, "", 2))
    return tonumber(m.data:match('"' .. field .. '":(%-?%d+)'))
end

local fails_naming = h.fails_naming

test("the tutorial's ORDERS flow", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    local info = fresh_stream(js, "ORDERS", { max_age = 86400 })
    eq(info.config.name, "ORDERS", "stream name")
    eq(info.config.max_age, 86400, "max_age back in seconds")
    for i = 1, 5 do
        local ack = assert(js:publish("orders.created", "order " .. i))
        eq(ack.stream, "ORDERS", "ack stream")
        eq(ack.seq, i, "ack seq")
        eq(ack.duplicate, false, "duplicate")
    end
    local cons = assert(js:create_or_update_consumer("ORDERS", {
        durable = "order-processor", ack_policy = "explicit",
        ack_wait = 30, max_deliver = 3, filter_subject = "orders.created" }))
    eq(cons:name(), "order-processor", "consumer name")
    eq(cons:stream(), "ORDERS", "consumer stream")
    local ci = assert(cons:info())
    eq(ci.config.ack_wait, 30, "ack_wait back in seconds")
    eq(ci.config.max_deliver, 3, "max_deliver")
    local msgs = assert(cons:fetch(10, 2))
    eq(#msgs, 5, "fetched")
    for i, m in ipairs(msgs) do
        eq(m.data, "order " .. i, "data")
        local md = assert(m:metadata())
        eq(md.stream, "ORDERS", "meta stream")
        eq(md.consumer, "order-processor", "meta consumer")
        eq(md.stream_seq, i, "meta stream_seq")
        eq(md.consumer_seq, i, "meta consumer_seq")
        eq(md.num_delivered, 1, "meta delivered")
        eq(md.num_pending, 5 - i, "meta pending")
        assert(md.timestamp > 1.5e9 and md.timestamp < 1e11, "timestamp secs")
        assert(m:ack())
    end
    local si = assert(js:stream_info("ORDERS"))
    eq(si.state.messages, 5, "stored")
    local names = assert(js:stream_names())
    local found = false
    for _, n in ipairs(names) do found = found or n == "ORDERS" end
    assert(found, "ORDERS in stream_names")
    eq(#assert(js:streams("orders.created")), 1, "streams by subject")
    local cnames = assert(js:consumer_names("ORDERS"))
    eq(cnames[1], "order-processor", "consumer_names")
    eq(#assert(js:consumers("ORDERS")), 1, "consumers")
    local got = assert(js:get_msg("ORDERS", 2))
    eq(got.data, "order 2", "get_msg data")
    eq(got.seq, 2, "get_msg seq")
    local last = assert(js:get_last_msg("ORDERS", "orders.created"))
    eq(last.data, "order 5", "get_last_msg")
    assert(js:delete_msg("ORDERS", 1))
    fails("JETSTREAM", js.get_msg, js, "ORDERS", 1)
    eq(assert(js:purge_stream("ORDERS", { keep = 1 })), 3, "purged keep 1")
    eq(assert(js:purge_stream("ORDERS")), 1, "purged all")
    assert(js:delete_consumer("ORDERS", "order-processor"))
    fails("CONSUMER_NOT_FOUND", js.consumer_info, js, "ORDERS",
          "order-processor")
    assert(js:delete_stream("ORDERS"))
    fails("STREAM_NOT_FOUND", js.stream_info, js, "ORDERS")
end)

test("a durable consumer resumes on a new connection", function()
    do
        local nc <close> = connect()
        local js = assert(nc:jetstream())
        fresh_stream(js, "RESUME")
        for i = 1, 4 do assert(js:publish("resume.x", tostring(i))) end
        local cons = assert(js:create_or_update_consumer("RESUME",
                                                         { durable = "d" }))
        local msgs = assert(cons:fetch(2, 2))
        eq(#msgs, 2, "first batch")
        for _, m in ipairs(msgs) do assert(m:ack_sync()) end
    end
    collectgarbage()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    local cons = assert(js:consumer("RESUME", "d"))
    local msgs = assert(cons:fetch(10, 1))
    eq(#msgs, 2, "the rest")
    eq(msgs[1].data, "3", "resumes at 3")
    eq(msgs[2].data, "4", "then 4")
    for _, m in ipairs(msgs) do assert(m:ack()) end
    js:delete_stream("RESUME")
end)

test("nak redelivers, term does not, in_progress repeats", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "ACKS")
    assert(js:publish("acks.a", "a"))
    assert(js:publish("acks.b", "b"))
    local cons = assert(js:create_or_update_consumer("ACKS", {
        durable = "w", ack_wait = 5, max_deliver = 3 }))
    local msgs = assert(cons:fetch(2, 2))
    eq(#msgs, 2, "both")
    assert(msgs[1]:in_progress())
    assert(msgs[1]:in_progress())
    assert(msgs[1]:nak())
    assert(msgs[2]:term())
    local again = assert(cons:fetch(2, 1))
    eq(#again, 1, "only the nak'd one comes back")
    eq(again[1].data, "a", "redelivered")
    eq(assert(again[1]:metadata()).num_delivered, 2, "delivered twice")
    assert(again[1]:nak(0.5))
    eq(#assert(cons:fetch(1, 0.1)), 0, "nak delay honoured")
    local third = assert(cons:fetch(1, 3))
    eq(#third, 1, "after the delay")
    assert(third[1]:ack())
    js:delete_stream("ACKS")
end)

test("duplicate msg_id and expected_last_seq", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "DUP", { duplicate_window = 60 })
    local a1 = assert(js:publish("dup.x", "1", { msg_id = "m1" }))
    local a2 = assert(js:publish("dup.x", "1", { msg_id = "m1" }))
    eq(a2.duplicate, true, "duplicate")
    eq(a2.seq, a1.seq, "same seq")
    assert(js:publish("dup.x", "2", { expected_last_seq = 1,
                                      expected_stream = "DUP",
                                      expected_last_msg_id = "m1",
                                      headers = { K = "v" } }))
    fails("WRONG_LAST_SEQUENCE", js.publish, js, "dup.x", "3",
          { expected_last_seq = 1 })
    assert(js:publish("dup.y", "y", { expected_last_subject_seq = 0 }))
    local last = assert(js:get_last_msg("DUP", "dup.x"))
    eq(last.headers.K, "v", "headers stored")
    fails("NO_RESPONDERS", js.publish, js, "nostream.x", "z")
    js:delete_stream("DUP")
end)

test("async publish with poll and complete", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "ASYNC")
    for i = 1, 20 do eq(assert(js:publish_async("async.x", "m")), i, "id") end
    assert(js:publish_async_complete(5))
    eq(js:publish_async_pending(), 0, "none in flight")
    local seen = 0
    while true do
        local id, ack = js:publish_async_poll()
        if not id then break end
        seen = seen + 1
        eq(ack.stream, "ASYNC", "async ack")
    end
    eq(seen, 20, "every outcome polled")
    js:delete_stream("ASYNC")
end)

-- Timeouts say seconds, as the API takes them, in the words of the other
-- languages (tests/conformance/test_error_wording.py compares what the
-- drivers reach; these are the waits they do not).
test("JetStream timeouts name the whole wait in seconds", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "WAITS")
    local cons = assert(js:create_or_update_consumer("WAITS",
                                                     { durable = "w" }))
    local cm <close> = assert(cons:messages{ expires = 1 })
    eq(fails("TIMEOUT", cm.next, cm, 0.2).message, "no message within 0.2 s")
    eq(fails("TIMEOUT", cm.next, cm, 1.2).message, "no message within 1.2 s")
    -- A subject that a subscriber takes and nobody acknowledges.
    local silent = assert(nc:subscribe("silent.acks"))
    assert(nc:flush())
    assert(js:publish_async("silent.acks", "x"))
    eq(fails("TIMEOUT", js.publish_async_complete, js, 0.2).message,
       "1 publishes still without a PubAck within 0.2 s")
    eq(fails("TIMEOUT", js.publish_async_complete, js, 0.7).message,
       "1 publishes still without a PubAck within 0.7 s")
    eq(fails("TIMEOUT", js.publish, js, "silent.acks", "x",
             { timeout = 0.25 }).message,
       "no publish ack for 'silent.acks' within 0.25 s")
    silent:close()
    js:delete_stream("WAITS")
end)

test("fetch timeout gives an empty table; ack errors", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "EMPTY")
    local cons = assert(js:create_or_update_consumer("EMPTY",
                                                     { durable = "e" }))
    local msgs = assert(cons:fetch(5, 0.2))
    eq(type(msgs), "table", "a table")
    eq(#msgs, 0, "empty")
    eq(#assert(cons:fetch(5, nil, { no_wait = true })), 0, "no_wait empty")
    -- The engine's rule for a fetch's timeout, as in Python: above 0.
    local e0 = raises(cons.fetch, cons, 5, 0)
    assert(e0:find("fetch option 'timeout' must be > 0", 1, true), e0)
    assert(js:publish("empty.x", "1"))
    local m = assert(cons:fetch(1, 2))[1]
    assert(m:ack())
    fails("INVALID_ARG", m.ack, m)
    fails("INVALID_ARG", m.nak, m)
    -- A plain NATS message is not a JetStream message.
    local sub = assert(nc:subscribe("plain.x"))
    assert(nc:publish("plain.x", "p", { reply = "r.x" }))
    local pm = assert(sub:next_msg(2))
    fails("INVALID_ARG", pm.ack, pm)
    fails("INVALID_ARG", pm.metadata, pm)
    js:delete_stream("EMPTY")
end)

test("configuration errors come back as nil, err", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    -- An unknown field: the engine refuses it for servers that would
    -- ignore it, newer ones (2.11+) refuse it themselves.
    fails(server_version(nc) < 21100 and "INVALID_ARG" or "JETSTREAM",
          js.create_or_update_stream, js,
          { name = "BAD", subjects = { "bad.>" }, no_such_field = 1 })
    fails("STREAM_NOT_FOUND", js.update_stream, js,
          { name = "NOPE", subjects = { "nope.>" } })
    fails("STREAM_NOT_FOUND", js.create_or_update_consumer, js, "NOPE",
          { durable = "x" })
end)

test("wrong argument types raise", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    raises(nc.jetstream, nc, { nope = 1 })
    raises(js.create_or_update_stream, js, "ORDERS")
    raises(js.create_or_update_stream, js, { name = "X", f = function() end })
    raises(js.create_or_update_stream, js, { [1] = "a", x = 2 })
    raises(js.create_or_update_stream, js, { name = "X", max_age = 0 / 0 })
    raises(js.publish, js, 5, "x")
    raises(js.publish, js, "a", "x", { msg_id = 5 })
    raises(js.publish, js, "a", "x", { expected_last_seq = -1 })
    raises(js.publish, js, "a", "x", { bogus = true })
    raises(js.stream_info, js, nil)
    raises(js.get_msg, js, "S", 0)
    raises(js.create_or_update_consumer, js, "S", 5)
    raises(js.publish, nc, "a", "x")
    fresh_stream(js, "ARGS")
    local cons = assert(js:create_or_update_consumer("ARGS", { durable = "a" }))
    raises(cons.fetch, cons, "ten")
    raises(cons.fetch, cons, 0)
    raises(cons.fetch, cons, 1, -1)
    raises(cons.fetch, cons, 1, 1, { nope = 1 })
    raises(cons.fetch, js, 1, 1)
    assert(js:publish("args.x", "1"))
    local m = assert(cons:fetch(1, 2))[1]
    raises(m.nak, m, "soon")
    raises(m.ack, cons)
    assert(m:ack())
    raises(cons.messages, cons, "batch")
    raises(cons.messages, cons, { batch = 0 })
    raises(cons.messages, cons, { batch = 1.5 })
    raises(cons.messages, cons, { max_bytes = -1 })
    -- A duration's range is the engine's at the call (it reads the
    -- context's unit then): nil, err rather than a raise.
    fails_naming("INVALID_ARG", { "expires" }, cons.messages, cons,
                 { expires = 0.5 })
    raises(cons.messages, cons, { expires = math.huge })
    raises(cons.messages, cons, { nope = 1 })
    raises(cons.messages, js)
    raises(js.ordered_consumer, js, 5)
    raises(js.ordered_consumer, js, "ARGS", "filter")
    raises(js.ordered_consumer, js, "ARGS", { f = print })
    raises(js.ordered_consumer, cons, "ARGS")
    local cm <close> = assert(cons:messages())
    raises(cm.next, cm, -1)
    raises(cm.next, cm, "soon")
    raises(cm.messages, cm, 0 / 0)
    raises(cm.next, cons)
    local oc <close> = assert(js:ordered_consumer("ARGS"))
    raises(oc.next, oc, -1)
    raises(oc.messages, oc, "x")
    raises(oc.last_sequence, cm)
    raises(cm.stop, oc)
    js:delete_stream("ARGS")
end)

test("handles are collected in every state", function()
    -- Released explicitly, by <close>, by the collector, after the
    -- connection closed, and with messages outliving their consumer.
    local kept
    do
        local nc = connect()
        local js = assert(nc:jetstream())
        fresh_stream(js, "GC")
        assert(js:publish("gc.x", "1"))
        local cons = assert(js:create_or_update_consumer("GC",
                                                         { durable = "g" }))
        kept = assert(cons:fetch(1, 2))[1]
        local c2 <close> = assert(js:consumer("GC", "g"))
        assert(cons:close())
        assert(cons:close())
        fails("INVALID_ARG", cons.fetch, cons, 1, 0.1)
        fails("INVALID_ARG", cons.info, cons)
        nc:close()
        fails("CONNECTION_CLOSED", nc.jetstream, nc)
        local _, err = js:stream_info("GC")
        assert(err, "closed connection: an error")
        assert(js:close())
        fails("INVALID_ARG", js.stream_info, js, "GC")
        eq(js:publish_async_poll(), nil, "released: nothing to poll")
    end
    collectgarbage()
    collectgarbage()
    -- The message outlives everything; acking it now is an error, not a
    -- crash.
    local _, err = kept:ack()
    assert(err, "ack after close fails")
    kept = nil
    for _ = 1, 3 do
        local nc = connect()
        local js = assert(nc:jetstream())
        local cons = js:consumer("GC", "g")
        local msgs = cons and cons:fetch(1, 0.1)
        if msgs and msgs[1] then msgs[1]:ack() end
        nc, js, cons, msgs = nil, nil, nil, nil
        collectgarbage()
    end
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    js:delete_stream("GC")
    js = nil
    collectgarbage()
end)

-- Read from r (a consumption or an ordered consumer) until want messages
-- came or ten seconds passed; returns them.
local function read_n(r, want)
    local got = {}
    local deadline = h.jetwire.now() + 10
    while #got < want and h.jetwire.now() < deadline do
        local m, err = r:next(1)
        if m then
            got[#got + 1] = m
        else
            eq(err.code, "TIMEOUT", "only timeouts while reading")
        end
    end
    eq(#got, want, "messages read")
    return got
end

test("continuous consumption before and after the start, with acks", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "CONT")
    for i = 1, 5 do assert(js:publish("cont.x", "m" .. i)) end
    local cons = assert(js:create_or_update_consumer("CONT", {
        durable = "c", ack_policy = "explicit", ack_wait = 10 }))
    local cm <close> = assert(cons:messages { batch = 4, expires = 1 })
    assert(tostring(cm):find("ConsumerMessages", 1, true), "tostring")
    for i, m in ipairs(read_n(cm, 5)) do
        eq(m.data, "m" .. i, "data before")
        local md = assert(m:metadata())
        eq(md.stream_seq, i, "stream order")
        eq(md.consumer, "c", "meta consumer")
        assert(m:ack())
    end
    for i = 6, 12 do assert(js:publish("cont.x", "m" .. i)) end
    local i = 5
    for m in cm:messages(2) do
        i = i + 1
        eq(m.data, "m" .. i, "data after")
        assert(m:ack_sync())
        if i == 12 then break end
    end
    eq(i, 12, "every message published after the start")
    local info = assert(cons:info())
    eq(info.num_ack_pending, 0, "all acked")
    eq(info.num_pending, 0, "none pending")
    -- Idle for longer than a request lives: the requests are renewed.
    fails("TIMEOUT", cm.next, cm, 1.5)
    assert(js:publish("cont.x", "m13"))
    local m = assert(cm:next(3))
    eq(m.data, "m13", "after renewal")
    assert(m:ack())
    assert(cm:stop())
    assert(cm:stop())
    fails("INVALID_SUBSCRIPTION", cm.next, cm, 0.1)
    for _ in cm:messages(0.1) do error("no message after stop") end
    assert(tostring(cm):find("stopped", 1, true), "tostring stopped")
    -- A deleted consumer ends consumption with an error, not a hang.
    local cm2 <close> = assert(cons:messages { expires = 1 })
    assert(js:delete_consumer("CONT", "c"))
    fails("CONSUMER_NOT_FOUND", cm2.next, cm2, 3)
    js:delete_stream("CONT")
end)

test("a push consumer is consumed from its deliver subject", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "PUSHED")
    local cons = assert(js:create_or_update_consumer("PUSHED", {
        durable = "p", deliver_subject = "deliver.lua",
        flow_control = true, idle_heartbeat = 0.2 }))
    -- The consume options are for pull requests: refused, not ignored.
    local bad, err = cons:messages { batch = 10 }
    eq(bad, nil, "pull options refused")
    eq(err.code, "INVALID_ARG", "error code")
    assert(err.message:find("push consumer", 1, true), err.message)
    local payload = string.rep("p", 1024)
    for _ = 1, 900 do assert(js:publish("pushed.x", payload)) end
    local cm <close> = assert(cons:messages())
    for i, m in ipairs(read_n(cm, 900)) do
        eq(assert(m:metadata()).stream_seq, i, "stream order")
        eq(#m.data, 1024, "data")
        assert(m:ack())
    end
    -- A deleted push consumer ends it with an error, not a hang.
    assert(js:delete_consumer("PUSHED", "p"))
    fails("CONSUMER_NOT_FOUND", cm.next, cm, 3)
    js:delete_stream("PUSHED")
end)

test("continuous consumption outlives the consumer handle", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "CONTGC")
    local cons = assert(js:create_or_update_consumer("CONTGC",
                                                     { durable = "g" }))
    local cm = assert(cons:messages())
    -- Closing (or losing) the consumer and the context keeps the
    -- consumption working until it is stopped.
    assert(cons:close())
    fails("INVALID_ARG", cons.messages, cons)
    assert(js:close())
    cons, js = nil, nil
    collectgarbage()
    local js2 = assert(nc:jetstream())
    for i = 1, 3 do assert(js2:publish("contgc.x", tostring(i))) end
    for i, m in ipairs(read_n(cm, 3)) do
        eq(m.data, tostring(i), "data")
        assert(m:ack())
    end
    cm = nil
    collectgarbage()
    -- Dropped with messages still held: collected without a leak or a
    -- crash, and the consumer stays usable.
    for i = 4, 9 do assert(js2:publish("contgc.x", tostring(i))) end
    local c2 = assert(js2:consumer("CONTGC", "g"))
    local cm2 = assert(c2:messages { batch = 10 })
    assert(cm2:next(2))
    c2, cm2 = nil, nil
    collectgarbage()
    collectgarbage()
    -- After the connection closed: errors, not crashes.
    local c3 = assert(js2:consumer("CONTGC", "g"))
    local cm3 = assert(c3:messages())
    nc:close()
    local _, err = cm3:next(0.2)
    assert(err, "closed connection: an error")
    for _ in cm3:messages(0.1) do end
    assert(cm3:close())
end)

test("a consumer fetches after its context was closed or collected",
     function()
    local nc = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "ORPHAN")
    for i = 1, 4 do assert(js:publish("orphan.x", tostring(i))) end
    local a = assert(js:create_or_update_consumer("ORPHAN",
                                                  { durable = "a" }))
    assert(js:close())
    fails("INVALID_ARG", js.stream_info, js, "ORPHAN")
    eq(assert(a:fetch(1, 2))[1].data, "1", "after its context closed")
    eq(assert(a:info()).name, "a", "info after its context closed")
    -- Collected: nothing but the engine keeps the context now.
    local weak = setmetatable({}, { __mode = "v" })
    local b
    do
        local js2 = assert(nc:jetstream())
        b = assert(js2:create_or_update_consumer("ORPHAN", { durable = "b" }))
        weak.js = js2
    end
    collectgarbage()
    collectgarbage()
    eq(weak.js, nil, "the context was collected")
    local msgs = assert(b:fetch(4, 2))
    eq(#msgs, 4, "after its context was collected")
    eq(msgs[4].data, "4", "in order")
    eq(tostring(b), "jetwire.Consumer (b on ORPHAN)", "tostring")
    -- Its connection closed: errors, also for the consumer made through
    -- the closed context.
    nc:close()
    fails("CONNECTION_CLOSED", a.fetch, a, 1, 0.1)
    fails("CONNECTION_CLOSED", b.info, b)
    local nc2 <close> = connect()
    assert(assert(nc2:jetstream()):delete_stream("ORPHAN"))
end)

test("ordered consumer: stream order, recreated after deletion", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "ORD")
    for i = 1, 50 do assert(js:publish("ord.new", tostring(i))) end
    fails("INVALID_ARG", js.ordered_consumer, js, "ORD", { durable = "x" })
    fails("INVALID_ARG", js.ordered_consumer, js, "ORD",
          { ack_policy = "explicit" })
    fails("STREAM_NOT_FOUND", js.ordered_consumer, js, "NOPE")
    local oc <close> = assert(js:ordered_consumer("ORD",
                                                  { idle_heartbeat = 0.3 }))
    assert(tostring(oc):find("OrderedConsumer", 1, true), "tostring")
    eq(oc:last_sequence(), 0, "nothing handed out yet")
    local got = read_n(oc, 20)
    eq(oc:last_sequence(), 20, "last sequence after 20")
    local n = 20
    for m in oc:messages(1) do
        n = n + 1
        got[n] = m
        if n == 50 then break end
    end
    eq(oc:last_sequence(), 50, "last sequence after 50")
    for i, m in ipairs(got) do
        eq(m.data, tostring(i), "data in order")
        local md = assert(m:metadata())
        eq(md.stream_seq, i, "stream sequence")
    end
    -- Lose the server's consumer: after three silent heartbeats it is
    -- made again from sequence 51, without gaps or duplicates.
    local names = assert(js:consumer_names("ORD"))
    eq(#names, 1, "one server consumer")
    local first = names[1]
    assert(js:delete_consumer("ORD", first))
    for i = 51, 60 do assert(js:publish("ord.new", tostring(i))) end
    for i, m in ipairs(read_n(oc, 10)) do
        eq(assert(m:metadata()).stream_seq, 50 + i, "continues at 51")
        eq(m.data, tostring(50 + i), "data after recreation")
    end
    fails("TIMEOUT", oc.next, oc, 0.3)
    names = assert(js:consumer_names("ORD"))
    eq(#names, 1, "a new server consumer")
    assert(names[1] ~= first, "recreated under another name")
    assert(oc:close())
    assert(oc:close())
    eq(oc:last_sequence(), 60, "last sequence kept after close")
    fails("INVALID_SUBSCRIPTION", oc.next, oc, 0.1)
    for _ in oc:messages(0.1) do error("no message after close") end
    eq(#assert(js:consumer_names("ORD")), 0, "close deleted it")

    -- Filtered, from a start sequence.
    assert(js:publish("ord.special", "s"))
    local f <close> = assert(js:ordered_consumer("ORD", {
        filter_subject = "ord.special", deliver_policy = "by_start_sequence",
        opt_start_seq = 5 }))
    local m = assert(f:next(3))
    eq(m.subject, "ord.special", "filtered subject")
    eq(assert(m:metadata()).stream_seq, 61, "the special one")
    eq(f:last_sequence(), 61, "last sequence")
    fails("TIMEOUT", f.next, f, 0.3)
    -- New messages keep coming (following the stream).
    assert(js:publish("ord.special", "t"))
    eq(assert(f:next(3)).data, "t", "followed")
    js:delete_stream("ORD")
end)

test("ordered consumer handles outlive their context", function()
    local nc = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "ORDGC")
    for i = 1, 3 do assert(js:publish("ordgc.x", tostring(i))) end
    local oc = assert(js:ordered_consumer("ORDGC", {
        deliver_policy = "last" }))
    assert(js:close())
    fails("INVALID_ARG", js.ordered_consumer, js, "ORDGC")
    js = nil
    collectgarbage()
    local m = assert(oc:next(3))
    eq(m.data, "3", "deliver_policy last")
    local kept = m
    oc = nil
    collectgarbage()
    collectgarbage()
    eq(kept.data, "3", "a message outlives its ordered consumer")
    -- Dropped by the collector with the connection closed.
    local js2 = assert(nc:jetstream())
    local oc2 = assert(js2:ordered_consumer("ORDGC"))
    assert(oc2:next(3))
    nc:close()
    local _, err = oc2:next(0.2)
    assert(err, "closed connection: an error")
    oc2, js2 = nil, nil
    collectgarbage()
    local nc2 <close> = connect()
    local js3 = assert(nc2:jetstream())
    js3:delete_stream("ORDGC")
end)

test("durations cross in seconds, the engine decides the fields", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    local version = server_version(nc)
    -- Fractional seconds arrive as such on the wire and come back.
    local info = fresh_stream(js, "UNITS", { max_age = 1.5,
                                             duplicate_window = 0.25 })
    eq(info.config.max_age, 1.5, "max_age back in seconds")
    eq(info.config.duplicate_window, 0.25, "duplicate_window")
    eq(wire_number(nc, "$JS.API.STREAM.INFO.UNITS", "max_age"), 1500000000,
       "max_age on the wire")
    eq(assert(js:stream_info("UNITS")).config.max_age, 1.5, "stream_info")
    eq(assert(js:streams("units.x"))[1].config.max_age, 1.5, "streams")
    local cons = assert(js:create_or_update_consumer("UNITS", {
        durable = "u", ack_wait = 2.5, max_deliver = 5,
        backoff = { 2.5, 4 } }))
    local ci = assert(cons:info())
    eq(ci.config.ack_wait, 2.5, "ack_wait back in seconds")
    eq(ci.config.backoff[1], 2.5, "backoff[1]")
    eq(ci.config.backoff[2], 4, "backoff[2]")
    eq(wire_number(nc, "$JS.API.CONSUMER.INFO.UNITS.u", "ack_wait"),
       2500000000, "ack_wait on the wire")
    eq(assert(js:consumers("UNITS"))[1].config.ack_wait, 2.5, "consumers")
    -- An empty table for a field the engine's table calls an array is
    -- [] (here: no backoff), elsewhere {}.
    ci = assert(assert(js:create_or_update_consumer("UNITS", {
        durable = "u", ack_wait = 2.5, max_deliver = 5, backoff = {} })):info())
    eq(ci.config.backoff, nil, "backoff {} is an empty array")
    -- Round trips: what the server says can be written back unchanged.
    local again = assert(js:update_stream(
        assert(js:stream_info("UNITS")).config))
    eq(again.config.max_age, 1.5, "stream config round trip")
    assert(js:create_or_update_consumer("UNITS",
        assert(js:consumer_info("UNITS", "u")).config))
    eq(assert(js:consumer_info("UNITS", "u")).config.ack_wait, 2.5,
       "consumer config round trip")
    -- Fields of newer servers: NOT_SUPPORTED naming field and version; on
    -- such a server, seconds again.
    if version < 21100 then
        fails_naming("NOT_SUPPORTED", { "subject_delete_marker_ttl", "2.11.0" },
                     js.create_or_update_stream, js, { name = "UNITS2",
                         subjects = { "units2.>" },
                         subject_delete_marker_ttl = 60 })
        fails_naming("NOT_SUPPORTED", { "priority_timeout", "2.11.0" },
                     js.create_or_update_consumer, js, "UNITS",
                     { durable = "p", priority_timeout = 30 })
    else
        js:delete_stream("UNITS2")
        local i2 = assert(js:create_or_update_stream { name = "UNITS2",
            subjects = { "units2.>" }, allow_msg_ttl = true,
            subject_delete_marker_ttl = 60 })
        eq(i2.config.subject_delete_marker_ttl, 60, "marker ttl in seconds")
        eq(wire_number(nc, "$JS.API.STREAM.INFO.UNITS2",
                       "subject_delete_marker_ttl"), 60 * 1000000000,
           "marker ttl on the wire")
        local pc = assert(js:create_or_update_consumer("UNITS", {
            durable = "p", priority_groups = { "g" },
            priority_policy = "pinned_client", priority_timeout = 30 }))
        eq(assert(pc:info()).config.priority_timeout, 30,
           "priority_timeout in seconds")
        js:delete_stream("UNITS2")
    end
    if version < 21000 then
        fails_naming("NOT_SUPPORTED", { "consumer_limits", "2.10.0" },
                     js.create_or_update_stream, js, { name = "UNITS3",
                         consumer_limits = { inactive_threshold = 30 } })
        fails_naming("NOT_SUPPORTED", { "metadata", "2.10.0" },
                     js.create_or_update_stream, js,
                     { name = "UNITS3", metadata = {} })
    else
        js:delete_stream("UNITS3")
        local i3 = assert(js:create_or_update_stream { name = "UNITS3",
            consumer_limits = { inactive_threshold = 30 }, metadata = {} })
        eq(i3.config.consumer_limits.inactive_threshold, 30,
           "consumer_limits.inactive_threshold in seconds")
        js:delete_stream("UNITS3")
    end
    -- The engine's table, as the engine gives it.
    local fields = {}
    for _, f in ipairs(assert(h.jetwire.config_fields("stream"))) do
        fields[f.name] = f
    end
    eq(fields.max_age.type, "duration", "max_age is a duration")
    eq(fields.max_age.since, h.jetwire.null, "every server knows max_age")
    eq(fields.subject_delete_marker_ttl.since, "2.11.0", "marker ttl")
    eq(fields.consumer_limits.fields[1].name, "inactive_threshold",
       "consumer_limits has fields of its own")
    local consumer = {}
    for _, f in ipairs(assert(h.jetwire.config_fields("consumer"))) do
        consumer[f.name] = f
    end
    eq(consumer.priority_timeout.type, "duration", "priority_timeout")
    eq(consumer.backoff.type, "durations", "backoff")
    fails("INVALID_ARG", h.jetwire.config_fields, "streams")
    -- The engine's errors: an unknown field, a wrong type.
    if version < 21100 then
        fails_naming("INVALID_ARG", { "maxage" }, js.create_or_update_stream,
                     js, { name = "UNITS", maxage = 1 })
    end
    fails_naming("INVALID_ARG", { "max_age", "seconds" },
                 js.create_or_update_stream, js,
                 { name = "UNITS", max_age = -1 })
    fails_naming("INVALID_ARG", { "subjects" }, js.create_or_update_stream,
                 js, { name = "UNITS", subjects = "units.>" })
    fails_naming("INVALID_ARG", { "ack_wait" }, js.create_or_update_consumer,
                 js, "UNITS", { durable = "u", ack_wait = "30s" })
    assert(js:delete_stream("UNITS"))
end)

-- The engine's table of call options, walked: every option of every call
-- is taken with a value of its type (strings, integers, booleans, and
-- durations in seconds, as an integer and as a float) by the call it
-- belongs to, and refused with a value of another type or of no option
-- type (raising with the engine's message, naming the option), as is a
-- name the engine does not know. Nothing here lists an option.
test("call options: the engine's table, walked", function()
    local jetwire = h.jetwire
    local nc <close> = connect()
    local js = assert(nc:jetstream { timeout = 1 })
    local version = server_version(nc)
    fresh_stream(js, "CALLOPTS")
    for i = 1, 60 do assert(js:publish("callopts.x", tostring(i))) end
    local cons = assert(js:create_or_update_consumer("CALLOPTS",
        { durable = "co", ack_wait = 60 }))
    js:delete_key_value("lua-callopts")
    local kv = assert(js:create_key_value { bucket = "lua-callopts",
                                            history = 5 })
    eq(assert(kv:put("k", "v1")), 1, "the key's first revision")
    assert(kv:put("k", "v2"))

    -- How each call takes its options.
    local calls = {
        publish = function(o) return js:publish("callopts.x", "p", o) end,
        publish_async = function(o)
            local id, err = js:publish_async("callopts.x", "p", o)
            assert(js:publish_async_complete(5))
            while js:publish_async_poll() do end
            return id, err
        end,
        fetch = function(o) return cons:fetch(1, nil, o) end,
        consume = function(o)
            local cm, err = cons:messages(o)
            if cm then cm:close() end
            return cm, err
        end,
        watch = function(o)
            local w, err = kv:watch("k", o)
            if w then w:stop() end
            return w, err
        end,
        watch_all = function(o)
            local w, err = kv:watch_all(o)
            if w then w:stop() end
            return w, err
        end,
        get = function(o) return kv:get("k", o) end,
    }
    local engine_call = { publish_async = "publish", watch_all = "watch" }
    local good = { string = { "v" }, integer = { 1 }, boolean = { true },
                   duration = { 1, 1.5 } }
    local wrong = { string = 1, integer = "1", boolean = 1, duration = "1" }
    local function number(v)
        local a, b, c = v:match("^(%d+)%.(%d+)%.(%d+)")
        return tonumber(a) * 10000 + tonumber(b) * 100 + tonumber(c)
    end

    local walked = 0
    for method, make in pairs(calls) do
        local call = engine_call[method] or method
        local fields = assert(jetwire.call_options(call))
        assert(#fields > 0, call .. " has options")
        for _, f in ipairs(fields) do
            local what = method .. " option " .. f.name
            assert(good[f.type], what .. ": a type of the table: " .. f.type)
            eq(type(f.doc), "string", what .. " documented")
            for _, value in ipairs(good[f.type]) do
                local opts = { [f.name] = value }
                local ok, result, err = pcall(make, opts)
                if ok and result == nil and err.code == "INVALID_ARG" and
                   err.message:find("need a group", 1, true) then
                    -- A priority group's limits go with a group.
                    opts.group = "g"
                    ok, result, err = pcall(make, opts)
                end
                assert(ok, what .. " = " .. tostring(value) .. " raised: " ..
                       tostring(result))
                if f.since ~= jetwire.null and version < number(f.since) then
                    eq(err and err.code, "NOT_SUPPORTED", what ..
                       " on an older server")
                    assert(err.message:find(f.since, 1, true), err.message)
                elseif result == nil then
                    -- Refused by the server for what it says (an expected
                    -- stream that is not this one, ...), never misuse.
                    assert(err.code ~= "INVALID_ARG",
                           what .. ": " .. tostring(err))
                end
            end
            local e = raises(make, { [f.name] = wrong[f.type] })
            assert(e:find(call .. " option '" .. f.name .. "' must be", 1,
                          true), e)
            e = raises(make, { [f.name] = {} })
            assert(e:find(call .. " option '" .. f.name ..
                          "' cannot be a table", 1, true), e)
            walked = walked + 1
        end
        local e = raises(make, { no_such_option = 1 })
        assert(e:find("unknown " .. call .. " option 'no_such_option'", 1,
                      true), e)
        e = raises(make, { [1] = true })
        assert(e:find("option names must be strings", 1, true), e)
        -- An empty table is no option at all.
        local ok, result = pcall(make, {})
        assert(ok and result, method .. " with no option")
    end
    assert(walked >= 20, "every call's options walked")
    fails("INVALID_ARG", jetwire.call_options, "subscribe")

    -- The call shapes around the options: fetch's timeout argument is
    -- its "timeout" option, kv:get's revision argument its "revision".
    local e = raises(cons.fetch, cons, 1, 0.5, { timeout = 0.5 })
    assert(e:find("timeout given twice", 1, true), e)
    -- A consumer of its own: the walk's consumptions may have taken the
    -- first one's messages (delivered, unacked for a minute).
    local fresh = assert(js:create_or_update_consumer("CALLOPTS",
        { durable = "co2", ack_wait = 60 }))
    eq(#assert(fresh:fetch(2, 0.5, { no_wait = true, batch = 1 })), 1,
       "batch within the room given")
    fails_naming("INVALID_ARG", { "batch" }, cons.fetch, cons, 1, 0.5,
                 { batch = 2 })
    eq(assert(kv:get("k", 1)).value, "v1", "revision argument")
    eq(assert(kv:get("k", { revision = 1 })).value, "v1", "revision option")
    e = raises(kv.get, kv, "k", 0)
    assert(e:find("get option 'revision' must be from 1", 1, true), e)
    e = raises(kv.get, kv, "k", 1.5)
    assert(e:find("get option 'revision' must be an integer", 1, true), e)
    -- Headers are the binding's own publish option.
    local ack = assert(js:publish("callopts.h", "h",
        { headers = { K = "v" }, msg_id = "with-headers" }))
    eq(assert(js:get_msg("CALLOPTS", ack.seq)).headers.K, "v", "headers")
    assert(js:delete_key_value("lua-callopts"))
    assert(js:delete_stream("CALLOPTS"))
end)

h.finish()
