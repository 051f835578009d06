-- js_durable: the tutorial's "Durable Consumer".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
js_durable: creates (or updates) the durable pull consumer order-processor
on the stream ORDERS (explicit acks, from the start of the stream, 30 s to
ack, at most 3 deliveries, only orders.created), fetches orders in batches,
processes each (100 ms of simulated work), acks it, and naks what it cannot
parse so that it comes back. Because the consumer is durable, a restarted
processor carries on after the last acked order.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 js_durable.lua [COUNT]

Runs until it has processed COUNT orders (when given) or until Ctrl-C
(SIGINT) or SIGTERM. Run js_setup.lua first to create the stream.
]==]

-- Process one order: ack it when it parses, nak it otherwise.
local function process(msg)
    local order = common.from_json(msg.data)
    if not order or type(order.id) ~= "string" or
            type(order.amount) ~= "number" then
        print("Failed to parse order: " .. msg.data)
        return msg:nak() -- redelivered, up to max_deliver
    end
    print(("Processing order: %s, Amount: $%.2f"):format(order.id,
                                                         order.amount))
    common.sleep(0.1) -- simulated work
    local ok, err = msg:ack()
    if ok then print(("Order %s processed successfully"):format(order.id)) end
    return ok, err
end

common.run(function()
    local limit = common.arguments(USAGE, "count").count
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "js_durable" })
    local js = assert(nc:jetstream())
    local cons <close> = assert(js:create_or_update_consumer("ORDERS", {
        durable = "order-processor", ack_policy = "explicit",
        deliver_policy = "all", ack_wait = 30, max_deliver = 3,
        filter_subject = "orders.created" }))
    print("Order processor running.")

    local processed = 0
    common.until_signalled(function()
        local want = limit and math.min(10, limit - processed) or 10
        -- Up to 10 orders, waiting at most 1 s: an empty batch just means
        -- nothing new arrived. Orders not fetched stay with the consumer
        -- for the next run.
        -- A signal may end the wait (INTERRUPTED): the loop then stops.
        local batch, err = cons:fetch(want, 1)
        if not batch and err.code == "INTERRUPTED" then return true end
        for _, msg in ipairs(assert(batch, err)) do
            assert(process(msg))
            processed = processed + 1
        end
        return limit == nil or processed < limit
    end)
    print("Shutting down...")
    -- Acks are written in the background: drain so that the last ones
    -- reach the server before the connection closes.
    assert(nc:drain(5))
end)
