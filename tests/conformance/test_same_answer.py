"""The same input gets the same answer in Python and Lua (issue 19,
point 6): each case below makes one call with one questionable input
(timeouts past the engine's 100 years, NaN, negative, of the wrong type;
connection options out of range; calls on closed objects) in the blocking
Python API and, through tests/lua/same_answer.lua, in Lua. Both must
accept it, refuse it as a misused argument (Python's TypeError or
ValueError, Lua's raised "bad argument" or INVALID_ARG), or fail with the
same code. Where the engine words the refusal (jw_seconds_to_ms for every
duration, its option checks), the message is the same too."""
from __future__ import annotations

import math
import os
import shutil
import subprocess

import pytest

import jetwire
from harness import build_dir
from harness.drivers import REPO

LUA = shutil.which("lua5.4")
SCRIPT = REPO / "tests" / "lua" / "same_answer.lua"


def _cases(nc, sub, closed, js, cons, msg, url):
    def connect_with(**options):
        c = jetwire.connect(url, **options)
        c.close()

    def unsub(limit):
        nc.subscribe("same.u").unsubscribe(limit)

    return {
        "next_msg 0": lambda: sub.next_msg(0),
        "next_msg 1e300": lambda: sub.next_msg(1e300),
        "next_msg -1": lambda: sub.next_msg(-1),
        "next_msg nan": lambda: sub.next_msg(math.nan),
        "next_msg 2^62": lambda: sub.next_msg(1 << 62),
        "next_msg str": lambda: sub.next_msg("1"),
        "next_msg bool": lambda: sub.next_msg(True),
        "request 1e300": lambda: nc.request("same.x", b"", 1e300),
        "request -1": lambda: nc.request("same.x", b"", -1),
        "connect_timeout 1e300": lambda: connect_with(connect_timeout=1e300),
        "connect_timeout -1": lambda: connect_with(connect_timeout=-1),
        "ping_interval 0": lambda: connect_with(ping_interval=0),
        "max_outstanding_pings 0":
            lambda: connect_with(max_outstanding_pings=0),
        "pending_msgs_limit -1": lambda: connect_with(pending_msgs_limit=-1),
        "max_reconnect_attempts 1.5":
            lambda: connect_with(max_reconnect_attempts=1.5),
        "name 1": lambda: connect_with(name=1),
        "no_echo str": lambda: connect_with(no_echo="yes"),
        "unknown option": lambda: connect_with(nope=1),
        "jetstream closed": lambda: closed.jetstream(),
        "jetstream timeout 1e300": lambda: nc.jetstream(timeout=1e300),
        "jetstream timeout -1": lambda: nc.jetstream(timeout=-1),
        "unsubscribe -1": lambda: unsub(-1),
        "unsubscribe 1.5": lambda: unsub(1.5),
        "pending limits -1": lambda: sub.set_pending_limits(-1, -1),
        "nak delay -1": lambda: msg.nak(-1),
        "nak delay nan": lambda: msg.nak(math.nan),
        "publish empty subject": lambda: nc.publish("", b"x"),
        "publish number payload": lambda: nc.publish("same.p", 5),
        "fetch batch 0": lambda: cons.fetch(0, 0.1),
        "fetch batch -1": lambda: cons.fetch(-1, 0.1),
        "fetch batch 2^21": lambda: cons.fetch(1 << 21, 0.1),
        "fetch timeout inf": lambda: cons.fetch(1, math.inf),
        "fetch timeout 0": lambda: cons.fetch(1, 0),
        "fetch timeout -1": lambda: cons.fetch(1, -1),
        "fetch timeout str": lambda: cons.fetch(1, "1"),
    }


def _python_outcome(fn):
    try:
        fn()
    except TypeError as e:
        return "refused", str(e)
    except jetwire.Error as e:
        if e.code == "INVALID_ARG":
            return "refused", e.message
        return "error:" + e.code, e.message
    except ValueError as e:
        return "refused", str(e)
    return "ok", ""


# Messages the engine words: both languages must show them as they are.
ENGINE_WORDED = ("next_msg 1e300", "next_msg -1", "next_msg nan",
                 "next_msg 2^62", "request 1e300", "request -1",
                 "connect_timeout 1e300", "connect_timeout -1",
                 "ping_interval 0", "max_outstanding_pings 0",
                 "fetch batch 0", "fetch batch 2^21", "fetch timeout inf",
                 "fetch timeout 0", "fetch timeout -1")


@pytest.mark.skipif(LUA is None, reason="lua5.4 is not installed "
                    "(scripts/setup.sh installs it)")
def test_same_answer_in_python_and_lua(nats_server):
    url = nats_server.url
    nc = jetwire.connect(url)
    closed = jetwire.connect(url)
    closed.close()
    try:
        sub = nc.subscribe("same.answer")
        js = nc.jetstream()
        js.create_or_update_stream(name="SAME", subjects=["same.>"])
        js.publish("same.m", b"x")
        cons = js.create_or_update_consumer("SAME", durable="d")
        msg = cons.fetch(1, timeout=5.0)[0]
        cases = _cases(nc, sub, closed, js, cons, msg, url)
        py = {name: _python_outcome(fn) for name, fn in cases.items()}
    finally:
        nc.close()
    env = dict(os.environ, JW_BUILD_DIR=str(build_dir()))
    done = subprocess.run([LUA, str(SCRIPT), url], input="\n".join(cases),
                          capture_output=True, text=True, env=env,
                          cwd=str(REPO), timeout=120)
    assert done.returncode == 0, done.stderr
    lua = {}
    for line in done.stdout.splitlines():
        name, outcome, message = line.split("\t", 2)
        lua[name] = (outcome, message)
    assert set(lua) == set(cases), done.stdout
    differ = ["%s: python %s (%s), lua %s (%s)"
              % (name, py[name][0], py[name][1], lua[name][0],
                 lua[name][1])
              for name in cases if py[name][0] != lua[name][0]]
    assert not differ, "\n".join(differ)
    worded = ["%s: python %r, lua %r" % (name, py[name][1], lua[name][1])
              for name in ENGINE_WORDED if py[name][1] != lua[name][1]]
    assert not worded, "\n".join(worded)
    # The cases mean something: a few of each answer.
    outcomes = [o for o, _ in py.values()]
    assert outcomes.count("ok") >= 2 and outcomes.count("refused") >= 15
