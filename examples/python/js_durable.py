"""js_durable: the tutorial's "Durable Consumer".

Creates (or updates) the durable pull consumer order-processor on the
stream ORDERS: explicit acks, from the start of the stream, 30 s to ack, at
most 3 deliveries, only orders.created. Fetches orders in batches, processes
each (100 ms of simulated work), acks it, and naks what it cannot parse so
that it comes back. Because the consumer is durable, a restarted processor
carries on after the last acked order.

  NATS_URL=nats://127.0.0.1:4222 python js_durable.py [COUNT]

Runs until it has processed COUNT orders (when given) or until
SIGINT/SIGTERM. Run js_setup.py first to create the stream.
"""
import time

import jetwire

import common


def process(msg):
    """Ack an order that parses, nak one that does not."""
    order = common.read_js_order(msg.data)
    if order is None:
        print("Failed to parse order: %s"
              % msg.data.decode("utf-8", "replace"))
        msg.nak()  # redelivered, up to max_deliver
        return
    print("Processing order: %s, Amount: $%.2f" % order)
    time.sleep(0.1)
    msg.ack()
    print("Order %s processed successfully" % order[0])


def main():
    args = common.arguments(__doc__, ("count", "stop after COUNT orders"))
    stop = common.StopOnSignal()
    processed = 0
    with jetwire.connect(common.server_url(), name="js-durable") as nc:
        js = nc.jetstream()
        cons = js.create_or_update_consumer(
            "ORDERS", durable="order-processor", ack_policy="explicit",
            deliver_policy="all", ack_wait=30.0, max_deliver=3,
            filter_subject="orders.created")
        print("Order processor running.")
        while not stop.requested and (not args.count
                                      or processed < args.count):
            want = min(10, args.count - processed) if args.count else 10
            # Up to `want` orders within 1 s: an empty list just means
            # nothing new arrived. Orders not fetched stay with the
            # consumer for the next run.
            for msg in cons.fetch(want, timeout=1.0):
                process(msg)
                processed += 1
        print("Shutting down...")
        # Acks are written in the background: drain so that the last ones
        # reach the server before the connection closes.
        nc.drain(timeout=5)


if __name__ == "__main__":
    common.run(main)
