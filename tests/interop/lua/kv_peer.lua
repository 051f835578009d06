-- jetwire's Lua side of the Key-Value interop tests
-- (tests/conformance/test_interop_go.py); the same arguments and output as
-- tests/interop/c/kv_peer.c:
--
--   NATS_URL=... lua5.4 kv_peer.lua get BUCKET KEY
--   NATS_URL=... lua5.4 kv_peer.lua update BUCKET KEY REVISION VALUE
--
-- One JSON line out; other failures on stderr with status 1, usage 2.
-- The examples' common.lua finds the module and writes the JSON.
local here = arg[0]:match("^(.*)/") or "."
package.path = here .. "/../../../examples/lua/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local op, bucket, key, revision, value = arg[1], arg[2], arg[3], arg[4], arg[5]
if not ((op == "get" and #arg == 3) or (op == "update" and #arg == 5)) then
    io.stderr:write("usage: kv_peer.lua get BUCKET KEY | update BUCKET KEY ",
                    "REVISION VALUE\n")
    os.exit(2)
end

local function fail(what, err)
    io.stderr:write(("kv_peer.lua: %s: %s\n"):format(what, tostring(err)))
    os.exit(1)
end

local nc, err = jetwire.connect(common.server_url())
if not nc then fail("connect", err) end
local js = nc:jetstream() or fail("jetstream", "no context")
local kv
kv, err = js:key_value(bucket)
if not kv then fail("bind to the bucket", err) end

local out
if op == "get" then
    local e
    e, err = kv:get(key)
    if not e then fail("get", err) end
    out = common.to_json({op = "get", key = key, revision = e.revision,
                          value = e.value}, {"op", "key", "revision", "value"})
else
    local rev
    rev, err = kv:update(key, value, math.tointeger(tonumber(revision)))
    if rev then
        out = common.to_json({op = "update", key = key, revision = rev},
                             {"op", "key", "revision"})
    elseif err.code == "WRONG_LAST_SEQUENCE" then
        out = common.to_json({op = "update", key = key, conflict = true},
                             {"op", "key", "conflict"})
    else
        fail("update", err.message or err)
    end
end
print(out)
nc:close()
