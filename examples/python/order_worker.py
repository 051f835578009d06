"""order_worker: processes the order service's orders (order_service.py).

Creates (or updates) the durable pull consumer order-processor on the
work-queue stream ORDERS (explicit acks, 30 s to ack, at most 3
deliveries, only orders.created), fetches orders in batches and prints
"Processing order <id> for <customer>: $<total>" for each, then acks it:
the stream then deletes it. An order that does not parse is terminated
(the tutorial's "Message Acknowledgment": a poison message is never
delivered again).

  NATS_URL=nats://127.0.0.1:4222 python order_worker.py [COUNT]

Stops after COUNT orders (when given), when no order came for 2 s, or on
SIGINT/SIGTERM; then drains, so that its last acks reach the server.
"""
import jetwire

import common


def main():
    args = common.arguments(__doc__, ("count", "stop after COUNT orders"))
    stop = common.StopOnSignal()
    processed = 0
    with jetwire.connect(common.server_url(), name="order-worker") as nc:
        js = nc.jetstream()
        cons = js.create_or_update_consumer("ORDERS",
                                            **common.ORDER_PROCESSOR)
        print("Order worker running.")
        while not stop.requested and (not args.count
                                      or processed < args.count):
            want = min(10, args.count - processed) if args.count else 10
            batch = cons.fetch(want, timeout=common.IDLE_SECONDS)
            if not batch:
                print("No order for 2 s: the queue is idle.")
                break
            for msg in batch:
                line = common.describe_service_order(msg.data)
                if line is None:
                    print("Bad order, terminated: %s"
                          % msg.data.decode("utf-8", "replace"))
                    msg.term()
                    continue
                print(line)
                msg.ack()
                processed += 1
        print("Done: %d order(s) processed" % processed)
        # Acks are written in the background: drain so that the last ones
        # reach the server before the connection closes.
        nc.drain(timeout=5)


if __name__ == "__main__":
    common.run(main)
