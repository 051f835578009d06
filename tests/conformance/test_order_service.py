"""The tutorial's order service (examples/*/order_service, order_worker,
order_audit), run as scripts/demo.sh runs it, on one fresh nats-server per
test:

* across languages: the Python order service publishes, the Lua worker
  processes every order exactly once, the C auditor confirms it;
* the order service in each language (C, Python blocking and asyncio,
  Lua) makes ORDERS a work queue and stores exactly the orders it printed,
  and the auditor fails while they wait for a worker;
* two workers in different languages share the queue: each order goes to
  one of them, once.

The stream and the consumer are inspected through the C conformance
driver, apart from the examples under test.
"""
from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from harness import DriverError
from harness.programs import (RUN_TIMEOUT, example_argv, example_env,
                              run_example)
from harness.drivers import REPO

DAY = 86400.0


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
