"""aio_queue_worker: the tutorial's "Worker with Queue Group", with asyncio.

Joins the queue group "workers" on tasks.process. The server hands each task
to one member of the group only, so several workers share the load. Prints
which worker got which task. Runs until it has processed COUNT tasks (when
given) or until SIGINT/SIGTERM, then drains, finishing every task already
delivered to it.

  NATS_URL=nats://127.0.0.1:4222 python aio_queue_worker.py [ID [COUNT]]

ID defaults to worker-1. A task reads the subscription with `async for`;
the simulated work awaits, so it holds nothing else up.
"""
import asyncio

import jetwire.aio

import common


async def process_task(worker, msg):
    task = common.read_task(msg.data)
    if task is None:
        print("[%s] Invalid task: %s"
              % (worker, msg.data.decode("utf-8", "replace")))
        return
    task_id, payload = task
    print("[%s] Processing task: %s (%s)" % (worker, task_id, payload))
    await asyncio.sleep(common.WORK_SECONDS)  # simulated work
    print("[%s] Completed task: %s" % (worker, task_id))


async def main():
    args = common.arguments(__doc__, ("id", "worker ID (default: worker-1)"),
                            ("count", "exit after COUNT tasks"))
    worker, limit = args.id or "worker-1", args.count
    stop = common.stop_event()

    nc = await jetwire.aio.connect(common.server_url(), name=worker)
    try:
        # The queue name makes this a group member rather than a listener.
        sub = await nc.subscribe("tasks.process", queue="workers")
        await nc.flush(timeout=2)
        print("[%s] Ready to process tasks..." % worker)

        processed = 0
        enough = asyncio.Event()

        async def work():
            # Runs until COUNT, or until the drain below ends the
            # subscription (after the tasks already delivered).
            nonlocal processed
            try:
                async for msg in sub.messages:
                    await process_task(worker, msg)
                    processed += 1
                    if limit is not None and processed >= limit:
                        break
            finally:
                enough.set()

        worker_task = asyncio.create_task(work())
        await common.wait_until_stopped(stop, enough)

        # Leave the group gracefully: tasks the server already gave us are
        # still processed after the drain, not lost.
        await nc.drain(timeout=5)
        await worker_task
        async for msg in sub.messages:
            await process_task(worker, msg)
            processed += 1
        print("[%s] Stopped after %d task(s)" % (worker, processed))
    finally:
        await nc.close()


if __name__ == "__main__":
    common.run(main)
