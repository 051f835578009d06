-- js_setup: the tutorial's "Creating Streams and Consumers".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
js_setup: creates (or updates) the stream ORDERS over orders.>, kept on
disk for 24 hours and at most 100000 messages, then publishes five orders
to orders.created and prints the sequence the stream gave each one.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 js_setup.lua
]==]

common.run(function()
    common.arguments(USAGE)
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "js_setup" })
    local js = assert(nc:jetstream())

    -- Streams persist messages; any number of consumers can read them.
    -- The table has the server's field names; durations are in seconds.
    assert(js:create_or_update_stream{
        name = "ORDERS", description = "Order events stream",
        subjects = { "orders.>" }, storage = "file", retention = "limits",
        max_age = 24 * 3600, max_msgs = 100000, num_replicas = 1 })
    print("Stream created: ORDERS with subjects [orders.>]")

    for i = 1, 5 do
        local order = ('{"id":"ORD-%d","amount":%.2f,"status":"pending"}')
            :format(i, i * 25.50)
        -- Waits for the stream's acknowledgment: stored, with a sequence.
        local ack = assert(js:publish("orders.created", order))
        print(("Published order ORD-%d, sequence: %d"):format(i, ack.seq))
    end
end)
