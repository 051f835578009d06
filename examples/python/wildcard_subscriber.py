"""wildcard_subscriber: the tutorial's "Wildcard Subscriptions".

Two subscriptions with callbacks:
  orders.*  one token after "orders": orders.created, orders.updated
  orders.>  one or more tokens:       orders.created, orders.eu.created
A message matching both is delivered to both. Runs until COUNT deliveries in
total (when given) or until SIGINT/SIGTERM, then drains.

  NATS_URL=nats://127.0.0.1:4222 python wildcard_subscriber.py [COUNT]

Callbacks run on the connection's own Python thread, one at a time; the
main thread only waits.
"""
import threading

import jetwire

import common


def main():
    limit = common.arguments(
        __doc__, ("count", "exit after COUNT deliveries")).count
    stop = common.StopOnSignal()
    delivered = 0
    enough = threading.Event()

    def handler(pattern):
        """The callback of one subscription: it knows its own pattern."""
        def on_order_event(msg):
            nonlocal delivered
            print("[%s] Subject: %s, Data: %s" % (
                pattern, msg.subject, msg.data.decode("utf-8", "replace")))
            delivered += 1
            if limit is not None and delivered >= limit:
                enough.set()
        return on_order_event

    nc = jetwire.connect(common.server_url(), name="wildcard_subscriber")
    try:
        for pattern in ("orders.*", "orders.>"):
            nc.subscribe(pattern, cb=handler(pattern))
        nc.flush(timeout=2)  # both subscriptions are now registered
        print("Listening with wildcard subscriptions...")

        stop.wait(enough)

        # Unsubscribe both, let the callbacks see what is in flight, close.
        nc.drain(timeout=5)
        print("Done: %d message(s) delivered" % delivered)
    finally:
        nc.close()


if __name__ == "__main__":
    common.run(main)
