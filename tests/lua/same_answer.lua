-- The Lua half of tests/conformance/test_same_answer.py: each case makes
-- one call with one questionable input and prints what came of it as
-- "<case>\t<outcome>\t<message>": ok, refused (raised as a misused
-- argument, or INVALID_ARG) or error:<CODE>. Python runs the same cases.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local jw = h.jetwire
io.stdout:setvbuf("no")

local nc = assert(jw.connect(h.url))
local sub = assert(nc:subscribe("same.answer"))
local closed = assert(jw.connect(h.url))
closed:close()
local js = assert(nc:jetstream())
js:create_or_update_stream{ name = "SAME", subjects = { "same.>" } }
assert(js:publish("same.m", "x"))
local cons = assert(js:create_or_update_consumer("SAME", { durable = "d" }))
local msg = assert(cons:fetch(1, 5))[1]

local function connect_with(opts)
    opts.servers = h.url
    local c, err = jw.connect(opts)
    if c then c:close() end
    return c, err
end

local cases = {
    ["next_msg 0"] = function() return sub:next_msg(0) end,
    ["next_msg 1e300"] = function() return sub:next_msg(1e300) end,
    ["next_msg -1"] = function() return sub:next_msg(-1) end,
    ["next_msg nan"] = function() return sub:next_msg(0 / 0) end,
    ["next_msg 2^62"] = function() return sub:next_msg(1 << 62) end,
    ["next_msg str"] = function() return sub:next_msg("1") end,
    ["next_msg bool"] = function() return sub:next_msg(true) end,
    ["request 1e300"] = function() return nc:request("same.x", "", 1e300) end,
    ["request -1"] = function() return nc:request("same.x", "", -1) end,
    ["connect_timeout 1e300"] =
        function() return connect_with{ connect_timeout = 1e300 } end,
    ["connect_timeout -1"] =
        function() return connect_with{ connect_timeout = -1 } end,
    ["ping_interval 0"] =
        function() return connect_with{ ping_interval = 0 } end,
    ["max_outstanding_pings 0"] =
        function() return connect_with{ max_outstanding_pings = 0 } end,
    ["pending_msgs_limit -1"] =
        function() return connect_with{ pending_msgs_limit = -1 } end,
    ["max_reconnect_attempts 1.5"] =
        function() return connect_with{ max_reconnect_attempts = 1.5 } end,
    ["name 1"] = function() return connect_with{ name = 1 } end,
    ["no_echo str"] = function() return connect_with{ no_echo = "yes" } end,
    ["unknown option"] = function() return connect_with{ nope = 1 } end,
    ["jetstream closed"] = function() return closed:jetstream() end,
    ["jetstream timeout 1e300"] =
        function() return nc:jetstream{ timeout = 1e300 } end,
    ["jetstream timeout -1"] =
        function() return nc:jetstream{ timeout = -1 } end,
    ["unsubscribe -1"] = function()
        local s = assert(nc:subscribe("same.u"))
        return s:unsubscribe(-1)
    end,
    ["unsubscribe 1.5"] = function()
        local s = assert(nc:subscribe("same.u"))
        return s:unsubscribe(1.5)
    end,
    ["pending limits -1"] = function()
        return sub:set_pending_limits(-1, -1)
    end,
    ["nak delay -1"] = function() return msg:nak(-1) end,
    ["nak delay nan"] = function() return msg:nak(0 / 0) end,
    ["publish empty subject"] = function() return nc:publish("", "x") end,
    ["publish number payload"] = function() return nc:publish("same.p", 5) end,
    ["fetch batch 0"] = function() return cons:fetch(0, 0.1) end,
    ["fetch batch -1"] = function() return cons:fetch(-1, 0.1) end,
    ["fetch batch 2^21"] = function() return cons:fetch(1 << 21, 0.1) end,
    ["fetch timeout inf"] = function() return cons:fetch(1, math.huge) end,
    ["fetch timeout 0"] = function() return cons:fetch(1, 0) end,
    ["fetch timeout -1"] = function() return cons:fetch(1, -1) end,
    ["fetch timeout str"] = function() return cons:fetch(1, "1") end,
}

for line in io.lines() do
    local fn = cases[line]
    local outcome, message
    if not fn then
        outcome, message = "unknown-case", ""
    else
        local ok, value, err = pcall(fn)
        if not ok then
            local text = tostring(value)
            outcome = "refused"
            message = text:match("bad argument #%d+ to '[^']*' %((.*)%)$")
                or text
        elseif value == nil and type(err) == "table" then
            outcome = err.code == "INVALID_ARG" and "refused"
                or "error:" .. err.code
            message = err.message or ""
        else
            outcome, message = "ok", ""
        end
    end
    print(line .. "\t" .. outcome .. "\t" .. (message or ""))
end
nc:close()
