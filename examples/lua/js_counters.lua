-- js_counters: distributed counters (ADR-49, nats-server 2.12).
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
js_counters: creates the stream PAGEVIEWS over pages.>, whose subjects are
counters (allow_msg_counter), counts visits to two pages, takes some back,
reads one counter and then every counter of the stream with one request.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 js_counters.lua

Counter values are numbers of any size (the server counts with big
integers): "+1", "-3", "100000000000000000000" all work; a total that does
not fit in a Lua integer comes back as its decimal text.
]==]

local function add(js, subject, delta)
    local total = assert(js:counter_add(subject, delta))
    print(("%s %s -> %s"):format(subject, delta, total))
end

common.run(function()
    common.arguments(USAGE)
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "js_counters" })
    local js = assert(nc:jetstream())
    js:delete_stream("PAGEVIEWS") -- start from zero
    assert(js:create_stream{ name = "PAGEVIEWS", subjects = { "pages.>" },
                             storage = "memory", allow_msg_counter = true,
                             allow_direct = true })
    for _ = 1, 3 do add(js, "pages.home", "+1") end
    add(js, "pages.about", "+10")
    add(js, "pages.about", "-4")
    add(js, "pages.big", "100000000000000000000")

    -- One counter: its total and its last increment.
    local e = assert(js:counter_get("PAGEVIEWS", "pages.home"))
    print("pages.home: " .. common.to_json(
        { subject = e.subject, val = tostring(e.value),
          incr = tostring(e.incr) }, { "subject", "val", "incr" }))

    -- Every counter at once: the last message of each subject.
    for _, entry in ipairs(assert(js:counter_get_many("PAGEVIEWS",
                                                      "pages.>"))) do
        print(("  %-12s %s"):format(entry.subject, entry.value))
    end
end)
