"""aio_subscriber: the tutorial's "Simple Subscriber" and "Graceful
Shutdown", with asyncio.

Subscribes to orders.created and prints every order it receives. It runs
until it has received COUNT orders (when given) or until SIGINT/SIGTERM,
then drains: the subscription is closed, orders already on their way still
arrive and are printed, and only then does the connection close.

  NATS_URL=nats://127.0.0.1:4222 python aio_subscriber.py [COUNT]

A task reads the subscription with `async for msg in sub.messages` while
main waits for the COUNT or the signal.
"""
import asyncio

import jetwire.aio

import common


async def main():
    limit = common.arguments(__doc__, ("count", "exit after COUNT orders")
                             ).count
    stop = common.stop_event()

    nc = await jetwire.aio.connect(common.server_url(), name="aio_subscriber")
    try:
        sub = await nc.subscribe("orders.created")
        await nc.flush(timeout=2)  # the server knows the subscription now
        print("Listening for orders on 'orders.created'...")

        received = 0
        enough = asyncio.Event()

        async def read_orders():
            # Runs until COUNT, or until the drain below ends the
            # subscription (after what was still on its way).
            nonlocal received
            try:
                async for msg in sub.messages:
                    print(common.describe_order(msg.data))
                    received += 1
                    if limit is not None and received >= limit:
                        break
            finally:
                enough.set()

        reader = asyncio.create_task(read_orders())
        await common.wait_until_stopped(stop, enough)
        if stop.is_set():
            print("Received shutdown signal")

        # Graceful shutdown: unsubscribe, let in-flight messages land,
        # close. The reader gets them; with COUNT reached, the loop below.
        await nc.drain(timeout=5)
        await reader
        async for msg in sub.messages:
            print(common.describe_order(msg.data))
            received += 1
        print("Graceful shutdown complete: %d order(s) received" % received)
    finally:
        await nc.close()


if __name__ == "__main__":
    common.run(main)
