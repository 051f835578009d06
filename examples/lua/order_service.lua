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
  NATS_URL=nats://127.0.0.1:4222 lua5.4 order_service.lua serve [COUNT [FIRST]]

The tutorial's service takes its orders from an HTTP endpoint, which is
not this project's field: here they come from the command line instead.
Order n is ORD-n; its customer and two items are picked by n, the total is
the items' prices added up (common.service_order_json), as in C and Python.

With "serve" the orders come as requests instead: the order service is
the micro service "orders" 1.0.0 with one endpoint, "create", on
order.create (outside orders.>, which the stream captures). A request is
  {"customer":"alice","items":["keyboard","mouse"]}
(a customer, one or more items of the catalogue); the service makes order
ORD-n (n from FIRST, +1 per order), publishes it as above, prints the same
two lines and replies with the order's JSON. A request that is not such
JSON, or names an item the catalogue lacks, gets an error reply with code
400 (common.read_order_request); a JetStream failure, 503 with the error's
text. It stops after COUNT orders (when given) or on SIGINT/SIGTERM: the
service stops (the requests on the way are answered), the connection
drains, and it prints "Order service stopped after <k> order(s)". Try it
with natscli:
  nats request order.create '{"customer":"alice","items":["mouse"]}'
  nats micro stats orders
nc:process() (common.serve) runs the handler, which waits for the
stream's acknowledgment as in C and Python.

A stream's retention cannot change: on a server where js_setup already
made ORDERS (limits retention) the update is refused. Use a server of its
own (as scripts/demo.sh does) or delete that stream first.
]==]

-- serve(nc, js, limit, first): serve orders on order.create until limit
-- orders were created (nil: no limit) or SIGINT/SIGTERM; then stop the
-- service and drain.
local function serve(nc, js, limit, first)
    local svc <close> = assert(nc:add_service{
        name = "orders", version = "1.0.0",
        description = "the tutorial's order service" })
    local created = 0
    assert(svc:add_endpoint{ name = "create", subject = "order.create",
                             handler = function(req)
        if limit and created >= limit then
            assert(req:respond_error("503", common.STOPPING))
            return
        end
        local customer, items = common.read_order_request(req.data)
        if not customer then
            assert(req:respond_error("400", items))
            return
        end
        local number = first + created
        local order = common.make_order_json(number, customer, items)
        -- Waits for the stream's acknowledgment: the order is stored.
        local ok, err = js:publish("orders.created", order)
        if not ok then
            io.stderr:write(("order_service: publish failed: %s (%s)\n")
                            :format(err.message, err.code))
            assert(req:respond_error("503", err.message))
            return
        end
        print(order)
        print(("Order ORD-%d created and published"):format(number))
        -- The reply goes to the request's reply subject (its inbox).
        assert(req:respond(order))
        created = created + 1
    end })
    assert(nc:flush(2)) -- the server knows us from now on
    print(("Order service ready: stream ORDERS over orders.> (work queue); "
           .. "service orders on order.create (service id %s)")
          :format(svc:id()))

    common.serve(nc, function() return limit ~= nil and created >= limit end)

    -- Stop: discovery ends, the endpoint drains, and the requests still on
    -- the way are answered (wait runs the handler), then the connection
    -- drains and closes.
    assert(svc:stop())
    assert(svc:wait(5))
    assert(nc:drain(5))
    print(("Order service stopped after %d order(s)"):format(created))
end

common.run(function()
    local serving = arg[1] == "serve"
    if serving then table.remove(arg, 1) end
    local args = common.arguments(USAGE, "count", "first")
    local first = args.first or 1
    -- A service rides out server restarts: reconnect forever, 1 s apart.
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "order-service",
        max_reconnect_attempts = -1, reconnect_time_wait = 1 })
    local js = assert(nc:jetstream())
    assert(js:create_or_update_stream(common.ORDERS_WORK_QUEUE))
    if serving then return serve(nc, js, args.count, first) end
    local count = args.count or 3
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
