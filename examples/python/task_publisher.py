"""task_publisher: the tutorial's "Task Publisher".

Publishes 10 tasks (or COUNT) to tasks.process, 100 ms apart, for the queue
workers to share, then flushes.

  NATS_URL=nats://127.0.0.1:4222 python task_publisher.py [COUNT]
"""
import time

import jetwire

import common


def main():
    count = common.arguments(__doc__, ("count", "tasks to publish "
                                       "(default: 10)")).count or 10
    with jetwire.connect(common.server_url(), name="task_publisher") as nc:
        for number in range(1, count + 1):
            nc.publish("tasks.process", common.new_task(number))
            print("Published task: task-%d" % number)
            time.sleep(0.1)
        nc.flush(timeout=2)  # all tasks have reached the server
    print("All tasks published")


if __name__ == "__main__":
    common.run(main)
