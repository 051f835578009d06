"""publisher: the tutorial's "Simple Publisher".

Publishes one order, as JSON, to orders.created (or to the subject given as
the only argument) and flushes, so that the message has reached the server
before the program exits.

  NATS_URL=nats://127.0.0.1:4222 python publisher.py [SUBJECT]
"""
import jetwire

import common


def main():
    args = common.arguments(__doc__, ("subject", "default: orders.created"))
    subject = args.subject or "orders.created"
    order = common.new_order()

    # The context manager closes the connection, also on an error.
    with jetwire.connect(common.server_url(), name="publisher") as nc:
        # Publishing only queues the message for the socket...
        nc.publish(subject, common.to_json(order))
        # ...flush writes it and waits for the server's PONG, so it has
        # arrived before we close the connection.
        nc.flush(timeout=2)

    print("Published order %s to %s" % (order["id"], subject))


if __name__ == "__main__":
    common.run(main)
