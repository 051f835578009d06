"""aio_task_publisher: the tutorial's "Task Publisher", with asyncio.

Publishes 10 tasks (or COUNT) to tasks.process, 100 ms apart, for the queue
workers to share, then flushes.

  NATS_URL=nats://127.0.0.1:4222 python aio_task_publisher.py [COUNT]
"""
import asyncio

import jetwire.aio

import common


async def main():
    count = common.arguments(__doc__, ("count", "tasks to publish "
                                       "(default: 10)")).count or 10
    async with await jetwire.aio.connect(common.server_url(),
                                         name="aio_task_publisher") as nc:
        for number in range(1, count + 1):
            await nc.publish("tasks.process", common.new_task(number))
            print("Published task: task-%d" % number)
            await asyncio.sleep(0.1)
        await nc.flush(timeout=2)  # all tasks have reached the server
    print("All tasks published")


if __name__ == "__main__":
    common.run(main)
