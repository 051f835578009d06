"""common: what the Python examples share, so that each program shows only
its own NATS pattern (the Python counterpart of examples/c/example.h).

- the server to use (``server_url``) and the optional COUNT argument;
- leaving gracefully on SIGINT/SIGTERM, blocking (``raise_on_signal``
  for programs that wait in jetwire calls, ``StopOnSignal`` for those
  that wait for callbacks) and asyncio (``stop_event``,
  ``wait_until_stopped``);
- reporting a failure and the exit status (``run``);
- the JSON the programs exchange: orders, user lookups and tasks, written
  and read with the json module in one place for the blocking and the
  asyncio version of each program.

The programs print what they do on stdout, failures on stderr, and exit 0
only when everything worked.
"""
import argparse
import asyncio
import inspect
import json
import os
import signal
import sys
from datetime import datetime, timezone

import jetwire

DEFAULT_URL = "nats://127.0.0.1:4222"


def server_url():
    """The server to use: $NATS_URL, else a local default."""
    return os.environ.get("NATS_URL") or DEFAULT_URL


# ---------------------------------------------------------------------------
# The command line


def positive_int(text):
    """argparse type of a COUNT argument."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError("not a positive number: %r" % text)
    return value


def arguments(doc, *args):
    """Parse the command line. doc is the program's docstring (its help);
    each arg a (name, help) pair of an optional positional argument: those
    named "count" or "first" are positive numbers, the others are text.
    Usage errors exit with status 2, as in the C examples."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, help_text in args:
        numeric = name in ("count", "first")
        parser.add_argument(name, nargs="?", help=help_text,
                            type=positive_int if numeric else str)
    return parser.parse_args()


def run(main):
    """Run main(), or asyncio.run(main()) for a coroutine function, and exit
    with its status (None: 0). A jetwire.Error that escapes is reported as
    "program: message (CODE)" and the status is 1."""
    prog = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    try:
        if inspect.iscoroutinefunction(main):
            status = asyncio.run(main())
        else:
            status = main()
    except jetwire.Error as e:
        print("%s: %s (%s)" % (prog, e.message, e.code), file=sys.stderr)
        status = 1
    sys.exit(status or 0)


# ---------------------------------------------------------------------------
# Running until stopped: SIGINT and SIGTERM only ask the program to leave, so
# that it can drain first. Both helpers also make stdout line-buffered, so
# that a script reading it through a pipe or a file sees each line at once
# (scripts/demo.sh waits for the "ready" lines).


class StopOnSignal:
    """Blocking programs: ``requested`` turns true on SIGINT or SIGTERM."""

    def __init__(self):
        sys.stdout.reconfigure(line_buffering=True)
        self.requested = False
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum, frame):
        # Only a flag: a handler must not take locks the main thread may
        # hold (threading.Event.set would).
        self.requested = True

    def wait(self, done):
        """Wait on the main thread while callbacks do the work, on the
        connection's thread: until the threading.Event done is set or a
        signal came. Looks every 50 ms."""
        while not self.requested and not done.wait(0.05):
            pass


class Stop(Exception):
    """What raise_on_signal's handler raises in the main thread."""


def raise_on_signal():
    """Blocking programs that wait in jetwire calls (``for msg in sub``,
    ``next_msg(timeout=None)``, ``request``...): the first SIGINT or
    SIGTERM raises Stop in the main thread, out of the wait it is in
    (within 50 ms), so that the program drains and leaves; later ones
    are ignored, so they do not cut the drain short."""
    sys.stdout.reconfigure(line_buffering=True)
    raised = []

    def on_signal(signum, frame):
        if not raised:
            raised.append(signum)
            raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def stop_event():
    """Asyncio programs: an asyncio.Event set on SIGINT or SIGTERM (call it
    in the running loop)."""
    sys.stdout.reconfigure(line_buffering=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def wait_until_stopped(stop, done):
    """Wait until the asyncio.Event done or stop is set."""
    waits = [asyncio.ensure_future(stop.wait()),
             asyncio.ensure_future(done.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


# ---------------------------------------------------------------------------
# The messages, as JSON, the tutorial's Go structs as dicts.


def to_json(value):
    return json.dumps(value, separators=(",", ":")).encode()


def from_json(data):
    """The object a payload holds: a dict, or ValueError."""
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


# Orders: Pub/Sub and Wildcards.

def new_order():
    """The tutorial's sample order, the only one the publisher sends."""
    return {
        "id": "ORD-12345",
        "customer_id": "CUST-789",
        "amount": 99.99,
        "status": "created",
        "created_at": datetime.now(timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
    }


def describe_order(data):
    """The subscriber's line for a received order."""
    try:
        order = from_json(data)
        return "Received order: ID=%s, Customer=%s, Amount=$%.2f" % (
            order["id"], order["customer_id"], order["amount"])
    except (ValueError, KeyError, TypeError):
        return "Failed to parse order: %s" % data.decode("utf-8", "replace")


# Users: Request/Reply. The simulated user database.

USERS = {
    "user-1": {"user_id": "user-1", "name": "Alice Smith",
               "email": "alice@example.com", "found": True},
    "user-2": {"user_id": "user-2", "name": "Bob Johnson",
               "email": "bob@example.com", "found": True},
}


def user_request(user_id):
    return to_json({"user_id": user_id})


def answer_user_request(data):
    """What the responder does with a request: (the line it prints, the
    reply payload), or (the line, None, the description of an error
    reply)."""
    try:
        user_id = from_json(data)["user_id"]
        if not isinstance(user_id, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return ("Invalid request: %s" % data.decode("utf-8", "replace"),
                None, 'expected {"user_id":"..."}')
    reply = USERS.get(user_id, {"user_id": user_id, "found": False})
    return "Received request for user: %s" % user_id, to_json(reply), None


def describe_user_reply(user_id, data):
    """The requester's line for a reply; ValueError for a reply that is
    not a user."""
    reply = from_json(data)
    if not reply.get("found"):
        return "User not found: %s" % user_id
    try:
        return "User found: %s <%s>" % (reply["name"], reply["email"])
    except KeyError:
        raise ValueError("unexpected reply: %s"
                         % data.decode("utf-8", "replace")) from None


# Tasks: Queue groups.

def new_task(number):
    return to_json({"id": "task-%d" % number,
                    "payload": "Process item %d" % number})


def read_task(data):
    """(id, payload) of a task, or None when it is not one."""
    try:
        task = from_json(data)
        return str(task["id"]), str(task["payload"])
    except (ValueError, KeyError):
        return None


WORK_SECONDS = 0.1  # the simulated work per task (the tutorial: 500 ms)


# Orders kept in a stream: JetStream (js_setup, js_durable).

def js_orders():
    """The five orders js_setup publishes."""
    return [{"id": "ORD-%d" % i, "amount": i * 25.50, "status": "pending"}
            for i in range(1, 6)]


def read_js_order(data):
    """(id, amount) of an order, or None when it is not one."""
    try:
        order = from_json(data)
        return str(order["id"]), float(order["amount"])
    except (ValueError, KeyError, TypeError):
        return None


# The order service (order_service, order_worker): a work queue of orders.

# The stream ORDERS as the tutorial's order service makes it: each order
# stays until a worker acks it, at most 7 days, on disk.
ORDERS_WORK_QUEUE = dict(name="ORDERS", subjects=["orders.>"],
                         storage="file", retention="workqueue",
                         max_age=7 * 86400.0)

# The workers' durable consumer on it.
ORDER_PROCESSOR = dict(durable="order-processor", ack_policy="explicit",
                       deliver_policy="all", ack_wait=30.0, max_deliver=3,
                       filter_subject="orders.created")

CUSTOMERS = ["alice", "bob", "carol"]
CATALOGUE = [("keyboard", 4999), ("mouse", 1999), ("monitor", 18999),
             ("cable", 999)]  # prices in cents


def service_order(number):
    """Order ORD-<number>, created now, as the C and Lua order services
    make it: the customer and two items picked by the number, the total
    the items' prices added up. (It stands for the tutorial's HTTP request
    body.)"""
    return make_order(number, CUSTOMERS[(number - 1) % 3],
                      [CATALOGUE[(number - 1) % 4][0],
                       CATALOGUE[number % 4][0]])


def make_order(number, customer, items):
    """Order ORD-<number> of customer for items (names in the catalogue),
    created now: the total is their prices added up."""
    prices = dict(CATALOGUE)
    return {
        "id": "ORD-%d" % number,
        "customer": customer,
        "items": list(items),
        "total": sum(prices[name] for name in items) / 100,
        "status": "pending",
        "created_at": datetime.now(timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
    }


# The descriptions of the order service's error replies (code 400), the
# same in every language (examples/c/order_service.c, common.lua).
NOT_AN_ORDER = 'expected {"customer":"...","items":["...",...]}'
UNKNOWN_ITEM = "unknown item (the catalogue: keyboard, mouse, monitor, cable)"
# The answer (code 503) to a request that comes after the last order of
# a service told to stop after COUNT orders.
STOPPING = "the service is stopping"


def read_order_request(data):
    """A request to the order service's endpoint create,
    {"customer":"alice","items":["keyboard","mouse"]} (those two members,
    a customer and one or more items of the catalogue): (customer, items),
    or (None, the description of the error reply)."""
    try:
        request = from_json(data)
    except (ValueError, RecursionError):
        return None, NOT_AN_ORDER
    customer, items = request.get("customer"), request.get("items")
    if (set(request) != {"customer", "items"}
            or not isinstance(customer, str) or not customer
            or not isinstance(items, list) or not items
            or not all(isinstance(name, str) for name in items)):
        return None, NOT_AN_ORDER
    prices = dict(CATALOGUE)
    if not all(name in prices for name in items):
        return None, UNKNOWN_ITEM
    return customer, items


def describe_service_order(data):
    """The worker's line for an order, or None when it is not one."""
    try:
        order = from_json(data)
        return "Processing order %s for %s: $%.2f" % (
            order["id"], order["customer"], order["total"])
    except (ValueError, KeyError, TypeError):
        return None


IDLE_SECONDS = 2.0  # a worker with no order for this long stops


# Service configurations kept in a Key-Value bucket (kv_config).

KV_BUCKET = "service-config"
KV_KEY = "payment-service"


def service_config(timeout_ms, max_retries=3):
    """The tutorial's ServiceConfig, as the JSON stored under KV_KEY."""
    return to_json({
        "endpoint": "https://api.example.com",
        "timeout_ms": timeout_ms,
        "max_retries": max_retries,
        "features": ["caching", "compression", "retry"],
        "last_updated": datetime.now(timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
    })


def describe_service_config(data):
    config = from_json(data)
    return "endpoint=%s, timeout=%dms" % (config["endpoint"],
                                          config["timeout_ms"])


def describe_config_update(entry, live):
    """A watched entry: live after the end of the initial values."""
    return "%s: key=%s, revision=%d" % (
        "Config updated" if live else "Current config", entry.key,
        entry.revision)


def describe_keys(keys):
    """The keys as the C example prints them (a JSON array)."""
    return json.dumps(keys)
