"""Services (the micro API, issue 20), per language: endpoints and groups,
error replies, the statistics, discovery at each level, instances sharing
the work, stopping with requests on the way, bad configurations. The
engine answers PING/INFO/STATS; the language supplies handlers."""
import time

import pytest

from harness import DriverError

USERS = {"name": "users", "version": "1.2.0",
         "description": "the user service", "metadata": {"team": "core"}}


def codes(msg) -> tuple[str | None, str | None]:
    h = {name: value for name, value in msg.headers}
    return h.get("Nats-Service-Error-Code"), h.get("Nats-Service-Error")


def endpoint_stats(stats: dict) -> dict[str, dict]:
    return {e["name"]: e for e in stats["endpoints"]}


def settled(read, ready, timeout: float = 5.0):
    """read() once ready(its value) holds, or the last value read: a
    handler's request counts when the handler returns, just after its
    answer went out, so a requester may read the statistics first."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.01)


def requests_of(stats: dict) -> int:
    return sum(e["num_requests"] for e in stats["endpoints"])


def test_endpoints_groups_and_stats(driver, nats_server):
    sc = driver.connect(nats_server.url)
    nc = driver.connect(nats_server.url)
    svc, sid = driver.service_add(sc, **USERS)
    assert len(sid) == 22
    get = driver.service_endpoint(svc, name="get", subject="user.get",
                                  metadata={"kind": "read"})
    assert get == {"name": "get", "subject": "user.get", "queue_group": "q"}
    admin = driver.service_group(svc, name="users.admin",
                                 queue_group="admins")
    inner = driver.service_group(svc, group=admin, name="v1")
    add = driver.service_endpoint(svc, group=inner, name="add")
    assert (add["subject"], add["queue_group"]) == ("users.admin.v1.add",
                                                     "admins")
    solo = driver.service_endpoint(svc, group=admin, name="solo",
                                   subject="solo.*",
                                   queue_group_disabled=True)
    assert (solo["subject"], solo["queue_group"]) == ("users.admin.solo.*",
                                                      None)
    driver.flush(sc)

    for i in range(20):
        assert driver.request(nc, "user.get", b"u%d" % i).data == b"u%d" % i
    bad = driver.request(nc, "users.admin.v1.add", b"fail")
    assert codes(bad) == ("400", "bad input") and bad.data == b""
    assert driver.request(nc, "users.admin.solo.x", b"s").data == b"s"

    stats = settled(lambda: driver.service_stats(svc),
                    lambda st: requests_of(st) == 22)
    assert stats["type"] == "io.nats.micro.v1.stats_response"
    assert (stats["name"], stats["id"], stats["version"]) == (
        "users", sid, "1.2.0")
    eps = endpoint_stats(stats)
    assert (eps["get"]["num_requests"], eps["get"]["num_errors"]) == (20, 0)
    assert eps["get"]["processing_time"] > 0
    assert eps["get"]["average_processing_time"] == (
        eps["get"]["processing_time"] // 20)
    assert (eps["add"]["num_requests"], eps["add"]["num_errors"],
            eps["add"]["last_error"]) == (1, 1, "400:bad input")
    assert eps["solo"]["queue_group"] == ""

    info = driver.service_info(svc)
    assert info["type"] == "io.nats.micro.v1.info_response"
    assert info["description"] == "the user service"
    assert info["metadata"] == {"team": "core"}
    assert [(e["name"], e["subject"], e["queue_group"]) for e in
            info["endpoints"]] == [("get", "user.get", "q"),
                                   ("add", "users.admin.v1.add", "admins"),
                                   ("solo", "users.admin.solo.*", "")]
    assert info["endpoints"][0]["metadata"] == {"kind": "read"}

    # What the service answers is what it says of itself.
    (ping,) = driver.service_discover(nc, "ping", "users", sid, max=1)
    assert ping == {"type": "io.nats.micro.v1.ping_response",
                    "name": "users", "id": sid, "version": "1.2.0",
                    "metadata": {"team": "core"}}
    (found,) = driver.service_discover(nc, "info", "users", max=1)
    assert found == info
    (remote,) = driver.service_discover(nc, "stats", max=1)
    assert endpoint_stats(remote)["get"]["num_requests"] == 20
    assert driver.service_discover(nc, "ping", "nobody") == []

    driver.service_reset(svc)
    eps = endpoint_stats(driver.service_stats(svc))
    assert all((e["num_requests"], e["num_errors"], e["last_error"],
                e["processing_time"]) == (0, 0, "", 0) for e in eps.values())

    assert driver.service_stop(svc) is True
    with pytest.raises(DriverError) as e:
        driver.request(nc, "user.get", b"x", timeout=2)
    assert e.value.code == "NO_RESPONDERS"
    assert driver.service_discover(nc, "ping", timeout=0.5) == []
    driver.free(svc)


def test_instances_share_the_work(driver, nats_server):
    """Two instances of one service split requests through the queue
    group; both answer discovery; max stops at the first answers."""
    a = driver.connect(nats_server.url)
    b = driver.connect(nats_server.url)
    nc = driver.connect(nats_server.url)
    sa, ida = driver.service_add(a, **USERS)
    sb, idb = driver.service_add(b, **USERS)
    assert ida != idb
    for svc in (sa, sb):
        driver.service_endpoint(svc, name="get", subject="user.get")
    driver.flush(a)
    driver.flush(b)
    for i in range(100):
        driver.request(nc, "user.get", b"x")
    def counts():
        return [requests_of(driver.service_stats(s)) for s in (sa, sb)]
    counts = settled(counts, lambda c: sum(c) == 100)
    assert sum(counts) == 100 and min(counts) > 0, counts
    pings = driver.service_discover(nc, "ping", "users", max=2)
    assert sorted(p["id"] for p in pings) == sorted([ida, idb])
    assert len(driver.service_discover(nc, "info", max=1, timeout=5)) == 1
    (one,) = driver.service_discover(nc, "stats", "users", idb, max=1)
    assert one["id"] == idb


def test_stop_answers_requests_on_the_way(driver, drivers, nats_server):
    """30 requests in flight to a slow endpoint when the service stops:
    every one is answered, and stop returns once they were."""
    sc = driver.connect(nats_server.url)
    svc, _ = driver.service_add(sc, name="slow", version="1.0.0")
    driver.service_endpoint(svc, name="work", mode="slow")
    driver.flush(sc)
    other = drivers.start("c", label="requester")
    burst = other.send("request_many", url=nats_server.url, subject="work",
                       count=30, timeout=20)
    # The requests reach the service before it stops.
    for _ in range(200):
        if endpoint_stats(driver.service_stats(svc))["work"]["num_requests"]:
            break
    else:
        pytest.fail("no request reached the service")
    assert driver.service_stop(svc, timeout=10) is True
    result = burst.result()
    assert (result["answered"], result["errors"]) == (30, {})
    assert endpoint_stats(driver.service_stats(svc))["work"][
        "num_requests"] == 30


@pytest.mark.parametrize("config", [
    {"version": "1.0.0"},
    {"name": "a b", "version": "1.0.0"},
    {"name": "users", "version": "1.0"},
    {"name": "users", "version": "v1.0.0"},
    {"name": "users", "version": "1.0.0-01"},
    {"name": "users", "version": "1.0.0", "color": "red"},
    {"name": "users", "version": "1.0.0", "metadata": {"n": 1}},
    {"name": "users", "version": "1.0.0", "queue_group": "a b"},
], ids=["no name", "space", "short version", "v prefix", "leading zero",
        "unknown field", "metadata not strings", "bad queue group"])
def test_bad_service_config(driver, conn, config):
    with pytest.raises(DriverError) as e:
        driver.service_add(conn, **config)
    assert e.value.code == "INVALID_ARG"


def test_bad_endpoint_config(driver, conn):
    svc, _ = driver.service_add(conn, name="users", version="1.0.0")
    for config in ({}, {"name": "a.b"}, {"name": "x", "subject": "a..b"},
                   {"name": "x", "pending_msgs_limit": "9"}):
        with pytest.raises(DriverError) as e:
            driver.service_endpoint(svc, **config)
        assert e.value.code in ("INVALID_ARG", "INVALID_SUBJECT"), config
    with pytest.raises(DriverError) as e:
        driver.service_group(svc, name="a..b")
    assert e.value.code == "INVALID_ARG"
    with pytest.raises(DriverError) as e:
        driver.service_discover(conn, "ping", service_id="x")
    assert e.value.code == "INVALID_ARG"
    driver.close(conn)
    with pytest.raises(DriverError) as e:
        driver.service_add(conn, name="users", version="1.0.0")
    assert e.value.code == "CONNECTION_CLOSED"
