"""Ctrl+C and signal handlers during blocking waits (issue 18, point 1).

Each case runs a child Python blocked in one wait of the blocking API,
sends it a real signal with os.kill and measures, from the signal, when
the child saw it: KeyboardInterrupt for SIGINT, a custom SIGTERM handler
running (raising, or returning so that the wait goes on)."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

BOUND = 0.2  # seconds from the signal to the child's reaction

CHILD = textwrap.dedent(r'''
    import os, signal, sys, time
    import jetwire

    url, wait, mode = sys.argv[1:4]

    class Stop(Exception):
        pass

    handled = []

    def on_term(signum, frame):
        handled.append(time.monotonic())
        print("HANDLER %.6f" % handled[-1], flush=True)
        if mode == "term-raise":
            raise Stop()

    signal.signal(signal.SIGTERM, on_term)

    def ready():
        print("READY", flush=True)

    def run():
        if wait == "connect":
            ready()
            jetwire.connect(url, connect_timeout=30.0)
            return
        nc = jetwire.connect(url, drain_timeout=30.0)
        if wait.startswith("request"):
            nc.subscribe("silent")  # answers nothing: no NoResponders
            if wait == "request-dispatcher":
                nc.subscribe("other", cb=lambda m: None)
            nc.flush()
            ready()
            nc.request("silent", b"", timeout=None)
        elif wait in ("next_msg", "next_msg-30"):
            sub = nc.subscribe("nobody")
            nc.flush()
            ready()
            sub.next_msg(timeout=None if wait == "next_msg" else 30.0)
        elif wait == "next_msgs":
            sub = nc.subscribe("nobody")
            nc.flush()
            ready()
            sub.next_msgs(10, timeout=None)
        elif wait == "iterate":
            sub = nc.subscribe("nobody")
            nc.flush()
            ready()
            for _ in sub:
                pass
        elif wait == "next_event":
            ready()
            nc.next_event(timeout=None)
        elif wait == "service_stop":
            # Waits for a request a handler holds for 2 s (the exit then
            # waits for the handler too, not longer).
            import threading
            began = threading.Event()
            svc = nc.add_service("signals", "1.0.0")
            svc.add_endpoint("slow", lambda req: (began.set(),
                                                  time.sleep(2.0)))
            nc.publish("slow", b"", reply="nobody")
            began.wait(5.0)
            ready()
            svc.stop(timeout=None)
        elif wait == "service_ping":
            # One answer comes (with none, no responders ends the wait);
            # the wait goes on for more.
            nc.add_service("signals", "1.0.0")
            ready()
            nc.service_ping(timeout=30.0)
        elif wait == "flush":
            ready()
            nc.flush(timeout=30.0)
        elif wait == "rtt":
            ready()
            nc.rtt()
        elif wait == "drain":
            ready()
            nc.drain()
        elif wait == "continue-timeout":
            # A handler that returns: the wait goes on with its time.
            sub = nc.subscribe("nobody")
            nc.flush()
            start = time.monotonic()
            ready()
            try:
                sub.next_msg(timeout=1.0)
            except jetwire.TimeoutError:
                print("TIMEOUT %.3f" % (time.monotonic() - start),
                      flush=True)
            return
        elif wait == "continue-message":
            sub = nc.subscribe("later")
            nc.flush()
            ready()
            msg = sub.next_msg(timeout=None)
            print("MSG %s" % msg.data.decode(), flush=True)
            return
        elif wait == "continue-request":
            nc.subscribe("late", cb=lambda m: (time.sleep(0.5),
                                               m.respond(b"pong")))
            nc.flush()
            ready()
            print("REPLY %s" % nc.request("late", b"", timeout=None)
                  .data.decode(), flush=True)
            return
        print("RETURNED", flush=True)

    try:
        run()
    except KeyboardInterrupt:
        print("INTERRUPTED %.6f" % time.monotonic(), flush=True)
    except Stop:
        print("STOPPED %.6f" % time.monotonic(), flush=True)
''')


JS_CHILD = CHILD.replace("\ntry:\n    run()\n", textwrap.dedent(r'''
    JS_SILENT = ("stream_info", "key_value", "publish_async_complete",
                 "pub_ack_result")


    def run_js():
        nc = jetwire.connect(url)
        js = nc.jetstream(timeout=30.0)
        if wait in JS_SILENT:
            if wait == "stream_info":
                ready()
                js.stream_info("S")
            elif wait == "key_value":
                ready()
                js.key_value("b")
            elif wait == "publish_async_complete":
                js.publish_async("s.a", b"x")
                ready()
                js.publish_async_complete(timeout=None)
            elif wait == "pub_ack_result":
                fut = js.publish_async("s.a", b"x")
                ready()
                fut.result(timeout=30.0)
            print("RETURNED", flush=True)
            return
        js.create_or_update_stream(name="S", subjects=["s.>"])
        cons = js.create_or_update_consumer("S", durable="d")
        kv = js.create_or_update_key_value(bucket="b")
        if wait == "fetch":
            ready()
            cons.fetch(1, timeout=30.0)
        elif wait == "messages":
            ready()
            for _ in cons.messages():
                pass
        elif wait == "ordered":
            oc = js.ordered_consumer("S")
            ready()
            oc.next(timeout=None)
        elif wait == "kv-updates":
            w = kv.watch("k", updates_only=True)
            assert w.updates(timeout=5.0) is None  # the marker comes still
            ready()
            w.updates(timeout=None)
        elif wait == "kv-iterate":
            w = kv.watch("k")
            ready()
            for _ in w:
                pass
        print("RETURNED", flush=True)


    run = run_js
    try:
        run()
'''))
assert JS_CHILD != CHILD


class SilentServer:
    """A NATS server that greets, answers the handshake's PING, and then
    answers nothing: flush, rtt and drain wait for a PONG that never comes.
    With greet=False it never sends INFO: connect waits."""

    def __init__(self, greet=True):
        self.greet = greet
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = "nats://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._talk, args=(conn,),
                             daemon=True).start()

    def _talk(self, conn):
        if not self.greet:
            return
        conn.sendall(b'INFO {"server_id":"silent","version":"2.10.0",'
                     b'"proto":1,"max_payload":1048576,"headers":true}\r\n')
        seen = b""
        answered = False
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            seen += data
            if not answered and b"PING\r\n" in seen:
                conn.sendall(b"PONG\r\n")  # the handshake's, then silence
                answered = True

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def child_script(tmp_path):
    path = tmp_path / "blocked.py"
    path.write_text(CHILD)
    return path


def _start(child_script, url, wait, mode):
    proc = subprocess.Popen([sys.executable, str(child_script), url, wait,
                             mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "READY", (line, proc.stderr.read())
    # The child is in the wait (or enters it now: a signal before the
    # wait must be seen as well).
    _until_waiting(proc.pid)
    return proc


def _until_waiting(pid, longest=0.3):
    """Until the child's main thread is asleep at three looks in a row,
    10 ms apart (after READY it has nothing left to do but the wait), or
    for `longest` seconds at most."""
    deadline = time.monotonic() + longest
    asleep = 0
    while asleep < 3 and time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return  # gone: what it printed says why
        asleep = asleep + 1 if state == "S" else 0
        time.sleep(0.01)


def _finish(proc):
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail("the child did not end: %r %r" % (out, err))
    return out.split("\n"), err


def _stamp(lines, word):
    for line in lines:
        if line.startswith(word + " "):
            return float(line.split()[1])
    return None


WAITS = ["next_msg", "next_msg-30", "next_msgs", "iterate", "request",
         "request-dispatcher", "next_event", "service_stop", "service_ping"]
SILENT_WAITS = ["flush", "rtt", "drain"]


def _server_for(wait, nats_server):
    if wait in SILENT_WAITS:
        return SilentServer()
    if wait == "connect":
        return SilentServer(greet=False)
    return None


@pytest.mark.parametrize("wait", WAITS + SILENT_WAITS + ["connect"])
def test_sigint_interrupts_the_wait(child_script, nats_server, wait):
    fake = _server_for(wait, nats_server)
    try:
        proc = _start(child_script, fake.url if fake else nats_server.url,
                      wait, "int")
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        lines, err = _finish(proc)
    finally:
        if fake:
            fake.close()
    seen = _stamp(lines, "INTERRUPTED")
    assert seen is not None, (lines, err)
    assert seen - sent <= BOUND, "KeyboardInterrupt %.3f s after SIGINT" % (
        seen - sent)


@pytest.mark.parametrize("wait", WAITS + SILENT_WAITS + ["connect"])
def test_sigterm_handler_runs_and_raises(child_script, nats_server, wait):
    fake = _server_for(wait, nats_server)
    try:
        proc = _start(child_script, fake.url if fake else nats_server.url,
                      wait, "term-raise")
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        lines, err = _finish(proc)
    finally:
        if fake:
            fake.close()
    ran = _stamp(lines, "HANDLER")
    stopped = _stamp(lines, "STOPPED")
    assert ran is not None and stopped is not None, (lines, err)
    assert ran - sent <= BOUND
    assert stopped - sent <= BOUND


def test_handler_that_returns_lets_the_wait_go_on(child_script,
                                                  nats_server):
    proc = _start(child_script, nats_server.url, "continue-timeout",
                  "term-continue")
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    lines, err = _finish(proc)
    ran = _stamp(lines, "HANDLER")
    assert ran is not None and ran - sent <= BOUND, (lines, err)
    waited = _stamp(lines, "TIMEOUT")
    # The wait kept its full second (PEP 475), not cut short, not longer.
    assert waited is not None and 0.95 <= waited <= 1.5, (lines, err)


def test_handler_that_returns_then_the_message(child_script, nats_server):
    import jetwire
    proc = _start(child_script, nats_server.url, "continue-message",
                  "term-continue")
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    time.sleep(0.3)
    with jetwire.connect(nats_server.url) as nc:
        nc.publish("later", b"after the handler")
        nc.flush()
    lines, err = _finish(proc)
    ran = _stamp(lines, "HANDLER")
    assert ran is not None and ran - sent <= BOUND, (lines, err)
    assert "MSG after the handler" in lines


def test_handler_that_returns_then_the_reply(child_script, nats_server):
    proc = _start(child_script, nats_server.url, "continue-request",
                  "term-continue")
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    lines, err = _finish(proc)
    ran = _stamp(lines, "HANDLER")
    assert ran is not None and ran - sent <= BOUND, (lines, err)
    assert "REPLY pong" in lines, (lines, err)


def test_other_threads_wait_in_one_call(nats_server):
    # Slicing is for the main thread: elsewhere a wait is one engine call,
    # and its timeout is worded in seconds all the same.
    import jetwire
    errors = []
    with jetwire.connect(nats_server.url) as nc:
        sub = nc.subscribe("nobody")

        def wait():
            try:
                sub.next_msg(timeout=0.3)
            except jetwire.TimeoutError as e:
                errors.append(str(e))
        t = threading.Thread(target=wait)
        t.start()
        t.join()
        nc.subscribe("silent")
        with pytest.raises(jetwire.TimeoutError,
                           match=r"no reply from 'silent' within 0\.3 s"):
            nc.request("silent", b"", timeout=0.3)
    assert errors == ["no message within 0.3 s"]


JS_WAITS = ["fetch", "messages", "ordered", "kv-updates", "kv-iterate"]
JS_SILENT = ["stream_info", "key_value", "publish_async_complete",
             "pub_ack_result"]


@pytest.fixture
def js_child_script(tmp_path):
    path = tmp_path / "blocked_js.py"
    path.write_text(JS_CHILD)
    return path


@pytest.mark.parametrize("mode", ["int", "term-raise"])
@pytest.mark.parametrize("wait", JS_WAITS + JS_SILENT)
def test_jetstream_and_kv_waits_see_signals(js_child_script, nats_server,
                                            wait, mode):
    """JetStream and Key-Value waits: Ctrl+C raises KeyboardInterrupt, a
    SIGTERM handler runs and its exception comes out, within the bound
    (the management calls and publish acks against a server that never
    answers)."""
    fake = SilentServer() if wait in JS_SILENT else None
    try:
        proc = _start(js_child_script, fake.url if fake else nats_server.url,
                      wait, mode)
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT if mode == "int" else signal.SIGTERM)
        lines, err = _finish(proc)
    finally:
        if fake:
            fake.close()
    if mode == "int":
        seen = _stamp(lines, "INTERRUPTED")
    else:
        ran = _stamp(lines, "HANDLER")
        assert ran is not None and ran - sent <= BOUND, (lines, err)
        seen = _stamp(lines, "STOPPED")
    assert seen is not None, (lines, err)
    assert seen - sent <= BOUND, "%s: %.3f s after the signal" % (
        wait, seen - sent)


class FreezingProxy:
    """A TCP proxy in front of a real nats-server that stops passing the
    server's bytes on once the client publishes to "freeze.now": a server
    that stalls mid-session, which a real one never does on purpose. The
    bytes before the freeze are the real server's own."""

    def __init__(self, target_url):
        host, port = target_url.rsplit("/", 1)[-1].rsplit(":", 1)
        self.target = (host, int(port))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = "nats://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.frozen = threading.Event()
        self.socks = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.socks += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False),
                             daemon=True).start()

    def _pump(self, src, dst, from_client):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            if from_client and b"freeze.now" in data:
                self.frozen.set()  # before the request behind it goes on
            if not from_client and self.frozen.is_set():
                continue  # read and dropped: the client hears nothing
            try:
                dst.sendall(data)
            except OSError:
                return

    def close(self):
        self.sock.close()
        for s in self.socks:
            s.close()


# Each wait is one call that sends one request and waits for its answer
# (the engine's wait check interrupts it; there is nothing to repeat).
FROZEN_WAITS = ["publish", "kv-get", "kv-put", "kv-create", "kv-update",
                "kv-delete", "kv-purge", "ack_sync", "stream_info",
                "fetch"]

FROZEN_CHILD = textwrap.dedent(r'''
    import signal, sys, time
    import jetwire

    url, waits = sys.argv[1], sys.argv[2].split(",")

    class Stop(Exception):
        pass

    def on_term(signum, frame):
        print("HANDLER %.6f" % time.monotonic(), flush=True)
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    nc = jetwire.connect(url)
    js = nc.jetstream(timeout=30.0)
    js.create_or_update_stream(name="S", subjects=["s.>"])
    js.publish("s.a", b"x")
    cons = js.create_or_update_consumer("S", durable="d", ack_wait=60.0)
    msg = cons.fetch(1, timeout=5.0)[0]
    kv = js.create_or_update_key_value(bucket="b")
    rev = kv.put("k", b"v")
    nc.publish("freeze.now", b"")  # from here on the server is silent
    calls = {
        "publish": lambda: js.publish("s.a", b"y"),
        "kv-get": lambda: kv.get("k"),
        "kv-put": lambda: kv.put("k", b"w"),
        "kv-create": lambda: kv.create("new", b"w"),
        "kv-update": lambda: kv.update("k", b"w", rev),
        "kv-delete": lambda: kv.delete("k"),
        "kv-purge": lambda: kv.purge("k"),
        "ack_sync": lambda: msg.ack_sync(timeout=30.0),
        "stream_info": lambda: js.stream_info("S"),
        "fetch": lambda: cons.fetch(1, timeout=30.0),
    }
    for wait in waits:
        for mode in ("int", "term"):
            print("READY %s %s" % (wait, mode), flush=True)
            try:
                calls[wait]()
                print("RETURNED", flush=True)
            except KeyboardInterrupt:
                print("INTERRUPTED %.6f" % time.monotonic(), flush=True)
            except Stop:
                print("STOPPED %.6f" % time.monotonic(), flush=True)
            except Exception as e:
                print("FAILED %r" % e, flush=True)
    print("END", flush=True)
    nc.close()
''')


def test_single_request_waits_see_signals(tmp_path, nats_server):
    """The calls that wait for one answer in one engine call (a JetStream
    publish, every Key-Value single-key call, ack_sync, a management
    request, a fetch): against a server that went silent mid-session,
    SIGINT raises KeyboardInterrupt and a SIGTERM handler's exception
    comes out, each within the bound. One child goes through them all."""
    script = tmp_path / "frozen.py"
    script.write_text(FROZEN_CHILD)
    proxy = FreezingProxy(nats_server.url)
    proc = subprocess.Popen([sys.executable, str(script), proxy.url,
                             ",".join(FROZEN_WAITS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    seen = []
    try:
        for wait in FROZEN_WAITS:
            for mode in ("int", "term"):
                line = proc.stdout.readline().split()
                assert line == ["READY", wait, mode], (line, proc.stderr.read())
                _until_waiting(proc.pid)  # in the wait by now
                sent = time.monotonic()
                os.kill(proc.pid, signal.SIGINT if mode == "int"
                        else signal.SIGTERM)
                if mode == "term":
                    ran = proc.stdout.readline().split()
                    assert ran[0] == "HANDLER", (wait, ran)
                    assert float(ran[1]) - sent <= BOUND, (wait, ran)
                out = proc.stdout.readline().split()
                word = "INTERRUPTED" if mode == "int" else "STOPPED"
                assert out and out[0] == word, (wait, mode, out)
                seen.append((wait, mode, round(float(out[1]) - sent, 3)))
                assert float(out[1]) - sent <= BOUND, (wait, mode, seen)
        assert proc.stdout.readline().strip() == "END"
    finally:
        proc.kill()
        proc.communicate()
        proxy.close()
