"""queue_worker: the tutorial's "Worker with Queue Group".

Joins the queue group "workers" on tasks.process. The server hands each task
to one member of the group only, so several workers share the load. Prints
which worker got which task. Runs until it has processed COUNT tasks (when
given) or until SIGINT/SIGTERM, then drains, finishing every task already
delivered to it.

  NATS_URL=nats://127.0.0.1:4222 python queue_worker.py [ID [COUNT]]

ID defaults to worker-1. Tasks are pulled on the main thread, where the
simulated work may take its time.
"""
import time

import jetwire

import common


def process_task(worker, msg):
    task = common.read_task(msg.data)
    if task is None:
        print("[%s] Invalid task: %s"
              % (worker, msg.data.decode("utf-8", "replace")))
        return
    task_id, payload = task
    print("[%s] Processing task: %s (%s)" % (worker, task_id, payload))
    time.sleep(common.WORK_SECONDS)  # simulated work
    print("[%s] Completed task: %s" % (worker, task_id))


def main():
    args = common.arguments(__doc__, ("id", "worker ID (default: worker-1)"),
                            ("count", "exit after COUNT tasks"))
    worker, limit = args.id or "worker-1", args.count
    stop = common.StopOnSignal()

    nc = jetwire.connect(common.server_url(), name=worker)
    try:
        # The queue name makes this a group member rather than a listener.
        sub = nc.subscribe("tasks.process", queue="workers")
        nc.flush(timeout=2)
        print("[%s] Ready to process tasks..." % worker)

        processed = 0
        while not stop.requested and (limit is None or processed < limit):
            try:
                msg = sub.next_msg(timeout=0.2)
            except jetwire.TimeoutError:
                continue
            process_task(worker, msg)
            processed += 1

        # Leave the group gracefully: tasks the server already gave us are
        # still processed after the drain, not lost.
        nc.drain(timeout=5)
        for msg in sub:
            process_task(worker, msg)
            processed += 1
        print("[%s] Stopped after %d task(s)" % (worker, processed))
    finally:
        nc.close()


if __name__ == "__main__":
    common.run(main)
