-- order_service: the tutorial's "Order Service" (Complete Microservice
-- Example).
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
order_service: connects as a service does (reconnecting forever, 1 s
between rounds), creates or updates the stream ORDERS over orders.> as a
work queue (on disk, 7 days at most: each order stays until a worker acks
it), then creates COUNT orders (default 3) numbered from FIRST (default 1),
or fewer when SIGINT (Ctrl-C) or SIGTERM comes first.
Each order is published to orders.created with an acknowledgment from the
stream; its JSON is printed, then "Order <id> created and published".
Drains before leaving.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 order_service.lua [COUNT [FIRST]]

The tutorial's service takes its orders from an HTTP endpoint, which is
not this project's field: here they come from the command line instead.
Order n is ORD-n; its customer and two items are picked by n, the total is
the items' prices added up (common.service_order_json), as in C and Python.

A stream's retention cannot change: on a server where js_setup already
made ORDERS (limits retention) the update is refused. Use a server of its
own (as scripts/demo.sh does) or delete that stream first.
]==]

common.run(function()
    local args = common.arguments(USAGE, "count", "first")
    local count, first = args.count or 3, args.first or 1
    -- A service rides out server restarts: reconnect forever, 1 s apart.
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "order-service",
        max_reconnect_attempts = -1, reconnect_time_wait = 1 })
    local js = assert(nc:jetstream())
    assert(js:create_or_update_stream(common.ORDERS_WORK_QUEUE))
    print("Order service ready: stream ORDERS over orders.> (work queue)")

    -- SIGINT or SIGTERM stops it between two orders, then it drains.
    local number = first
    common.until_signalled(function()
        local order = common.service_order_json(number)
        -- Waits for the stream's acknowledgment: the order is stored.
        assert(js:publish("orders.created", order))
        print(order)
        print(("Order ORD-%d created and published"):format(number))
        number = number + 1
        return number < first + count
    end)
    assert(nc:drain(5))
end)
