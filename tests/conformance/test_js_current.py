"""JetStream features of current servers (issue 17, point 4), in every
language: consumer pause and resume, and priority groups (ADR-42) with the
overflow and pinned_client policies, with their NOT_SUPPORTED twins on
servers before 2.11. Priority groups are exercised between two languages,
as two services sharing one consumer would."""
import time

import pytest

from harness import DriverError, available_languages


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


def orders(d, js, count, name="ORDERS"):
    d.stream_add(js, name=name, subjects=[f"{name.lower()}.>"])
    for i in range(count):
        d.js_publish(js, f"{name.lower()}.new", b"order %d" % i)


def test_consumer_create_and_update_actions(driver, js):
    """2.10's create and update actions (emulated on 2.9): create makes a
    new consumer or finds the same one, update changes only one that
    exists; neither touches a consumer it refuses."""
    d = driver
    orders(d, js, 2)
    config = {"durable_name": "billing", "max_deliver": 3,
              "filter_subject": "orders.new"}
    d.consumer_add(js, "ORDERS", action="create", **config)
    again = d.consumer_add(js, "ORDERS", action="create", **config)
    with pytest.raises(DriverError) as e:
        d.consumer_add(js, "ORDERS", action="create",
                       **dict(config, max_deliver=5))
    assert e.value.code == "JETSTREAM"
    assert "already exists" in e.value.message
    assert d.consumer_info(js, "ORDERS", "billing")["config"][
        "max_deliver"] == 3
    d.consumer_add(js, "ORDERS", action="update",
                   **dict(config, max_deliver=5))
    assert d.consumer_info(js, "ORDERS", "billing")["config"][
        "max_deliver"] == 5
    with pytest.raises(DriverError) as e:
        d.consumer_add(js, "ORDERS", action="update", durable_name="ghost")
    assert e.value.code == "CONSUMER_NOT_FOUND"
    with pytest.raises(DriverError) as e:
        d.consumer_info(js, "ORDERS", "ghost")
    assert e.value.code == "CONSUMER_NOT_FOUND"
    # The consumer made by create delivers.
    got = d.fetch(again, 2, timeout=5.0)
    assert [m.data for m in got] == [b"order 0", b"order 1"]


@pytest.mark.min_server("2.10.0")
def test_consumer_create_action_compares_whole_config(driver, js):
    """From 2.10 the server compares the whole configuration: a field left
    out that the consumer sets is a difference (2.9's stand-in compares the
    given fields only, docs/jetstream.md)."""
    orders(driver, js, 0)
    driver.consumer_add(js, "ORDERS", durable_name="audit", max_deliver=3)
    with pytest.raises(DriverError) as e:
        driver.consumer_add(js, "ORDERS", action="create",
                            durable_name="audit")
    assert e.value.code == "JETSTREAM"
    assert driver.consumer_info(js, "ORDERS", "audit")["config"][
        "max_deliver"] == 3


@pytest.mark.min_server("2.11.0")
def test_consumer_pause_and_resume(driver, js):
    d = driver
    orders(d, js, 3)
    cons = d.consumer_add(js, "ORDERS", durable_name="billing")
    until = time.time() + 60
    paused = d.consumer_pause(js, "ORDERS", "billing", until)
    assert paused["paused"] is True
    assert 50 < paused["pause_remaining"] <= 60  # seconds, the context's
    assert d.consumer_info(js, "ORDERS", "billing")["paused"] is True
    # Nothing is delivered while paused, though 3 messages wait.
    assert d.fetch(cons, 3, timeout=0.5) == []
    resumed = d.consumer_resume(js, "ORDERS", "billing")
    assert resumed["paused"] is False
    assert not d.consumer_info(js, "ORDERS", "billing").get("paused")
    got = d.fetch(cons, 3, timeout=5.0)
    assert [m.data for m in got] == [b"order 0", b"order 1", b"order 2"]
    with pytest.raises(DriverError) as e:
        d.consumer_pause(js, "ORDERS", "nobody", until)
    assert e.value.code == "CONSUMER_NOT_FOUND"


@pytest.mark.below_server("2.11.0")
def test_consumer_pause_not_supported(driver, js, nats_server):
    orders(driver, js, 1)
    driver.consumer_add(js, "ORDERS", durable_name="billing")
    for call in (lambda: driver.consumer_pause(js, "ORDERS", "billing",
                                               time.time() + 60),
                 lambda: driver.consumer_resume(js, "ORDERS", "billing")):
        with pytest.raises(DriverError) as e:
            call()
        assert e.value.code == "NOT_SUPPORTED"
        assert "2.11.0" in e.value.message
        assert nats_server.version in e.value.message


@pytest.mark.min_server("2.14.0")
def test_consumer_reset(driver, js):
    """Reset (2.14) keeps the consumer: what was delivered and not acked
    comes again at once, and a sequence moves delivery to it."""
    d = driver
    orders(d, js, 5)
    cons = d.consumer_add(js, "ORDERS", durable_name="billing",
                          ack_wait=60)
    first = d.fetch(cons, 3, timeout=5.0)
    for m in first[:2]:
        d.ack(m)
    info = d.consumer_reset(js, "ORDERS", "billing")
    assert info["name"] == "billing"
    assert info["delivered"]["consumer_seq"] == 0
    got = d.fetch(cons, 3, timeout=5.0)  # not after ack_wait: now
    assert [m.data for m in got] == [b"order 2", b"order 3", b"order 4"]
    info = d.consumer_reset(js, "ORDERS", "billing", seq=2)
    assert info["reset_seq"] == 2
    got = d.fetch(cons, 1, timeout=5.0)
    assert [m.data for m in got] == [b"order 1"]
    with pytest.raises(DriverError) as e:
        d.consumer_reset(js, "ORDERS", "nobody")
    assert e.value.code == "CONSUMER_NOT_FOUND"


@pytest.mark.below_server("2.14.0")
def test_consumer_reset_not_supported(driver, js, nats_server):
    orders(driver, js, 1)
    driver.consumer_add(js, "ORDERS", durable_name="billing")
    with pytest.raises(DriverError) as e:
        driver.consumer_reset(js, "ORDERS", "billing")
    assert e.value.code == "NOT_SUPPORTED"
    assert "2.14.0" in e.value.message
    assert nats_server.version in e.value.message


@pytest.mark.min_server("2.11.0")
def test_priority_group_overflow(driver, js):
    """overflow: a puller with min_pending is served only while at least
    that many messages wait; without a group the server refuses."""
    d = driver
    orders(d, js, 10)
    cons = d.consumer_add(js, "ORDERS", durable_name="overflow",
                          priority_groups=["jobs"],
                          priority_policy="overflow")
    assert d.fetch(cons, 5, timeout=0.5, group="jobs", min_pending=20) == []
    got = d.fetch(cons, 5, timeout=5.0, group="jobs", min_pending=5)
    assert len(got) == 5
    with pytest.raises(DriverError) as e:
        d.fetch(cons, 1, timeout=1.0)
    assert e.value.code == "JETSTREAM"
    with pytest.raises(DriverError) as e:
        d.fetch(cons, 1, timeout=1.0, group="bad group!")
    assert e.value.code == "INVALID_ARG"
    with pytest.raises(DriverError) as e:
        d.fetch(cons, 1, timeout=1.0, min_pending=1)  # no group
    assert e.value.code == "INVALID_ARG"


@pytest.mark.below_server("2.11.0")
def test_priority_group_not_supported(driver, js, nats_server):
    orders(driver, js, 1)
    cons = driver.consumer_add(js, "ORDERS", durable_name="plain")
    with pytest.raises(DriverError) as e:
        driver.fetch(cons, 1, timeout=1.0, group="jobs")
    assert e.value.code == "NOT_SUPPORTED"
    assert "'group'" in e.value.message and "2.11.0" in e.value.message
    with pytest.raises(DriverError) as e:
        driver.consumer_add(js, "ORDERS", durable_name="grouped",
                            priority_groups=["jobs"])
    assert e.value.code == "NOT_SUPPORTED"


@pytest.mark.below_server("2.12.0")
def test_prioritized_not_supported(driver, js, nats_server):
    """The prioritized policy and a pull's priority came with 2.12 (their
    sharing with nats.go is in test_interop_go.py)."""
    orders(driver, js, 1)
    cons = driver.consumer_add(js, "ORDERS", durable_name="plain")
    with pytest.raises(DriverError) as e:
        driver.fetch(cons, 1, timeout=1.0, priority=1)
    assert e.value.code == "NOT_SUPPORTED"
    assert "'priority'" in e.value.message and "2.12.0" in e.value.message
    with pytest.raises(DriverError) as e:
        driver.consumer_add(js, "ORDERS", durable_name="ranked",
                            priority_groups=["jobs"],
                            priority_policy="prioritized")
    assert e.value.code == "NOT_SUPPORTED"
    assert nats_server.version in e.value.message


def pairs():
    langs = available_languages()
    return [(a, b) for a in langs for b in langs if a != b]


@pytest.mark.min_server("2.11.0")
@pytest.mark.parametrize("first,second", pairs(),
                         ids=[f"{a}-{b}" for a, b in pairs()])
def test_priority_group_pinned_client(drivers, nats_server, first, second):
    """pinned_client: the first puller is pinned and keeps the pin across
    its pulls (the engine sends the id back); the other gets nothing
    until the pin is released (unpin) or times out, then it is pinned and
    the first is told (423) and gets nothing."""
    a, b = drivers.start(first), drivers.start(second)
    ja = a.jetstream(a.connect(nats_server.url))
    jb = b.jetstream(b.connect(nats_server.url))
    orders(a, ja, 20)
    ca = a.consumer_add(ja, "ORDERS", durable_name="pinned",
                        priority_groups=["jobs"],
                        priority_policy="pinned_client",
                        priority_timeout=2)
    cb = b.consumer_add(jb, "ORDERS", durable_name="pinned",
                        priority_groups=["jobs"],
                        priority_policy="pinned_client",
                        priority_timeout=2)

    def take(d, c, n=2, timeout=0.5):
        got = d.fetch(c, n, timeout=timeout, group="jobs")
        for m in got:
            d.ack_sync(m)
        return [m.data for m in got]

    assert take(a, ca, timeout=5.0) == [b"order 0", b"order 1"]
    assert take(b, cb) == []                       # a holds the pin
    assert take(a, ca) == [b"order 2", b"order 3"]  # and keeps it
    b.consumer_unpin(jb, "ORDERS", "pinned", "jobs")
    assert take(b, cb, timeout=5.0) == [b"order 4", b"order 5"]
    assert take(a, ca) == []                       # told it lost the pin
    assert take(b, cb) == [b"order 6", b"order 7"]
    # The pin times out when its holder stops pulling: a gets it back.
    time.sleep(2.5)
    assert take(a, ca, timeout=5.0) == [b"order 8", b"order 9"]
