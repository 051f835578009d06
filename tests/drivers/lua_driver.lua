-- The Lua conformance driver: tests/drivers/PROTOCOL.md over the public
-- API of the jetwire Lua module, and nothing else. JSON and base64 are
-- pure Lua here (lua-cjson turns every number into a float, and the
-- protocol tells integers from floats).
--
-- `serve` answers in the background without running Lua on the engine's
-- thread: while the driver waits for the next request (on stdin) or inside
-- an op that waits, it polls stdin and the connections' readable fds with
-- jetwire.poll, and answers what the serve subscriptions hold.

local build = os.getenv("JW_BUILD_DIR")
if build and build ~= "" then
    package.cpath = build .. "/lua/?.so;" .. package.cpath
end
local jetwire = require "jetwire"

local null = jetwire.null
local A = jetwire.array -- marks a result table as a JSON array

-- ------------------------------------------------------------------------
-- Errors: a bad argument is INVALID_ARG; a jetwire error keeps its code.

local BadArg = {}
BadArg.__index = BadArg

local function bad(message)
    error(setmetatable({ code = "INVALID_ARG", message = message }, BadArg), 0)
end

-- value, err from a jetwire call: the value, or the error raised.
local function check(value, err, ...)
    if value == nil then
        error(err, 0)
    end
    return value, err, ...
end

-- ------------------------------------------------------------------------
-- JSON

local decode_value

local function skip(s, pos)
    return s:find("[^ \t\r\n]", pos) or #s + 1
end

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b",
                  f = "\f", n = "\n", r = "\r", t = "\t" }

local function decode_string(s, pos) -- pos is just after the quote
    local parts = {}
    while true do
        local at = s:find('["\\]', pos)
        if not at then bad("unterminated string") end
        parts[#parts + 1] = s:sub(pos, at - 1)
        if s:sub(at, at) == '"' then
            return table.concat(parts), at + 1
        end
        local c = s:sub(at + 1, at + 1)
        if c == "u" then
            local cp = tonumber(s:sub(at + 2, at + 5), 16)
            if not cp or not s:sub(at + 2, at + 5):match("^%x%x%x%x$") then
                bad("bad \\u escape")
            end
            pos = at + 6
            if cp >= 0xd800 and cp <= 0xdbff and
                    s:sub(pos, pos + 1) == "\\u" then
                local low = tonumber(s:sub(pos + 2, pos + 5), 16)
                if low and low >= 0xdc00 and low <= 0xdfff then
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00)
                    pos = pos + 6
                end
            end
            parts[#parts + 1] = utf8.char(cp)
        elseif escapes[c] then
            parts[#parts + 1] = escapes[c]
            pos = at + 2
        else
            bad("bad escape")
        end
    end
end

local function decode_number(s, pos)
    local int = s:match("^-?%d+", pos)
    if not int then bad("bad JSON value") end
    local stop = pos + #int
    local frac = s:match("^%.%d+", stop) or ""
    stop = stop + #frac
    local exp = s:match("^[eE][+-]?%d+", stop) or ""
    stop = stop + #exp
    local text = s:sub(pos, stop - 1)
    local value = tonumber(text)
    if frac == "" and exp == "" then
        value = math.tointeger(value) or value
    else
        value = value + 0.0
    end
    return value, stop
end

function decode_value(s, pos, depth)
    if depth > 200 then bad("JSON nested too deep") end
    pos = skip(s, pos)
    local c = s:sub(pos, pos)
    if c == "{" then
        local obj = {}
        pos = skip(s, pos + 1)
        if s:sub(pos, pos) == "}" then return obj, pos + 1 end
        while true do
            pos = skip(s, pos)
            if s:sub(pos, pos) ~= '"' then bad("object key expected") end
            local key
            key, pos = decode_string(s, pos + 1)
            pos = skip(s, pos)
            if s:sub(pos, pos) ~= ":" then bad("':' expected") end
            obj[key], pos = decode_value(s, pos + 1, depth + 1)
            pos = skip(s, pos)
            local d = s:sub(pos, pos)
            if d == "}" then return obj, pos + 1 end
            if d ~= "," then bad("',' or '}' expected") end
            pos = pos + 1
        end
    elseif c == "[" then
        local arr = A()
        pos = skip(s, pos + 1)
        if s:sub(pos, pos) == "]" then return arr, pos + 1 end
        while true do
            arr[#arr + 1], pos = decode_value(s, pos, depth + 1)
            pos = skip(s, pos)
            local d = s:sub(pos, pos)
            if d == "]" then return arr, pos + 1 end
            if d ~= "," then bad("',' or ']' expected") end
            pos = pos + 1
        end
    elseif c == '"' then
        return decode_string(s, pos + 1)
    elseif s:sub(pos, pos + 3) == "true" then
        return true, pos + 4
    elseif s:sub(pos, pos + 4) == "false" then
        return false, pos + 5
    elseif s:sub(pos, pos + 3) == "null" then
        return null, pos + 4
    end
    return decode_number(s, pos)
end

local function json_decode(s)
    local value, pos = decode_value(s, 1, 0)
    if skip(s, pos) <= #s then bad("trailing characters") end
    return value
end

local string_escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n",
                         ["\r"] = "\\r", ["\t"] = "\\t" }

local function encode_string(s)
    if not utf8.len(s) then bad("string is not UTF-8") end
    return '"' .. s:gsub('[%c"\\]', function(c)
        return string_escapes[c] or string.format("\\u%04x", c:byte())
    end) .. '"'
end

local function json_encode(v, out)
    local t = type(v)
    if v == nil or v == null then
        out[#out + 1] = "null"
    elseif t == "boolean" then
        out[#out + 1] = tostring(v)
    elseif math.type(v) == "integer" then
        out[#out + 1] = string.format("%d", v)
    elseif t == "number" then
        if v ~= v or v == math.huge or v == -math.huge then
            bad("non-finite float")
        end
        local text = string.format("%.17g", v)
        if not text:find("[.eE]") then text = text .. ".0" end
        out[#out + 1] = text
    elseif t == "string" then
        out[#out + 1] = encode_string(v)
    elseif t == "table" and jetwire.is_array(v) then
        out[#out + 1] = "["
        for i = 1, #v do
            if i > 1 then out[#out + 1] = "," end
            json_encode(v[i], out)
        end
        out[#out + 1] = "]"
    elseif t == "table" then
        out[#out + 1] = "{"
        local first = true
        for key, value in pairs(v) do
            if type(key) ~= "string" then bad("map with non-string keys") end
            if not first then out[#out + 1] = "," end
            first = false
            out[#out + 1] = encode_string(key)
            out[#out + 1] = ":"
            json_encode(value, out)
        end
        out[#out + 1] = "}"
    else
        bad("cannot encode a " .. t)
    end
    return out
end

-- ------------------------------------------------------------------------
-- Base64 (RFC 4648, with padding): a 12-bit table to encode.

local alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local enc12 = {}
for i = 0, 4095 do
    local pair = alphabet:sub((i >> 6) + 1, (i >> 6) + 1) ..
                 alphabet:sub((i & 63) + 1, (i & 63) + 1)
    enc12[i] = pair
end

local function b64encode(s)
    local pad = (3 - #s % 3) % 3
    local text = (s .. string.rep("\0", pad)):gsub("...", function(c)
        local a, b, d = c:byte(1, 3)
        local n = (a << 16) | (b << 8) | d
        return enc12[n >> 12] .. enc12[n & 4095]
    end)
    return text:sub(1, #text - pad) .. string.rep("=", pad)
end

-- Decoding works on runs of bytes (string.byte / string.char over a
-- thousand groups at a time) rather than one gsub callback per group: a
-- 1 MiB payload decodes in half the time.
local dec6 = {}
for i = 1, 64 do dec6[alphabet:byte(i)] = i - 1 end

local function b64decode(s)
    if #s % 4 ~= 0 or not s:match("^[A-Za-z0-9+/]*=?=?$") then
        bad("data is not base64")
    end
    local pad = #s:match("=*$")
    local body = s:sub(1, #s - pad) .. string.rep("A", pad)
    local parts, bytes = {}, {}
    for i = 1, #body, 4000 do
        local c = { body:byte(i, i + 3999) }
        local m = 0
        for k = 1, #c, 4 do
            local v = (dec6[c[k]] << 18) | (dec6[c[k + 1]] << 12) |
                      (dec6[c[k + 2]] << 6) | dec6[c[k + 3]]
            bytes[m + 1], bytes[m + 2], bytes[m + 3] =
                v >> 16, (v >> 8) & 255, v & 255
            m = m + 3
        end
        parts[#parts + 1] = string.char(table.unpack(bytes, 1, m))
    end
    local out = table.concat(parts)
    return out:sub(1, #out - pad)
end

-- ------------------------------------------------------------------------
-- Handles and arguments

local handles, kinds = {}, {}
local handle_of = setmetatable({}, { __mode = "k" }) -- sub userdata -> handle
local open_conns = {}  -- handle -> connection, until close/drain/free
local serving = {}     -- {sub = , mode = } of the serve subscriptions
local services = {}    -- the running services (their handlers need process())

-- Whether requests may come in that this state must answer meanwhile.
local function busy()
    return #serving > 0 or next(services) ~= nil
end
local last_handle = 0

local function new_handle(obj, kind)
    last_handle = last_handle + 1
    handles[last_handle], kinds[last_handle] = obj, kind
    if kind == "sub" or kind == "serve" then handle_of[obj] = last_handle end
    if kind == "conn" then open_conns[last_handle] = obj end
    return last_handle
end

local function get(req, key, kind)
    local h = req[key]
    local k = kinds[h]
    if k == nil or (k ~= kind and not (kind == "sub" and k == "serve")) then
        bad("unknown " .. key .. " handle " .. tostring(h))
    end
    return handles[h], h
end

local checks = {
    string = function(v) return type(v) == "string" end,
    integer = function(v) return math.type(v) == "integer" end,
    number = function(v) return type(v) == "number" end,
    boolean = function(v) return type(v) == "boolean" end,
    list = function(v) return type(v) == "table" and jetwire.is_array(v) end,
    object = function(v)
        return type(v) == "table" and not jetwire.is_array(v)
    end,
}

local function arg(req, key, kind, default, required)
    local v = req[key]
    if v == nil then
        if required then bad("missing argument '" .. key .. "'") end
        return default
    end
    if not checks[kind](v) then
        bad("argument '" .. key .. "' has the wrong type")
    end
    if kind == "string" and v:find("\0", 1, true) then
        bad("argument '" .. key .. "' contains NUL")
    end
    return v
end

-- The protocol's negative timeout (forever) is Lua's math.huge.
local function timeout_of(req, default)
    local t = arg(req, "timeout", "number", default or 5.0)
    return t < 0 and math.huge or t
end

local function data_of(req)
    return b64decode(arg(req, "data", "string", ""))
end

-- Headers as jetwire takes them in order: a list of {name, value} pairs.
local function headers_of(req)
    local pairs_list = arg(req, "headers", "list", {})
    for _, pair in ipairs(pairs_list) do
        if not checks.list(pair) or #pair ~= 2 or type(pair[1]) ~= "string" or
                type(pair[2]) ~= "string" or pair[1]:find("\0", 1, true) or
                pair[2]:find("\0", 1, true) then
            bad("headers must be [name, value] string pairs")
        end
    end
    return #pairs_list > 0 and pairs_list or nil
end

local function msg_json(m)
    local headers = A()
    for _, item in ipairs(m:header_items()) do
        headers[#headers + 1] = A { item[1], item[2] }
    end
    return { subject = m.subject, reply = m.reply or null,
             data = b64encode(m.data), headers = headers, status = m.status }
end

-- Protocol values -> the values jetwire.pack takes, and back.
local function from_json(v)
    if type(v) ~= "table" then return v end
    if jetwire.is_array(v) then
        local out = A()
        for i = 1, #v do out[i] = from_json(v[i]) end
        return out
    end
    local bin = v["$bin"]
    if type(bin) == "string" and next(v, next(v)) == nil then
        return jetwire.bin(b64decode(bin))
    end
    local out = {}
    for key, value in pairs(v) do out[key] = from_json(value) end
    return out
end

local function to_json(v)
    if jetwire.is_bin(v) then return { ["$bin"] = b64encode(v.data) } end
    if type(v) == "string" and not utf8.len(v) then bad("str is not UTF-8") end
    if type(v) ~= "table" then return v end
    local out = jetwire.is_array(v) and A() or {}
    for key, value in pairs(v) do
        if not jetwire.is_array(v) and type(key) ~= "string" then
            bad("map with non-string keys")
        end
        out[key] = to_json(value)
    end
    return out
end

-- ------------------------------------------------------------------------
-- Serving between and during ops

local function answer(s, m)
    if not m.reply then
        io.stderr:write("lua_driver: serve: message without reply\n")
        return
    end
    local data = s.mode == "upper" and m.data:upper() or m.data
    local items = m:header_items()
    local ok, err = m:respond(data, { headers = #items > 0 and items or nil })
    if not ok then
        io.stderr:write("lua_driver: serve: ", tostring(err), "\n")
    end
end

-- Reset every open connection's fd, then answer all that the serve
-- subscriptions hold (after the reset, so that nothing new is missed).
local function serve_pending()
    for _, nc in pairs(open_conns) do nc:process() end
    for i = #serving, 1, -1 do
        local s = serving[i]
        while true do
            local msgs, err = s.sub:next_msgs(256, 0)
            if not msgs then
                if err.code ~= "TIMEOUT" then table.remove(serving, i) end
                break
            end
            for _, m in ipairs(msgs) do answer(s, m) end
        end
    end
end

local function poll_items(with_stdin)
    local items = with_stdin and { 0 } or {}
    for _, nc in pairs(open_conns) do items[#items + 1] = nc end
    return items
end

-- Wait up to timeout seconds (negative: forever) for try() to report
-- done, answering serve requests meanwhile. Returns try's results, or
-- nil, a TIMEOUT error.
local function pump(timeout, try)
    local deadline = timeout < 0 and math.huge or jetwire.now() + timeout
    while true do
        serve_pending()
        local done, a, b = try()
        if done then return a, b end
        local left = deadline - jetwire.now()
        if left <= 0 then
            return nil, { code = "TIMEOUT",
                          message = "nothing came within the timeout" }
        end
        jetwire.poll(poll_items(false), math.min(left, 0.25))
    end
end

local function next_msgs(sub, max, timeout)
    if not busy() then return sub:next_msgs(max, timeout) end
    return pump(timeout, function()
        local msgs, err = sub:next_msgs(max, 0)
        if msgs then return true, msgs end
        if err.code ~= "TIMEOUT" then return true, nil, err end
    end)
end

local function next_msg(sub, timeout)
    local msgs, err = next_msgs(sub, 1, timeout)
    return msgs and msgs[1], err
end

local function request(nc, subject, data, headers, timeout)
    if not busy() then
        return nc:request(subject, data, timeout, { headers = headers })
    end
    local id = check(nc:request_start(subject, data, { headers = headers }))
    local reply, err = pump(timeout, function()
        while true do
            local rid, m, e = nc:request_poll()
            if rid == nil then return false end
            if rid == id then return true, m, e end
        end
    end)
    if reply == nil and err.code == "TIMEOUT" then nc:request_cancel(id) end
    return reply, err
end

-- ------------------------------------------------------------------------
-- Ops

local option_kinds = {
    name = "string", user = "string", password = "string", token = "string",
    nkeys_seed = "string", user_credentials = "string",
    tls_ca_file = "string", tls_cert_file = "string", tls_key_file = "string",
    tls_hostname = "string", tls_insecure_skip_verify = "boolean",
    no_echo = "boolean", verbose = "boolean", pedantic = "boolean",
    connect_timeout = "number", ping_interval = "number",
    drain_timeout = "number", max_outstanding_pings = "integer",
    pending_msgs_limit = "integer", pending_bytes_limit = "integer",
    no_randomize = "boolean", allow_reconnect = "boolean",
    retry_on_failed_connect = "boolean",
    ignore_discovered_servers = "boolean",
    reconnect_time_wait = "number", reconnect_jitter = "number",
    reconnect_jitter_tls = "number", max_reconnect_attempts = "integer",
    reconnect_buf_size = "integer",
}

local ops = {}

function ops.version()
    return { lang = "lua", version = jetwire.version }
end

function ops.connect(req)
    local url = arg(req, "url", "string", nil, true)
    local options = { servers = url }
    for key, value in pairs(arg(req, "options", "object", {})) do
        local kind = option_kinds[key]
        if not kind or not checks[kind](value) then
            bad("bad option '" .. tostring(key) .. "'")
        end
        options[key] = value
    end
    return { conn = new_handle(check(jetwire.connect(options)), "conn") }
end

function ops.close(req)
    local nc, h = get(req, "conn", "conn")
    open_conns[h] = nil
    check(nc:close())
end

function ops.drain(req)
    local nc, h = get(req, "conn", "conn")
    local timeout = arg(req, "timeout", "number", -1)
    local ok, err = nc:drain(timeout >= 0 and timeout or nil)
    open_conns[h] = nil
    check(ok, err)
end

function ops.flush(req)
    check(get(req, "conn", "conn"):flush(timeout_of(req)))
end

function ops.rtt(req)
    return { rtt = check(get(req, "conn", "conn"):rtt()) }
end

function ops.status(req)
    return { status = get(req, "conn", "conn"):status() }
end

function ops.server_info(req)
    local nc = get(req, "conn", "conn")
    local info = check(nc:server_info())
    return { info = json_decode(info.json),
             connected_url = nc:connected_url() or "",
             max_payload = check(nc:max_payload()) }
end

function ops.servers(req)
    local nc = get(req, "conn", "conn")
    return { servers = A(check(nc:servers())),
             discovered = A(check(nc:discovered_servers())) }
end

function ops.stats(req)
    return check(get(req, "conn", "conn"):stats())
end

function ops.next_event(req)
    local ev = check(get(req, "conn", "conn"):next_event(timeout_of(req)))
    return { event = { kind = ev.kind:upper(), code = ev.code, text = ev.text,
                       sub = ev.sub and handle_of[ev.sub] or null } }
end

function ops.publish(req)
    local nc = get(req, "conn", "conn")
    check(nc:publish(arg(req, "subject", "string", nil, true), data_of(req),
                     { reply = arg(req, "reply", "string"),
                       headers = headers_of(req) }))
end

function ops.publish_packed(req)
    local nc = get(req, "conn", "conn")
    check(nc:publish_packed(arg(req, "subject", "string", nil, true),
                            from_json(req.value)))
end

function ops.publish_many(req)
    local nc = get(req, "conn", "conn")
    local subject = arg(req, "subject", "string", nil, true)
    local count = arg(req, "count", "integer", nil, true)
    local size = arg(req, "size", "integer", nil, true)
    local start = arg(req, "start", "integer", 0)
    if size < 8 then bad("size must be at least 8") end
    if start < 0 then bad("start must not be negative") end
    local pad = string.rep("\0", size - 8)
    local pack, publish = string.pack, nc.publish
    for i = start, start + count - 1 do
        check(publish(nc, subject, pack(">i8", i) .. pad))
    end
    return { published = count }
end

function ops.request(req)
    local nc = get(req, "conn", "conn")
    local reply = check(request(nc, arg(req, "subject", "string", nil, true),
                                data_of(req), headers_of(req),
                                timeout_of(req)))
    return { msg = msg_json(reply) }
end

function ops.subscribe(req)
    local nc = get(req, "conn", "conn")
    local sub = check(nc:subscribe(arg(req, "subject", "string", nil, true), {
        queue = arg(req, "queue", "string"),
        pending_msgs_limit = arg(req, "pending_msgs_limit", "integer"),
        pending_bytes_limit = arg(req, "pending_bytes_limit", "integer"),
    }))
    return { sub = new_handle(sub, "sub") }
end

function ops.unsubscribe(req)
    check(get(req, "sub", "sub"):unsubscribe())
end

function ops.auto_unsubscribe(req)
    local sub = get(req, "sub", "sub")
    check(sub:unsubscribe(arg(req, "max", "integer", nil, true)))
end

function ops.sub_drain(req)
    check(get(req, "sub", "sub"):drain())
end

local function pulled(req)
    local sub, h = get(req, "sub", "sub")
    if kinds[h] == "serve" then bad("a serve subscription is not pulled") end
    return sub
end

function ops.next_msg(req)
    local sub = pulled(req)
    return { msg = msg_json(check(next_msg(sub, timeout_of(req)))) }
end

function ops.next_msgs(req)
    local sub = pulled(req)
    local max = arg(req, "max", "integer", nil, true)
    if max < 1 then bad("max must be at least 1") end
    local out = A()
    for i, m in ipairs(check(next_msgs(sub, max, timeout_of(req)))) do
        out[i] = msg_json(m)
    end
    return { msgs = out }
end

function ops.pending(req)
    local sub = get(req, "sub", "sub")
    local msgs, bytes = sub:pending()
    return { msgs = msgs or 0, bytes = msgs and bytes or 0,
             dropped = sub:dropped() or 0, delivered = sub:delivered() or 0,
             valid = sub:is_valid() }
end

function ops.receive_count(req)
    local sub = pulled(req)
    local count = arg(req, "count", "integer", nil, true)
    local deadline = jetwire.now() + timeout_of(req, 60.0)
    local ordered = arg(req, "ordered", "boolean", false)
    local received, nbytes, in_order, reason = 0, 0, true, "OK"
    local unpack = string.unpack
    while received < count do
        local left = deadline - jetwire.now()
        if left <= 0 then reason = "TIMEOUT"; break end
        local batch, err = next_msgs(sub, 256, left)
        if not batch then reason = err.code; break end
        for _, m in ipairs(batch) do
            local data = m.data
            if ordered and (#data < 8 or unpack(">i8", data) ~= received) then
                in_order = false
            end
            received, nbytes = received + 1, nbytes + #data
        end
    end
    return { received = received, bytes = nbytes,
             in_order = (ordered and { in_order } or { null })[1],
             dropped = sub:dropped() or 0, reason = reason }
end

function ops.respond_next(req)
    local sub = pulled(req)
    local data, headers = data_of(req), headers_of(req)
    local m = check(next_msg(sub, timeout_of(req)))
    if not m.reply then bad("message has no reply subject") end
    check(m:respond(data, { headers = headers }))
    return { msg = msg_json(m) }
end

function ops.serve(req)
    local nc = get(req, "conn", "conn")
    local mode = arg(req, "mode", "string", nil, true)
    if mode ~= "echo" and mode ~= "upper" then
        bad("mode must be echo or upper")
    end
    local count = arg(req, "count", "integer", 0)
    local sub = check(nc:subscribe(arg(req, "subject", "string", nil, true),
                                   { queue = arg(req, "queue", "string") }))
    if count > 0 then
        local ok, err = sub:unsubscribe(count)
        if not ok then
            sub:close()
            error(err, 0)
        end
    end
    serving[#serving + 1] = { sub = sub, mode = mode }
    return { sub = new_handle(sub, "serve") }
end

-- ------------------------------------------------------------------------
-- Delivery paths under load. Each op makes its own connection, with the
-- path's loop mode, and closes it before answering (to-be-closed
-- variables: also when it fails). Pulls wait at most BURST_STEP seconds,
-- so that a burst whose last messages were dropped is seen as accounted.

local burst_loops = { pull = "thread", pull_driven = "driven" }
local BURST_STEP = 0.1

function ops.burst_paths()
    return { paths = A { "pull", "pull_driven" } }
end

-- The loop mode of the request's path; an unknown path is INVALID_ARG.
local function path_loop(req)
    local path = arg(req, "path", "string", nil, true)
    return burst_loops[path] or bad("unknown path '" .. path .. "'")
end

local function nonnegative(req, key, kind, default, required)
    local v = arg(req, key, kind, default, required)
    if v < 0 then bad("argument '" .. key .. "' must not be negative") end
    return v
end

-- Zero bytes after the 8-byte sequence number, up to size (8 at least).
local function padding(size)
    return string.rep("\0", math.max(size, 8) - 8)
end

-- Where user code would work: a real sleep. jetwire.poll on no items is a
-- plain poll(2) with a timeout, so it does not run a driven loop either.
local function work(seconds)
    if seconds > 0 then jetwire.poll({}, seconds) end
end

local function flush_by(nc, deadline)
    check(nc:flush(math.max(deadline - jetwire.now(), 0.001)))
end

-- Publish an empty message to ready (when given) and flush.
local function announce(nc, ready, deadline)
    if ready then
        check(nc:publish(ready, ""))
        flush_by(nc, deadline)
    end
end

-- The connection's SLOW_CONSUMER error events, taken without waiting.
local function slow_consumer_events(nc)
    local n = 0
    while true do
        local ev = nc:next_event(0)
        if not ev then return n end
        if ev.kind == "error" and ev.code == "SLOW_CONSUMER" then n = n + 1 end
    end
end

function ops.burst_receive(req)
    local url = arg(req, "url", "string", nil, true)
    local subject = arg(req, "subject", "string", nil, true)
    local loop = path_loop(req)
    local count = nonnegative(req, "count", "integer", nil, true)
    local ready = arg(req, "ready", "string")
    local publish = arg(req, "publish", "boolean", false)
    local pad = padding(nonnegative(req, "size", "integer", 16))
    local delay = nonnegative(req, "delay", "number", 0)
    local after = nonnegative(req, "after", "integer", 0)
    if after > 0 and not ready then bad("'after' needs 'ready'") end
    local deadline = jetwire.now() + timeout_of(req, 60.0)
    local limits = {
        pending_msgs_limit = arg(req, "pending_msgs_limit", "integer"),
        pending_bytes_limit = arg(req, "pending_bytes_limit", "integer"),
    }
    local nc <close> = check(jetwire.connect{ servers = url, loop = loop })
    local sub <close> = check(nc:subscribe(subject, limits))
    flush_by(nc, deadline)
    announce(nc, ready, deadline)

    local unpack, now = string.unpack, jetwire.now
    local received, last, increasing, positional = 0, -1, true, true
    local function take(batch)
        for _, m in ipairs(batch) do
            local data = m.data
            local seq = #data >= 8 and unpack(">i8", data) or nil
            if not seq or seq <= last then increasing = false end
            if seq ~= received then positional = false end
            last, received = seq or last, received + 1
            work(delay)
        end
    end
    -- Pull what is queued without waiting: nil, or the code that ended it.
    local function take_queued()
        while true do
            local batch, err = sub:next_msgs(256, 0)
            if not batch then
                return err.code ~= "TIMEOUT" and err.code or nil
            end
            take(batch)
        end
    end

    local reason, sent = "OK", publish and 0 or count
    local pack, publish_fn = string.pack, nc.publish
    while received + (sub:dropped() or 0) < count do
        local left = deadline - now()
        if left <= 0 then reason = "TIMEOUT"; break end
        if sent < count then
            -- A run of 256 publishes, then the pulls that do not wait. A
            -- driven connection's loop runs here too (nc:run(0) does not
            -- wait), as a program runs it when not inside a jetwire call.
            local stop = math.min(sent + 256, count)
            local ok, err
            for i = sent, stop - 1 do
                ok, err = publish_fn(nc, subject, pack(">i8", i) .. pad)
                if not ok then break end
            end
            if not ok then reason = err.code; break end
            sent = stop
            if loop == "driven" then check(nc:run(0)) end
            local code = take_queued()
            if code then reason = code; break end
        else
            local batch, err = sub:next_msgs(256, math.min(left, BURST_STEP))
            if batch then
                take(batch)
            elseif err.code ~= "TIMEOUT" then
                reason = err.code
                break
            end
        end
    end

    -- The peer publishes `after` more messages, numbered from 0, once told.
    local after_received, after_in_order = 0, true
    if after > 0 and reason == "OK" then
        announce(nc, ready, deadline)
        while after_received < after do
            local left = deadline - now()
            if left <= 0 then reason = "TIMEOUT"; break end
            local batch, err = sub:next_msgs(math.min(after - after_received,
                                                      256),
                                             math.min(left, BURST_STEP))
            if batch then
                for _, m in ipairs(batch) do
                    local data = m.data
                    if #data < 8 or unpack(">i8", data) ~= after_received then
                        after_in_order = false
                    end
                    after_received = after_received + 1
                    work(delay)
                end
            elseif err.code ~= "TIMEOUT" then
                reason = err.code
                break
            end
        end
    end

    local dropped = sub:dropped() or 0
    return { received = received, dropped = dropped,
             in_order = increasing and (positional or dropped > 0),
             slow_events = slow_consumer_events(nc),
             after_received = after_received,
             after_in_order = after_in_order, reason = reason }
end

function ops.burst_serve(req)
    local url = arg(req, "url", "string", nil, true)
    local subject = arg(req, "subject", "string", nil, true)
    local loop = path_loop(req)
    local count = nonnegative(req, "count", "integer", nil, true)
    local ready = arg(req, "ready", "string")
    local deadline = jetwire.now() + timeout_of(req, 60.0)
    local nc <close> = check(jetwire.connect{ servers = url, loop = loop })
    local sub <close> = check(nc:subscribe(subject))
    flush_by(nc, deadline)
    announce(nc, ready, deadline)
    local served, reason = 0, "OK"
    while served < count do
        local left = deadline - jetwire.now()
        if left <= 0 then reason = "TIMEOUT"; break end
        local batch, err = sub:next_msgs(math.min(count - served, 256), left)
        if not batch then reason = err.code; break end
        for _, m in ipairs(batch) do
            if m.reply then
                local ok, rerr = m:respond(m.data)
                if not ok then reason = rerr.code; break end
                served = served + 1
            end
        end
        if reason ~= "OK" then break end
    end
    -- The answers leave before the connection closes.
    if reason == "OK" then
        local ok, err = nc:flush(math.max(deadline - jetwire.now(), 1.0))
        if not ok then reason = err.code end
    end
    return { served = served, reason = reason }
end

function ops.request_many(req)
    local url = arg(req, "url", "string", nil, true)
    local subject = arg(req, "subject", "string", nil, true)
    local count = nonnegative(req, "count", "integer", nil, true)
    local pad = padding(nonnegative(req, "size", "integer", 16))
    local deadline = jetwire.now() + timeout_of(req, 10.0)
    local nc <close> = check(jetwire.connect{ servers = url })
    local answered, errors = 0, {}
    local function failed(code) errors[code] = (errors[code] or 0) + 1 end
    -- Every request is in flight before the first reply is taken.
    local waiting, nwaiting = {}, 0 -- id -> payload
    for i = 0, count - 1 do
        local payload = string.pack(">i8", i) .. pad
        local id, err = nc:request_start(subject, payload)
        if id then
            waiting[id], nwaiting = payload, nwaiting + 1
        else
            failed(err.code)
        end
    end
    while nwaiting > 0 do
        nc:process() -- resets the fd before the replies are taken
        while true do
            local id, m, err = nc:request_poll()
            if id == nil then break end
            local payload = waiting[id]
            if payload then
                waiting[id], nwaiting = nil, nwaiting - 1
                if not m then
                    failed(err.code)
                elseif m.data == payload then
                    answered = answered + 1
                else
                    failed("MISMATCH")
                end
            end
        end
        local left = deadline - jetwire.now()
        if nwaiting == 0 or left <= 0 then break end
        jetwire.poll({ nc }, math.min(left, 0.25))
    end
    for id in pairs(waiting) do
        nc:request_cancel(id)
        failed("TIMEOUT")
    end
    return { answered = answered, errors = errors }
end

function ops.pack(req)
    return { data = b64encode(jetwire.pack(from_json(req.value))) }
end

function ops.unpack(req)
    local value = check(jetwire.unpack(data_of(req), { wrap_bin = true }))
    return { value = to_json(value) }
end

-- ------------------------------------------------------------------------
-- JetStream. A handle made through another (a context through its
-- connection, a consumer through its context) is freed with it.
-- Configurations, infos and KV status pass through as they are: the
-- binding's contexts take and give durations in seconds, as the protocol
-- does, and the engine checks the fields.

local parent = {} -- handle -> the handle it was made through

local function made_by(owner, obj, kind)
    local h = new_handle(obj, kind)
    parent[h] = owner
    return h
end

local function config_of(req)
    return arg(req, "config", "object", nil, true)
end

local function metadata_json(m)
    local md = check(m:metadata())
    return { stream = md.stream, consumer = md.consumer,
             num_delivered = md.num_delivered, stream_seq = md.stream_seq,
             consumer_seq = md.consumer_seq, num_pending = md.num_pending,
             timestamp = md.timestamp_ns }
end

local function positive_timeout(req)
    local t = arg(req, "timeout", "number", 5.0)
    if not (t > 0) then bad("timeout must be positive") end
    return t
end

function ops.jetstream(req)
    local nc, h = get(req, "conn", "conn")
    local js = check(nc:jetstream{ timeout = positive_timeout(req),
                                   domain = arg(req, "domain", "string") })
    return { js = made_by(h, js, "js") }
end

function ops.stream_add(req)
    return { info = check(get(req, "js", "js"):create_stream(config_of(req))) }
end

function ops.stream_update(req)
    return { info = check(get(req, "js", "js"):update_stream(config_of(req))) }
end

function ops.stream_info(req)
    local js = get(req, "js", "js")
    return { info = check(js:stream_info(arg(req, "stream", "string", nil,
                                             true))) }
end

function ops.js_api_level(req)
    return { level = check(get(req, "js", "js"):api_level()) }
end

function ops.stream_delete(req)
    local js = get(req, "js", "js")
    check(js:delete_stream(arg(req, "stream", "string", nil, true)))
end

function ops.stream_purge(req)
    local js = get(req, "js", "js")
    local purged = check(js:purge_stream(
        arg(req, "stream", "string", nil, true),
        { subject = arg(req, "subject", "string"),
          seq = arg(req, "seq", "integer"),
          keep = arg(req, "keep", "integer") }))
    return { purged = purged }
end

function ops.stream_get_msg(req)
    local js = get(req, "js", "js")
    local m = check(js:get_msg(arg(req, "stream", "string", nil, true),
                               arg(req, "seq", "integer", nil, true)))
    return { subject = m.subject, data = b64encode(m.data), seq = m.seq }
end

-- The request's members that are options of the engine's call ("publish",
-- "fetch", "watch", "get"), by the engine's table of them (jetwire.
-- call_options), added to opts; skip: those the op takes itself. The
-- binding hands them to the engine, which refuses a value of the wrong
-- type (INVALID_ARG), so a new option needs no change here.
local function call_options_of(req, call, opts, skip)
    opts = opts or {}
    for _, f in ipairs(check(jetwire.call_options(call))) do
        if not (skip and skip[f.name]) then
            opts[f.name] = req[f.name]
        end
    end
    return opts
end

-- Numbers of any size (a counter's): jetwire gives an integer, or the
-- decimal text of one past 64 bits; the protocol has decimal text.
local function decimal(v)
    if v == nil then return nil end
    return math.type(v) == "integer" and string.format("%d", v) or v
end

-- A PubAck: value when a counter's, batch and count when a batch's.
local function ack_json(ack)
    return { stream = ack.stream, seq = ack.seq, duplicate = ack.duplicate,
             value = decimal(ack.value), batch = ack.batch,
             count = ack.count }
end

function ops.js_publish(req)
    local js = get(req, "js", "js")
    local opts = call_options_of(req, "publish",
                                 { headers = headers_of(req) })
    local ack = check(js:publish(arg(req, "subject", "string", nil, true),
                                 data_of(req), opts))
    return ack_json(ack)
end

-- Atomic batches: a batch is made through its context.
function ops.atomic_batch(req)
    local js, h = get(req, "js", "js")
    local b = check(js:atomic_batch())
    return { batch = made_by(h, b, "batch"), batch_id = b:id() }
end

function ops.batch_add(req)
    local b = get(req, "batch", "batch")
    local opts = call_options_of(req, "publish",
                                 { headers = headers_of(req) })
    check(b:add(arg(req, "subject", "string", nil, true), data_of(req),
                opts))
    return { count = b:count() }
end

-- Without a subject: the commit carries no message of its own (data and
-- headers then have no message to go with: the binding refuses them).
function ops.batch_commit(req)
    local b = get(req, "batch", "batch")
    local subject = arg(req, "subject", "string")
    local opts = call_options_of(req, "publish",
                                 { headers = headers_of(req) })
    local data = req.data ~= nil and data_of(req) or nil
    return ack_json(check(b:commit(subject, data, opts)))
end

-- Abandon the batch; its handle stays (a later add is INVALID_ARG).
function ops.batch_close(req)
    check(get(req, "batch", "batch"):close())
end

-- Fast-ingest batches: a batch is made through its context. An add
-- without headers or options goes by the binding's hot path.
function ops.fast_batch(req)
    local js, h = get(req, "js", "js")
    local fb = check(js:fast_batch(call_options_of(req, "fast")))
    return { fast = made_by(h, fb, "fast") }
end

function ops.fast_add(req)
    local fb = get(req, "fast", "fast")
    local opts = call_options_of(req, "publish",
                                 { headers = headers_of(req) })
    local seq = check(fb:add(arg(req, "subject", "string", nil, true),
                             data_of(req), next(opts) and opts or nil))
    return { seq = seq }
end

-- Without a subject: the batch ends without a message of its own.
function ops.fast_commit(req)
    local fb = get(req, "fast", "fast")
    local subject = arg(req, "subject", "string")
    if subject == nil then return ack_json(check(fb:commit())) end
    local headers = headers_of(req)
    return ack_json(check(fb:commit(subject, data_of(req),
                                    headers and { headers = headers })))
end

function ops.fast_errors(req)
    local fb = get(req, "fast", "fast")
    return { errors = A(check(fb:take_errors())), acked = fb:acked() }
end

-- Abandon the batch; its handle stays (a later add is INVALID_ARG).
function ops.fast_close(req)
    check(get(req, "fast", "fast"):close())
end

function ops.publish_batch(req)
    local js = get(req, "js", "js")
    local msgs = {}
    for i, m in ipairs(arg(req, "msgs", "list", nil, true)) do
        if not checks.list(m) or #m ~= 2 or type(m[1]) ~= "string" or
                type(m[2]) ~= "string" then
            bad("msgs must be [subject, data] pairs")
        end
        msgs[i] = { m[1], b64decode(m[2]) }
    end
    return ack_json(check(js:publish_batch(msgs,
                                           call_options_of(req, "fast"))))
end

-- Counters. Deltas and values cross as decimal text; an entry's numbers
-- too, as the engine writes them, but incr is the binding's integer (or
-- text past 64 bits): its text has no "+" sign.
local function counter_entry_json(e)
    local out = { subject = e.subject, val = decimal(e.value),
                  incr = decimal(e.incr) }
    if e.sources then
        out.sources = {}
        for stream, subjects in pairs(e.sources) do
            out.sources[stream] = {}
            for subject, value in pairs(subjects) do
                out.sources[stream][subject] = decimal(value)
            end
        end
    end
    return out
end

function ops.counter_add(req)
    local js = get(req, "js", "js")
    local value = check(js:counter_add(
        arg(req, "subject", "string", nil, true),
        arg(req, "delta", "string", nil, true)))
    return { value = decimal(value) }
end

function ops.counter_get(req)
    local js = get(req, "js", "js")
    local e = check(js:counter_get(arg(req, "stream", "string", nil, true),
                                   arg(req, "subject", "string", nil, true)))
    return { entry = counter_entry_json(e) }
end

function ops.counter_get_many(req)
    local js = get(req, "js", "js")
    local subjects = arg(req, "subjects", "list", nil, true)
    for _, s in ipairs(subjects) do
        if type(s) ~= "string" then bad("subjects must be strings") end
    end
    local list = check(js:counter_get_many(
        arg(req, "stream", "string", nil, true), subjects))
    local entries = A()
    for i, e in ipairs(list) do entries[i] = counter_entry_json(e) end
    return { entries = entries }
end

function ops.consumer_add(req)
    local js, h = get(req, "js", "js")
    local calls = { create = js.create_consumer, update = js.update_consumer }
    local action = arg(req, "action", "string")
    local call = js.create_or_update_consumer
    if action ~= nil then
        call = calls[action] or bad('action must be "create" or "update"')
    end
    local cons = check(call(js, arg(req, "stream", "string", nil, true),
                            config_of(req)))
    return { consumer = made_by(h, cons, "consumer"), name = cons:name() }
end

function ops.consumer_get(req)
    local js, h = get(req, "js", "js")
    local cons = check(js:consumer(arg(req, "stream", "string", nil, true),
                                   arg(req, "name", "string", nil, true)))
    return { consumer = made_by(h, cons, "consumer"), name = cons:name() }
end

function ops.consumer_info(req)
    local js = get(req, "js", "js")
    return { info = check(js:consumer_info(
        arg(req, "stream", "string", nil, true),
        arg(req, "name", "string", nil, true))) }
end

function ops.consumer_pause(req)
    local js = get(req, "js", "js")
    return { pause = check(js:pause_consumer(
        arg(req, "stream", "string", nil, true),
        arg(req, "name", "string", nil, true),
        arg(req, "until", "number", nil, true))) }
end

function ops.consumer_resume(req)
    local js = get(req, "js", "js")
    return { pause = check(js:resume_consumer(
        arg(req, "stream", "string", nil, true),
        arg(req, "name", "string", nil, true))) }
end

function ops.consumer_reset(req)
    local js = get(req, "js", "js")
    return { info = check(js:reset_consumer(
        arg(req, "stream", "string", nil, true),
        arg(req, "name", "string", nil, true),
        arg(req, "seq", "number"))) }
end

function ops.consumer_unpin(req)
    local js = get(req, "js", "js")
    check(js:unpin_consumer(arg(req, "stream", "string", nil, true),
                            arg(req, "name", "string", nil, true),
                            arg(req, "group", "string", nil, true)))
end

function ops.consumer_delete(req)
    local js = get(req, "js", "js")
    check(js:delete_consumer(arg(req, "stream", "string", nil, true),
                             arg(req, "name", "string", nil, true)))
end

function ops.fetch(req)
    local cons = get(req, "consumer", "consumer")
    local batch = arg(req, "batch", "integer", nil, true)
    if batch < 1 then bad("batch must be at least 1") end
    local msgs = check(cons:fetch(batch, positive_timeout(req),
        call_options_of(req, "fetch", {}, { batch = true, timeout = true })))
    local out = A()
    for i, m in ipairs(msgs) do
        local item = msg_json(m)
        item.metadata = metadata_json(m)
        item.handle = new_handle(m, "jsmsg")
        out[i] = item
    end
    return { msgs = out }
end

function ops.ack(req)
    check(get(req, "msg", "jsmsg"):ack())
end

function ops.ack_sync(req)
    check(get(req, "msg", "jsmsg"):ack_sync(timeout_of(req)))
end

function ops.nak(req)
    check(get(req, "msg", "jsmsg"):nak(arg(req, "delay", "number")))
end

function ops.term(req)
    check(get(req, "msg", "jsmsg"):term(arg(req, "reason", "string")))
end

function ops.in_progress(req)
    check(get(req, "msg", "jsmsg"):in_progress())
end

-- ------------------------------------------------------------------------
-- Key-Value. A bucket is made through its context, a watcher through its
-- bucket, so freeing a context (or its connection) frees them first.

-- An iterator of the binding raises "CODE: message" (after the position
-- Lua may prepend): back to an error with its code (INVALID_ARG for
-- anything else).
local function raised(err)
    if type(err) == "table" then return err end
    local text = tostring(err)
    local code, message = text:match("^([A-Z][A-Z_]*): (.*)$")
    if not code then
        code, message = text:match("^[^\n]-:%d+: ([A-Z][A-Z_]*): (.*)$")
    end
    if not code then
        code, message = "INVALID_ARG", text
    end
    return { code = code, message = message }
end

local function entry_json(e)
    return { bucket = e.bucket, key = e.key, value = b64encode(e.value),
             revision = e.revision, delta = e.delta,
             operation = e.operation, created = e.created_ns }
end

local function sorted_list(t)
    local out = A()
    for i, v in ipairs(t) do out[i] = v end
    table.sort(out)
    return out
end

local function key_of(req)
    return arg(req, "key", "string", nil, true)
end

function ops.kv_bucket_create(req)
    local js, h = get(req, "js", "js")
    local config = config_of(req) -- the binding hands it to the engine
    local make = arg(req, "update", "boolean", false) and
                 js.create_or_update_key_value or js.create_key_value
    return { kv = made_by(h, check(make(js, config)), "kv") }
end

function ops.kv_bucket(req)
    local js, h = get(req, "js", "js")
    local kv = check(js:key_value(arg(req, "bucket", "string", nil, true)))
    return { kv = made_by(h, kv, "kv") }
end

function ops.kv_bucket_delete(req)
    local js = get(req, "js", "js")
    check(js:delete_key_value(arg(req, "bucket", "string", nil, true)))
end

function ops.kv_bucket_names(req)
    local js = get(req, "js", "js")
    return { names = sorted_list(check(js:key_value_names())) }
end

function ops.kv_bucket_statuses(req)
    return { statuses = check(get(req, "js", "js"):key_value_stores()) }
end

function ops.kv_status(req)
    return { status = check(get(req, "kv", "kv"):status()) }
end

function ops.kv_put(req)
    local kv = get(req, "kv", "kv")
    return { revision = check(kv:put(key_of(req), data_of(req))) }
end

function ops.kv_create(req)
    local kv = get(req, "kv", "kv")
    return { revision = check(kv:create(key_of(req), data_of(req),
                                        call_options_of(req, "create"))) }
end

function ops.kv_update(req)
    local kv = get(req, "kv", "kv")
    local key, data = key_of(req), data_of(req)
    local last = arg(req, "last", "integer", nil, true)
    if last < 0 then bad("last must not be negative") end
    return { revision = check(kv:update(key, data, last)) }
end

function ops.kv_get(req)
    local kv = get(req, "kv", "kv")
    local key = key_of(req)
    return { entry = entry_json(check(kv:get(key,
                                             call_options_of(req, "get")))) }
end

local function marker_op(method)
    return function(req)
        local kv = get(req, "kv", "kv")
        local key = key_of(req)
        local last = arg(req, "last", "integer")
        if last and last < 0 then bad("last must not be negative") end
        if method == "purge" then
            check(kv:purge(key, last or 0, call_options_of(req, "purge")))
        else
            check(kv:delete(key, last))
        end
    end
end

ops.kv_delete = marker_op("delete")
ops.kv_purge = marker_op("purge")

-- Key filters: a string or an array of strings (2.10: several).
local function filters_of(req, key)
    local v = req[key]
    if v == nil or v == null then return nil end
    if type(v) == "string" then return v end
    if type(v) ~= "table" then bad(key .. " must be a string or an array") end
    for _, s in ipairs(v) do
        if type(s) ~= "string" then bad(key .. " must hold strings") end
    end
    return v
end

function ops.kv_keys(req)
    local kv = get(req, "kv", "kv")
    local keys = check(kv:keys(filters_of(req, "filter")))
    return { keys = sorted_list(keys) }
end

function ops.kv_list_keys(req)
    local kv = get(req, "kv", "kv")
    local keys = {}
    local ok, err = pcall(function()
        for key in kv:list_keys(filters_of(req, "filter")) do
            keys[#keys + 1] = key
        end
    end)
    if not ok then error(raised(err), 0) end
    return { keys = sorted_list(keys) }
end

local function entries_json(list)
    local out = A()
    for i, e in ipairs(list) do out[i] = entry_json(e) end
    return { entries = out }
end

function ops.kv_history(req)
    local kv = get(req, "kv", "kv")
    return entries_json(check(kv:history(key_of(req),
                                         call_options_of(req, "history"))))
end

function ops.kv_get_many(req)
    local kv = get(req, "kv", "kv")
    local keys = arg(req, "keys", "list")
    return entries_json(check(kv:get_many(keys,
                                          call_options_of(req, "get_many"))))
end

function ops.direct_get_batch(req)
    local js = get(req, "js", "js")
    local opts = call_options_of(req, "direct_get",
                                 { multi_last = arg(req, "multi_last",
                                                    "list") })
    local b <close> = check(js:direct_get_batch(
        arg(req, "stream", "string", nil, true), opts))
    local msgs = A()
    local ok, err = pcall(function()
        for m in b:messages(timeout_of(req)) do
            local headers = A()
            for name, value in pairs(m.headers) do
                headers[#headers + 1] = A { name, value }
            end
            msgs[#msgs + 1] = { subject = m.subject, seq = m.seq or 0,
                                data = b64encode(m.data), headers = headers }
        end
    end)
    if not ok then error(raised(err), 0) end
    return { msgs = msgs, num_pending = b:num_pending(),
             last_seq = b:last_seq(), up_to_seq = b:up_to_seq() }
end

-- The request's other arguments are the engine's watch options: kv:watch
-- hands them to the engine (a value that is not a boolean is INVALID_ARG).
function ops.kv_watch(req)
    local kv, h = get(req, "kv", "kv")
    local keys = filters_of(req, "keys") or ">"
    local opts = call_options_of(req, "watch")
    return { watcher = made_by(h, check(kv:watch(keys, opts)), "watcher") }
end

-- w:next gives an entry, false for the marker, or nil, err. While serve
-- subscriptions run, it waits in short steps and answers between them.
local function watch_next(w, timeout)
    if not busy() then return w:next(timeout) end
    local deadline = jetwire.now() + timeout
    while true do
        serve_pending()
        local left = math.max(0, deadline - jetwire.now())
        local e, err = w:next(math.min(left, 0.05))
        if e ~= nil or err.code ~= "TIMEOUT" or left <= 0.05 then
            return e, err
        end
    end
end

function ops.kv_watch_next(req)
    local w = get(req, "watcher", "watcher")
    local e = check(watch_next(w, timeout_of(req)))
    return { entry = e and entry_json(e) or null }
end

-- ------------------------------------------------------------------------
-- Services: handlers of fixed behaviour, run by nc:process() (serve_pending
-- and the waits above run it while a service is up).

local function service_handler(mode)
    return function(req)
        if mode == "slow" then jetwire.poll({}, 0.02) end
        local ok, err
        if req.data == "fail" then
            ok, err = req:respond_error("400", "bad input")
        else
            ok, err = req:respond(req.data)
        end
        if not ok then
            io.stderr:write("lua_driver: service: ", tostring(err), "\n")
        end
    end
end

local function config_of(req)
    return arg(req, "config", "object", nil, true)
end

function ops.service_add(req)
    local nc, conn_h = get(req, "conn", "conn")
    local svc = check(nc:add_service(config_of(req)))
    local h = new_handle(svc, "service")
    parent[h] = conn_h
    services[svc] = true
    return { service = h, service_id = svc:id() }
end

-- The service of "service" and where to add: the group of "group", if any.
local function service_and_group(req)
    local svc, svc_h = get(req, "service", "service")
    if req.group ~= nil then
        return svc, svc_h, (get(req, "group", "group"))
    end
    return svc, svc_h, svc
end

function ops.service_group(req)
    local _, svc_h, where = service_and_group(req)
    local g = check(where:add_group(config_of(req)))
    local h = new_handle(g, "group")
    parent[h] = svc_h
    return { group = h }
end

function ops.service_endpoint(req)
    local _, _, where = service_and_group(req)
    local mode = arg(req, "mode", "string", nil, true)
    if mode ~= "echo" and mode ~= "slow" then
        bad("unknown endpoint mode '" .. mode .. "'")
    end
    local config = config_of(req)
    config.handler = service_handler(mode)
    local ep = check(where:add_endpoint(config))
    return { name = ep:name(), subject = ep:subject(),
             queue_group = ep:queue_group() or null }
end

function ops.service_info(req)
    return { info = check(get(req, "service", "service"):info()) }
end

function ops.service_stats(req)
    return { stats = check(get(req, "service", "service"):stats()) }
end

function ops.service_reset(req)
    check(get(req, "service", "service"):reset())
end

function ops.service_stop(req)
    local svc = get(req, "service", "service")
    check(svc:stop())
    check(svc:wait(timeout_of(req)))
    services[svc] = nil
    return { stopped = svc:stopped() }
end

local verbs = { ping = "service_ping", info = "service_info",
                stats = "service_stats" }

function ops.service_discover(req)
    local nc = get(req, "conn", "conn")
    local verb = arg(req, "verb", "string", nil, true)
    local method = verbs[verb] or bad("unknown verb '" .. verb .. "'")
    local answers = check(nc[method](nc, {
        name = arg(req, "name", "string"),
        id = arg(req, "service_id", "string"),
        timeout = timeout_of(req, 1),
        max_responses = arg(req, "max", "integer"),
    }))
    return { responses = A(answers) }
end

-- Release h and, first, what was made through it (a watcher before its
-- bucket, a bucket before its context). Fetched messages have no close:
-- dropping them is enough; a watcher's close stops it.
local function free_handle(h)
    for child, owner in pairs(parent) do
        if owner == h then free_handle(child) end
    end
    local obj, kind = handles[h], kinds[h]
    for i = #serving, 1, -1 do
        if serving[i].sub == obj then table.remove(serving, i) end
    end
    handles[h], kinds[h], open_conns[h], parent[h] = nil, nil, nil, nil
    services[obj] = nil
    if kind ~= "jsmsg" and kind ~= "group" then obj:close() end
end

function ops.free(req)
    local h = req.handle
    if not (kinds[h] and handles[h]) then
        bad("unknown handle " .. tostring(h))
    end
    free_handle(h)
end

-- The object store ops live in lua_obs_ops.lua, next to this file.
dofile(((_G.arg and _G.arg[0] or ""):match("^(.*)/") or ".") ..
       "/lua_obs_ops.lua")(ops, {
    get = get, arg = arg, check = check, bad = bad, made_by = made_by,
    config_of = config_of, b64encode = b64encode, b64decode = b64decode,
    timeout_of = timeout_of, A = A,
})

-- ------------------------------------------------------------------------
-- The loop

local function respond(resp)
    io.stdout:write(table.concat(json_encode(resp, {})), "\n")
    io.stdout:flush()
end

local function handle(line)
    local okj, req = pcall(json_decode, line)
    if not okj or type(req) ~= "table" or jetwire.is_array(req) or
            math.type(req.id) ~= "integer" then
        return { id = null, ok = false, code = "INVALID_ARG",
                 message = okj and "no integer id" or "not JSON" }
    end
    if req.op == "quit" then return { id = req.id, ok = true }, true end
    local op = ops[req.op]
    if not op then
        return { id = req.id, ok = false, code = "INVALID_ARG",
                 message = "unknown op " .. tostring(req.op) }
    end
    local ok, result = pcall(op, req)
    if not ok then
        local code, message = "INVALID_ARG", tostring(result)
        if type(result) == "table" and type(result.code) == "string" then
            code, message = result.code, tostring(result.message)
        end
        return { id = req.id, ok = false, code = code, message = message }
    end
    result = result or {}
    result.id, result.ok = req.id, true
    -- Encoding may still find a value JSON cannot carry.
    local okenc, err = pcall(json_encode, result, {})
    if not okenc then
        return { id = req.id, ok = false, code = "INVALID_ARG",
                 message = type(err) == "table" and err.message or
                           tostring(err) }
    end
    return result
end

-- Unbuffered stdin: a line read never leaves the next one in a buffer
-- where polling fd 0 could not see it.
io.stdin:setvbuf("no")

local function wait_for_stdin()
    while busy() do
        serve_pending()
        if not busy() then return end
        for _, item in ipairs(jetwire.poll(poll_items(true), math.huge)) do
            if item == 0 then return end
        end
    end
end

while true do
    wait_for_stdin()
    local line = io.read("l")
    if not line then break end
    if line:find("%S") then
        local resp, quit = handle(line)
        respond(resp)
        if quit then break end
    end
end

-- Release subscriptions before connections, JetStream handles with theirs.
local order = {}
for h, kind in pairs(kinds) do
    order[#order + 1] = { h = h, last = kind == "conn" }
end
table.sort(order, function(a, b) return not a.last and b.last end)
for _, item in ipairs(order) do
    if kinds[item.h] then free_handle(item.h) end
end
os.exit(0)
