"""Faults a real server never sends, per language, from the scripted fake
server of harness/fake.py: garbage and broken JSON in the handshake,
truncated frames, an oversized control line, size fields that lie, and a
server that stalls mid-frame or mid-handshake. A bad handshake fails
connect with a clear PROTOCOL, CONNECT or TIMEOUT error; a fault on an
open connection is reported (DISCONNECTED with PROTOCOL or IO) and the
client reconnects. No crash, no hang, no message made up from the
garbage."""
import time

import pytest

from harness import DriverError
from harness.fake import FakeServer

# A scripted fake server, no nats-server: runs once, against the current
# server (tests/conftest.py).
pytestmark = pytest.mark.server_independent


@pytest.fixture
def fake():
    servers = []

    def start(script):
        server = FakeServer(script)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


def connect_error(driver, url, **options) -> DriverError:
    start = time.monotonic()
    with pytest.raises(DriverError) as e:
        driver.call("connect", url=url, options=options)
    assert time.monotonic() - start < 10
    return e.value


def subscribed(driver, url, subject="fault.x", **options):
    nc = driver.connect(url, reconnect_time_wait=0.05, **options)
    sub = driver.subscribe(nc, subject)
    return nc, sub


def expect_fault(driver, nc, srv, code, timeout=5.0):
    """The connection reports DISCONNECTED with code, then reconnects (to
    the same fake server, which sends the same fault again)."""
    ev = driver.next_event(nc, timeout=timeout)
    assert ev["kind"] == "DISCONNECTED", ev
    assert ev["code"] == code, ev
    assert ev["text"]
    assert driver.next_event(nc, timeout=timeout)["kind"] == "RECONNECTED"
    assert srv.connections >= 2
    return ev


def no_message(driver, sub):
    with pytest.raises(DriverError) as e:
        driver.next_msg(sub, timeout=0.2)
    assert e.value.code in ("TIMEOUT", "CONNECTION_CLOSED",
                            "INVALID_SUBSCRIPTION"), e.value


def test_garbage_after_info(driver, fake):
    srv = fake(lambda p: (p.send(p.info() + b"GARBAGE\r\n"), p.stall()))
    err = connect_error(driver, srv.url, connect_timeout=3.0)
    assert err.code == "PROTOCOL", err
    assert "GARBAGE" in err.message or "unknown" in err.message, err


def test_info_that_is_not_json(driver, fake):
    srv = fake(lambda p: (p.send(b"INFO {\"server_id\": oops\r\n"),
                          p.stall()))
    err = connect_error(driver, srv.url, connect_timeout=3.0)
    assert err.code == "PROTOCOL", err
    assert "INFO" in err.message


def test_silent_server_times_out(driver, fake):
    srv = fake(lambda p: p.stall())
    err = connect_error(driver, srv.url, connect_timeout=0.5)
    assert err.code in ("CONNECT", "TIMEOUT"), err


def test_stall_before_pong(driver, fake):
    def script(p):
        p.send(p.info())
        p.expect(b"PING\r\n")
        p.stall()
    srv = fake(script)
    err = connect_error(driver, srv.url, connect_timeout=0.5)
    assert err.code in ("CONNECT", "TIMEOUT"), err


def after_sub(frames: bytes, then_close: bool = True):
    def script(p):
        p.handshake()
        p.expect(b"SUB fault.x")
        p.send(frames)
        if then_close:
            p.close()
        else:
            p.stall()
    return script


def test_truncated_frame(driver, fake):
    srv = fake(after_sub(b"MSG fault.x 1 10\r\nabc"))
    nc, sub = subscribed(driver, srv.url)
    expect_fault(driver, nc, srv, "IO")
    no_message(driver, sub)


def test_oversized_control_line(driver, fake):
    # Past the 64 KiB the parser accepts for a control line.
    srv = fake(after_sub(b"MSG fault.x 1 " + b"9" * 70000, then_close=False))
    nc, sub = subscribed(driver, srv.url)
    expect_fault(driver, nc, srv, "PROTOCOL")
    no_message(driver, sub)


def test_size_field_smaller_than_data(driver, fake):
    srv = fake(after_sub(b"MSG fault.x 1 4\r\nabcdefgh\r\n", then_close=False))
    nc, sub = subscribed(driver, srv.url)
    expect_fault(driver, nc, srv, "PROTOCOL")
    no_message(driver, sub)


def test_size_field_larger_than_data(driver, fake):
    # The 10 bytes swallow the start of the next frame; what follows them
    # is not the CR LF that must end a payload.
    srv = fake(after_sub(b"MSG fault.x 1 10\r\nabc\r\nMSG fault.x 1 3\r\nabc\r\n",
                         then_close=False))
    nc, sub = subscribed(driver, srv.url)
    expect_fault(driver, nc, srv, "PROTOCOL")
    no_message(driver, sub)


def test_good_frames_before_a_bad_one_arrive(driver, fake):
    srv = fake(after_sub(b"MSG fault.x 1 2\r\nok\r\nMSG fault.x 1 x\r\n",
                         then_close=False))
    nc, sub = subscribed(driver, srv.url)
    assert driver.next_msg(sub).data == b"ok"
    expect_fault(driver, nc, srv, "PROTOCOL")


def test_stall_mid_frame(driver, fake):
    srv = fake(after_sub(b"MSG fault.x 1 10\r\nabc", then_close=False))
    nc, sub = subscribed(driver, srv.url, ping_interval=0.2,
                         max_outstanding_pings=2)
    # While stalled, waiting calls time out instead of hanging...
    with pytest.raises(DriverError) as e:
        driver.flush(nc, timeout=0.3)
    assert e.value.code in ("TIMEOUT", "CONNECTION_CLOSED"), e.value
    # ...and the unanswered PINGs declare the connection stale.
    start = time.monotonic()
    expect_fault(driver, nc, srv, "IO")
    assert time.monotonic() - start < 3.0
    no_message(driver, sub)
