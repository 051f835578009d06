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
  NATS_URL=nats://127.0.0.1:4222 python order_service.py serve [COUNT [FIRST]]

The tutorial's service takes its orders from an HTTP endpoint, which is
not this project's field: here they come from the command line instead.
Order n is ORD-n; its customer and two items are picked by n, the total is
the items' prices added up (common.service_order), as in C and Lua.

With "serve" the orders come as requests instead: the order service is
the micro service "orders" 1.0.0 with one endpoint, "create", on
order.create (outside orders.>, which the stream captures). A request is
  {"customer":"alice","items":["keyboard","mouse"]}
(a customer, one or more items of the catalogue); the service makes order
ORD-n (n from FIRST, +1 per order), publishes it as above, prints the same
two lines and replies with the order's JSON. A request that is not such
JSON, or names an item the catalogue lacks, gets an error reply with code
400 (common.read_order_request); a JetStream failure, 503 with the error's
text. It stops after COUNT orders (when given) or on SIGINT/SIGTERM: the
service stops (the requests on the way are answered), the connection
drains, and it prints "Order service stopped after <k> order(s)". Try it
with natscli:
  nats request order.create '{"customer":"alice","items":["mouse"]}'
  nats micro stats orders
The handler runs on the connection's callback thread, where it may wait
for the stream's acknowledgment, as in C and Lua.

A stream's retention cannot change: on a server where js_setup already
made ORDERS (limits retention) the update is refused. Use a server of its
own (as scripts/demo.sh does) or delete that stream first.
"""
import sys
import threading

import jetwire

import common


def serve(nc, js, limit, first):
    """Serve orders on order.create until limit orders were created (None:
    no limit) or SIGINT/SIGTERM; then stop the service and drain."""
    stop = common.StopOnSignal()
    created = 0
    enough = threading.Event()

    def on_create(req):
        nonlocal created
        if limit is not None and created >= limit:
            req.respond_error(503, common.STOPPING)
            return
        customer, items = common.read_order_request(req.data)
        if customer is None:
            req.respond_error(400, items)
            return
        order = common.make_order(first + created, customer, items)
        data = common.to_json(order)
        try:
            # Waits for the stream's acknowledgment: the order is stored.
            js.publish("orders.created", data)
        except jetwire.Error as e:
            print("order_service: publish failed: %s (%s)"
                  % (e.message, e.code), file=sys.stderr)
            req.respond_error(503, e.message)
            return
        print(data.decode())
        print("Order %s created and published" % order["id"])
        # The reply goes to the request's reply subject (its inbox).
        req.respond(data)
        created += 1
        if limit is not None and created >= limit:
            enough.set()

    svc = nc.add_service("orders", "1.0.0",
                         description="the tutorial's order service")
    svc.add_endpoint("create", on_create, subject="order.create")
    nc.flush(timeout=2)  # the server knows us from now on
    print("Order service ready: stream ORDERS over orders.> (work queue); "
          "service orders on order.create (service id %s)" % svc.id)

    stop.wait(enough)

    # Stop: discovery ends, the endpoint drains and the requests on the
    # way are answered; then the connection drains and closes.
    svc.stop(timeout=5)
    nc.drain(timeout=5)
    print("Order service stopped after %d order(s)" % created)


def main():
    serving = sys.argv[1:2] == ["serve"]
    if serving:
        del sys.argv[1]
    args = common.arguments(__doc__, ("count", "orders to create (3; with "
                                      "serve: no limit)"),
                            ("first", "number of the first one (1)"))
    first = args.first or 1
    # A service rides out server restarts: reconnect forever, 1 s apart.
    with jetwire.connect(common.server_url(), name="order-service",
                         max_reconnect_attempts=-1,
                         reconnect_time_wait=1.0) as nc:
        js = nc.jetstream(timeout=5.0)
        js.create_or_update_stream(**common.ORDERS_WORK_QUEUE)
        if serving:
            serve(nc, js, args.count, first)
            return
        count = args.count or 3
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
