"""aio_js_durable: js_durable.py with jetwire.aio (same arguments, same
output).

  NATS_URL=nats://127.0.0.1:4222 python aio_js_durable.py [COUNT]
"""
import asyncio

import jetwire.aio

import common


async def process(msg):
    order = common.read_js_order(msg.data)
    if order is None:
        print("Failed to parse order: %s"
              % msg.data.decode("utf-8", "replace"))
        await msg.nak()
        return
    print("Processing order: %s, Amount: $%.2f" % order)
    await asyncio.sleep(0.1)
    await msg.ack()
    print("Order %s processed successfully" % order[0])


async def main():
    args = common.arguments(__doc__, ("count", "stop after COUNT orders"))
    stop = common.stop_event()
    processed = 0
    async with await jetwire.aio.connect(common.server_url(),
                                         name="js-durable") as nc:
        js = nc.jetstream()
        cons = await js.create_or_update_consumer(
            "ORDERS", durable="order-processor", ack_policy="explicit",
            deliver_policy="all", ack_wait=30.0, max_deliver=3,
            filter_subject="orders.created")
        print("Order processor running.")

        async def process_orders():
            # Runs until COUNT, or until cancelled on SIGINT/SIGTERM.
            nonlocal processed
            while not args.count or processed < args.count:
                want = min(10, args.count - processed) if args.count else 10
                for msg in await cons.fetch(want, timeout=1.0):
                    await process(msg)
                    processed += 1

        # docs/python.md "Signals, shutdown and callbacks": the consuming
        # task is cancelled (an order it was processing, not yet acked,
        # is redelivered after ack_wait), then the connection drained.
        worker = asyncio.create_task(process_orders())
        done = asyncio.Event()
        worker.add_done_callback(lambda _t: done.set())
        await common.wait_until_stopped(stop, done)
        print("Shutting down...")
        worker.cancel()
        try:
            await worker  # raises what made it end, but a cancel
        except asyncio.CancelledError:
            pass
        # Acks are written in the background: drain so that the last ones
        # reach the server before the connection closes.
        await nc.drain(timeout=5)


if __name__ == "__main__":
    common.run(main)
