-- js_schedules: messages the stream publishes later (ADR-51, nats-server
-- 2.12), and a consumer reset (nats-server 2.14).
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
js_schedules: a reminder is scheduled one second ahead, a heartbeat every
second; the heartbeat is stopped by purging its schedule's subject. The
consumer that read them is then reset to the reminder's sequence and reads
it again, without being deleted.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 js_schedules.lua
]==]

-- Fetch `want` messages (waiting up to 5 s for each fetch), print and ack
-- each one; fails when they do not come.
local function read(cons, want)
    local got = 0
    while got < want do
        local msgs = assert(cons:fetch(want - got, 5))
        if #msgs == 0 then error("no message within 5 s", 0) end
        for _, m in ipairs(msgs) do
            print(("  %s #%d: %s"):format(m.subject, m:metadata().stream_seq,
                                          m.data))
            assert(m:ack())
        end
        got = got + #msgs
    end
end

common.run(function()
    common.arguments(USAGE)
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "js_schedules" })
    local js = assert(nc:jetstream())
    js:delete_stream("REMINDERS")
    assert(js:create_stream{ name = "REMINDERS",
                             subjects = { "reminders.>", "schedules.>" },
                             storage = "memory", allow_msg_schedules = true })
    local cons = assert(js:create_consumer("REMINDERS", {
        durable = "reader", filter_subject = "reminders.>" }))

    -- In one second: "@at <RFC 3339 time>", UTC.
    local when = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 1)
    assert(js:publish("schedules.call", "call the bank", {
        schedule_at = when, schedule_target = "reminders.due" }))
    print("Reminder scheduled at " .. when)
    read(cons, 1)

    -- Every second (a duration: seconds in Lua), until purged.
    assert(js:publish("schedules.heartbeat", "still here", {
        schedule_every = 1, schedule_target = "reminders.due" }))
    print("Heartbeat every second:")
    read(cons, 2)
    assert(js:purge_stream("REMINDERS", { subject = "schedules.heartbeat" }))
    print("Heartbeat stopped (its schedule purged)")

    -- Reset (2.14): read from the first reminder again, same consumer.
    local ok, err = js:reset_consumer("REMINDERS", "reader", 1)
    if not ok and err.code == "NOT_SUPPORTED" then
        print("Consumer reset: " .. err.message)
    else
        assert(ok, err)
        print("Consumer reset to sequence 1, reading again:")
        read(cons, 1)
    end
end)
