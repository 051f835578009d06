-- wildcard_subscriber: the tutorial's "Wildcard Subscriptions".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
wildcard_subscriber: two subscriptions,
  orders.*  one token after "orders": orders.created, orders.updated
  orders.>  one or more tokens:       orders.created, orders.eu.created
A message matching both is delivered to both. Runs until COUNT deliveries
in total (when given) or until Ctrl-C (SIGINT) or SIGTERM, then drains.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 wildcard_subscriber.lua [COUNT]

One loop waits for both subscriptions at once on the connection's readable
file descriptor (jetwire.poll), the way an event loop would.
]==]

common.run(function()
    local limit = common.arguments(USAGE, "count").count

    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "wildcard_subscriber" })
    local subs = {}
    for _, pattern in ipairs({ "orders.*", "orders.>" }) do
        subs[#subs + 1] = assert(nc:subscribe(pattern))
    end
    assert(nc:flush(2)) -- both subscriptions are now registered
    print("Listening with wildcard subscriptions...")

    local delivered = 0
    local function show(sub, msg)
        print(("[%s] Subject: %s, Data: %s"):format(sub.subject, msg.subject,
                                                   msg.data))
        delivered = delivered + 1
    end

    common.until_signalled(function()
        -- The fd turns readable when a subscription's queue gets a message;
        -- process() resets it, then we take whatever each queue holds.
        jetwire.poll({ nc }) -- until a delivery or a signal
        nc:process()
        for _, sub in ipairs(subs) do
            while limit == nil or delivered < limit do
                local msg = common.next_msg(sub, 0)
                if not msg then break end
                show(sub, msg)
            end
        end
        return limit == nil or delivered < limit
    end)

    -- Unsubscribe both, take what is still on its way, close.
    assert(nc:drain(5))
    for _, sub in ipairs(subs) do
        for msg in sub:messages(0) do show(sub, msg) end
    end
    print(("Done: %d message(s) delivered"):format(delivered))
end)
