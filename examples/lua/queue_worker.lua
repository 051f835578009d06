-- queue_worker: the tutorial's "Worker with Queue Group".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
queue_worker: joins the queue group "workers" on tasks.process. The server
hands each task to one member of the group only, so several workers share
the load. Prints which worker got which task. Runs until it has processed
COUNT tasks (when given) or until Ctrl-C (SIGINT) or SIGTERM, then drains, finishing
every task already delivered to it.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 queue_worker.lua [ID [COUNT]]

ID defaults to worker-1.
]==]

local function process_task(worker, msg)
    local id, payload = common.read_task(msg.data)
    if not id then
        print(("[%s] Invalid task: %s"):format(worker, msg.data))
        return
    end
    print(("[%s] Processing task: %s (%s)"):format(worker, id, payload))
    common.sleep(common.WORK_SECONDS) -- simulated work
    print(("[%s] Completed task: %s"):format(worker, id))
end

common.run(function()
    local args = common.arguments(USAGE, "id", "count")
    local worker, limit = args.id or "worker-1", args.count

    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = worker })
    -- The queue name makes this a group member rather than a listener.
    local sub = assert(nc:subscribe("tasks.process", { queue = "workers" }))
    assert(nc:flush(2))
    print(("[%s] Ready to process tasks..."):format(worker))

    local processed = 0
    common.until_signalled(function()
        -- No timeout needed: a signal ends the wait.
        local msg = common.next_msg(sub, math.huge)
        if msg then
            process_task(worker, msg)
            processed = processed + 1
        end
        return limit == nil or processed < limit
    end)

    -- Leave the group gracefully: tasks the server already gave us are
    -- still processed after the drain, not lost.
    assert(nc:drain(5))
    for msg in sub:messages(0) do
        process_task(worker, msg)
        processed = processed + 1
    end
    print(("[%s] Stopped after %d task(s)"):format(worker, processed))
end)
