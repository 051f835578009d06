"""aio_order_service: order_service.py with jetwire.aio (same arguments,
same output).

  NATS_URL=nats://127.0.0.1:4222 python aio_order_service.py [COUNT [FIRST]]
"""
import jetwire.aio

import common


async def main():
    args = common.arguments(__doc__, ("count", "orders to create (3)"),
                            ("first", "number of the first one (1)"))
    count, first = args.count or 3, args.first or 1
    async with await jetwire.aio.connect(common.server_url(),
                                         name="order-service",
                                         max_reconnect_attempts=-1,
                                         reconnect_time_wait=1.0) as nc:
        js = nc.jetstream(timeout=5.0)
        await js.create_or_update_stream(**common.ORDERS_WORK_QUEUE)
        print("Order service ready: stream ORDERS over orders.> (work queue)")
        for number in range(first, first + count):
            order = common.service_order(number)
            data = common.to_json(order)
            await js.publish("orders.created", data)
            print(data.decode())
            print("Order %s created and published" % order["id"])
        await nc.drain(timeout=5)


if __name__ == "__main__":
    common.run(main)
