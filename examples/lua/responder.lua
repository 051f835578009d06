-- responder: the tutorial's "Service (Responder)".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
responder: a user service on user.get. A request is {"user_id":"user-1"};
the reply is the user from a small in-memory table,
  {"user_id":"user-1","name":"Alice Smith","email":"...","found":true}
or {"user_id":"...","found":false} for an unknown id. Runs until it has
answered COUNT requests (when given) or until Ctrl-C (SIGINT) or
SIGTERM, then
drains.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 responder.lua [COUNT]

Requests are pulled and answered with msg:respond.
]==]

common.run(function()
    local limit = common.arguments(USAGE, "count").count

    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "responder" })
    local sub = assert(nc:subscribe("user.get"))
    assert(nc:flush(2)) -- the server knows us from now on
    print("User service listening on 'user.get'...")

    local answered = 0
    local function answer(msg)
        local line, reply = common.answer_user_request(msg.data)
        print(line)
        -- The reply goes to the request's reply subject (its inbox).
        assert(msg:respond(reply))
        print("Sent response: " .. reply)
        answered = answered + 1
    end

    common.until_signalled(function()
        -- No timeout needed: a signal ends the wait.
        local msg = common.next_msg(sub, math.huge)
        if msg then answer(msg) end
        return limit == nil or answered < limit
    end)

    -- Drain: stop taking requests, answer those in flight, close. Replies
    -- cannot be sent once the connection has closed, so the requests still
    -- queued are answered while it drains.
    assert(sub:drain())
    for msg in sub:messages(0.5) do answer(msg) end
    assert(nc:drain(5))
    print(("User service stopped after %d request(s)"):format(answered))
end)
