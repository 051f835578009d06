"""subscriber: the tutorial's "Simple Subscriber" and "Graceful Shutdown".

Subscribes to orders.created and prints every order it receives. It runs
until it has received COUNT orders (when given) or until SIGINT/SIGTERM,
then drains: the subscription is closed, orders already on their way still
arrive and are printed, and only then does the connection close.

  NATS_URL=nats://127.0.0.1:4222 python subscriber.py [COUNT]

Messages are pulled with sub.next_msg on the main thread, so the program
can watch for the signal between two waits.
"""
import jetwire

import common


def main():
    limit = common.arguments(__doc__, ("count", "exit after COUNT orders")
                             ).count
    stop = common.StopOnSignal()

    nc = jetwire.connect(common.server_url(), name="subscriber")
    try:
        # No callback: messages queue in the subscription until we pull them.
        sub = nc.subscribe("orders.created")
        # After a flush round trip the server has registered the
        # subscription, so anything published from now on reaches us.
        nc.flush(timeout=2)
        print("Listening for orders on 'orders.created'...")

        received = 0
        while not stop.requested and (limit is None or received < limit):
            try:
                # A short timeout, so that a signal is noticed quickly.
                msg = sub.next_msg(timeout=0.2)
            except jetwire.TimeoutError:
                continue
            print(common.describe_order(msg.data))
            received += 1
        if stop.requested:
            print("Received shutdown signal")

        # Graceful shutdown: unsubscribe, let in-flight messages land,
        # close. What arrived meanwhile stays queued and is handled, not
        # lost: iterating a drained subscription yields it, then ends.
        nc.drain(timeout=5)
        for msg in sub:
            print(common.describe_order(msg.data))
            received += 1
        print("Graceful shutdown complete: %d order(s) received" % received)
    finally:
        nc.close()  # harmless after the drain; closes on an error


if __name__ == "__main__":
    common.run(main)
