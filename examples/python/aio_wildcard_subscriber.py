"""aio_wildcard_subscriber: the tutorial's "Wildcard Subscriptions", with
asyncio.

Two subscriptions with coroutine callbacks:
  orders.*  one token after "orders": orders.created, orders.updated
  orders.>  one or more tokens:       orders.created, orders.eu.created
A message matching both is delivered to both. Runs until COUNT deliveries in
total (when given) or until SIGINT/SIGTERM, then drains.

  NATS_URL=nats://127.0.0.1:4222 python aio_wildcard_subscriber.py [COUNT]
"""
import asyncio

import jetwire.aio

import common


async def main():
    limit = common.arguments(
        __doc__, ("count", "exit after COUNT deliveries")).count
    stop = common.stop_event()
    delivered = 0
    enough = asyncio.Event()

    def handler(pattern):
        """The callback of one subscription: it knows its own pattern."""
        async def on_order_event(msg):
            nonlocal delivered
            print("[%s] Subject: %s, Data: %s" % (
                pattern, msg.subject, msg.data.decode("utf-8", "replace")))
            delivered += 1
            if limit is not None and delivered >= limit:
                enough.set()
        return on_order_event

    nc = await jetwire.aio.connect(common.server_url(),
                                   name="aio_wildcard_subscriber")
    try:
        for pattern in ("orders.*", "orders.>"):
            await nc.subscribe(pattern, cb=handler(pattern))
        await nc.flush(timeout=2)  # both subscriptions are now registered
        print("Listening with wildcard subscriptions...")

        await common.wait_until_stopped(stop, enough)

        # Unsubscribe both, let the callbacks see what is in flight, close.
        await nc.drain(timeout=5)
        print("Done: %d message(s) delivered" % delivered)
    finally:
        await nc.close()


if __name__ == "__main__":
    common.run(main)
