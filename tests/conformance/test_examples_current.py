"""The examples of docs/jetstream.md's "Batches, counters and schedules"
(examples/{c,python,lua}/js_counters, js_batches, js_schedules) and of
docs/objects.md (obs_files) run to their end in every language and print
the same lines."""
import base64
import hashlib
import re

import pytest

from harness.programs import run_example

KINDS = ["c", "python", "lua"]


def _sha256(data: bytes) -> str:
    """An object's digest as the object store writes it."""
    return "SHA-256=" + base64.urlsafe_b64encode(
        hashlib.sha256(data).digest()).decode()


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


@pytest.mark.parametrize("kind", KINDS)
def test_object_store_example(kind, nats_server):
    # The object store is there on every supported server (2.9.10 too).
    out = run_example(kind, "obs_files", nats_server.url)
    # The digest as the info gives it: SHA-256= and 32 bytes in base64url.
    digest = r"SHA-256=[A-Za-z0-9_-]{43}="
    lines = out.splitlines()
    assert len(lines) == 6, out
    assert re.fullmatch(r"Stored report\.txt: 180000 bytes in 2 chunks, "
                        + digest, lines[0]), lines[0]
    assert re.fullmatch(r"Stored data\.bin: 1048576 bytes in 8 chunks, "
                        + digest, lines[1]), lines[1]
    # The same bytes in every language, so the same digests (hashlib's).
    assert lines[0].endswith(_sha256(b"quarterly numbers\n" * 10000))
    assert lines[1].endswith(_sha256(bytes(i % 256
                                           for i in range(1024 * 1024))))
    assert lines[2:] == [
        "Read data.bin back: 1048576 bytes, digest checked",
        "latest -> report.txt: 180000 bytes",
        "Objects: data.bin, latest, report.txt",
        # The link outlives its target: list still shows it.
        "After delete: data.bin, latest",
    ]
