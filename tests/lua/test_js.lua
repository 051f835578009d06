-- Tests of the Lua JetStream API against a nats-server with JetStream:
-- the tutorial's ORDERS flow, durable resume on a new connection, acks
-- (nak, term, in_progress, double ack), publish options, fetch timeouts,
-- bad arguments and garbage collection of the handles in every state.
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

test("fetch timeout gives an empty table; ack errors", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "EMPTY")
    local cons = assert(js:create_or_update_consumer("EMPTY",
                                                     { durable = "e" }))
    local msgs = assert(cons:fetch(5, 0.2))
    eq(type(msgs), "table", "a table")
    eq(#msgs, 0, "empty")
    eq(#assert(cons:fetch(5, 0, { no_wait = true })), 0, "no_wait empty")
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
    fails("INVALID_ARG", js.create_or_update_stream, js,
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

h.finish()
