-- Services (the micro API) in Lua: endpoints whose handlers run inside
-- nc:process(), groups, error replies and statistics, a handler's Lua
-- error as a 500 reply, the stats handler, discovery, stopping with
-- requests in flight, bad input and handles used after stop, close and
-- garbage collection.
--
--   lua5.4 tests/lua/test_service.lua nats://127.0.0.1:4222
--
-- Run by tests/conformance/test_lua_service.py, which also runs it with
-- warnings on (lua5.4 -W) to see the handlers' errors reported, and
-- gives a service 2,000 requests at once from another process
-- (tests/lua/service_load.lua).

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local jetwire = h.jetwire
local test, eq, fails, fails_naming, raises =
    h.test, h.eq, h.fails, h.fails_naming, h.raises
local connect = h.connect

local function full_gc()
    for _ = 1, 3 do collectgarbage("collect") end
end

-- A connection made with loop = "driven" has a loop to run.
local function driven(nc)
    return nc:loop_fd() ~= nil
end

-- Let nc's work reach the server (an unsubscription: a service closed or
-- stopped) before another connection relies on it.
local function settle(nc)
    if nc:is_connected() then assert(nc:flush()) end
end

-- Send each request of list ({subject, data [, headers]}) from client,
-- and run the service side (nc:process(), and nc:run for a driven
-- connection) until every answer came: the replies (or error values), in
-- the order of the list.
local function exchange(nc, client, list, timeout)
    local index, out, left = {}, {}, #list
    for i, r in ipairs(list) do
        local id = assert(client:request_start(r[1], r[2],
                                               r[3] and { headers = r[3] }))
        index[id] = i
    end
    local deadline = jetwire.now() + (timeout or 5)
    while left > 0 and jetwire.now() < deadline do
        if driven(nc) then
            nc:run(0.01)
        else
            jetwire.poll({ nc, client }, 0.05)
        end
        nc:process()
        client:process()
        while true do
            local id, msg, err = client:request_poll()
            if not id then break end
            out[index[id]] = msg or err
            left = left - 1
        end
    end
    eq(left, 0, "requests unanswered")
    return out
end

-- Run nc:process() (and the driven loop) for about seconds.
local function serve_for(nc, seconds)
    local deadline = jetwire.now() + seconds
    repeat
        if driven(nc) then
            nc:run(0.01)
        else
            jetwire.poll({ nc }, 0.01)
        end
        nc:process()
    until jetwire.now() > deadline
end

-- The one endpoint of stats (a table from svc:stats() or discovery)
-- called name.
local function endpoint_stats(stats, name)
    for _, e in ipairs(stats.endpoints) do
        if e.name == name then return e end
    end
    error("no endpoint " .. name .. " in the stats")
end

local function echo(req)
    assert(req:respond(req.data))
end

test("an echo endpoint", function()
    local nc, client = connect(), connect()
    local svc = assert(nc:add_service {
        name = "lua-echo", version = "1.2.3-beta.1+b7",
        description = "echoes", metadata = { lang = "lua" } })
    eq(#svc:id(), 22)
    eq(svc:name(), "lua-echo")
    eq(svc:version(), "1.2.3-beta.1+b7")
    assert(tostring(svc):find("lua-echo", 1, true))
    local seen = {}
    local ep = assert(svc:add_endpoint {
        name = "echo", metadata = { kind = "test" },
        handler = function(req)
            seen[#seen + 1] = req
            eq(req.subject, "echo")
            assert(req.reply:find("^_INBOX%."))
            eq(req.status, 0)
            if req.data == "headers" then
                eq(req.headers.Trace, "a")
                eq(#req:header_values("Trace"), 2)
                eq(#req:header_items(), 2)
                assert(req:respond("with", { headers = { R = "1" } }))
            elseif req.data == "" then
                assert(req:respond())
            else
                assert(req:respond(req.data:upper()))
            end
        end })
    eq(ep:name(), "echo")
    eq(ep:subject(), "echo")
    eq(ep:queue_group(), "q")
    assert(tostring(ep):find("echo", 1, true))
    assert(nc:flush())
    local replies = exchange(nc, client, {
        { "echo", "hello" }, { "echo", "\0bytes\255" },
        { "echo", "headers", { Trace = { "a", "b" } } }, { "echo", "" },
    })
    eq(replies[1].data, "HELLO")
    eq(replies[2].data, "\0BYTES\255")
    eq(replies[3].data, "with")
    eq(replies[3].headers.R, "1")
    eq(replies[4].data, "")
    eq(#seen, 4)
    -- A request is valid while its handler runs.
    eq(seen[1].data, nil)
    fails_naming("INVALID_ARG", { "handler returned" }, seen[1].respond,
                 seen[1], "late")
    assert(tostring(seen[1]):find("handled", 1, true))
    -- INFO: the engine's document as a table.
    local info = assert(svc:info())
    eq(info.type, "io.nats.micro.v1.info_response")
    eq(info.name, "lua-echo"); eq(info.id, svc:id())
    eq(info.description, "echoes")
    eq(info.metadata.lang, "lua")
    assert(jetwire.is_array(info.endpoints))
    eq(info.endpoints[1].subject, "echo")
    eq(info.endpoints[1].queue_group, "q")
    eq(info.endpoints[1].metadata.kind, "test")
    local stats = assert(svc:stats())
    eq(stats.type, "io.nats.micro.v1.stats_response")
    assert(stats.started:find("^20"))
    local e = endpoint_stats(stats, "echo")
    eq(e.num_requests, 4); eq(e.num_errors, 0); eq(e.last_error, "")
    assert(e.processing_time > 0)
    eq(e.average_processing_time, e.processing_time // 4)
    nc:close(); client:close()
end)

test("a driven connection serves inside run() and process()", function()
    local nc = connect { loop = "driven" }
    local client = connect()
    local svc = assert(nc:add_service { name = "lua-driven",
                                        version = "1.0.0" })
    assert(svc:add_endpoint { name = "driven", handler = echo })
    assert(nc:flush())
    local replies = exchange(nc, client, { { "driven", "a" },
                                           { "driven", "b" } })
    eq(replies[1].data, "a"); eq(replies[2].data, "b")
    -- Discovery from the driven connection itself runs its loop.
    local pings = assert(nc:service_ping { name = "lua-driven",
                                           timeout = 0.5 })
    eq(#pings, 1); eq(pings[1].id, svc:id())
    nc:close(); client:close()
end)

test("groups: subjects and queue groups", function()
    local nc, client = connect(), connect()
    local svc = assert(nc:add_service { name = "lua-groups",
                                        version = "1.0.0",
                                        queue_group = "svcq" })
    local top = assert(svc:add_endpoint { name = "top", handler = echo })
    eq(top:queue_group(), "svcq")
    local users = assert(svc:add_group { name = "users.v1",
                                         queue_group = "workers" })
    local admin = assert(users:add_group { name = "admin" })
    assert(tostring(admin):find("lua-groups", 1, true))
    local add = assert(admin:add_endpoint {
        name = "add", subject = "add.*",
        handler = function(req) assert(req:respond(req.subject)) end })
    eq(add:subject(), "users.v1.admin.add.*")
    eq(add:queue_group(), "workers")
    local solo = assert(users:add_endpoint { name = "solo",
                                             queue_group_disabled = true,
                                             handler = echo })
    eq(solo:subject(), "users.v1.solo")
    eq(solo:queue_group(), nil)
    local own = assert(users:add_endpoint { name = "own",
                                            queue_group = "mine",
                                            handler = echo })
    eq(own:queue_group(), "mine")
    local open = assert(svc:add_group { name = "open",
                                        queue_group_disabled = true })
    local inherits = assert(open:add_endpoint { name = "inherits",
                                                handler = echo })
    eq(inherits:queue_group(), nil)
    assert(nc:flush())
    local replies = exchange(nc, client, {
        { "users.v1.admin.add.x", "1" }, { "users.v1.solo", "2" },
        { "top", "3" }, { "open.inherits", "4" } })
    eq(replies[1].data, "users.v1.admin.add.x")
    eq(replies[2].data, "2"); eq(replies[3].data, "3")
    eq(replies[4].data, "4")
    local info = assert(svc:info())
    eq(#info.endpoints, 5)
    eq(info.endpoints[2].queue_group, "workers")
    eq(info.endpoints[3].queue_group, "") -- disabled
    nc:close(); client:close()
end)

test("instances share a queue group; disabled, each gets all", function()
    local a, b, client = connect(), connect(), connect()
    local count = { a = 0, b = 0 }
    local function counting(who)
        return function(req)
            count[who] = count[who] + 1
            assert(req:respond(who))
        end
    end
    local sa = assert(a:add_service { name = "lua-shared", version = "1.0.0" })
    local sb = assert(b:add_service { name = "lua-shared", version = "1.0.0" })
    assert(sa:id() ~= sb:id())
    assert(sa:add_endpoint { name = "work", handler = counting("a") })
    assert(sb:add_endpoint { name = "work", handler = counting("b") })
    assert(sa:add_endpoint { name = "each", subject = "work.each",
                             queue_group_disabled = true,
                             handler = counting("a") })
    assert(sb:add_endpoint { name = "each", subject = "work.each",
                             queue_group_disabled = true,
                             handler = counting("b") })
    assert(a:flush()); assert(b:flush())
    for i = 1, 60 do assert(client:request_start("work", tostring(i))) end
    local deadline = jetwire.now() + 5
    while count.a + count.b < 60 and jetwire.now() < deadline do
        jetwire.poll({ a, b }, 0.05)
        a:process(); b:process()
    end
    eq(count.a + count.b, 60)
    assert(count.a > 0 and count.b > 0, "both instances got work")
    -- Without a queue group both instances get every request.
    count.a, count.b = 0, 0
    for i = 1, 20 do assert(client:request_start("work.each", tostring(i))) end
    deadline = jetwire.now() + 5
    while count.a + count.b < 40 and jetwire.now() < deadline do
        jetwire.poll({ a, b }, 0.05)
        a:process(); b:process()
    end
    eq(count.a, 20); eq(count.b, 20)
    eq(endpoint_stats(sa:stats(), "each").num_requests, 20)
    a:close(); b:close(); client:close()
end)

test("error replies and statistics", function()
    local nc, client = connect(), connect()
    local svc = assert(nc:add_service { name = "lua-errors",
                                        version = "1.0.0" })
    assert(svc:add_endpoint { name = "check", handler = function(req)
        if req.data == "bad" then
            assert(req:respond_error("400", "bad input", "details"))
        elseif req.data == "bare" then
            assert(req:respond_error("404", "not found"))
        elseif req.data == "empty" then
            -- The engine needs a code and a description.
            local _, err = req:respond_error("", "x")
            eq(err.code, "INVALID_ARG")
            assert(req:respond("refused"))
        else
            assert(req:respond("ok"))
        end
    end })
    assert(nc:flush())
    local replies = exchange(nc, client, {
        { "check", "good" }, { "check", "bad" }, { "check", "bare" },
        { "check", "empty" } })
    eq(replies[1].data, "ok")
    eq(replies[1].headers["Nats-Service-Error"], nil)
    eq(replies[2].data, "details")
    eq(replies[2].headers["Nats-Service-Error"], "bad input")
    eq(replies[2].headers["Nats-Service-Error-Code"], "400")
    eq(replies[3].data, "")
    eq(replies[3].headers["Nats-Service-Error-Code"], "404")
    eq(replies[4].data, "refused")
    local e = endpoint_stats(svc:stats(), "check")
    eq(e.num_requests, 4); eq(e.num_errors, 2)
    eq(e.last_error, "404:not found")
    -- reset zeroes the counters.
    eq(svc:reset(), true)
    e = endpoint_stats(svc:stats(), "check")
    eq(e.num_requests, 0); eq(e.num_errors, 0); eq(e.last_error, "")
    eq(e.processing_time, 0)
    nc:close(); client:close()
end)

test("a Lua error in a handler is a 500 reply and counts", function()
    local nc, client = connect(), connect()
    local svc = assert(nc:add_service { name = "lua-raise",
                                        version = "1.0.0" })
    assert(svc:add_endpoint { name = "raise", handler = function(req)
        if req.data == "boom" then error("it blew up") end
        if req.data == "table" then error({ code = 7 }) end
        if req.data == "jetwire" then
            -- An error value of the module, raised: "CODE: message".
            local _, err = req:respond_error("", "")
            error(err)
        end
        if req.data == "answered" then
            assert(req:respond("answered first"))
            error("then failed")
        end
        assert(req:respond("fine"))
    end })
    assert(nc:flush())
    local replies = exchange(nc, client, {
        { "raise", "boom" }, { "raise", "fine" }, { "raise", "table" },
        { "raise", "jetwire" }, { "raise", "answered" } })
    eq(replies[1].data, "")
    eq(replies[1].headers["Nats-Service-Error-Code"], "500")
    assert(replies[1].headers["Nats-Service-Error"]:find("it blew up", 1,
                                                         true))
    eq(replies[2].data, "fine")
    eq(replies[3].headers["Nats-Service-Error-Code"], "500")
    assert(replies[3].headers["Nats-Service-Error"]:find("^table"))
    assert(replies[4].headers["Nats-Service-Error"]:find("^INVALID_ARG: "))
    -- A handler that answered and then raised keeps its answer.
    eq(replies[5].data, "answered first")
    eq(replies[5].headers["Nats-Service-Error-Code"], nil)
    local e = endpoint_stats(svc:stats(), "raise")
    eq(e.num_requests, 5); eq(e.num_errors, 4)
    assert(e.last_error:find("^500:.*then failed"), e.last_error)
    -- The errors did not escape process().
    eq(nc:process(), 0)
    nc:close(); client:close()
end)

test("the stats handler's data", function()
    local nc, client = connect(), connect()
    local calls = {}
    local failing = false
    local svc = assert(nc:add_service {
        name = "lua-data", version = "1.0.0",
        stats_handler = function(ep)
            if failing then error("no data today") end
            local name = ep:name()
            calls[name] = (calls[name] or 0) + 1
            if name == "none" then return nil end
            return { endpoint = name, calls = calls[name],
                     list = jetwire.array() }
        end })
    local ep = assert(svc:add_endpoint { name = "counted", handler = echo })
    assert(svc:add_endpoint { name = "none", handler = echo })
    -- Called once as each endpoint is added.
    eq(calls.counted, 1); eq(calls.none, 1)
    local e = endpoint_stats(svc:stats(), "counted")
    eq(e.data.endpoint, "counted"); eq(e.data.calls, 1)
    assert(jetwire.is_array(e.data.list))
    eq(endpoint_stats(svc:stats(), "none").data, nil)
    assert(nc:flush())
    exchange(nc, client, { { "counted", "1" }, { "counted", "2" },
                           { "none", "3" } })
    -- And after each request.
    eq(calls.counted, 3); eq(calls.none, 2)
    eq(endpoint_stats(svc:stats(), "counted").data.calls, 3)
    -- Discovery sends the same data.
    local remote = assert(client:service_stats { name = "lua-data",
                                                 id = svc:id(),
                                                 timeout = 1 })
    eq(#remote, 1)
    eq(endpoint_stats(remote[1], "counted").data.calls, 3)
    -- A stats handler that raises leaves the data as it was; the request
    -- is answered all the same.
    failing = true
    local replies = exchange(nc, client, { { "counted", "4" } })
    eq(replies[1].data, "4")
    eq(endpoint_stats(svc:stats(), "counted").data.calls, 3)
    eq(ep:name(), "counted")
    nc:close(); client:close()
end)

test("discovery: ping, info, stats", function()
    local a, b, c = connect(), connect(), connect()
    local client = connect()
    local sa = assert(a:add_service { name = "lua-disc-a", version = "1.0.0" })
    local sb = assert(b:add_service { name = "lua-disc-a", version = "1.0.0" })
    local sc = assert(c:add_service { name = "lua-disc-b", version = "2.0.0",
                                      description = "the b" })
    assert(sc:add_endpoint { name = "b1", subject = "disc.b1",
                             handler = echo })
    assert(a:flush()); assert(b:flush()); assert(c:flush())
    -- All: at least the three (other services may share the server).
    local all = assert(client:service_ping { timeout = 0.5 })
    assert(jetwire.is_array(all))
    local ids = {}
    for _, p in ipairs(all) do
        eq(p.type, "io.nats.micro.v1.ping_response")
        ids[p.id] = p.name
    end
    eq(ids[sa:id()], "lua-disc-a"); eq(ids[sb:id()], "lua-disc-a")
    eq(ids[sc:id()], "lua-disc-b")
    -- By name.
    local two = assert(client:service_ping { name = "lua-disc-a",
                                             timeout = 0.5 })
    eq(#two, 2)
    -- By name and id.
    local one = assert(client:service_info { name = "lua-disc-a",
                                             id = sb:id(), timeout = 0.5 })
    eq(#one, 1); eq(one[1].id, sb:id())
    eq(one[1].type, "io.nats.micro.v1.info_response")
    -- max_responses ends the wait early.
    local t0 = jetwire.now()
    local first = assert(client:service_ping { name = "lua-disc-a",
                                               max_responses = 1,
                                               timeout = 5 })
    eq(#first, 1)
    assert(jetwire.now() - t0 < 2, "max_responses did not end the wait")
    local info = assert(client:service_info { name = "lua-disc-b",
                                              timeout = 0.5 })
    eq(#info, 1); eq(info[1].description, "the b")
    eq(info[1].endpoints[1].subject, "disc.b1")
    local stats = assert(client:service_stats { name = "lua-disc-b",
                                                timeout = 0.5 })
    eq(stats[1].type, "io.nats.micro.v1.stats_response")
    eq(stats[1].endpoints[1].num_requests, 0)
    -- Nobody by that name: an empty array.
    local none = assert(client:service_ping { name = "lua-nobody",
                                              timeout = 0.3 })
    eq(#none, 0); assert(jetwire.is_array(none))
    -- The defaults (timeout 1 s) need no options.
    assert(#assert(client:service_ping()) >= 3)
    -- Stopped services no longer answer.
    assert(sa:stop()); assert(sb:stop())
    settle(a); settle(b)
    eq(#assert(client:service_ping { name = "lua-disc-a", timeout = 0.3 }), 0)
    a:close(); b:close(); c:close(); client:close()
end)

-- 50 requests on the way, then stop: every one is answered.
local function stop_drains(driven, with_wait)
    local nc = connect(driven and { loop = "driven" } or nil)
    local client = connect()
    local svc = assert(nc:add_service { name = "lua-drain",
                                        version = "1.0.0" })
    assert(svc:add_endpoint { name = "drain", handler = echo })
    assert(nc:flush())
    local ids = {}
    for i = 1, 50 do
        ids[assert(client:request_start("drain", tostring(i)))] = i
    end
    assert(client:flush())
    -- On the service's side by now (its connection reads them).
    if driven then nc:run(0.2) else jetwire.sleep(0.2) end
    eq(svc:stop(), true)   -- returns at once, nothing handled yet
    eq(svc:stopped(), false)
    eq(svc:stop(), true)   -- twice is harmless
    fails("INVALID_SUBSCRIPTION", svc.add_endpoint, svc,
          { name = "late", handler = echo })
    if with_wait then
        eq(svc:wait(5), true) -- runs the handlers meanwhile
    else
        serve_for(nc, 0.3)
    end
    eq(svc:stopped(), true)
    eq(svc:wait(0), true)
    local answered = 0
    local deadline = jetwire.now() + 5
    while answered < 50 and jetwire.now() < deadline do
        jetwire.poll({ client }, 0.05)
        client:process()
        while true do
            local id, msg = client:request_poll()
            if not id then break end
            eq(msg.data, tostring(ids[id]))
            answered = answered + 1
        end
    end
    eq(answered, 50)
    eq(endpoint_stats(svc:stats(), "drain").num_requests, 50)
    fails("NO_RESPONDERS", client.request, client, "drain", "x", 1)
    nc:close(); client:close()
end

test("stop drains the requests on the way (process)", function()
    stop_drains(false, false)
end)

test("stop drains the requests on the way (wait)", function()
    stop_drains(false, true)
end)

test("stop drains the requests on the way (driven)", function()
    stop_drains(true, false)
    stop_drains(true, true)
end)

test("bad configurations are errors of the engine", function()
    local nc = connect()
    fails("INVALID_ARG", nc.add_service, nc, {})
    fails_naming("INVALID_ARG", { "a b" }, nc.add_service, nc,
                 { name = "a b", version = "1.0.0" })
    fails("INVALID_ARG", nc.add_service, nc, { name = "a.b",
                                               version = "1.0.0" })
    fails_naming("INVALID_ARG", { "1.0" }, nc.add_service, nc,
                 { name = "a", version = "1.0" })
    fails("INVALID_ARG", nc.add_service, nc, { name = "a" })
    fails_naming("INVALID_ARG", { "color" }, nc.add_service, nc,
                 { name = "a", version = "1.0.0", color = "red" })
    fails("INVALID_ARG", nc.add_service, nc, { name = "a", version = "1.0.0",
                                               metadata = { n = 1 } })
    fails("INVALID_ARG", nc.add_service, nc, { name = "a", version = "1.0.0",
                                               description = 7 })
    fails("INVALID_ARG", nc.add_service, nc, { name = 5, version = "1.0.0" })
    fails("INVALID_ARG", nc.add_service, nc, { name = "a", version = "1.0.0",
                                               queue_group = "a b" })
    fails("INVALID_ARG", nc.add_service, nc, { name = "a", version = "1.0.0",
                                               queue_group_disabled = 1 })
    local svc = assert(nc:add_service { name = "lua-bad", version = "1.0.0",
                                        metadata = {} })
    fails("INVALID_ARG", svc.add_endpoint, svc, { name = "a.b",
                                                  handler = echo })
    fails("INVALID_ARG", svc.add_endpoint, svc, { name = "x",
                                                  subject = "a..b",
                                                  handler = echo })
    fails("INVALID_ARG", svc.add_endpoint, svc, { name = "x",
                                                  queue_group = "a b",
                                                  handler = echo })
    fails("INVALID_ARG", svc.add_endpoint, svc, { name = "x", speed = 1,
                                                  handler = echo })
    fails("INVALID_ARG", svc.add_group, svc, { name = "a..b" })
    fails("INVALID_ARG", svc.add_group, svc, { name = "g", depth = 2 })
    -- A failed add leaves nothing behind.
    eq(#assert(svc:info()).endpoints, 0)
    -- The pending limits are the engine's fields too.
    local limited = assert(svc:add_endpoint { name = "limited",
                                              pending_msgs_limit = 10,
                                              pending_bytes_limit = 1 << 20,
                                              handler = echo })
    eq(limited:name(), "limited")
    nc:close()
end)

test("misused arguments raise", function()
    local nc = connect()
    raises(nc.add_service, nc)
    raises(nc.add_service, nc, "name")
    raises(nc.add_service, nc, { name = "a", version = "1.0.0",
                                 stats_handler = 5 })
    raises(nc.add_service, nc, { name = print, version = "1.0.0" })
    raises(nc.add_service, nc, { name = "a", version = "1.0.0",
                                 metadata = { k = io.stdout } })
    raises(nc.add_service, nc, { name = "a", version = 0 / 0 })
    local svc = assert(nc:add_service { name = "lua-misuse",
                                        version = "1.0.0" })
    raises(svc.add_endpoint, svc)
    raises(svc.add_endpoint, svc, { name = "x" })   -- no handler
    raises(svc.add_endpoint, svc, { name = "x", handler = "echo" })
    raises(svc.add_group, svc, "g")
    raises(svc.wait, svc, -1)
    raises(svc.wait, svc, "1")
    raises(svc.id, nc)
    raises(svc.stop, {})
    raises(nc.service_ping, nc, { bogus = 1 })
    raises(nc.service_ping, nc, { timeout = -1 })
    raises(nc.service_ping, nc, { timeout = "1" })
    raises(nc.service_ping, nc, { max_responses = 1.5 })
    raises(nc.service_ping, nc, { max_responses = math.maxinteger })
    raises(nc.service_info, nc, { name = 5 })
    raises(nc.service_stats, nc, "name")
    fails("INVALID_ARG", nc.service_ping, nc, { name = "a b" })
    fails("INVALID_ARG", nc.service_ping, nc, { id = "x" }) -- id needs name
    fails("INVALID_ARG", nc.service_ping, nc, { name = "a\0b" })
    -- The request's methods, inside a handler.
    local checked = false
    assert(svc:add_endpoint { name = "misuse", handler = function(req)
        raises(req.respond_error, req, 400, "x")
        raises(req.respond_error, req, "400")
        raises(req.respond_error, req, "400", "a\0b")
        raises(req.respond_error, req, "400", "x", {})
        raises(req.respond, req, 5)
        raises(req.respond, req, "x", { bogus = 1 })
        raises(req.header_values, req)
        raises(req.respond, {})
        fails("INVALID_ARG", req.respond_error, req, "400", "a\nb")
        assert(req:respond("checked"))
        checked = true
    end })
    assert(nc:flush())
    local client = connect()
    eq(exchange(nc, client, { { "misuse", "x" } })[1].data, "checked")
    assert(checked)
    -- wait on a service that was not stopped: the engine says so.
    fails_naming("INVALID_ARG", { "not stopped" }, svc.wait, svc, 0)
    nc:close(); client:close()
end)

test("handles after close, after the connection's close, after gc",
     function()
    local nc = connect()
    local svc = assert(nc:add_service { name = "lua-closed",
                                        version = "1.0.0" })
    local group = assert(svc:add_group { name = "g" })
    local ep = assert(group:add_endpoint { name = "e", handler = echo })
    eq(svc:close(), true)
    eq(svc:close(), true)
    for _, m in ipairs { "id", "name", "version", "info", "stats", "reset",
                         "stop", "wait" } do
        fails_naming("INVALID_ARG", { "closed" }, svc[m], svc)
    end
    fails("INVALID_ARG", svc.add_endpoint, svc, { name = "x",
                                                  handler = echo })
    fails("INVALID_ARG", svc.add_group, svc, { name = "x" })
    eq(svc:stopped(), true) -- the engine's word for a freed service
    fails("INVALID_ARG", ep.name, ep)
    fails("INVALID_ARG", ep.subject, ep)
    fails("INVALID_ARG", ep.queue_group, ep)
    fails("INVALID_ARG", group.add_endpoint, group, { name = "x",
                                                      handler = echo })
    fails("INVALID_ARG", group.add_group, group, { name = "x" })
    assert(tostring(svc):find("closed"))
    assert(tostring(ep):find("closed"))
    assert(tostring(group):find("closed"))
    settle(nc)
    local client = connect()
    fails("NO_RESPONDERS", client.request, client, "g.e", "x", 1)

    -- The connection closed under a running service.
    local svc2 = assert(nc:add_service { name = "lua-closed2",
                                         version = "1.0.0" })
    nc:close()
    fails("CONNECTION_CLOSED", nc.add_service, nc, { name = "x",
                                                     version = "1.0.0" })
    fails("CONNECTION_CLOSED", nc.service_ping, nc)
    fails("CONNECTION_CLOSED", svc2.add_endpoint, svc2,
          { name = "x", handler = echo })
    eq(svc2:stop(), true)
    eq(nc:process(), 0)
    eq(svc2:close(), true)

    -- A service whose handle is dropped goes on answering (its
    -- connection holds it), until the connection goes.
    local nc3 = connect()
    do
        local s = assert(nc3:add_service { name = "lua-dropped",
                                           version = "1.0.0" })
        assert(s:add_endpoint { name = "dropped", handler = echo })
    end
    full_gc()
    assert(nc3:flush())
    eq(exchange(nc3, client, { { "dropped", "still" } })[1].data, "still")
    -- Dropped with everything: collected in any order.
    nc3 = nil
    full_gc()
    jetwire.sleep(0.1) -- the server sees the socket close
    fails("NO_RESPONDERS", client.request, client, "dropped", "x", 1)
    do
        local e, g
        do
            local n = connect()
            local s = assert(n:add_service { name = "lua-gc",
                                             version = "1.0.0" })
            g = assert(s:add_group { name = "gc" })
            e = assert(g:add_endpoint { name = "e", handler = echo })
        end
        full_gc()
        -- The endpoint and the group keep the service and its connection.
        eq(e:name(), "e")
        assert(g:add_endpoint { name = "f", handler = echo })
        local n = debug.getuservalue(debug.getuservalue(e, 1), 1)
        assert(n:flush())
        eq(exchange(n, client, { { "gc.f", "kept" } })[1].data, "kept")
    end
    full_gc()
    -- <close> closes the service at the end of the block.
    local nc4 = connect()
    do
        local s <close> = assert(nc4:add_service { name = "lua-block",
                                                   version = "1.0.0" })
        assert(s:add_endpoint { name = "block", handler = echo })
        assert(nc4:flush())
        eq(exchange(nc4, client, { { "block", "in" } })[1].data, "in")
    end
    settle(nc4)
    fails("NO_RESPONDERS", client.request, client, "block", "x", 1)
    nc4:close(); client:close()
end)

test("a handler may close its service or run process() again", function()
    local nc, client = connect(), connect()
    local svc = assert(nc:add_service { name = "lua-reentry",
                                        version = "1.0.0" })
    local nested = 0
    assert(svc:add_endpoint { name = "nested", handler = function(req)
        nested = nested + 1
        nc:process() -- takes the next request meanwhile
        assert(req:respond(req.data))
    end })
    assert(nc:flush())
    local replies = exchange(nc, client, { { "nested", "1" },
                                           { "nested", "2" },
                                           { "nested", "3" } })
    eq(replies[3].data, "3"); eq(nested, 3)
    eq(endpoint_stats(svc:stats(), "nested").num_requests, 3)
    assert(svc:add_endpoint { name = "closer", handler = function(req)
        assert(req:respond("closing"))
        eq(svc:close(), true)       -- freed once the handler returns
        fails("INVALID_ARG", svc.stats, svc)
        error("and raised")
    end })
    assert(nc:flush())
    eq(exchange(nc, client, { { "closer", "x" } })[1].data, "closing")
    fails("INVALID_ARG", svc.info, svc)
    settle(nc)
    fails("NO_RESPONDERS", client.request, client, "closer", "x", 1)
    -- A stats handler may close it too, and raise.
    local other
    local stats_calls = 0
    other = assert(nc:add_service {
        name = "lua-reentry2", version = "1.0.0",
        stats_handler = function()
            stats_calls = stats_calls + 1
            if stats_calls == 2 then -- after the first request
                other:close()
                error("closed it")
            end
        end })
    assert(other:add_endpoint { name = "stats_closer", handler = echo })
    assert(nc:flush())
    eq(exchange(nc, client, { { "stats_closer", "y" } })[1].data, "y")
    fails("INVALID_ARG", other.id, other)
    nc:close(); client:close()
end)

h.finish()
