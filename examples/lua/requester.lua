-- requester: the tutorial's "Client (Requester)".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
requester: asks the user service on user.get for user-1, user-2 and an
unknown user, waiting up to two seconds for each reply, and prints what it
learns. A timeout or "no responders" (nobody subscribed to user.get) is an
error.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 requester.lua
]==]

local HINTS = {
    TIMEOUT = "Request timed out - is the user service busy?",
    -- The server says at once that nobody listens: no need to wait.
    NO_RESPONDERS = "No user service on 'user.get' - start responder.lua first",
}

-- One request/reply round trip: true on success.
local function get_user(nc, user_id)
    local reply, err = nc:request("user.get", common.user_request(user_id), 2)
    if not reply then
        if not HINTS[err.code] then error(err, 0) end
        io.stderr:write(("requester: %s (%s)\n%s\n"):format(
            err.message, err.code, HINTS[err.code]))
        return false
    end
    local line, why = common.describe_user_reply(user_id, reply.data)
    if not line then
        io.stderr:write("requester: ", why, "\n")
        return false
    end
    print(line)
    return true
end

common.run(function()
    common.arguments(USAGE)
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "requester" })
    for _, user_id in ipairs({ "user-1", "user-2", "user-42" }) do
        if not get_user(nc, user_id) then return 1 end
    end
end)
