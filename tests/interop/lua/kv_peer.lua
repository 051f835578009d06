-- jetwire's Lua side of the Key-Value interop tests
-- (tests/conformance/test_interop_go.py); the same arguments and output as
-- tests/interop/c/kv_peer.c:
--
--   NATS_URL=... lua5.4 kv_peer.lua get BUCKET KEY [REVISION]
--   NATS_URL=... lua5.4 kv_peer.lua put BUCKET KEY VALUE
--   NATS_URL=... lua5.4 kv_peer.lua update BUCKET KEY REVISION VALUE
--
-- One JSON line out; other failures on stderr with status 1, usage 2.
-- The examples' common.lua finds the module and writes the JSON.
local here = arg[0]:match("^(.*)/") or "."
package.path = here .. "/../../../examples/lua/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local op, bucket, key = arg[1], arg[2], arg[3]
if not ((op == "get" and (#arg == 3 or #arg == 4)) or
        (op == "put" and #arg == 4) or (op == "update" and #arg == 5)) then
    io.stderr:write("usage: kv_peer.lua get BUCKET KEY [REVISION] | put ",
                    "BUCKET KEY VALUE | update BUCKET KEY REVISION VALUE\n")
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
    if arg[4] then
        e, err = kv:get(key, math.tointeger(tonumber(arg[4])))
    else
        e, err = kv:get(key)
    end
    if not e then fail("get", err) end
    out = common.to_json({op = "get", key = key, revision = e.revision,
                          value = e.value}, {"op", "key", "revision", "value"})
elseif op == "put" then
    local rev
    rev, err = kv:put(key, arg[4])
    if not rev then fail("put", err) end
    out = common.to_json({op = "put", key = key, revision = rev},
                         {"op", "key", "revision"})
else
    local rev
    rev, err = kv:update(key, arg[5], math.tointeger(tonumber(arg[4])))
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
