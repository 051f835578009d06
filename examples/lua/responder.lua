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
SIGTERM, then stops and drains.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 responder.lua [COUNT]

It is a service of the NATS micro API: "users" 1.0.0 with one endpoint,
"get", on user.get, so that `nats micro stats users` and every client's
discovery see it at work. A request that is not {"user_id":"..."} gets an
error reply (code 400), which its statistics count. nc:process() runs the
handler.
]==]

common.run(function()
    local limit = common.arguments(USAGE, "count").count

    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "responder" })
    local svc <close> = assert(nc:add_service{
        name = "users", version = "1.0.0",
        description = "the tutorial's user service" })
    local answered = 0
    assert(svc:add_endpoint{ name = "get", subject = "user.get",
                             handler = function(req)
        local line, reply, problem = common.answer_user_request(req.data)
        print(line)
        if reply then
            -- The reply goes to the request's reply subject (its inbox).
            assert(req:respond(reply))
            print("Sent response: " .. reply)
        else
            assert(req:respond_error("400", problem))
            print("Sent response: error 400")
        end
        answered = answered + 1
    end })
    assert(nc:flush(2)) -- the server knows us from now on
    print(("User service listening on 'user.get'... (service id %s)")
          :format(svc:id()))

    common.serve(nc, function() return limit ~= nil and answered >= limit end)

    -- Stop: discovery ends, the endpoint drains, and the requests still on
    -- the way are answered (wait runs the handler), then the connection
    -- drains and closes.
    assert(svc:stop())
    assert(svc:wait(5))
    assert(nc:drain(5))
    print(("User service stopped after %d request(s)"):format(answered))
end)
