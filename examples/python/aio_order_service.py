"""aio_order_service: order_service.py with jetwire.aio (same arguments,
same output).

  NATS_URL=nats://127.0.0.1:4222 python aio_order_service.py [COUNT [FIRST]]
  NATS_URL=nats://127.0.0.1:4222 python aio_order_service.py serve [COUNT [FIRST]]

With "serve", the service "orders" 1.0.0 of the NATS micro API takes
orders on order.create, as order_service.py serve does: a coroutine
handler reads {"customer":"...","items":[...]}, awaits the stream's
acknowledgment and answers with `await req.respond(...)` (error 400 for a
request that is not an order or names an unknown item, 503 when JetStream
fails). It stops after COUNT orders or on SIGINT/SIGTERM: the service
stops, the connection drains.
"""
import asyncio
import sys

import jetwire.aio

import common


async def serve(nc, js, limit, first):
    """Serve orders on order.create until limit orders were created (None:
    no limit) or SIGINT/SIGTERM; then stop the service and drain."""
    stop = common.stop_event()
    created = 0
    enough = asyncio.Event()

    async def on_create(req):
        nonlocal created
        if limit is not None and created >= limit:
            await req.respond_error(503, common.STOPPING)
            return
        customer, items = common.read_order_request(req.data)
        if customer is None:
            await req.respond_error(400, items)
            return
        order = common.make_order(first + created, customer, items)
        data = common.to_json(order)
        try:
            # Waits for the stream's acknowledgment: the order is stored.
            await js.publish("orders.created", data)
        except jetwire.Error as e:
            print("aio_order_service: publish failed: %s (%s)"
                  % (e.message, e.code), file=sys.stderr)
            await req.respond_error(503, e.message)
            return
        print(data.decode())
        print("Order %s created and published" % order["id"])
        # The reply goes to the request's reply subject (its inbox).
        await req.respond(data)
        created += 1
        if limit is not None and created >= limit:
            enough.set()

    svc = await nc.add_service("orders", "1.0.0",
                               description="the tutorial's order service")
    await svc.add_endpoint("create", on_create, subject="order.create")
    await nc.flush(timeout=2)  # the server knows us from now on
    print("Order service ready: stream ORDERS over orders.> (work queue); "
          "service orders on order.create (service id %s)" % svc.id)

    await common.wait_until_stopped(stop, enough)

    # Stop: discovery ends, the endpoint drains and the requests on the
    # way are answered; then the connection drains and closes.
    await svc.stop(timeout=5)
    await nc.drain(timeout=5)
    print("Order service stopped after %d order(s)" % created)


async def main():
    serving = sys.argv[1:2] == ["serve"]
    if serving:
        del sys.argv[1]
    args = common.arguments(__doc__, ("count", "orders to create (3; with "
                                      "serve: no limit)"),
                            ("first", "number of the first one (1)"))
    first = args.first or 1
    async with await jetwire.aio.connect(common.server_url(),
                                         name="order-service",
                                         max_reconnect_attempts=-1,
                                         reconnect_time_wait=1.0) as nc:
        js = nc.jetstream(timeout=5.0)
        await js.create_or_update_stream(**common.ORDERS_WORK_QUEUE)
        if serving:
            await serve(nc, js, args.count, first)
            return
        count = args.count or 3
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
