-- order_worker: processes the order service's orders (order_service).
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
order_worker: creates (or updates) the durable pull consumer
order-processor on the work-queue stream ORDERS (explicit acks, 30 s to
ack, at most 3 deliveries, only orders.created), fetches orders in batches
and prints "Processing order <id> for <customer>: $<total>" for each, then
acks it: the stream then deletes it. An order that does not parse is
terminated (the tutorial's "Message Acknowledgment": a poison message is
never delivered again).

  NATS_URL=nats://127.0.0.1:4222 lua5.4 order_worker.lua [COUNT]

Stops after COUNT orders (when given), when no order came for 2 s, or on
Ctrl-C (SIGINT) or SIGTERM; then drains, so that its last acks reach the server.
]==]

-- Process one order and ack it (true), or terminate it when it does not
-- parse (false). Raises when the ack or term fails.
local function process(msg)
    local line = common.describe_service_order(msg.data)
    if line == nil then
        print("Bad order, terminated: " .. msg.data)
        assert(msg:term())
        return false
    end
    print(line)
    assert(msg:ack())
    return true
end

common.run(function()
    local limit = common.arguments(USAGE, "count").count
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "order-worker" })
    local js = assert(nc:jetstream())
    local cons <close> = assert(js:create_or_update_consumer("ORDERS",
                                                     common.ORDER_PROCESSOR))
    print("Order worker running.")

    local processed = 0
    common.until_signalled(function()
        local want = limit and math.min(10, limit - processed) or 10
        -- A signal may end the wait (INTERRUPTED): the loop then stops.
        local batch, err = cons:fetch(want, common.IDLE_SECONDS)
        if not batch and err.code == "INTERRUPTED" then return true end
        assert(batch, err)
        if #batch == 0 then
            print("No order for 2 s: the queue is idle.")
            return false
        end
        for _, msg in ipairs(batch) do
            if process(msg) then processed = processed + 1 end
        end
        return limit == nil or processed < limit
    end)
    print(("Done: %d order(s) processed"):format(processed))
    -- Acks are written in the background: drain so that the last ones
    -- reach the server before the connection closes.
    assert(nc:drain(5))
end)
