-- What the Lua test scripts share: the module (found through JW_BUILD_DIR,
-- BUILD/lua/jetwire.so, or Lua's default cpath), the server URL (arg[1]),
-- a connection to it, and a minimal test runner with its checks.
local M = {}

M.url = arg[1] or "nats://127.0.0.1:4222"
local build = os.getenv("JW_BUILD_DIR")
if build and build ~= "" then
    package.cpath = build .. "/lua/?.so;" .. package.cpath
end
M.jetwire = require "jetwire"

local passed, failed = 0, 0

-- A connection to the test server, with extra options; raises on failure.
function M.connect(extra)
    local opts = { servers = M.url }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return assert(M.jetwire.connect(opts))
end

-- Run fn as a test named name; a garbage collection follows each one.
function M.test(name, fn)
    local ok, err = xpcall(fn, debug.traceback)
    collectgarbage()
    if ok then
        passed = passed + 1
        print("ok   " .. name)
    else
        failed = failed + 1
        print("FAIL " .. name .. "\n" .. tostring(err))
    end
end

function M.eq(got, want, what)
    if got ~= want then
        error(string.format("%s: got %s, want %s", what or "value",
                            tostring(got), tostring(want)), 2)
    end
end

-- fn(...) must return nil, err with err.code == code.
function M.fails(code, fn, ...)
    local value, err = fn(...)
    if value ~= nil then
        error("expected " .. code .. ", got " .. tostring(value), 2)
    end
    if type(err) ~= "table" or err.code ~= code then
        error("expected " .. code .. ", got " .. tostring(err), 2)
    end
    assert(type(err.message) == "string")
    assert(tostring(err):find(code, 1, true), "tostring(err) names the code")
    return err
end

-- nil, err with code and a message naming each of the words.
function M.fails_naming(code, words, fn, ...)
    local err = M.fails(code, fn, ...)
    for _, w in ipairs(words) do
        assert(err.message:find(w, 1, true),
               "message names " .. w .. ": " .. err.message)
    end
    return err
end

-- The connected server's version as a number (2.9.10 -> 20910).
function M.server_version(nc)
    local a, b, c = assert(nc:server_info()).version:match(
        "^(%d+)%.(%d+)%.(%d+)")
    return tonumber(a) * 10000 + tonumber(b) * 100 + tonumber(c)
end

-- fn(...) must raise (a misused argument); returns the error.
function M.raises(fn, ...)
    local ok, err = pcall(fn, ...)
    if ok then error("expected an error to be raised", 2) end
    return err
end

-- Print the tally and exit: 0 when every test passed.
function M.finish()
    print(string.format("%d passed, %d failed", passed, failed))
    os.exit(failed == 0 and 0 or 1, true)
end

return M
