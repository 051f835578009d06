"""Message schedules (ADR-51, nats-server 2.12; time zones 2.14) through
the publish options, in every language: a message delivered later
(schedule_at), repeating (schedule_every), by cron expression, sampling
another subject, and stopped by purging its subject. Intervals are the
server's minimum (1 s), so each test takes a few seconds."""
import datetime
import time

import pytest

from harness import DriverError


@pytest.fixture
def js(driver, conn):
    return driver.jetstream(conn)


def schedules_stream(d, js):
    d.stream_add(js, name="SCHED", subjects=["sched.>", "orders.>",
                                             "sensors.>"],
                 allow_msg_schedules=True, allow_msg_ttl=True)
    return d.consumer_add(js, "SCHED", durable_name="orders",
                          filter_subject="orders.>")


def take(d, cons, count, timeout):
    """Fetch until count messages came or timeout passed."""
    got, deadline = [], time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        for m in d.fetch(cons, count - len(got), timeout=0.5):
            d.ack(m)
            got.append(m)
    return got


def rfc3339(seconds_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.min_server("2.12.0")
def test_schedule_at_delivers_once(driver, js):
    d = driver
    cons = schedules_stream(d, js)
    d.js_publish(js, "sched.order.1", b"late order",
                 schedule_at=rfc3339(1), schedule_target="orders.new")
    got = take(d, cons, 1, 6.0)
    assert [m.data for m in got] == [b"late order"]
    # Once only: the schedule is gone after it fired.
    assert take(d, cons, 1, 1.5) == []


@pytest.mark.min_server("2.12.0")
def test_schedule_every_repeats_until_purged(driver, js):
    d = driver
    cons = schedules_stream(d, js)
    d.js_publish(js, "sched.tick", b"tick", schedule_every=1,
                 schedule_target="orders.tick", schedule_ttl=60)
    assert len(take(d, cons, 2, 6.0)) == 2
    # Cancel: purge the schedule's subject. At most one that was already
    # on its way may still come; then nothing.
    d.stream_purge(js, "SCHED", subject="sched.tick")
    take(d, cons, 1, 1.2)
    assert take(d, cons, 1, 2.5) == []


@pytest.mark.min_server("2.12.0")
def test_schedule_cron_and_sampling(driver, js):
    """A cron expression (every second) that publishes the last reading of
    another subject rather than its own body."""
    d = driver
    cons = schedules_stream(d, js)
    d.js_publish(js, "sensors.temp", b"20.5")
    d.js_publish(js, "sensors.temp", b"21.0")
    d.js_publish(js, "sched.sample", b"no reading", schedule="* * * * * *",
                 schedule_source="sensors.temp",
                 schedule_target="orders.sampled")
    got = take(d, cons, 1, 6.0)
    assert [m.data for m in got] == [b"21.0"]
    d.stream_purge(js, "SCHED", subject="sched.sample")


@pytest.mark.min_server("2.14.0")
def test_schedule_cron_time_zone(driver, js):
    d = driver
    cons = schedules_stream(d, js)
    d.js_publish(js, "sched.tz", b"tz", schedule="* * * * * *",
                 schedule_time_zone="UTC", schedule_target="orders.tz")
    assert [m.data for m in take(d, cons, 1, 6.0)] == [b"tz"]
    d.stream_purge(js, "SCHED", subject="sched.tz")
    with pytest.raises(DriverError) as e:  # not for @every
        d.js_publish(js, "sched.bad", b"x", schedule_every=1,
                     schedule_time_zone="UTC", schedule_target="orders.x")
    assert e.value.code == "JETSTREAM"


@pytest.mark.min_server("2.12.0")
def test_schedule_errors(driver, js):
    d = driver
    schedules_stream(d, js)
    with pytest.raises(DriverError) as e:
        d.js_publish(js, "sched.two", b"x", schedule="@hourly",
                     schedule_every=5, schedule_target="orders.x")
    assert e.value.code == "INVALID_ARG"
    with pytest.raises(DriverError) as e:
        d.js_publish(js, "sched.bad", b"x", schedule="every now and then",
                     schedule_target="orders.x")
    assert e.value.code == "JETSTREAM"
    d.stream_add(js, name="PLAIN", subjects=["plain.>"])
    with pytest.raises(DriverError) as e:
        d.js_publish(js, "plain.sched", b"x", schedule="@hourly",
                     schedule_target="plain.x")
    assert e.value.code == "JETSTREAM"


@pytest.mark.below_server("2.12.0")
def test_schedules_not_supported(driver, js, nats_server):
    d = driver
    d.stream_add(js, name="SCHED", subjects=["sched.>", "orders.>"])
    with pytest.raises(DriverError) as e:
        d.js_publish(js, "sched.x", b"x", schedule="@hourly",
                     schedule_target="orders.x")
    assert e.value.code == "NOT_SUPPORTED"
    assert "2.12.0" in e.value.message and nats_server.version in \
        e.value.message
