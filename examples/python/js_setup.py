"""js_setup: the tutorial's "Creating Streams and Consumers".

Creates (or updates) the stream ORDERS over orders.>, kept on disk for 24
hours and at most 100000 messages, then publishes five orders to
orders.created and prints the sequence the stream gave each one.

  NATS_URL=nats://127.0.0.1:4222 python js_setup.py

Configurations are keyword arguments named after the server's fields, with
durations in seconds (24 h = 86400.0).
"""
import jetwire

import common


def main():
    common.arguments(__doc__)
    with jetwire.connect(common.server_url(), name="js-setup") as nc:
        js = nc.jetstream(timeout=5.0)
        # Streams persist messages; any number of consumers can read them.
        js.create_or_update_stream(
            name="ORDERS", description="Order events stream",
            subjects=["orders.>"], storage="file", retention="limits",
            max_age=86400.0, max_msgs=100000, replicas=1)
        print("Stream created: ORDERS with subjects [orders.>]")

        for order in common.js_orders():
            # Waits for the stream's acknowledgment: stored, with a sequence.
            ack = js.publish("orders.created", common.to_json(order))
            print("Published order %s, sequence: %d" % (order["id"], ack.seq))


if __name__ == "__main__":
    common.run(main)
