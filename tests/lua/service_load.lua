-- A service under load, for tests/conformance/test_lua_service.py: an
-- echo endpoint on SUBJECT served by nc:process() (and nc:run() for
-- loop = "driven").
--
--   lua5.4 tests/lua/service_load.lua URL thread|driven SUBJECT COUNT
--
-- Prints "ready" once the endpoint is subscribed and "served N" once COUNT
-- requests were handled (or a minute passed), then goes on serving (and
-- answering discovery) until a line comes on stdin; then it stops the
-- service, waits for it, and prints the endpoint's statistics as one line
-- of JSON.

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local jetwire = h.jetwire
local mode, subject, count = arg[2], arg[3], tonumber(arg[4])

local nc = h.connect(mode == "driven" and { loop = "driven" } or nil)
local stats_calls, handled = 0, 0
local svc = assert(nc:add_service {
    name = "lua-load", version = "1.0.0",
    stats_handler = function()
        stats_calls = stats_calls + 1
        return { handled = handled }
    end })
assert(svc:add_endpoint { name = "echo", subject = subject,
                          handler = function(req)
                              handled = handled + 1
                              assert(req:respond(req.data))
                          end })
assert(nc:flush())
io.write("ready\n")
io.flush()

-- One turn: serve for up to seconds; true when stdin has a line.
local function serve(seconds)
    local ready
    if mode == "driven" then
        nc:run(seconds)
        ready = jetwire.poll({ 0 }, 0)
    else
        ready = jetwire.poll({ nc, 0 }, seconds)
    end
    nc:process()
    for _, item in ipairs(ready) do
        if item == 0 then return true end
    end
    return false
end

local deadline = jetwire.now() + 60
while handled < count and jetwire.now() < deadline do serve(0.05) end
io.write("served ", handled, "\n")
io.flush()
repeat until serve(0.05)
io.read("l")
assert(svc:stop())
assert(svc:wait(5))
local e = assert(svc:stats()).endpoints[1]
io.write(jetwire.json.encode {
    handled = handled, stats_calls = stats_calls,
    num_requests = e.num_requests, num_errors = e.num_errors,
    last_error = e.last_error, processing_time = e.processing_time,
    data = e.data,
}, "\n")
nc:close()
