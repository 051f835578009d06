"""The tutorial's order service (examples/*/order_service, order_worker,
order_audit), run as scripts/demo.sh runs it, on one fresh nats-server per
test:

* across languages: the Python order service publishes, the Lua worker
  processes every order exactly once, the C auditor confirms it;
* the order service in each language (C, Python blocking and asyncio,
  Lua) makes ORDERS a work queue and stores exactly the orders it printed,
  and the auditor fails while they wait for a worker;
* two workers in different languages share the queue: each order goes to
  one of them, once;
* the order service's serve mode in each language: the micro service
  "orders" takes orders as requests on order.create (natscli sends them
  and reads its statistics), answers 400 to a bad one, stores and answers
  the good ones and stops by itself after COUNT orders.

The stream and the consumer are inspected through the C conformance
driver, apart from the examples under test.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest

from harness import DriverError
from harness.programs import (RUN_TIMEOUT, Background, example_argv,
                              example_env, run_example)
from harness.drivers import REPO

DAY = 86400.0
NATS = REPO / ".tools" / "bin" / "nats"


def published_orders(output: str) -> list[dict]:
    """The orders an order service printed, each followed by its "created
    and published" line."""
    lines = output.splitlines()
    assert lines[0] == ("Order service ready: stream ORDERS over orders.> "
                        "(work queue)"), output
    orders = [json.loads(line) for line in lines if line.startswith("{")]
    assert [line for line in lines[1:] if not line.startswith("{")] == [
        f"Order {o['id']} created and published" for o in orders], output
    return orders


def check_orders(orders: list[dict], first: int, count: int) -> None:
    """Orders ORD-first, ...: the tutorial's fields, pending, created just
    now, the same customer, items and total in every language."""
    customers = ["alice", "bob", "carol"]
    catalogue = [("keyboard", 4999), ("mouse", 1999), ("monitor", 18999),
                 ("cable", 999)]
    now = datetime.now(timezone.utc)
    assert len(orders) == count, orders
    for n, order in zip(range(first, first + count), orders):
        picked = [catalogue[(n - 1) % 4], catalogue[n % 4]]
        created = datetime.strptime(order.pop("created_at"),
                                    "%Y-%m-%dT%H:%M:%S%z")
        assert now - timedelta(seconds=60) < created <= now, created
        assert order == {"id": f"ORD-{n}", "customer": customers[(n - 1) % 3],
                         "items": [name for name, _ in picked],
                         "total": sum(c for _, c in picked) / 100,
                         "status": "pending"}


def processed_orders(output: str) -> list[tuple[str, str, str]]:
    """(id, customer, total) of each order a worker processed."""
    return re.findall(r"^Processing order (ORD-\d+) for (\S+): \$(\S+)$",
                      output, re.M)


def expected_processed(orders: list[dict]) -> list[tuple[str, str, str]]:
    return [(o["id"], o["customer"], f"{o['total']:.2f}") for o in orders]


class Queue:
    """The work queue as the C driver sees it."""

    def __init__(self, drivers, url: str):
        self.driver = drivers.start("c")
        self.js = self.driver.jetstream(self.driver.connect(url))

    def state(self) -> tuple[dict, dict | None]:
        """The stream ORDERS's info and its consumer order-processor's
        (None when there is none yet)."""
        stream = self.driver.stream_info(self.js, "ORDERS")
        try:
            consumer = self.driver.consumer_info(self.js, "ORDERS",
                                                 "order-processor")
        except DriverError as e:
            assert e.code == "CONSUMER_NOT_FOUND", e
            consumer = None
        return stream, consumer

    def stored(self, seq: int) -> dict:
        return self.driver.stream_get_msg(self.js, "ORDERS", seq)


@pytest.fixture
def orders_queue(drivers, nats_server) -> Queue:
    return Queue(drivers, nats_server.url)


def check_all_processed_once(queue: Queue, count: int) -> None:
    """Nothing left in the work queue, every order acked on its first
    delivery."""
    stream, consumer = queue.state()
    assert stream["state"]["messages"] == 0, stream["state"]
    assert stream["state"]["last_seq"] == count, stream["state"]
    assert consumer["num_ack_pending"] == 0, consumer
    assert consumer["num_pending"] == 0, consumer
    assert consumer["num_redelivered"] == 0, consumer
    assert consumer["delivered"]["stream_seq"] == count, consumer
    assert consumer["ack_floor"]["stream_seq"] == count, consumer


def test_python_publishes_lua_processes_c_audits(nats_server, orders_queue):
    url = nats_server.url
    orders = published_orders(run_example("python", "order_service", url, 5))
    check_orders([dict(o) for o in orders], 1, 5)

    worked = run_example("lua", "order_worker", url)
    assert processed_orders(worked) == expected_processed(orders), worked
    assert worked.splitlines()[-1] == "Done: 5 order(s) processed", worked

    audit = run_example("c", "order_audit", url)
    assert "published 5, processed 5, pending 0" in audit.splitlines(), audit
    assert audit.splitlines()[-1] == "All orders processed.", audit
    check_all_processed_once(orders_queue, 5)

    # A second worker finds nothing: each order was processed once.
    again = run_example("lua", "order_worker", url)
    assert processed_orders(again) == [], again
    assert again.splitlines()[-1] == "Done: 0 order(s) processed", again


@pytest.mark.parametrize("kind", ["c", "python", "asyncio", "lua"])
def test_order_service_stores_what_it_printed(nats_server, orders_queue,
                                              kind):
    url = nats_server.url
    orders = published_orders(run_example(kind, "order_service", url, 3, 7))
    check_orders([dict(o) for o in orders], 7, 3)

    stream, consumer = orders_queue.state()
    config = stream["config"]
    assert (config["subjects"], config["retention"], config["storage"],
            config["max_age"]) == (["orders.>"], "workqueue", "file",
                                   7 * DAY), config
    assert stream["state"]["messages"] == 3, stream["state"]
    assert consumer is None
    for seq, order in enumerate(orders, 1):
        stored = orders_queue.stored(seq)
        assert stored["subject"] == "orders.created", stored
        assert json.loads(stored["data"]) == order, stored

    # The orders wait for a worker: the auditor says so and fails.
    audit = run_example("c", "order_audit", url, status=1)
    assert "published 3, processed 0, pending 3" in audit.splitlines(), audit
    assert audit.splitlines()[-1] == "Not all orders processed.", audit


def test_workers_in_two_languages_share_the_queue(nats_server, orders_queue):
    url = nats_server.url
    orders = published_orders(run_example("c", "order_service", url, 20))
    check_orders([dict(o) for o in orders], 1, 20)

    # Started together, each stops once the queue is idle.
    workers = [subprocess.Popen(example_argv(kind, "order_worker"), cwd=REPO,
                                env=example_env(url), text=True,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
               for kind in ("lua", "python")]
    outputs = []
    for w in workers:
        out, err = w.communicate(timeout=RUN_TIMEOUT)
        assert w.returncode == 0, f"{w.args} exited {w.returncode}\n{err}"
        outputs.append(out)
    done = [o for out in outputs for o in processed_orders(out)]
    assert sorted(done) == sorted(expected_processed(orders)), outputs

    audit = run_example("c", "order_audit", url)
    assert "published 20, processed 20, pending 0" in audit.splitlines()
    check_all_processed_once(orders_queue, 20)


def natscli(url: str, *args) -> subprocess.CompletedProcess:
    """Run natscli against url; it must exit 0."""
    assert NATS.exists(), f"{NATS} is missing: scripts/servers.sh builds it"
    r = subprocess.run([str(NATS), "--server", url, *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"nats {' '.join(args)}: {r.stdout}{r.stderr}"
    return r


def order_request(url: str, customer: str, items: list[str]) -> dict:
    """Ask the order service for an order; the order it answered."""
    r = natscli(url, "request", "order.create",
                json.dumps({"customer": customer, "items": items}))
    assert "Nats-Service-Error" not in r.stderr, r.stderr
    (line,) = [line for line in r.stdout.splitlines() if line.strip()]
    return json.loads(line)


READY = re.compile(r"^Order service ready: stream ORDERS over orders\.> "
                   r"\(work queue\); service orders on order\.create "
                   r"\(service id ([A-Za-z0-9]{22})\)$")


@pytest.mark.parametrize("kind", ["c", "python", "asyncio", "lua"])
def test_order_service_serves_orders(nats_server, orders_queue, kind):
    url = nats_server.url
    service = Background(example_argv(kind, "order_service") +
                         ["serve", "3", "21"], example_env(url), text=True)
    try:
        ready = READY.match(service.wait_for("Order service ready"))
        assert ready, service.lines
        service_id = ready.group(1)

        wanted = [("alice", ["keyboard", "mouse"], 69.98),
                  ("bob", ["monitor", "cable", "cable"], 209.97),
                  ("carol", ["mouse"], 19.99)]
        replies = [order_request(url, *wanted[0][:2]),
                   order_request(url, *wanted[1][:2])]

        # An unknown item: error 400, no order.
        bad = natscli(url, "request", "order.create",
                      '{"customer":"dave","items":["keyboard","sofa"]}')
        assert "Nats-Service-Error-Code: 400" in bad.stderr, bad.stderr
        assert "Nats-Service-Error: unknown item" in bad.stderr, bad.stderr

        # natscli's view of the running service: the bad request counts as
        # a request and as an error.
        # (A request counts once its handler returned, just after the
        # answer went out.)
        for _ in range(50):
            (stats,) = json.loads(natscli(url, "micro", "stats", "orders",
                                          "--json").stdout)
            if stats["endpoints"][0]["num_requests"] == 3:
                break
            time.sleep(0.05)
        assert (stats["name"], stats["id"], stats["version"]) == (
            "orders", service_id, "1.0.0"), stats
        (endpoint,) = stats["endpoints"]
        assert (endpoint["name"], endpoint["subject"]) == (
            "create", "order.create"), endpoint
        assert (endpoint["num_requests"], endpoint["num_errors"]) == (
            3, 1), endpoint
        assert endpoint["last_error"].startswith("400:"), endpoint

        # The third order is the last one: the service stops by itself.
        replies.append(order_request(url, *wanted[2][:2]))
        lines = service.finish()
    finally:
        service.kill()

    now = datetime.now(timezone.utc)
    for n, reply, (customer, items, total) in zip(range(21, 24), replies,
                                                  wanted):
        created = datetime.strptime(reply["created_at"],
                                    "%Y-%m-%dT%H:%M:%S%z")
        assert now - timedelta(seconds=60) < created <= now, reply
        assert {k: v for k, v in reply.items() if k != "created_at"} == {
            "id": f"ORD-{n}", "customer": customer, "items": items,
            "total": total, "status": "pending"}, reply
    # Each order printed as the command-line mode prints it, then the end.
    assert lines[1:] == [line for reply in replies for line in (
        json.dumps(reply, separators=(",", ":")),
        f"Order {reply['id']} created and published")] + [
        "Order service stopped after 3 order(s)"], lines

    # The stream holds those three orders, nothing else.
    stream, consumer = orders_queue.state()
    assert stream["config"]["subjects"] == ["orders.>"], stream["config"]
    assert stream["state"]["messages"] == 3, stream["state"]
    assert consumer is None
    for seq, reply in enumerate(replies, 1):
        stored = orders_queue.stored(seq)
        assert stored["subject"] == "orders.created", stored
        assert json.loads(stored["data"]) == reply, stored
