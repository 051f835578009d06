-- task_publisher: the tutorial's "Task Publisher".
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
task_publisher: publishes 10 tasks (or COUNT) to tasks.process, 100 ms
apart, for the queue workers to share, then flushes.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 task_publisher.lua [COUNT]
]==]

common.run(function()
    local count = common.arguments(USAGE, "count").count or 10
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "task_publisher" })
    for number = 1, count do
        assert(nc:publish("tasks.process", common.new_task(number)))
        print("Published task: task-" .. number)
        common.sleep(0.1)
    end
    assert(nc:flush(2)) -- all tasks have reached the server
    print("All tasks published")
end)
