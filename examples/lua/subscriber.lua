-- subscriber: the tutorial's "Simple Subscriber" and "Graceful Shutdown".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
subscriber: subscribes to orders.created and prints every order it
receives, until it has received COUNT orders (when given) or until Ctrl-C
(SIGINT) or SIGTERM. Then it drains: the subscription is closed, orders already on
their way still arrive and are printed, and only then does the connection
close.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 subscriber.lua [COUNT]

Messages are pulled with sub:next_msg: no Lua code ever runs on the
engine's thread.
]==]

common.run(function()
    local limit = common.arguments(USAGE, "count").count

    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "subscriber" })
    -- No callback: messages queue in the subscription until we pull them.
    local sub = assert(nc:subscribe("orders.created"))
    -- After a flush round trip the server has registered the subscription,
    -- so anything published from now on reaches us.
    assert(nc:flush(2))
    print("Listening for orders on 'orders.created'...")

    local received = 0
    -- The tutorial's sigChan: SIGINT or SIGTERM ends the wait at once.
    local interrupted = common.until_signalled(function()
        local msg = common.next_msg(sub, math.huge)
        if msg then
            print(common.describe_order(msg.data))
            received = received + 1
        end
        return limit == nil or received < limit
    end)
    if interrupted then print("Received shutdown signal") end

    -- Graceful shutdown: unsubscribe, let in-flight messages land, close.
    -- What arrived meanwhile stays queued and is handled, not lost.
    assert(nc:drain(5))
    for msg in sub:messages(0) do
        print(common.describe_order(msg.data))
        received = received + 1
    end
    print(("Graceful shutdown complete: %d order(s) received"):format(received))
end)
