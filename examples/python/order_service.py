"""order_service: the tutorial's "Order Service" (Complete Microservice
Example).

Connects as a service does (reconnecting forever, 1 s between rounds),
creates or updates the stream ORDERS over orders.> as a work queue (on
disk, 7 days at most: each order stays until a worker acks it), then
creates COUNT orders (default 3) numbered from FIRST (default 1). Each
order is published to orders.created with an acknowledgment from the
stream; its JSON is printed, then "Order <id> created and published".
Drains before leaving.

  NATS_URL=nats://127.0.0.1:4222 python order_service.py [COUNT [FIRST]]

The tutorial's service takes its orders from an HTTP endpoint, which is
not this project's field: here they come from the command line instead.
Order n is ORD-n; its customer and two items are picked by n, the total is
the items' prices added up (common.service_order), as in C and Lua.

A stream's retention cannot change: on a server where js_setup already
made ORDERS (limits retention) the update is refused. Use a server of its
own (as scripts/demo.sh does) or delete that stream first.
"""
import jetwire

import common


def main():
    args = common.arguments(__doc__, ("count", "orders to create (3)"),
                            ("first", "number of the first one (1)"))
    count, first = args.count or 3, args.first or 1
    # A service rides out server restarts: reconnect forever, 1 s apart.
    with jetwire.connect(common.server_url(), name="order-service",
                         max_reconnect_attempts=-1,
                         reconnect_time_wait=1.0) as nc:
        js = nc.jetstream(timeout=5.0)
        js.create_or_update_stream(**common.ORDERS_WORK_QUEUE)
        print("Order service ready: stream ORDERS over orders.> (work queue)")
        for number in range(first, first + count):
            order = common.service_order(number)
            data = common.to_json(order)
            # Waits for the stream's acknowledgment: the order is stored.
            js.publish("orders.created", data)
            print(data.decode())
            print("Order %s created and published" % order["id"])
        nc.drain(timeout=5)


if __name__ == "__main__":
    common.run(main)
