"""subscriber: the tutorial's "Simple Subscriber" and "Graceful Shutdown".

Subscribes to orders.created and prints every order it receives. It runs
until it has received COUNT orders (when given) or until SIGINT/SIGTERM,
then drains: the subscription is closed, orders already on their way still
arrive and are printed, and only then does the connection close.

  NATS_URL=nats://127.0.0.1:4222 python subscriber.py [COUNT]

Messages are pulled by iterating the subscription on the main thread: the
iteration waits as long as it takes, and the signal ends the wait (jetwire's
blocking waits let Python run signal handlers), which is the "run until
signalled, then drain" recipe of docs/python.md.
"""
import jetwire

import common


def main():
    limit = common.arguments(__doc__, ("count", "exit after COUNT orders")
                             ).count
    common.raise_on_signal()

    nc = jetwire.connect(common.server_url(), name="subscriber")
    try:
        # No callback: messages queue in the subscription until we pull them.
        sub = nc.subscribe("orders.created")
        # After a flush round trip the server has registered the
        # subscription, so anything published from now on reaches us.
        nc.flush(timeout=2)
        print("Listening for orders on 'orders.created'...")

        received = 0
        try:
            for msg in sub:  # waits as long as it takes; a signal ends it
                print(common.describe_order(msg.data))
                received += 1
                if limit is not None and received >= limit:
                    break
        except common.Stop:
            print("Received shutdown signal")

        nc.drain(timeout=5)
        for msg in sub:
            print(common.describe_order(msg.data))
            received += 1
        print("Graceful shutdown complete: %d order(s) received" % received)
    finally:
        nc.close()  # harmless after the drain; closes on an error


if __name__ == "__main__":
    common.run(main)
