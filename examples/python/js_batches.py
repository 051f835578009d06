"""js_batches: publishing many messages at once (ADR-50).

An atomic batch (nats-server 2.12) stores an order and its lines all
together or not at all: the second order's batch expects a sequence the
stream does not have, so none of it is stored. A fast-ingest batch
(nats-server 2.14) then publishes 10,000 sensor readings with flow control
instead of one acknowledgment per message.

  NATS_URL=nats://127.0.0.1:4222 python js_batches.py
"""
import json

import jetwire

import common


def send_order(js, order, lines, expected_last_seq=None):
    """The order's header and lines as one atomic batch; the PubAck."""
    first = {} if expected_last_seq is None else {
        "expected_last_seq": expected_last_seq}  # checked at the commit
    with js.atomic_batch() as batch:
        for i in range(lines + 1):
            subject = "shop.order.%d.%s" % (order, "line" if i else "header")
            body = json.dumps({"order": order, "line": i}).encode()
            if i < lines:
                batch.add(subject, body, **(first if i == 0 else {}))
            else:
                return batch.commit(subject, body)


def main():
    common.arguments(__doc__)
    with jetwire.connect(common.server_url(), name="js-batches") as nc:
        js = nc.jetstream(timeout=5.0)
        try:
            js.delete_stream("SHOP")
        except jetwire.StreamNotFoundError:
            pass
        js.add_stream("SHOP", subjects=["shop.>"], storage="memory",
                      allow_atomic=True, allow_batched=True)

        ack = send_order(js, 1, 3)
        print("Order 1: batch %s stored %d messages, last sequence %d"
              % (ack.batch, ack.count, ack.seq))
        # The stream is at 4, not 1: the whole batch is refused.
        try:
            send_order(js, 2, 3, expected_last_seq=1)
            print("Order 2: stored")
            return 1
        except jetwire.WrongLastSequenceError as e:
            print("Order 2: %s (%s)" % (e.code, e.message))

        # Fast ingest: 10,000 readings, acknowledged every so many.
        ack = js.publish_batch(
            ("shop.sensor.temp",
             b'{"celsius":%d.%d}' % (18 + i % 5, i % 10))
            for i in range(10000))
        print("Readings: %d stored by one fast batch" % ack.count)
    return 0


if __name__ == "__main__":
    common.run(main)
