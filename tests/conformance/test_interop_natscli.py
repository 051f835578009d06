"""Interop with natscli v0.5.0 (issue 17, point 6; issue 21, point 6),
the binary scripts/servers.sh builds into .tools/bin/nats: KV buckets with
TTLs and limit markers, paused consumers, priority-group pins, counters,
atomic batches and message schedules made by one side look right from the
other, in every language."""
import json
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest

from harness import DriverError
from harness.drivers import REPO

NATS = REPO / ".tools" / "bin" / "nats"


@pytest.fixture
def nats(nats_server):
    """Run natscli against the test's server; its stdout (check=False:
    the CompletedProcess)."""
    assert NATS.exists(), f"{NATS} is missing: scripts/servers.sh builds it"

    def run(*args, check=True, input=None):
        r = subprocess.run([str(NATS), "--server", nats_server.url, *args],
                           capture_output=True, text=True, timeout=30,
                           input=input)
        if check and r.returncode != 0:
            pytest.fail(f"nats {' '.join(args)}: {r.stdout}{r.stderr}")
        return r.stdout if check else r
    return run


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


def gone(d, kv, key, wait=10.0):
    """Wait until key reads as deleted (a marker) or not found."""
    deadline = time.monotonic() + wait
    while True:
        try:
            d.kv_get(kv, key)
        except DriverError as e:
            return e.code
        if time.monotonic() > deadline:
            pytest.fail(f"{key} outlived its TTL")
        time.sleep(0.2)


@pytest.mark.min_server("2.11.0")
def test_natscli_bucket_with_markers_from_jetwire(driver, js, nats):
    d = driver
    nats("kv", "add", "MARKS", "--ttl", "1s", "--marker-ttl", "5s")
    kv = d.kv_bucket(js, "MARKS")
    assert d.kv_status(kv)["limit_marker_ttl"] == 5
    nats("kv", "put", "MARKS", "session", "token")
    assert d.kv_get(kv, "session").value == b"token"
    assert gone(d, kv, "session") == "KEY_DELETED"  # the server's marker
    assert d.kv_keys(kv) == []
    assert [h.operation for h in d.kv_history(kv, "session")] == ["PURGE"]
    # A per-key TTL set by natscli: the key goes after it, not before.
    nats("kv", "create", "MARKS", "short", "x", "--ttl", "2s")
    assert d.kv_get(kv, "short").value == b"x"
    assert gone(d, kv, "short") in ("KEY_DELETED", "KEY_NOT_FOUND")


@pytest.mark.min_server("2.11.0")
def test_jetwire_bucket_with_markers_in_natscli(driver, js, nats):
    d = driver
    kv = d.kv_bucket_create(js, bucket="JWMARKS", ttl=1, limit_marker_ttl=5)
    info = nats("kv", "info", "JWMARKS")
    assert "Limit Marker TTL: 5s" in info and "Per-Key TTL Supported: true" \
        in info, info
    d.kv_put(kv, "session", b"token")
    assert nats("kv", "get", "JWMARKS", "session", "--raw").strip() == "token"
    gone(d, kv, "session")
    r = nats("kv", "get", "JWMARKS", "session", check=False)
    assert r.returncode != 0 and "key not found" in r.stdout + r.stderr
    assert "PURGE" in nats("kv", "history", "JWMARKS", "session")


@pytest.mark.min_server("2.11.0")
def test_paused_consumer_both_ways(driver, js, nats):
    d = driver
    d.stream_add(js, name="ORDERS", subjects=["orders.>"])
    d.consumer_add(js, "ORDERS", durable_name="jw")
    d.consumer_pause(js, "ORDERS", "jw", time.time() + 60)
    info = json.loads(nats("consumer", "info", "ORDERS", "jw", "--json"))
    assert info["paused"] is True and info["pause_remaining"] > 0
    d.consumer_resume(js, "ORDERS", "jw")
    info = json.loads(nats("consumer", "info", "ORDERS", "jw", "--json"))
    assert not info.get("paused")

    nats("consumer", "add", "ORDERS", "cli", "--pull", "--defaults")
    until = datetime.now(timezone.utc) + timedelta(seconds=60)
    nats("consumer", "pause", "ORDERS", "cli",
         until.strftime("%Y-%m-%d %H:%M:%S"), "-f")
    assert d.consumer_info(js, "ORDERS", "cli")["paused"] is True
    nats("consumer", "resume", "ORDERS", "cli", "-f")
    assert not d.consumer_info(js, "ORDERS", "cli").get("paused")


@pytest.mark.min_server("2.11.0")
def test_natscli_unpins_a_jetwire_puller(driver, js, nats):
    """jetwire is pinned to a pinned_client group; natscli unpins it: the
    next pull is told and gets nothing, the one after is pinned again."""
    d = driver
    d.stream_add(js, name="JOBS", subjects=["jobs.>"])
    for i in range(6):
        d.js_publish(js, "jobs.new", b"job %d" % i)
    cons = d.consumer_add(js, "JOBS", durable_name="pinned",
                          priority_groups=["jobs"],
                          priority_policy="pinned_client",
                          priority_timeout=30)

    def take(timeout=0.5):
        got = d.fetch(cons, 2, timeout=timeout, group="jobs")
        for m in got:
            d.ack_sync(m)
        return [m.data for m in got]

    assert take(5.0) == [b"job 0", b"job 1"]
    nats("consumer", "unpin", "JOBS", "pinned", "jobs", "-f")
    assert take() == []                    # 423: the pin is gone
    assert take(5.0) == [b"job 2", b"job 3"]  # pinned anew


def test_natscli_sees_jetwire_services(driver, conn, nats):
    """`nats micro list / info / stats` (issue 20, point 5) find a jetwire
    service and read its statistics after requests and errors."""
    d = driver
    svc, sid = d.service_add(conn, name="users", version="1.4.0",
                             description="jetwire users",
                             metadata={"lang": d.lang})
    d.service_endpoint(svc, name="get", subject="user.get")
    orders = d.service_group(svc, name="orders")
    d.service_endpoint(svc, group=orders, name="place")
    d.flush(conn)
    for i in range(7):
        assert nats("request", "user.get", f"u{i}").startswith(f"u{i}")
    nats("request", "orders.place", "fail")
    nats("request", "orders.place", "fail")

    (listed,) = json.loads(nats("micro", "list", "--json", "--timeout", "1s"))
    assert (listed["name"], listed["id"], listed["version"]) == (
        "users", sid, "1.4.0")
    info = json.loads(nats("micro", "info", "users", "--json",
                           "--timeout", "1s"))["info"]
    assert info["description"] == "jetwire users"
    assert info["metadata"] == {"lang": d.lang}
    assert [(e["name"], e["subject"], e["queue_group"])
            for e in info["endpoints"]] == [("get", "user.get", "q"),
                                            ("place", "orders.place", "q")]
    # A request counts once its handler returned, just after the answer.
    for _ in range(50):
        (stats,) = json.loads(nats("micro", "stats", "users", "--json",
                                "--timeout", "1s"))
        if sum(e["num_requests"] for e in stats["endpoints"]) == 9:
            break
        time.sleep(0.05)
    by_name = {e["name"]: e for e in stats["endpoints"]}
    assert (by_name["get"]["num_requests"], by_name["get"]["num_errors"]) == (
        7, 0)
    assert (by_name["place"]["num_requests"], by_name["place"]["num_errors"],
            by_name["place"]["last_error"]) == (2, 2, "400:bad input")
    # nats micro ping by name answers with the instance.
    assert sid in nats("micro", "ping", "users", "--timeout", "1s")


@pytest.mark.min_server("2.12.0")
def test_counters_both_ways(driver, js, nats):
    d = driver
    nats("stream", "add", "HITS", "--subjects", "hits.>", "--defaults",
         "--allow-counter", "--allow-direct")
    assert d.counter_add(js, "hits.home", 40) == 40
    assert nats("counter", "get", "hits.home").strip() == "40"
    nats("counter", "incr", "hits.home", "2")
    assert d.counter_get(js, "HITS", "hits.home")["val"] == "42"
    big = 10 ** 25  # past 64 bits on both sides
    nats("counter", "incr", "hits.big", str(big))
    assert d.counter_add(js, "hits.big", big) == 2 * big
    assert nats("counter", "get", "hits.big").strip() == str(2 * big)


@pytest.mark.min_server("2.12.0")
def test_atomic_batches_both_ways(driver, js, nats):
    d = driver
    nats("stream", "add", "ORDERS", "--subjects", "orders.>", "--defaults",
         "--allow-batch")
    r = nats("pub", "orders.cli", "--atomic", "--send-on", "newline",
             input="a\nb\nc\n", check=False)
    assert r.returncode == 0 and "Messages: 3" in r.stderr, r.stderr
    assert [d.stream_get_msg(js, "ORDERS", s)["data"] for s in (1, 2, 3)] \
        == [b"a", b"b", b"c"]
    batch, bid = d.atomic_batch(js)
    d.batch_add(batch, "orders.jw", b"x")
    assert d.batch_commit(batch, "orders.jw", b"y")["count"] == 2
    shown = nats("stream", "get", "ORDERS", "--last-for", "orders.jw")
    assert "Nats-Batch-Id: " + bid in shown
    assert "Nats-Batch-Commit: 1" in shown


@pytest.mark.min_server("2.12.0")
def test_schedules_both_ways(driver, js, nats):
    d = driver
    nats("stream", "add", "SCHED", "--subjects", "sched.>", "--subjects",
         "orders.>", "--defaults", "--allow-schedules")
    cons = d.consumer_add(js, "SCHED", durable_name="ticks",
                          filter_subject="orders.cli")
    nats("pub", "sched.cli", "tick", "--schedule-every", "1s",
         "--schedule-dest", "orders.cli")
    assert [m.data for m in d.fetch(cons, 1, timeout=5.0)] == [b"tick"]
    nats("stream", "purge", "SCHED", "--subject", "sched.cli", "-f")
    when = (datetime.now(timezone.utc) + timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    d.js_publish(js, "sched.jw", b"later", schedule_at=when,
                 schedule_target="orders.jw")
    deadline = time.monotonic() + 6
    while True:
        r = nats("stream", "get", "SCHED", "--last-for", "orders.jw",
                 check=False)
        if r.returncode == 0:
            break
        assert time.monotonic() < deadline, r.stdout + r.stderr
        time.sleep(0.2)
    assert "Nats-Scheduler: sched.jw" in r.stdout and "later" in r.stdout
