"""aio_js_batches: js_batches.py with jetwire.aio (same output). The fast
batch's readings are added one by one here (``await batch.add``), where
js_batches.py hands them all to publish_batch.

  NATS_URL=nats://127.0.0.1:4222 python aio_js_batches.py
"""
import json

import jetwire
import jetwire.aio

import common


async def send_order(js, order, lines, expected_last_seq=None):
    """The order's header and lines as one atomic batch; the PubAck."""
    first = {} if expected_last_seq is None else {
        "expected_last_seq": expected_last_seq}  # checked at the commit
    async with js.atomic_batch() as batch:
        for i in range(lines + 1):
            subject = "shop.order.%d.%s" % (order, "line" if i else "header")
            body = json.dumps({"order": order, "line": i}).encode()
            if i < lines:
                await batch.add(subject, body, **(first if i == 0 else {}))
            else:
                return await batch.commit(subject, body)


async def main():
    common.arguments(__doc__)
    async with await jetwire.aio.connect(common.server_url(),
                                         name="js-batches") as nc:
        js = nc.jetstream(timeout=5.0)
        try:
            await js.delete_stream("SHOP")
        except jetwire.StreamNotFoundError:
            pass
        await js.add_stream("SHOP", subjects=["shop.>"], storage="memory",
                            allow_atomic=True, allow_batched=True)

        ack = await send_order(js, 1, 3)
        print("Order 1: batch %s stored %d messages, last sequence %d"
              % (ack.batch, ack.count, ack.seq))
        try:
            await send_order(js, 2, 3, expected_last_seq=1)
            print("Order 2: stored")
            return 1
        except jetwire.WrongLastSequenceError as e:
            print("Order 2: %s (%s)" % (e.code, e.message))

        async with js.fast_batch() as batch:
            for i in range(10000):
                await batch.add("shop.sensor.temp",
                                b'{"celsius":%d.%d}' % (18 + i % 5, i % 10))
            ack = await batch.commit()
        print("Readings: %d stored by one fast batch" % ack.count)
    return 0


if __name__ == "__main__":
    common.run(main)
