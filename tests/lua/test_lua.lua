-- Tests of the Lua module itself: the API, bad input, closed handles,
-- garbage collection at any point, <close>, and two coroutines driven by
-- the readable fd on one Lua state.
--
--   lua5.4 tests/lua/test_lua.lua nats://127.0.0.1:4222
--
-- The module is found through JW_BUILD_DIR (BUILD/lua/jetwire.so) or
-- Lua's default cpath. Exits 0 when every test passed.

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local jetwire, url = h.jetwire, h.url
local test, eq, fails, raises = h.test, h.eq, h.fails, h.raises

local connect = h.connect

local function full_gc()
    for _ = 1, 3 do collectgarbage("collect") end
end

test("module", function()
    eq(type(jetwire.version), "string")
    eq(select(2, jetwire.version:gsub("%.", "")), 2, "dots in version")
    eq(jetwire.null, jetwire.null)
    eq(type(jetwire.now()), "number")
end)

test("connect options and introspection", function()
    local nc = connect { name = "lua-test", no_echo = false,
                         connect_timeout = 2.5, ping_interval = 30,
                         max_outstanding_pings = 3, drain_timeout = 5,
                         pending_msgs_limit = 1000,
                         pending_bytes_limit = 1 << 20 }
    eq(nc:status(), "CONNECTED")
    eq(nc:is_connected(), true)
    -- A subscription's limits are the connection's unless given; one
    -- given leaves the other as the connection set it.
    local lm, lb = assert(nc:subscribe("t.lim")):pending_limits()
    eq(lm, 1000); eq(lb, 1 << 20)
    lm, lb = assert(nc:subscribe("t.lim", { pending_bytes_limit = 5000 }))
        :pending_limits()
    eq(lm, 1000); eq(lb, 5000)
    assert(nc:connected_url():find("^nats://"))
    assert(tostring(nc):find("CONNECTED"))
    local info = assert(nc:server_info())
    eq(math.type(info.port), "integer")
    eq(info.max_payload, nc:max_payload())
    assert(info.version and info.server_id and info.json:find("server_id"))
    local rtt = assert(nc:rtt())
    assert(rtt > 0 and rtt < 1)
    eq(nc:flush(1), true)
    assert(nc:new_inbox():find("^_INBOX%."))
    local stats = assert(nc:stats())
    eq(stats.reconnects, 0)
    eq(math.type(nc:fd()), "integer")
    fails("TIMEOUT", nc.next_event, nc, 0)
    -- A server list, as a table, with a dead server first.
    local two = assert(jetwire.connect {
        servers = { "nats://127.0.0.1:1", url }, connect_timeout = 1 })
    eq(two:status(), "CONNECTED")
    two:close()
    -- The string form.
    local short = assert(jetwire.connect(url, { name = "short" }))
    eq(short:close(), true)
    fails("CONNECT", jetwire.connect, { servers = "nats://127.0.0.1:1",
                                        connect_timeout = 0.5 })
    nc:close()
end)

test("publish, subscribe, headers", function()
    local nc = connect()
    local sub = assert(nc:subscribe("t.pub.*"))
    eq(sub.subject, "t.pub.*")
    eq(sub.queue, nil)
    assert(nc:flush())
    eq(nc:publish("t.pub.a", "one"), true)
    eq(nc:publish("t.pub.b", nil, { reply = "r.x" }), true)
    eq(nc:publish("t.pub.c", "three", { headers = {
        Single = "s", Multi = { "1", "2" } } }), true)
    eq(nc:publish("t.pub.d", "\0\1\255", { headers = {
        { "X", "a" }, { "y", "b" }, { "X", "c" } } }), true)
    local m = assert(sub:next_msg(2))
    eq(m.subject, "t.pub.a"); eq(m.data, "one"); eq(m.reply, nil)
    eq(m.status, 0); eq(next(m.headers), nil)
    m = assert(sub:next_msg(2))
    eq(m.data, ""); eq(m.reply, "r.x")
    m = assert(sub:next_msg(2))
    eq(m.headers.Single, "s"); eq(m.headers.Multi, "1")
    local multi = m:header_values("Multi")
    eq(#multi, 2); eq(multi[2], "2")
    eq(#m:header_values("multi"), 0, "names keep their case")
    m = assert(sub:next_msg(2))
    eq(m.data, "\0\1\255")
    local items = m:header_items()
    eq(#items, 3)
    eq(items[1][1] .. items[2][1] .. items[3][2], "Xyc", "order kept")
    assert(tostring(m):find("t.pub.d"))
    fails("TIMEOUT", sub.next_msg, sub, 0)
    nc:close()
end)

test("batches, iterator, pending, limits", function()
    local nc = connect()
    local sub = assert(nc:subscribe("t.batch"))
    assert(nc:flush())
    for i = 1, 10 do assert(nc:publish("t.batch", tostring(i))) end
    assert(nc:flush())
    local msgs, bytes = sub:pending()
    eq(msgs, 10); eq(bytes > 0, true)
    local batch = assert(sub:next_msgs(4, 1))
    eq(#batch, 4); eq(batch[4].data, "4")
    local seen = 4
    for msg in sub:messages(0.2) do
        seen = seen + 1
        eq(msg.data, tostring(seen))
    end
    eq(seen, 10)
    eq(sub:delivered(), 10); eq(sub:dropped(), 0); eq(sub:is_valid(), true)
    -- Auto-unsubscribe after 12 in total.
    assert(sub:unsubscribe(12))
    for _ = 1, 5 do assert(nc:publish("t.batch", "x")) end
    assert(nc:flush())
    eq(#assert(sub:next_msgs(10, 1)), 2)
    fails("INVALID_SUBSCRIPTION", sub.next_msg, sub, 0.1)
    eq(sub:is_valid(), false)
    -- Pending limits and the slow-consumer event naming the subscription.
    local slow = assert(nc:subscribe("t.slow", { pending_msgs_limit = 3,
                                                 queue = "q" }))
    eq(slow.queue, "q")
    assert(nc:flush())
    for _ = 1, 10 do assert(nc:publish("t.slow", "x")) end
    assert(nc:flush())
    eq(slow:dropped(), 7)
    local ev = assert(nc:next_event(2))
    eq(ev.kind, "error"); eq(ev.code, "SLOW_CONSUMER"); eq(ev.sub, slow)
    assert(slow:set_pending_limits(100, 1 << 20))
    nc:close()
end)

test("the iterator takes big messages a few at a time", function()
    -- What sub:messages() holds is out of the queue and its pending
    -- limits: about 1 MiB at a time, not 256 messages whatever their size.
    local nc = connect()
    local sub = assert(nc:subscribe("t.big"))
    assert(nc:flush())
    local big = string.rep("b", 512 * 1024)
    for _ = 1, 8 do assert(nc:publish("t.big", big)) end
    assert(nc:flush())
    eq((sub:pending()), 8)
    local seen = 0
    for msg in sub:messages(1) do
        seen = seen + 1
        eq(#msg.data, #big)
        -- One taken at a time (1 MiB holds a single 512 KiB message with
        -- what the engine counts beside its payload): the rest is still
        -- queued, its bytes counted (pending's count includes the taken).
        local _, bytes = sub:pending()
        eq(bytes >= (8 - seen) * #big, true, "bytes still queued")
        eq(bytes < (9 - seen) * #big, true, "bytes still queued")
        if seen == 8 then break end
    end
    eq(seen, 8)
    nc:close()
end)

test("a driven loop: the engine's work on this thread", function()
    local a = assert(jetwire.connect{ servers = url, loop = "driven" })
    local b = assert(jetwire.connect{ servers = url, loop = "driven" })
    local t = connect()
    -- Waiting calls run the loop: subscribe, flush, next_msg, request.
    local sub = assert(b:subscribe("drv.svc"))
    assert(b:flush(2))
    assert(t:publish("drv.svc", "from a thread loop"))
    eq(assert(sub:next_msg(2)).data, "from a thread loop")
    -- Both connections share the state's loop: a request started on one
    -- is answered from the other while either runs it.
    local id = assert(a:request_start("drv.svc", "q"))
    assert(assert(sub:next_msg(2)):respond("r"))
    local rid, reply
    local deadline = jetwire.now() + 2
    repeat
        assert(a:run(0.05))
        a:process()
        rid, reply = a:request_poll()
    until rid or jetwire.now() > deadline
    eq(rid, id); eq(reply.data, "r")
    fails("NO_RESPONDERS", a.request, a, "drv.nobody", "x", 2)
    -- A scheduler's way: watch loop_fd, run(0) when it is readable or
    -- loop_timeout() has passed; a message from elsewhere comes that way.
    local fd = assert(a:loop_fd())
    eq(b:loop_fd(), fd, "one loop for the state's driven connections")
    -- The keep-alive PING (every 2 minutes) is the next timer; its expiry
    -- is kept in wall-clock time, so allow for a little skew.
    local due = a:loop_timeout()
    assert(due and due >= 0 and due <= 121, tostring(due))
    assert(t:publish("drv.svc", "polled"))
    assert(t:flush(2))
    local got
    deadline = jetwire.now() + 5
    repeat
        local ready = jetwire.poll({ fd }, 0.05)
        assert(a:run(0))
        got = sub:next_msg(0)
    until got or jetwire.now() > deadline
    eq(got and got.data, "polled")
    fails("INVALID_ARG", t.run, t) -- not a driven connection
    fails("INVALID_ARG", t.loop_fd, t)
    fails("INVALID_ARG", t.loop_timeout, t)
    local ok, err = pcall(jetwire.connect, { servers = url, loop = "x" })
    assert(not ok and tostring(err):find("loop"), tostring(err))
    a:close(); b:close(); t:close()
    fails("CONNECTION_CLOSED", a.run, a)
end)

test("request, respond, no responders, timeout", function()
    local nc = connect()
    local svc = assert(nc:subscribe("t.svc"))
    assert(nc:flush())
    -- The responder answers once the requester's start has gone out.
    local id = assert(nc:request_start("t.svc", "q1",
                                       { headers = { H = "1" } }))
    local req = assert(svc:next_msg(2))
    eq(req.headers.H, "1")
    assert(req:respond("a1", { headers = { R = { "x", "y" } } }))
    local rid, reply
    local deadline = jetwire.now() + 2
    repeat
        jetwire.poll({ nc }, 0.1)
        nc:process()
        rid, reply = nc:request_poll()
    until rid or jetwire.now() > deadline
    eq(rid, id); eq(reply.data, "a1")
    eq(#reply:header_values("R"), 2)
    fails("NO_RESPONDERS", nc.request, nc, "t.nobody", "x", 2)
    fails("TIMEOUT", nc.request, nc, "t.svc", "x", 0.2)
    local late = assert(svc:next_msg(1))
    assert(late:respond("late")) -- harmless after the timeout
    -- A cancelled start: its reply is dropped.
    local cancel = assert(nc:request_start("t.svc", "c"))
    eq(nc:request_cancel(cancel), true)
    assert(assert(svc:next_msg(1)):respond("dropped"))
    assert(nc:flush())
    nc:process()
    eq(nc:request_poll(), nil)
    fails("INVALID_ARG", nc.request_cancel, nc, cancel)
    -- No responders through the started form.
    local nobody = assert(nc:request_start("t.nobody", "x"))
    deadline = jetwire.now() + 2
    local err
    repeat
        jetwire.poll({ nc }, 0.1)
        nc:process()
        rid, reply, err = nc:request_poll()
    until rid or jetwire.now() > deadline
    eq(rid, nobody); eq(reply, nil); eq(err.code, "NO_RESPONDERS")
    -- A message without a reply subject cannot be answered.
    assert(nc:publish("t.svc", "plain"))
    local plain = assert(svc:next_msg(1))
    eq(plain.reply, nil)
    fails("INVALID_ARG", plain.respond, plain, "x")
    nc:close()
end)

test("nc:ready names the subscriptions that got messages", function()
    local nc, pc = connect(), connect()
    local subs = {}
    for i = 1, 500 do
        subs[i] = assert(nc:subscribe("rdy." .. i))
    end
    assert(nc:flush())
    eq(#nc:ready(), 0)
    -- Messages to three of the 500, one twice: three entries, in the
    -- order they got their first message.
    for _, i in ipairs { 7, 300, 7, 42 } do
        assert(pc:publish("rdy." .. i, tostring(i)))
    end
    assert(pc:flush())
    assert(nc:flush())
    local ready = nc:ready()
    eq(#ready, 3)
    eq(ready[1], subs[7]); eq(ready[2], subs[300]); eq(ready[3], subs[42])
    eq(#nc:ready(), 0, "each once until taken")
    local taken = 0
    for _, sub in ipairs(ready) do
        while sub:next_msg(0) do taken = taken + 1 end
    end
    eq(taken, 4)
    -- Emptied, a subscription is named again for its next message; max
    -- bounds one call.
    for _, i in ipairs { 1, 2, 3 } do
        assert(pc:publish("rdy." .. i, "again"))
    end
    assert(pc:flush())
    assert(nc:flush())
    eq(#nc:ready(2), 2)
    eq(#nc:ready(2), 1)
    local ok, err = pcall(nc.ready, nc, 0)
    assert(not ok and tostring(err):find("max"), tostring(err))
    nc:close(); pc:close()
    fails("CONNECTION_CLOSED", nc.ready, nc)
end)

test("many started requests wait in request_poll in order", function()
    local nc = connect()
    local svc = assert(nc:subscribe("t.many"))
    assert(nc:flush())
    local ids = {}
    for i = 1, 300 do
        ids[i] = assert(nc:request_start("t.many", tostring(i)))
    end
    for _ = 1, 300 do
        local m = assert(svc:next_msg(2))
        assert(m:respond(m.data))
    end
    assert(nc:flush())
    local deadline = jetwire.now() + 2
    local waiting = 0
    repeat
        jetwire.poll({ nc }, 0.1)
        waiting = nc:process()
    until waiting == 300 or jetwire.now() > deadline
    eq(waiting, 300)
    -- A completion taken already but not polled is dropped by a cancel.
    eq(nc:request_cancel(ids[150]), true)
    for i = 1, 300 do
        if i ~= 150 then
            local rid, reply = nc:request_poll()
            eq(rid, ids[i]); eq(reply.data, tostring(i))
        end
    end
    eq(nc:request_poll(), nil)
    eq(nc:process(), 0)
    -- The emptied queue starts again.
    local again = assert(nc:request_start("t.many", "again"))
    assert(assert(svc:next_msg(2)):respond("A"))
    local rid, reply
    deadline = jetwire.now() + 2
    repeat
        jetwire.poll({ nc }, 0.1)
        nc:process()
        rid, reply = nc:request_poll()
    until rid or jetwire.now() > deadline
    eq(rid, again); eq(reply.data, "A")
    nc:close()
end)

test("two coroutines on one state: responder and requester", function()
    local nc = connect()
    local svc = assert(nc:subscribe("t.co"))
    assert(nc:flush())
    local answered, replies = 0, {}
    local responder = coroutine.wrap(function()
        while true do
            local msg = svc:next_msg(0)
            if msg then
                assert(msg:respond(msg.data:upper()))
                answered = answered + 1
            else
                coroutine.yield()
            end
        end
    end)
    local requester = coroutine.create(function()
        for i = 1, 5 do
            local id = assert(nc:request_start("t.co", "hello " .. i))
            while true do
                local rid, reply, err = nc:request_poll()
                if rid == id then
                    assert(reply, err)
                    replies[#replies + 1] = reply.data
                    break
                end
                coroutine.yield()
            end
        end
    end)
    local deadline = jetwire.now() + 5
    while coroutine.status(requester) ~= "dead" do
        assert(jetwire.now() < deadline, "coroutines did not finish")
        jetwire.poll({ nc:fd() }, 0.5)
        nc:process()
        responder()
        assert(coroutine.resume(requester))
    end
    eq(answered, 5); eq(#replies, 5); eq(replies[5], "HELLO 5")
    nc:close()
end)

test("invalid subjects and oversize payloads are errors", function()
    local nc = connect()
    for _, bad in ipairs { "", "a..b", "foo.", " a", "a b", "a.*", "a.>",
                           "a\0b" } do
        fails("INVALID_SUBJECT", nc.publish, nc, bad, "x")
        fails("INVALID_SUBJECT", nc.publish, nc, bad, "x",
              { headers = { K = "v" } })
        fails("INVALID_SUBJECT", nc.request, nc, bad, "x", 1)
        fails("INVALID_SUBJECT", nc.request_start, nc, bad, "x")
    end
    fails("INVALID_SUBJECT", nc.publish, nc, "ok", "x", { reply = "a b" })
    for _, bad in ipairs { "", "a..b", "a.>.b", "a\0b" } do
        fails("INVALID_SUBJECT", nc.subscribe, nc, bad)
    end
    local big = string.rep("x", nc:max_payload() + 1)
    fails("MAX_PAYLOAD", nc.publish, nc, "t.big", big)
    fails("MAX_PAYLOAD", nc.request, nc, "t.big", big, 1)
    eq(nc:status(), "CONNECTED")
    assert(nc:flush())
    nc:close()
end)

test("misused arguments raise", function()
    local nc = connect()
    local sub = assert(nc:subscribe("t.raise"))
    raises(jetwire.connect, 42)
    raises(jetwire.connect, { servers = url, bogus = 1 })
    raises(jetwire.connect, { servers = url, no_echo = "yes" })
    raises(jetwire.connect, { servers = url, ping_interval = "often" })
    raises(jetwire.connect, { servers = url, name = 5 })
    raises(jetwire.connect, { servers = url, max_outstanding_pings = 1.5 })
    raises(jetwire.connect, { servers = {} })
    raises(nc.publish, nc, 5, "x")
    raises(nc.publish, nc, "a", 5)
    raises(nc.publish, nc, "a", "x", { bogus = 1 })
    raises(nc.publish, nc, "a", "x", { headers = { K = 5 } })
    raises(nc.publish, nc, "a", "x", { headers = { K = { "a", 1 } } })
    raises(nc.publish, nc, "a", "x", { headers = "K: v" })
    raises(nc.publish, nc, "a", "x", { headers = { K = "a\0b" } })
    raises(nc.publish, sub, "a", "x") -- a subscription is not a connection
    raises(nc.subscribe, nc, "a", { queue = 5 })
    raises(nc.subscribe, nc, "a", { pending_msgs_limit = "many" })
    raises(nc.request, nc, "a", "x", "soon")
    raises(nc.flush, nc, 0 / 0)
    raises(sub.next_msg, sub, "x")
    raises(sub.next_msgs, sub, 0)
    raises(sub.next_msg, nc)
    -- Each method checks its self, whatever reached it: the wrong kind of
    -- handle, a plain value, a message's __index called on a subscription.
    raises(nc.request, sub, "a", "x")
    raises(sub.next_msgs, nc)
    raises(sub.next_msg, {})
    assert(nc:publish("t.raise", "m"))
    local m = assert(sub:next_msg(1))
    raises(m.respond, sub, "x")
    raises(sub.next_msg, m)
    raises(getmetatable(m).__index, sub, "data")
    raises(getmetatable(sub).__index, m, "subject")
    raises(getmetatable(m).__index, 42, "data")
    eq(getmetatable(m).__index(m, "data"), "m")
    raises(sub.unsubscribe, sub, -1)
    raises(jetwire.poll, { "x" })
    raises(jetwire.pack, function() end)
    raises(jetwire.pack, { [{}] = 1 })
    local cycle = {}
    cycle[1] = cycle
    raises(jetwire.pack, cycle)
    raises(jetwire.unpack, 5)
    raises(jetwire.bin, {})
    -- Still fine afterwards.
    assert(nc:publish("t.raise", "ok"))
    eq(assert(sub:next_msg(1)).data, "ok")
    nc:close()
end)

test("closed handles report errors", function()
    local nc = connect()
    local sub = assert(nc:subscribe("t.closed"))
    assert(nc:publish("t.closed", "kept?", { reply = "t.r" }))
    assert(nc:flush())
    local msg = assert(sub:next_msg(1))
    -- A request to a subscriber that never answers stays pending.
    local silent = assert(nc:subscribe("t.silent"))
    assert(nc:flush())
    local pending = assert(nc:request_start("t.silent", "x"))
    assert(silent:next_msg(1))
    eq(nc:close(), true)
    eq(nc:close(), true)
    eq(nc:status(), "CLOSED"); eq(nc:is_connected(), false)
    eq(nc:connected_url(), nil)
    assert(tostring(nc):find("closed"))
    fails("CONNECTION_CLOSED", nc.publish, nc, "t.closed", "x")
    fails("CONNECTION_CLOSED", nc.publish_packed, nc, "t.closed", { a = 1 })
    fails("CONNECTION_CLOSED", nc.subscribe, nc, "t.other")
    fails("CONNECTION_CLOSED", nc.request, nc, "t.closed", "x", 1)
    fails("CONNECTION_CLOSED", nc.request_start, nc, "t.closed", "x")
    fails("CONNECTION_CLOSED", nc.flush, nc, 1)
    fails("CONNECTION_CLOSED", nc.rtt, nc)
    fails("CONNECTION_CLOSED", nc.drain, nc, 1)
    fails("CONNECTION_CLOSED", nc.server_info, nc)
    -- The counters stay readable, as they were at the close (a copy).
    local stats = assert(nc:stats())
    eq(stats.in_msgs, 2); eq(stats.out_msgs, 2)
    stats.in_msgs = 99
    eq(nc:stats().in_msgs, 2)
    fails("CONNECTION_CLOSED", nc.new_inbox, nc)
    fails("CONNECTION_CLOSED", nc.fd, nc)
    fails("CONNECTION_CLOSED", nc.next_event, nc, 0)
    eq(nc:process(), 1)
    -- The started request learned about the close.
    local rid, reply, err = nc:request_poll()
    eq(rid, pending); eq(reply, nil); eq(err.code, "CONNECTION_CLOSED")
    fails("CONNECTION_CLOSED", msg.respond, msg, "late")
    fails("CONNECTION_CLOSED", msg.respond, msg, "late",
          { headers = { K = "v" } })
    local _, e = sub:next_msg(0)
    assert(e.code == "CONNECTION_CLOSED" or e.code == "INVALID_SUBSCRIPTION")
    eq(sub:is_valid(), false)
    eq(sub:close(), true)
    eq(sub:close(), true)
    fails("INVALID_SUBSCRIPTION", sub.next_msg, sub, 0)
    fails("INVALID_SUBSCRIPTION", sub.next_msgs, sub, 5, 0)
    fails("INVALID_SUBSCRIPTION", sub.unsubscribe, sub)
    fails("INVALID_SUBSCRIPTION", sub.drain, sub)
    fails("INVALID_SUBSCRIPTION", sub.pending, sub)
    fails("INVALID_SUBSCRIPTION", sub.dropped, sub)
    assert(tostring(sub):find("closed"))
    local n = 0
    for _ in sub:messages(0) do n = n + 1 end
    eq(n, 0)
    -- A released message has no fields and cannot respond.
    getmetatable(msg).__close(msg)
    eq(msg.subject, nil); eq(msg.data, nil)
    fails("INVALID_ARG", msg.respond, msg, "x")
end)

test("<close> releases at the end of the block", function()
    local outer_nc, outer_sub
    do
        local nc <close> = connect()
        local sub <close> = assert(nc:subscribe("t.scope"))
        outer_nc, outer_sub = nc, sub
        assert(nc:publish("t.scope", "x"))
        eq(assert(sub:next_msg(1)).data, "x")
    end
    eq(outer_nc:status(), "CLOSED")
    eq(outer_sub:is_valid(), false)
    -- nil from a failed connect is fine in a <close> variable.
    do
        local nc <close> = jetwire.connect { servers = "nats://127.0.0.1:1",
                                             connect_timeout = 0.3 }
        eq(nc, nil)
    end
    -- An error inside the block still closes.
    local kept
    local ok = pcall(function()
        local nc <close> = connect()
        kept = nc
        error("boom")
    end)
    eq(ok, false); eq(kept:status(), "CLOSED")
end)

test("drain keeps queued messages readable", function()
    local nc = connect()
    local pub = connect()
    local sub = assert(nc:subscribe("t.drain"))
    assert(nc:flush())
    for i = 1, 100 do assert(pub:publish("t.drain", tostring(i))) end
    assert(pub:flush())
    assert(nc:flush())
    eq(nc:drain(5), true)
    eq(nc:status(), "CLOSED")
    local got = 0
    for _ in sub:messages(0.5) do got = got + 1 end
    eq(got, 100)
    local _, e = sub:next_msg(0.1)
    assert(e.code == "CONNECTION_CLOSED" or e.code == "INVALID_SUBSCRIPTION")
    -- Subscription drain.
    local s2 = assert(pub:subscribe("t.sdrain"))
    assert(pub:flush())
    assert(pub:publish("t.sdrain", "a"))
    assert(pub:flush())
    eq(s2:drain(), true)
    assert(pub:flush())
    eq(assert(s2:next_msg(1)).data, "a")
    fails("INVALID_SUBSCRIPTION", s2.next_msg, s2, 0.5)
    pub:close()
end)

test("garbage collection in every state", function()
    -- Open connection with open subscriptions, queued messages and a
    -- started request, all dropped at once.
    do
        local nc = connect()
        local sub = assert(nc:subscribe("t.gc"))
        assert(nc:flush())
        for _ = 1, 50 do assert(nc:publish("t.gc", "x")) end
        assert(nc:flush())
        assert(nc:request_start("t.gc", "r"))
        local _ = sub
    end
    full_gc()
    -- A subscription dropped while its connection lives on.
    local nc = connect()
    do
        local sub = assert(nc:subscribe("t.gc2"))
        assert(nc:flush())
        assert(nc:publish("t.gc2", "x"))
        assert(nc:flush())
        local _ = sub
    end
    full_gc()
    assert(nc:publish("t.gc2", "still fine"))
    assert(nc:flush())
    -- Messages outliving their subscription and connection.
    local msgs = {}
    do
        local c = connect()
        local sub = assert(c:subscribe("t.gc3"))
        assert(c:flush())
        for i = 1, 5 do
            assert(c:publish("t.gc3", tostring(i), { reply = "t.gc3.r" }))
        end
        assert(c:flush())
        msgs = assert(sub:next_msgs(5, 1))
        eq(#msgs, 5)
    end
    full_gc()
    eq(msgs[5].data, "5") -- the message pins what it needs
    assert(msgs[1]:respond("answer"))
    msgs = nil
    full_gc()
    -- The connection closed explicitly, its subscription collected later,
    -- and the other way round.
    do
        local c = connect()
        local sub = assert(c:subscribe("t.gc4"))
        c:close()
        full_gc()
        fails("CONNECTION_CLOSED", sub.next_msg, sub, 0)
    end
    full_gc()
    do
        local c = connect()
        local sub = assert(c:subscribe("t.gc5"))
        sub:close()
        local _ = c
    end
    full_gc()
    -- A slow-consumer event whose subscription was collected first.
    do
        local sub = assert(nc:subscribe("t.gc6", { pending_msgs_limit = 1 }))
        assert(nc:flush())
        for _ = 1, 5 do assert(nc:publish("t.gc6", "x")) end
        assert(nc:flush())
        local _ = sub
    end
    full_gc()
    local ev = assert(nc:next_event(2))
    eq(ev.code, "SLOW_CONSUMER"); eq(ev.sub, nil)
    -- An iterator and a bin wrapper outliving their sources.
    local iter
    do
        local sub = assert(nc:subscribe("t.gc7"))
        iter = sub:messages(0)
    end
    full_gc()
    eq(iter(), nil)
    -- Many short-lived objects, collected as the program goes.
    for i = 1, 200 do
        local c = (i % 50 == 0) and connect() or nc
        local s = assert(c:subscribe("t.gc8." .. i))
        assert(c:publish("t.gc8." .. i, "y"))
        if i % 3 == 0 then s:close() end
        if i % 7 == 0 then collectgarbage("step") end
    end
    full_gc()
    eq(nc:status(), "CONNECTED")
    nc:close()
    nc = nil
    full_gc()
end)

test("MessagePack", function()
    local pack, unpack = jetwire.pack, jetwire.unpack
    eq(pack(nil), "\xc0"); eq(pack(jetwire.null), "\xc0")
    eq(pack(true), "\xc3"); eq(pack(127), "\x7f"); eq(pack(-1), "\xff")
    eq(pack(1.5), "\xcb" .. string.pack(">d", 1.5))
    eq(pack(1.0), "\xcb" .. string.pack(">d", 1.0), "a float stays a float")
    eq(pack("abc"), "\xa3abc")
    eq(pack("\xff"), "\xc4\x01\xff", "not UTF-8: bin")
    eq(pack(jetwire.bin("a")), "\xc4\x01a")
    eq(pack({ 1, "a" }), "\x92\x01\xa1a")
    eq(pack({ k = 1 }), "\x81\xa1k\x01")
    eq(pack({}), "\x80", "an empty table is a map")
    eq(pack(jetwire.array {}), "\x90")
    eq(pack(jetwire.array()), "\x90")
    eq(pack({ 1, jetwire.null, 3 }), "\x93\x01\xc0\x03")
    eq(pack({ [1] = "a", [3] = "c" }):byte(1), 0x82, "holes make a map")
    eq(math.type(unpack(pack(3))), "integer")
    eq(math.type(unpack(pack(3.0))), "float")
    eq(unpack("\xc0"), jetwire.null)
    eq(unpack(pack(math.mininteger)), math.mininteger)
    eq(unpack(pack(math.maxinteger)), math.maxinteger)
    local v = assert(unpack(pack({ a = { b = { 1, 2.5, "x", true } },
                                   n = jetwire.null, bin = jetwire.bin("\0") })))
    eq(v.a.b[2], 2.5); eq(v.a.b[4], true); eq(v.n, jetwire.null)
    eq(v.bin, "\0")
    eq(jetwire.is_array(v.a.b), true); eq(jetwire.is_array(v.a), false)
    local wrapped = assert(unpack(pack({ jetwire.bin("\0") }),
                                  { wrap_bin = true }))
    eq(jetwire.is_bin(wrapped[1]), true); eq(wrapped[1].data, "\0")
    eq(#wrapped[1], 1); eq(wrapped[1], jetwire.bin("\0"))
    eq(pack(assert(unpack("\x90"))), "\x90", "an empty array round-trips")
    fails("INVALID_ARG", unpack, "")
    fails("INVALID_ARG", unpack, "\x92\x01")
    fails("INVALID_ARG", unpack, "\xc0\xc0")
    fails("INVALID_ARG", unpack, "\xc1")
    fails("INVALID_ARG", unpack, "\xcf\xff\xff\xff\xff\xff\xff\xff\xff")
    fails("INVALID_ARG", unpack, "\xd4\x01\x00") -- an ext value
    local deep = {}
    for _ = 1, 40 do deep = { deep } end
    raises(pack, deep)
    -- The structured publish.
    local nc = connect()
    local sub = assert(nc:subscribe("t.packed"))
    assert(nc:flush())
    assert(nc:publish_packed("t.packed", { id = 7, tags = { "a", "b" } },
                             { headers = { X = "1" } }))
    local m = assert(sub:next_msg(1))
    eq(m.headers["Content-Type"], "application/msgpack")
    eq(m.headers.X, "1")
    local value = assert(m:unpack())
    eq(value.id, 7); eq(value.tags[2], "b")
    nc:close()
end)

test("poll with closed connections and plain fds", function()
    local nc = connect()
    nc:close()
    local ready = jetwire.poll({ nc }, 5)
    eq(#ready, 1, "a closed connection is ready at once")
    local start = jetwire.now()
    eq(#jetwire.poll({}, 0.05), 0)
    assert(jetwire.now() - start >= 0.04)
end)

test("event handlers run inside process(); reconnect options", function()
    local nc = connect{ max_reconnect_attempts = -1, reconnect_time_wait = 0.5,
                        reconnect_jitter = 0.05, reconnect_buf_size = 1024,
                        no_randomize = true, allow_reconnect = true,
                        ignore_discovered_servers = false,
                        retry_on_failed_connect = false }
    local servers = assert(nc:servers())
    eq(#servers, 1); eq(servers[1], url)
    eq(#assert(nc:discovered_servers()), 0)
    raises(nc.on, nc, "no_such_event", function() end)
    raises(nc.on, nc, "error", 42)
    raises(jetwire.connect, { servers = url, reconnect_time_wait = "2" })
    raises(jetwire.connect, { servers = url, no_randomize = 1 })
    local seen = {}
    assert(nc:on("error", function(ev) seen[#seen + 1] = ev end))
    local slow = assert(nc:subscribe("t.handler", { pending_msgs_limit = 1 }))
    assert(nc:flush())
    for _ = 1, 3 do assert(nc:publish("t.handler", "x")) end
    assert(nc:flush())
    local deadline = jetwire.now() + 2
    repeat
        jetwire.poll({ nc }, 0.1)
        nc:process()
    until #seen > 0 or jetwire.now() > deadline
    eq(#seen, 1); eq(seen[1].kind, "error"); eq(seen[1].code, "SLOW_CONSUMER")
    eq(seen[1].sub, slow)
    -- process() took the event: nothing is left for next_event.
    fails("TIMEOUT", nc.next_event, nc, 0)
    assert(nc:on("error", nil))
    nc:close()
end)

h.finish()
