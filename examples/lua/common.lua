-- common: what the Lua examples share, so that each program shows only its
-- own NATS pattern (the Lua counterpart of examples/c/example.h and
-- examples/python/common.py).
--
--  * finding the jetwire module: an installed one, else this repository's
--    build (build/lua/jetwire.so; JW_BUILD_DIR names another build dir);
--  * the server to use (NATS_URL) and the optional arguments;
--  * running until SIGINT (Ctrl-C) or SIGTERM or until done, then leaving
--    gracefully (until_signalled: the tutorial's sigChan);
--  * reporting a failure and the exit status (run);
--  * the JSON the programs exchange with the C and Python examples:
--    orders, user lookups and tasks, through jetwire.json (the engine's
--    JSON library), with the members in the order the other languages
--    write them.
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

-- Ctrl-C outside a signal set: lua5.4 raises "interrupted!"; inside one, a
-- wait that a signal ended returns the error INTERRUPTED (which assert
-- raises).
local function is_interrupt(err)
    if type(err) == "table" then return err.code == "INTERRUPTED" end
    return type(err) == "string" and err:find("interrupted!$") ~= nil
end

-- run(main): call main() and exit with its status (nil: 0). A jetwire
-- error that escapes (assert(nil, err) raises err itself) is reported as
-- "program: message (CODE)" and the status is 1; a signal that stopped a
-- wait, as "program: interrupted" with status 130. Connections declared
-- <close> in main are closed on the way out in every case.
function M.run(main)
    local ok, status = xpcall(main, function(err)
        if type(err) == "table" and err.code then return err end
        if is_interrupt(err) then return err end
        return debug.traceback(tostring(err), 2)
    end)
    if not ok then
        local err = status
        if is_interrupt(err) then
            io.stderr:write(prog, ": interrupted\n")
            status = 130
        elseif type(err) == "table" then
            io.stderr:write(("%s: %s (%s)\n"):format(prog, err.message,
                                                      err.code))
            status = 1
        else
            io.stderr:write(prog, ": ", err, "\n")
            status = 1
        end
    end
    os.exit(status or 0, true)
end

-- ------------------------------------------------------------------------
-- Running until stopped: the tutorial's
--   signal.Notify(sigChan, syscall.SIGINT, syscall.SIGTERM); <-sigChan
--
-- jetwire.signals{"INT", "TERM"} catches Ctrl-C and SIGTERM (what the demo
-- and service managers send) for as long as the set lives: a wait in
-- progress (next_msg, request, flush, sleep, ...) ends at once with the
-- error INTERRUPTED, and sig:wait hands out the signal's name. The set
-- stays for the whole program, so a second signal while it drains ends
-- the drain (INTERRUPTED), and a third one the program.

local signals -- the program's set, made on first use

-- until_signalled(step): call step() until it returns false, or SIGINT or
-- SIGTERM came. Returns the signal's name ("INT", "TERM"), nil when step
-- ended it.
function M.until_signalled(step)
    signals = signals or jetwire.signals{ "INT", "TERM" }
    while true do
        local name = signals:wait(0)
        if name then return name end
        if not step() then return signals:wait(0) end
    end
end

-- serve(nc, done): run the handlers of nc's services (nc:process() does)
-- until SIGINT or SIGTERM came or done() says so. Returns the signal's
-- name, or nil.
function M.serve(nc, done)
    signals = signals or jetwire.signals{ "INT", "TERM" }
    while not done() do
        local name = signals:wait(0)
        if name then return name end
        jetwire.poll({ nc, signals:fd() }, math.huge)
        nc:process()
    end
    return signals:wait(0)
end

-- next_msg(sub, timeout): the next message, or nil when none came within
-- timeout seconds or a signal ended the wait. Any other failure is raised.
function M.next_msg(sub, timeout)
    local msg, err = sub:next_msg(timeout)
    if msg == nil and err.code ~= "TIMEOUT" and err.code ~= "INTERRUPTED" then
        error(err, 0)
    end
    return msg
end

-- sleep(seconds): a signal ends it early.
function M.sleep(seconds)
    jetwire.sleep(seconds)
end

-- ------------------------------------------------------------------------
-- JSON: jetwire.json writes and reads it; to_json keeps the members in a
-- given order (a Lua table has none), as the C and Python examples write
-- them.

local json = jetwire.json

-- to_json(t, keys): the object with the members keys lists, in that order.
function M.to_json(t, keys)
    local parts = {}
    for _, key in ipairs(keys) do
        if t[key] ~= nil then
            parts[#parts + 1] = json.encode(key) .. ":" .. json.encode(t[key])
        end
    end
    return "{" .. table.concat(parts, ",") .. "}"
end

-- from_json(text): the table of a JSON object, or nil, a reason.
function M.from_json(text)
    local value, err = json.decode(text)
    if value == nil then return nil, err.message end
    if type(value) ~= "table" or jetwire.is_array(value) then
        return nil, "not a JSON object"
    end
    return value
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

-- What the responder does with a request: the line it prints and the
-- reply, or the line, nil and the description of an error reply.
function M.answer_user_request(data)
    local request = M.from_json(data)
    local user_id = request and request.user_id
    if type(user_id) ~= "string" then
        return "Invalid request: " .. data, nil, 'expected {"user_id":"..."}'
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
    return M.make_order_json(number, CUSTOMERS[(number - 1) % 3 + 1],
                             { CATALOGUE[(number - 1) % 4 + 1][1],
                               CATALOGUE[number % 4 + 1][1] })
end

local PRICES = {} -- cents by item name
for _, item in ipairs(CATALOGUE) do PRICES[item[1]] = item[2] end

-- Order ORD-<number> of customer for items (names in the catalogue),
-- created now, as JSON: the total is their prices added up.
function M.make_order_json(number, customer, items)
    local cents = 0
    for _, name in ipairs(items) do cents = cents + PRICES[name] end
    return M.to_json({
        id = "ORD-" .. number, customer = customer, items = items,
        total = cents / 100, status = "pending",
        created_at = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    }, SERVICE_ORDER_KEYS)
end

-- The descriptions of the order service's error replies (code 400), the
-- same in every language (examples/c/order_service.c, common.py).
M.NOT_AN_ORDER = 'expected {"customer":"...","items":["...",...]}'
M.UNKNOWN_ITEM =
    "unknown item (the catalogue: keyboard, mouse, monitor, cable)"
-- The answer (code 503) to a request that comes after the last order of
-- a service told to stop after COUNT orders.
M.STOPPING = "the service is stopping"

-- A request to the order service's endpoint create,
-- {"customer":"alice","items":["keyboard","mouse"]} (those two members, a
-- customer and one or more items of the catalogue): customer, items, or
-- nil, the description of the error reply.
function M.read_order_request(data)
    local request = M.from_json(data)
    if not request then return nil, M.NOT_AN_ORDER end
    for key in pairs(request) do
        if key ~= "customer" and key ~= "items" then
            return nil, M.NOT_AN_ORDER
        end
    end
    local customer, items = request.customer, request.items
    if type(customer) ~= "string" or customer == "" or
            type(items) ~= "table" or not jetwire.is_array(items) or
            #items == 0 then
        return nil, M.NOT_AN_ORDER
    end
    for _, name in ipairs(items) do
        if type(name) ~= "string" then return nil, M.NOT_AN_ORDER end
    end
    for _, name in ipairs(items) do
        if not PRICES[name] then return nil, M.UNKNOWN_ITEM end
    end
    return customer, items
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
