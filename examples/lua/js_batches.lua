-- js_batches: publishing many messages at once (ADR-50).
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
js_batches: an atomic batch (nats-server 2.12) stores an order and its
lines all together or not at all: the second order's batch expects a
sequence the stream does not have, so none of it is stored. A fast-ingest
batch (nats-server 2.14) then publishes 10,000 sensor readings with flow
control instead of one acknowledgment per message.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 js_batches.lua
]==]

-- Order number `order`: a header and `lines` lines in one atomic batch;
-- expected_last_seq (nil: none) is checked when the batch commits,
-- against the stream before it.
local function send_order(js, order, lines, expected_last_seq)
    local msgs = {}
    for i = 0, lines do
        msgs[#msgs + 1] = {
            ("shop.order.%d.%s"):format(order, i > 0 and "line" or "header"),
            ('{"order":%d,"line":%d}'):format(order, i) }
    end
    return js:publish_atomic(msgs, { expected_last_seq = expected_last_seq })
end

common.run(function()
    common.arguments(USAGE)
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "js_batches" })
    local js = assert(nc:jetstream())
    js:delete_stream("SHOP")
    assert(js:create_stream{ name = "SHOP", subjects = { "shop.>" },
                             storage = "memory", allow_atomic = true,
                             allow_batched = true })

    local ack = assert(send_order(js, 1, 3))
    print(("Order 1: batch %s stored %d messages, last sequence %d"):format(
        ack.batch, ack.count, ack.seq))
    -- The stream is at 4, not 1: the whole batch is refused.
    local ok, err = send_order(js, 2, 3, 1)
    if ok then error("order 2 was stored") end
    print(("Order 2: %s (%s)"):format(err.code, err.message))
    if err.code ~= "WRONG_LAST_SEQUENCE" then return 1 end

    -- Fast ingest: 10,000 readings, acknowledged every so many.
    local fb <close> = assert(js:fast_batch())
    for i = 0, 9999 do
        assert(fb:add("shop.sensor.temp", ('{"celsius":%d.%d}'):format(
            18 + i % 5, i % 10)))
    end
    ack = assert(fb:commit())
    print(("Readings: %d stored by one fast batch"):format(ack.count))
end)
