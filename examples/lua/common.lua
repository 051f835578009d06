-- common: what the Lua examples share, so that each program shows only its
-- own NATS pattern (the Lua counterpart of examples/c/example.h and
-- examples/python/common.py).
--
--  * finding the jetwire module: an installed one, else this repository's
--    build (build/lua/jetwire.so; JW_BUILD_DIR names another build dir);
--  * the server to use (NATS_URL) and the optional arguments;
--  * running until Ctrl-C (SIGINT) or until done, then leaving gracefully;
--  * reporting a failure and the exit status (run);
--  * the JSON the programs exchange with the C and Python examples:
--    orders, user lookups and tasks. Lua has no JSON library of its own, so
--    a few lines here write and read the flat objects these programs use;
--    a real service would use a JSON library (lua-cjson, dkjson).
--
-- Each program starts with
--   package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
-- so that `require "common"` finds this file from any directory.

local M = {}

-- ------------------------------------------------------------------------
-- The module

local here = (arg and arg[0] and arg[0]:match("^(.*)/")) or "."
local build = os.getenv("JW_BUILD_DIR")
if build and build ~= "" then
    package.cpath = build .. "/lua/?.so;" .. package.cpath
else
    -- After the installed module (Lua's default cpath), the build tree.
    package.cpath = package.cpath .. ";" .. here .. "/../../build/lua/?.so"
end
local jetwire = require "jetwire"
M.jetwire = jetwire

-- A script reading our output through a pipe or a file sees each line at
-- once (scripts/demo.sh waits for the "ready" lines).
io.stdout:setvbuf("line")

local prog = (arg and arg[0] or "example"):match("([^/]+)%.lua$") or "example"

function M.server_url()
    local url = os.getenv("NATS_URL")
    if url == nil or url == "" then url = "nats://127.0.0.1:4222" end
    return url
end

-- ------------------------------------------------------------------------
-- The command line

-- arguments(usage, name...): the optional positional arguments, by name,
-- from arg. Those named "count" or "first" must be positive integers. -h/--help prints
-- usage; a usage error exits with status 2, as in the other languages.
function M.arguments(usage, ...)
    local names, args = { ... }, {}
    if arg[1] == "-h" or arg[1] == "--help" then
        io.write(usage)
        os.exit(0)
    end
    if #arg > #names then
        io.stderr:write(usage, prog, ": too many arguments\n")
        os.exit(2)
    end
    for i, name in ipairs(names) do
        local value = arg[i]
        if value ~= nil and (name == "count" or name == "first") then
            value = math.tointeger(tonumber(value))
            if value == nil or value <= 0 then
                io.stderr:write(usage, prog, ": not a positive number: ",
                                arg[i], "\n")
                os.exit(2)
            end
        end
        args[name] = value
    end
    return args
end

-- ------------------------------------------------------------------------
-- Failures and the exit status

local function is_interrupt(err)
    return type(err) == "string" and err:find("interrupted!$") ~= nil
end

-- run(main): call main() and exit with its status (nil: 0). A jetwire
-- error that escapes (assert(nil, err) raises err itself) is reported as
-- "program: message (CODE)" and the status is 1. Connections declared
-- <close> in main are closed on the way out in every case.
function M.run(main)
    local ok, status = xpcall(main, function(err)
        if type(err) == "table" and err.code then return err end
        if is_interrupt(err) then return err end
        return debug.traceback(tostring(err), 2)
    end)
    if not ok then
        local err = status
        if type(err) == "table" then
            io.stderr:write(("%s: %s (%s)\n"):format(prog, err.message,
                                                      err.code))
            status = 1
        elseif is_interrupt(err) then
            io.stderr:write(prog, ": interrupted\n")
            status = 130
        else
            io.stderr:write(prog, ": ", err, "\n")
            status = 1
        end
    end
    os.exit(status or 0, true)
end

-- ------------------------------------------------------------------------
-- Running until stopped.
--
-- Plain Lua cannot catch signals, but the lua5.4 interpreter turns Ctrl-C
-- (SIGINT) into the error "interrupted!", raised in the main coroutine at
-- its next instruction. until_interrupted runs the work in another
-- coroutine, so that error can only come between two steps: a message is
-- never left half handled.

-- until_interrupted(step): call step() until it returns false or SIGINT
-- came between two calls. Returns true when interrupted.
function M.until_interrupted(step)
    local steps = coroutine.wrap(function()
        while step() do coroutine.yield(true) end
        return false
    end)
    local ok, err = pcall(function()
        while steps() do end
    end)
    if ok then return false end
    if is_interrupt(err) then return true end
    error(err, 0)
end

-- next_msg(sub, timeout): the next message, or nil when none came within
-- timeout seconds. Any other failure is raised.
function M.next_msg(sub, timeout)
    local msg, err = sub:next_msg(timeout)
    if msg == nil and err.code ~= "TIMEOUT" then error(err, 0) end
    return msg
end

-- sleep(seconds), without busy waiting: jetwire.poll with nothing to
-- watch just waits.
function M.sleep(seconds)
    jetwire.poll({}, seconds)
end

-- ------------------------------------------------------------------------
-- JSON, for flat objects only: string, number, boolean and null values,
-- and arrays of those.

local escape = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n",
                 ["\r"] = "\\r", ["\t"] = "\\t" }

local function json_string(s)
    return '"' .. s:gsub('[%c"\\]', function(c)
        return escape[c] or ("\\u%04x"):format(c:byte())
    end) .. '"'
end

-- The JSON text of a value: a string, number or boolean, or a table as
-- an array of those; nil for anything else.
local function json_value(v)
    if type(v) == "string" then
        return json_string(v)
    elseif math.type(v) == "integer" then
        return ("%d"):format(v)
    elseif type(v) == "number" then
        -- The shortest text that reads back as the same float.
        local text
        for digits = 15, 17 do
            text = ("%." .. digits .. "g"):format(v)
            if tonumber(text) == v then break end
        end
        return text
    elseif type(v) == "boolean" then
        return tostring(v)
    elseif type(v) == "table" then
        local items = {}
        for i, item in ipairs(v) do items[i] = json_value(item) end
        return "[" .. table.concat(items, ",") .. "]"
    end
end

-- to_json(t, keys): the object with the members keys lists, in that order
-- (a Lua table has no order of its own).
function M.to_json(t, keys)
    local parts = {}
    for _, key in ipairs(keys) do
        local text = json_value(t[key])
        if text then parts[#parts + 1] = json_string(key) .. ":" .. text end
    end
    return "{" .. table.concat(parts, ",") .. "}"
end

local unescape = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b",
                   f = "\f", n = "\n", r = "\r", t = "\t" }

-- A JSON string starting at s[pos] (the quote): its value and the position
-- after it, or nil.
local function read_string(s, pos)
    if s:sub(pos, pos) ~= '"' then return nil end
    local parts = {}
    pos = pos + 1
    while true do
        local at = s:find('["\\]', pos)
        if not at then return nil end
        parts[#parts + 1] = s:sub(pos, at - 1)
        if s:sub(at, at) == '"' then return table.concat(parts), at + 1 end
        local c = s:sub(at + 1, at + 1)
        if c == "u" then
            local hex = s:match("^%x%x%x%x", at + 2)
            if not hex then return nil end
            parts[#parts + 1] = utf8.char(tonumber(hex, 16))
            pos = at + 6
        elseif unescape[c] then
            parts[#parts + 1] = unescape[c]
            pos = at + 2
        else
            return nil
        end
    end
end

-- A string, number, boolean or null starting at text[pos]: its value (nil
-- for null) and the position after it, or nil, nil, a reason.
local function read_scalar(text, pos)
    if text:sub(pos, pos) == '"' then
        local value, after = read_string(text, pos)
        if not value then return nil, nil, "bad string" end
        return value, after
    end
    local word, value = text:match("^[%w.+-]+", pos), nil
    if word == "true" or word == "false" then
        value = word == "true"
    elseif word ~= "null" then
        value = math.tointeger(tonumber(word)) or tonumber(word)
    end
    if word == nil or (value == nil and word ~= "null") then
        return nil, nil, "unsupported value"
    end
    return value, pos + #word
end

-- An array of scalars starting at text[pos] (the bracket): a table and the
-- position after it, or nil, nil, a reason.
local function read_array(text, pos)
    local items, after = {}, text:match("^%[%s*()", pos)
    if text:match("^%]", after) then return items, after + 1 end
    while true do
        local value, reason
        value, after, reason = read_scalar(text, after)
        if not after then return nil, nil, reason end
        items[#items + 1] = value
        local sep
        sep, after = text:match("^%s*([,%]])%s*()", after)
        if sep == "]" then return items, after end
        if sep ~= "," then return nil, nil, "',' or ']' expected" end
    end
end

-- from_json(text): the table of a flat JSON object, or nil, a reason.
function M.from_json(text)
    local t, pos = {}, text:match("^%s*{%s*()")
    if not pos then return nil, "not a JSON object" end
    if text:match("^}%s*$", pos) then return t end
    while true do
        local key, value, reason
        key, pos = read_string(text, text:match("^%s*()", pos))
        if not key then return nil, "bad member name" end
        pos = text:match("^%s*:%s*()", pos)
        if not pos then return nil, "':' expected" end
        if text:sub(pos, pos) == "[" then
            value, pos, reason = read_array(text, pos)
        else
            value, pos, reason = read_scalar(text, pos)
        end
        if not pos then return nil, reason end
        t[key] = value
        local sep
        sep, pos = text:match("^%s*([,}])%s*()", pos)
        if sep == "}" and pos > #text then return t end
        if sep ~= "," then return nil, "',' or '}' expected" end
    end
end

-- ------------------------------------------------------------------------
-- Orders: Pub/Sub and Wildcards.

local ORDER_KEYS = { "id", "customer_id", "amount", "status", "created_at" }

-- The tutorial's sample order, the only one the publisher sends.
function M.new_order()
    return { id = "ORD-12345", customer_id = "CUST-789", amount = 99.99,
             status = "created", created_at = os.date("!%Y-%m-%dT%H:%M:%SZ") }
end

function M.order_json(order)
    return M.to_json(order, ORDER_KEYS)
end

-- The subscriber's line for a received order.
function M.describe_order(data)
    local order = M.from_json(data)
    if order and type(order.id) == "string" and
            type(order.customer_id) == "string" and
            type(order.amount) == "number" then
        return ("Received order: ID=%s, Customer=%s, Amount=$%.2f"):format(
            order.id, order.customer_id, order.amount)
    end
    return "Failed to parse order: " .. data
end

-- ------------------------------------------------------------------------
-- Users: Request/Reply. The simulated user database.

local USER_KEYS = { "user_id", "name", "email", "found" }

local USERS = {
    ["user-1"] = { user_id = "user-1", name = "Alice Smith",
                   email = "alice@example.com", found = true },
    ["user-2"] = { user_id = "user-2", name = "Bob Johnson",
                   email = "bob@example.com", found = true },
}

function M.user_request(user_id)
    return M.to_json({ user_id = user_id }, { "user_id" })
end

-- What the responder does with a request: the line it prints, the reply.
function M.answer_user_request(data)
    local request = M.from_json(data)
    local user_id = request and request.user_id
    if type(user_id) ~= "string" then
        return "Invalid request: " .. data,
               M.to_json({ error = 'expected {"user_id":"..."}' }, { "error" })
    end
    local user = USERS[user_id] or { user_id = user_id, found = false }
    return "Received request for user: " .. user_id, M.to_json(user, USER_KEYS)
end

-- The requester's line for a reply, or nil, a reason when the reply is not
-- a user.
function M.describe_user_reply(user_id, data)
    local reply = M.from_json(data)
    if not reply then return nil, "unexpected reply: " .. data end
    if not reply.found then return "User not found: " .. user_id end
    if type(reply.name) ~= "string" or type(reply.email) ~= "string" then
        return nil, "unexpected reply: " .. data
    end
    return ("User found: %s <%s>"):format(reply.name, reply.email)
end

-- ------------------------------------------------------------------------
-- Tasks: Queue groups.

function M.new_task(number)
    return M.to_json({ id = "task-" .. number,
                       payload = "Process item " .. number },
                     { "id", "payload" })
end

-- The id and payload of a task, or nil when it is not one.
function M.read_task(data)
    local task = M.from_json(data)
    if task and task.id ~= nil and task.payload ~= nil then
        return tostring(task.id), tostring(task.payload)
    end
end

M.WORK_SECONDS = 0.1 -- the simulated work per task (the tutorial: 500 ms)

-- ------------------------------------------------------------------------
-- The order service (order_service, order_worker): a work queue of orders.

-- The stream ORDERS as the tutorial's order service makes it: each order
-- stays until a worker acks it, at most 7 days, on disk.
M.ORDERS_WORK_QUEUE = { name = "ORDERS", subjects = { "orders.>" },
                        storage = "file", retention = "workqueue",
                        max_age = 7 * 24 * 3600 }

-- The workers' durable consumer on it.
M.ORDER_PROCESSOR = { durable = "order-processor", ack_policy = "explicit",
                      deliver_policy = "all", ack_wait = 30, max_deliver = 3,
                      filter_subject = "orders.created" }

local CUSTOMERS = { "alice", "bob", "carol" }
local CATALOGUE = { { "keyboard", 4999 }, { "mouse", 1999 },
                    { "monitor", 18999 }, { "cable", 999 } } -- cents

local SERVICE_ORDER_KEYS = { "id", "customer", "items", "total", "status",
                             "created_at" }

-- Order ORD-<number>, created now, as JSON, as the C and Python order
-- services make it: the customer and two items picked by the number, the
-- total the items' prices added up. (It stands for the tutorial's HTTP
-- request body.)
function M.service_order_json(number)
    local first, second = CATALOGUE[(number - 1) % 4 + 1],
                          CATALOGUE[number % 4 + 1]
    return M.to_json({
        id = "ORD-" .. number, customer = CUSTOMERS[(number - 1) % 3 + 1],
        items = { first[1], second[1] }, total = (first[2] + second[2]) / 100,
        status = "pending", created_at = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    }, SERVICE_ORDER_KEYS)
end

-- The worker's line for an order, or nil when it is not one.
function M.describe_service_order(data)
    local order = M.from_json(data)
    if order and type(order.id) == "string" and
            type(order.customer) == "string" and
            type(order.total) == "number" then
        return ("Processing order %s for %s: $%.2f"):format(
            order.id, order.customer, order.total)
    end
end

M.IDLE_SECONDS = 2 -- a worker with no order for this long stops

return M
