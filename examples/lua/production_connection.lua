-- production_connection: the tutorial's "Production-Ready Connection" and
-- "Graceful Shutdown", in Lua.
--
-- Connects with the options a service sets in production: a name for
-- monitoring, unlimited reconnection with a wait between rounds and a
-- 5 MiB buffer for the outage, timeouts, keepalive pings, a drain timeout,
-- and handlers for the connection's events (run inside nc:process(), on
-- this Lua state). Subscribes to "heartbeat" and publishes one every second
-- (the tutorial: every 5 s). When the server goes away the handlers report
-- it, heartbeats published meanwhile are buffered, and the subscription
-- resumes once a server is back. Runs until it has received COUNT
-- heartbeats (default 5), then drains.
--
--   NATS_URL=nats://127.0.0.1:4222 lua5.4 production_connection.lua [COUNT]
--
-- The module is found through JW_BUILD_DIR (BUILD/lua/jetwire.so) or
-- Lua's default cpath. Plain Lua has no signal handling: a supervisor
-- stopping the service would use COUNT's place for its own condition.

local build = os.getenv("JW_BUILD_DIR")
if build and build ~= "" then
    package.cpath = build .. "/lua/?.so;" .. package.cpath
end
local jetwire = require "jetwire"

local count = tonumber(arg[1] or "5")
if not count or count < 1 or count % 1 ~= 0 then
    io.stderr:write("usage: production_connection.lua [COUNT]\n")
    os.exit(2)
end
io.stdout:setvbuf("line")

local url = os.getenv("NATS_URL")
if not url or url == "" then url = "nats://127.0.0.1:4222" end

local nc, err = jetwire.connect{
    servers = url,
    name = "order-service",             -- connection name, for monitoring
    max_reconnect_attempts = -1,        -- reconnect forever
    reconnect_time_wait = 2,            -- seconds between rounds of attempts
    reconnect_buf_size = 5 * 1024 * 1024, -- kept while disconnected
    connect_timeout = 5,                -- seconds to connect
    ping_interval = 20,                 -- seconds between keepalive pings
    max_outstanding_pings = 3,          -- unanswered pings before giving up
    drain_timeout = 30,                 -- the default for drain()
}
if not nc then
    io.stderr:write("production_connection: connect failed: ",
                    tostring(err), "\n")
    os.exit(1)
end

-- Event handlers: they run inside nc:process(), called below whenever the
-- connection's fd is readable.
nc:on("disconnected", function(ev)
    if ev.code ~= "OK" then
        print(string.format("Disconnected due to error: %s (%s)", ev.text,
                            ev.code))
    else
        print("Disconnected from NATS")
    end
end)
nc:on("reconnected", function()
    print("Reconnected to " .. tostring(nc:connected_url()))
end)
nc:on("closed", function() print("Connection closed") end)
nc:on("error", function(ev)
    if ev.sub then
        print(string.format("Error on subscription %s: %s", ev.sub.subject,
                            ev.text))
    else
        print("Error: " .. ev.text)
    end
end)
nc:on("lame_duck", function()
    print("Server entering lame duck mode: moving on")
end)

print("Connected to NATS, server: " .. nc:connected_url())
if nc:is_connected() then print("Connection is active") end

-- Subscribe to show that the connection stays active, across reconnects
-- too: the engine subscribes again on the new server.
local sub = assert(nc:subscribe("heartbeat"))
assert(nc:flush(2))
print("Service running until " .. count .. " heartbeats arrived.")

local heard, next_beat = 0, jetwire.now()
while heard < count do
    if jetwire.now() >= next_beat then
        -- Buffered while reconnecting; past the buffer it fails and the
        -- next heartbeat tries again.
        local ok, perr = nc:publish("heartbeat", os.date("!%Y-%m-%dT%H:%M:%SZ"))
        if not ok then print("Heartbeat not sent: " .. perr.message) end
        next_beat = next_beat + 1
    end
    jetwire.poll({ nc }, math.max(0, next_beat - jetwire.now()))
    nc:process()
    while heard < count do
        local msg = sub:next_msg(0)
        if not msg then break end
        print("Received heartbeat: " .. msg.data)
        heard = heard + 1
    end
    if nc:status() == "CLOSED" then
        print("Connection lost for good: exiting")
        os.exit(1)
    end
end

-- Graceful shutdown with drain: stop the subscription, let what is on its
-- way arrive, write what is unsent, then close.
print("Initiating graceful shutdown...")
local ok, derr = nc:drain() -- the closed handler runs before it returns
if not ok then
    print("Error during drain: " .. tostring(derr))
    os.exit(1)
end
print("Shutdown complete")
