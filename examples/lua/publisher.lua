-- publisher: the tutorial's "Simple Publisher".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
publisher: publishes one order, as JSON, to orders.created (or to the
subject given) and flushes, so that the message has reached the server
before the program exits.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 publisher.lua [SUBJECT]
]==]

common.run(function()
    local subject = common.arguments(USAGE, "subject").subject
        or "orders.created"
    local order = common.new_order()

    -- <close> closes the connection at the end of the block, also when an
    -- error escapes. Failures return nil, err: assert raises err.
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "publisher" })
    -- Publishing only queues the message for the socket...
    assert(nc:publish(subject, common.order_json(order)))
    -- ...flush writes it and waits for the server's PONG, so it has arrived
    -- before we close the connection.
    assert(nc:flush(2))

    print(("Published order %s to %s"):format(order.id, subject))
end)
