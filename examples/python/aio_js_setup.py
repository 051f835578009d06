"""aio_js_setup: js_setup.py with jetwire.aio (same arguments, same output).

  NATS_URL=nats://127.0.0.1:4222 python aio_js_setup.py
"""
import jetwire.aio

import common


async def main():
    common.arguments(__doc__)
    async with await jetwire.aio.connect(common.server_url(),
                                         name="js-setup") as nc:
        js = nc.jetstream(timeout=5.0)
        await js.create_or_update_stream(
            name="ORDERS", description="Order events stream",
            subjects=["orders.>"], storage="file", retention="limits",
            max_age=86400.0, max_msgs=100000, replicas=1)
        print("Stream created: ORDERS with subjects [orders.>]")
        for order in common.js_orders():
            ack = await js.publish("orders.created", common.to_json(order))
            print("Published order %s, sequence: %d" % (order["id"], ack.seq))


if __name__ == "__main__":
    common.run(main)
