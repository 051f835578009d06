"""The examples of docs/jetstream.md's "Batches, counters and schedules"
(examples/{c,python,lua}/js_counters, js_batches, js_schedules) run to
their end in every language and print the same lines."""
import re

import pytest

from harness.programs import run_example

KINDS = ["c", "python", "lua"]


@pytest.mark.min_server("2.12.0")
@pytest.mark.parametrize("kind", KINDS)
def test_counters_example(kind, nats_server):
    out = run_example(kind, "js_counters", nats_server.url)
    assert "pages.home +1 -> 3" in out
    assert "pages.about -4 -> 6" in out
    assert re.search(r"pages\.big\s+100000000000000000000\n", out)
    assert re.search(r"pages\.home\s+3\n", out)


@pytest.mark.min_server("2.14.0")
@pytest.mark.parametrize("kind", KINDS + ["asyncio"])
def test_batches_example(kind, nats_server):
    out = run_example(kind, "js_batches", nats_server.url)
    assert re.search(r"Order 1: batch \S+ stored 4 messages, last sequence 4",
                     out)
    assert "Order 2: WRONG_LAST_SEQUENCE" in out
    assert "Readings: 10000 stored by one fast batch" in out


@pytest.mark.min_server("2.14.0")
@pytest.mark.parametrize("kind", KINDS)
def test_schedules_example(kind, nats_server):
    out = run_example(kind, "js_schedules", nats_server.url)
    lines = out.splitlines()
    assert "reminders.due #2: call the bank" in lines[1]
    assert sum("still here" in line for line in lines) == 2
    assert "Heartbeat stopped (its schedule purged)" in out
    assert "call the bank" in lines[-1]  # read again after the reset
