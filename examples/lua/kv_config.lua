-- kv_config: the tutorial's "Using the Key-Value Store".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
kv_config: creates (or updates) the bucket service-config (history 5,
entries kept 24 hours), stores the payment service's configuration, reads
it back, updates it only if nobody changed it meanwhile (the revision),
lists the keys, then watches the key while a second writer (another
connection, a second later) changes it.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 kv_config.lua
]==]

-- The configuration as the other languages' examples write it.
local function config_json(timeout_ms, max_retries)
    return ('{"endpoint":"https://api.example.com","timeout_ms":%d,' ..
            '"max_retries":%d,"features":["caching","compression",' ..
            '"retry"]}'):format(timeout_ms, max_retries)
end

-- The fields the program reads back (the features list is beyond the
-- flat objects common.from_json reads).
local function read_config(text)
    return text:match('"endpoint":"([^"]*)"'),
           tonumber(text:match('"timeout_ms":(%d+)'))
end

common.run(function()
    common.arguments(USAGE)
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "kv_config" })
    local js = assert(nc:jetstream())

    -- A bucket is a stream underneath; ttl is in seconds.
    local kv = assert(js:create_or_update_key_value{
        bucket = "service-config",
        description = "Service configuration store",
        ttl = 24 * 3600, history = 5, storage = "file" })
    print("Created KV bucket: service-config")

    local revision = assert(kv:put("payment-service", config_json(5000, 3)))
    print(("Stored config at revision: %d"):format(revision))

    local entry = assert(kv:get("payment-service"))
    local endpoint, timeout_ms = read_config(entry.value)
    print(("Retrieved config: endpoint=%s, timeout=%dms"):format(endpoint,
                                                                timeout_ms))

    -- Only if the key is still at the revision just read.
    local newer, err = kv:update("payment-service", config_json(10000, 3),
                                 entry.revision)
    if newer then
        print(("Updated config to revision: %d"):format(newer))
    else
        print("Update failed (concurrent modification?): " .. tostring(err))
    end

    local keys = assert(kv:keys())
    local quoted = {}
    for i, key in ipairs(keys) do quoted[i] = ('"%s"'):format(key) end
    print("Keys in bucket: [" .. table.concat(quoted, ",") .. "]")

    print("Watching for configuration changes...")
    local watcher <close> = assert(kv:watch("payment-service"))

    -- The tutorial's goroutine: a second writer, a second later. Lua has
    -- no threads here, so it is a coroutine resumed while the watch waits.
    local writer = coroutine.wrap(function()
        local other <close> = assert(jetwire.connect{
            servers = common.server_url(), name = "kv_config writer" })
        local other_kv = assert(assert(other:jetstream())
                                    :key_value("service-config"))
        local at = jetwire.now() + 1
        while jetwire.now() < at do coroutine.yield(false) end
        assert(other_kv:put("payment-service", config_json(10000, 5)))
        return true
    end)
    local written, initial_done = false, false
    local deadline = jetwire.now() + 10
    while true do
        local update, werr = watcher:next(0.1)
        if update == false then
            initial_done = true -- the current values are all out
        elseif update then
            print(("%s: key=%s, revision=%d"):format(
                initial_done and "Config updated" or "Current config",
                update.key, update.revision))
            if initial_done then return 0 end
        elseif werr.code ~= "TIMEOUT" then
            error(werr, 0)
        elseif jetwire.now() > deadline then
            print("No update within 10 seconds")
            return 1
        end
        if not written then written = writer() end
    end
end)
