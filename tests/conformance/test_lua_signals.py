"""Ctrl-C and signals in Lua (issue 18): every blocking wait of the Lua
module ends within 0.2 s of a real SIGINT or SIGTERM sent to a lua5.4
child, whatever its timeout; jetwire.signals delivers INT and TERM;
jetwire.json and jetwire.sleep (tests/lua/test_signals.lua).

Without a signal set, SIGINT ends the wait and lua5.4 raises
"interrupted!" (its own SIGINT handling, untouched); SIGTERM ends the
process as it always did. With jetwire.signals{"INT", "TERM"}, the wait
returns nil, err with code INTERRUPTED (an iterator ends) and the set
holds the signal's name."""
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from harness import build_dir
from harness.drivers import REPO

LUA = shutil.which("lua5.4")
SCRIPT = REPO / "tests" / "lua" / "test_signals.lua"
LIMIT = 0.2  # seconds from the signal to the wait's end

if LUA is None:
    pytest.skip("lua5.4 is not installed (scripts/setup.sh installs it)",
                allow_module_level=True)

# The waits of the connection and its subscriptions, in both loop modes.
CONN_WAITS = ["next_msg", "next_msg_timeout", "next_msgs", "messages",
              "request", "next_event", "poll", "flush", "drain"]
# Waits without a connection mode of their own to vary.
OTHER_WAITS = ["sleep", "consume_next", "consume_messages", "ordered_next"]
# One engine call waiting for one answer (the engine's wait check ends
# it): the server is paused once the child is ready, but for fetch, which
# waits for a message that never comes.
JS_PAUSED = ["js_publish", "js_stream_info", "js_ack_sync", "js_kv_get",
             "js_kv_put", "js_kv_update"]
JS_WAITS = ["js_fetch"] + JS_PAUSED
# What a wait gives back when a caught signal ends it.
ENDED = {"messages": "true ended nil", "consume_messages": "true ended nil"}


def env():
    module = build_dir() / "lua" / "jetwire.so"
    assert module.exists(), f"the Lua module is not built at {module}"
    return dict(os.environ, JW_BUILD_DIR=str(build_dir()))


class Child:
    """lua5.4 test_signals.lua URL WAIT LOOP [SET], blocked in WAIT."""

    def __init__(self, url, wait, loop="thread", catch=None):
        args = [LUA, str(SCRIPT), url, wait, loop] + ([catch] if catch else [])
        self.proc = subprocess.Popen(args, cwd=str(REPO), env=env(),
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.expect("ready")

    def expect(self, line):
        got = self.proc.stdout.readline().strip()
        if got != line:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            pytest.fail(f"child printed {got!r}, not {line!r}\n{err}")

    def start_wait(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        self.expect("waiting")
        time.sleep(0.3)  # well into the wait, past its first slice
        if self.proc.poll() is not None:
            pytest.fail("the wait ended by itself: "
                        f"{self.proc.stdout.read()!r} "
                        f"{self.proc.stderr.read()!r}")

    def signal(self, signo):
        """Send signo; the seconds until the wait's result (or the end of
        the process) and what the child printed after it."""
        got = []
        reader = threading.Thread(
            target=lambda: got.append(self.proc.stdout.readline()))
        sent = time.monotonic()
        self.proc.send_signal(signo)
        reader.start()
        reader.join(5)
        if reader.is_alive():
            self.proc.kill()
            reader.join(10)
            pytest.fail(f"the wait did not end within 5 s of {signo!r}")
        line = got[0]
        if not line:
            self.proc.wait(timeout=10)
        took = time.monotonic() - sent
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        # Read through the same buffered streams readline used.
        rest, err = self.proc.stdout.read(), self.proc.stderr.read()
        return took, (line + rest).split("\n"), err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


def run_wait(url, wait, signo, loop="thread", catch=None, server=None):
    child = Child(url, wait, loop, catch)
    try:
        if server is not None and (wait in ("flush", "drain") or
                                   wait in JS_PAUSED):
            server.pause()  # no PONG: the flush or drain waits
        child.start_wait()
        return child.signal(signo) + (child.proc.returncode,)
    finally:
        child.kill()
        if server is not None:
            server.resume()


@pytest.mark.parametrize("loop", ["thread", "driven"])
@pytest.mark.parametrize("wait", CONN_WAITS)
def test_sigint_ends_wait(server_factory, wait, loop):
    """Plain lua5.4: SIGINT ends the wait at once and raises
    "interrupted!" as the interpreter does."""
    server = server_factory.start()
    took, out, err, rc = run_wait(server.url, wait, signal.SIGINT, loop,
                                  server=server)
    assert out[0].startswith("result false ") and "interrupted!" in out[0], (
        out, err)
    assert took < LIMIT, f"{wait} ({loop}) took {took:.3f} s"
    assert rc == 0


@pytest.mark.parametrize("wait", OTHER_WAITS)
def test_sigint_ends_other_waits(nats_server, wait):
    took, out, err, rc = run_wait(nats_server.url, wait, signal.SIGINT)
    assert out[0].startswith("result false ") and "interrupted!" in out[0], (
        out, err)
    assert took < LIMIT, f"{wait} took {took:.3f} s"


@pytest.mark.parametrize("signame", ["INT", "TERM"])
@pytest.mark.parametrize("loop", ["thread", "driven"])
@pytest.mark.parametrize("wait", CONN_WAITS)
def test_caught_signal_interrupts_wait(server_factory, wait, loop, signame):
    """With jetwire.signals{"INT", "TERM"}: the wait returns nil,
    INTERRUPTED (an iterator ends) and the set holds the signal."""
    server = server_factory.start()
    took, out, err, rc = run_wait(server.url, wait,
                                  getattr(signal, "SIG" + signame), loop,
                                  "INT,TERM", server=server)
    want = ENDED.get(wait, "result true nil INTERRUPTED")
    assert out[0] == want or out[0] == "result " + want, (out, err)
    assert out[1] == "taken " + signame, (out, err)
    assert took < LIMIT, f"{wait} ({loop}) took {took:.3f} s"
    assert rc == 0, err


@pytest.mark.parametrize("signame", ["INT", "TERM"])
@pytest.mark.parametrize("wait", OTHER_WAITS)
def test_caught_signal_interrupts_other_waits(nats_server, wait, signame):
    took, out, err, rc = run_wait(nats_server.url, wait,
                                  getattr(signal, "SIG" + signame),
                                  catch="INT,TERM")
    want = ENDED.get(wait, "result true nil INTERRUPTED")
    assert out[0] == want or out[0] == "result " + want, (out, err)
    assert out[1] == "taken " + signame, (out, err)
    assert took < LIMIT, f"{wait} took {took:.3f} s"


@pytest.mark.parametrize("wait", JS_WAITS)
def test_sigint_ends_jetstream_waits(server_factory, wait):
    server = server_factory.start()
    took, out, err, rc = run_wait(server.url, wait, signal.SIGINT,
                                  server=server)
    assert out[0].startswith("result false ") and "interrupted!" in out[0], (
        out, err)
    assert took < LIMIT, f"{wait} took {took:.3f} s"


@pytest.mark.parametrize("wait", JS_WAITS)
def test_caught_signal_interrupts_jetstream_waits(server_factory, wait):
    server = server_factory.start()
    took, out, err, rc = run_wait(server.url, wait, signal.SIGTERM,
                                  catch="INT,TERM", server=server)
    assert out[0] == "result true nil INTERRUPTED", (out, err)
    assert out[1] == "taken TERM", (out, err)
    assert took < LIMIT, f"{wait} took {took:.3f} s"


@pytest.mark.parametrize("signame", ["INT", "TERM"])
def test_signals_wait_delivers(nats_server, signame):
    """sig:wait() (forever) returns the signal's name."""
    took, out, err, rc = run_wait(nats_server.url, "signals_wait",
                                  getattr(signal, "SIG" + signame),
                                  catch="INT,TERM")
    assert out[0] == f"result true {signame} nil", (out, err)
    assert out[1] == "taken nil", (out, err)  # taken once only
    assert took < LIMIT


def test_sigterm_uncaught_still_ends_the_process(nats_server):
    """A script that did not catch SIGTERM dies of it, as before."""
    took, out, err, rc = run_wait(nats_server.url, "next_msg",
                                  signal.SIGTERM)
    assert rc == -signal.SIGTERM
    assert took < LIMIT


@pytest.mark.parametrize("signame", ["INT", "TERM"])
def test_second_signal_while_the_first_is_untaken(nats_server, signame):
    """A caught signal that comes again before the script took the first
    does what it did before the script caught it, so a script stuck in
    Lua code can still be stopped: SIGINT raises "interrupted!" (lua5.4's
    handler), SIGTERM ends the process."""
    signo = getattr(signal, "SIG" + signame)
    child = Child(nats_server.url, "busy", catch="INT,TERM")
    try:
        child.start_wait()
        child.proc.send_signal(signo)
        time.sleep(0.3)
        assert child.proc.poll() is None, "the first signal is only caught"
        took, out, err = child.signal(signo)
        assert took < LIMIT
        if signame == "INT":
            assert out[0].startswith("result false ") and \
                "interrupted!" in out[0], (out, err)
        else:
            assert child.proc.returncode == -signal.SIGTERM
    finally:
        child.kill()


def test_same_signal_sent_twice_at_once_is_one(nats_server):
    """timeout(1) and process managers send a signal to the process and to
    its group: two at once are one request to stop, not an escalation."""
    child = Child(nats_server.url, "busy", catch="INT,TERM")
    try:
        child.start_wait()
        child.proc.send_signal(signal.SIGTERM)
        child.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert child.proc.poll() is None, "two at once killed the script"
        took, out, err = child.signal(signal.SIGTERM)  # a later one does
        assert took < LIMIT
        assert child.proc.returncode == -signal.SIGTERM
    finally:
        child.kill()


def test_unit(nats_server):
    """JSON round trips and errors, sleep, signal sets (in Lua)."""
    proc = subprocess.run([LUA, str(SCRIPT), nats_server.url, "unit"],
                          cwd=str(REPO), env=env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and " 0 failed" in proc.stdout, (
        proc.stdout + proc.stderr)
