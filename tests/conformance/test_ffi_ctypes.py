"""The C ABI driven through a foreign function interface with no binding
code of ours (issue 16, point 11): Python's ctypes over the installed
libjetwire.so, nothing from bindings/ and no cffi.

The library comes from the CMake build of JW_BUILD_DIR (harness.build_dir),
installed into a temporary prefix with `cmake --install` as a user would
get it (a build that cannot be installed fails the test).
Every function is declared here from include/jetwire.h (argtypes and
restype): that table is the whole "binding". Status codes are looked up
by name through jw_status_name, so no enum value is written down twice.

This file is the example that docs/c-api.md ("From another language")
points to.
"""
from __future__ import annotations

import ctypes
import json
import queue
import re
import select
import shutil
import subprocess
import threading
import time
from ctypes import (CFUNCTYPE, POINTER, byref, c_char_p, c_int, c_int64,
                    c_size_t, c_uint64, c_void_p)
from pathlib import Path

import pytest

from harness import build_dir
from harness.drivers import REPO

# Opaque handles (jw_conn *, jw_sub *, jw_msg *, ...) are plain pointers.
H = c_void_p
STATUS = c_int  # jw_status is an int-sized enum

# jw_msg_cb and jw_event_cb, for the callback test.
MSG_CB = CFUNCTYPE(None, H, H, c_void_p)
EVENT_CB = CFUNCTYPE(None, H, H, c_void_p)

# name: (restype, argtypes), copied from include/jetwire.h.
SIGNATURES = {
    "jw_version": (c_char_p, []),
    "jw_status_name": (c_char_p, [c_int]),
    "jw_strerror": (c_char_p, [c_int]),
    "jw_last_error": (c_char_p, []),
    "jw_free": (None, [c_void_p]),
    # options (callback test only)
    "jw_opts_new": (STATUS, [POINTER(H)]),
    "jw_opts_free": (None, [H]),
    "jw_opts_set_callback": (STATUS, [H, c_char_p, EVENT_CB, c_void_p]),
    # connections
    "jw_conn_connect": (STATUS, [c_char_p, H, POINTER(H)]),
    "jw_conn_publish": (STATUS, [H, c_char_p, c_void_p, c_size_t]),
    "jw_conn_publish_reply": (STATUS, [H, c_char_p, c_char_p, c_void_p,
                                       c_size_t]),
    "jw_conn_request": (STATUS, [H, c_char_p, c_void_p, c_size_t, c_int64,
                                 POINTER(H)]),
    "jw_conn_request_start": (STATUS, [H, H, POINTER(c_uint64)]),
    "jw_conn_request_poll": (c_int, [H, POINTER(c_uint64), POINTER(c_int),
                                     POINTER(H)]),
    "jw_conn_flush": (STATUS, [H, c_int64]),
    "jw_conn_close": (STATUS, [H]),
    "jw_conn_free": (None, [H]),
    "jw_conn_is_connected": (c_int, [H]),
    "jw_conn_server_version": (STATUS, [H, c_char_p, c_size_t]),
    "jw_conn_jetstream_enabled": (c_int, [H]),
    "jw_conn_fd": (c_int, [H]),
    "jw_conn_fd_reset": (None, [H]),
    "jw_conn_next_event": (STATUS, [H, c_int64, POINTER(H)]),
    "jw_event_kind_get": (c_int, [H]),
    "jw_event_kind_name": (c_char_p, [c_int]),
    "jw_event_status": (STATUS, [H]),
    "jw_event_free": (None, [H]),
    # subscriptions
    "jw_conn_subscribe": (STATUS, [H, c_char_p, c_char_p, POINTER(H)]),
    "jw_conn_subscribe_cb": (STATUS, [H, c_char_p, c_char_p, MSG_CB,
                                      c_void_p, POINTER(H)]),
    "jw_sub_next": (STATUS, [H, c_int64, POINTER(H)]),
    "jw_sub_next_batch": (c_int, [H, POINTER(H), c_int, c_int64]),
    "jw_sub_delivered": (c_uint64, [H]),
    "jw_sub_subject": (c_char_p, [H]),
    "jw_sub_free": (None, [H]),
    # messages
    "jw_msg_new": (STATUS, [c_char_p, c_char_p, c_void_p, c_size_t,
                            POINTER(H)]),
    "jw_msg_header_add": (STATUS, [H, c_char_p, c_char_p]),
    "jw_msg_header_get": (STATUS, [H, c_char_p, c_int, POINTER(c_char_p)]),
    "jw_msg_free": (None, [H]),
    "jw_msg_subject": (c_char_p, [H]),
    "jw_msg_reply": (c_char_p, [H]),
    "jw_msg_data": (c_void_p, [H]),
    "jw_msg_data_len": (c_size_t, [H]),
    "jw_msg_respond": (STATUS, [H, c_void_p, c_size_t]),
    # JetStream
    "jw_js_new": (STATUS, [H, POINTER(H)]),
    "jw_js_set_str": (STATUS, [H, c_char_p, c_char_p]),
    "jw_js_free": (None, [H]),
    "jw_js_last_err_code": (c_int, []),
    "jw_js_stream_create_or_update": (STATUS, [H, c_char_p,
                                               POINTER(c_void_p)]),
    "jw_js_stream_info": (STATUS, [H, c_char_p, POINTER(c_void_p)]),
    "jw_js_stream_get_msg": (STATUS, [H, c_char_p, c_uint64, POINTER(H)]),
    "jw_js_stream_delete": (STATUS, [H, c_char_p]),
    "jw_js_publish": (STATUS, [H, c_char_p, c_void_p, c_size_t, H,
                               POINTER(H)]),
    "jw_js_pub_ack_stream": (c_char_p, [H]),
    "jw_js_pub_ack_seq": (c_uint64, [H]),
    "jw_js_pub_ack_duplicate": (c_int, [H]),
    "jw_js_pub_ack_free": (None, [H]),
}

TIMEOUT_MS = 5000


def _soname() -> str:
    """The soname the header's version gives (tests/install/soname.sh)."""
    return subprocess.run(
        ["bash", str(REPO / "tests" / "install" / "soname.sh")],
        capture_output=True, text=True, check=True).stdout.strip()


# ---------------------------------------------------------------------------
# Loading


def _built_library() -> Path:
    lib = build_dir() / _soname()
    if not lib.exists():
        pytest.fail(f"{lib} not found: build with cmake first "
                    "(JW_BUILD_DIR names the build directory)", pytrace=False)
    return lib


def _installed_library(prefix: Path) -> Path:
    """Install the build into prefix as a user would; a build without its
    install rule, or a failing install, fails the test."""
    cmake = shutil.which("cmake")
    if not cmake or not (build_dir() / "cmake_install.cmake").exists():
        pytest.fail(f"cannot install {build_dir()} (cmake, and a CMake "
                    "build directory, are needed)", pytrace=False)
    r = subprocess.run([cmake, "--install", str(build_dir()),
                        "--prefix", str(prefix)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"cmake --install failed:\n{r.stdout}{r.stderr}",
                    pytrace=False)
    found = sorted(prefix.glob(f"lib*/{_soname()}"))
    if not found:
        pytest.fail(f"no lib*/{_soname()} under {prefix}", pytrace=False)
    return found[0]


@pytest.fixture(scope="module")
def jw(tmp_path_factory):
    """libjetwire loaded with ctypes, every function of SIGNATURES declared.
    Nothing is ever unloaded: ctypes has no dlclose, and the engine's
    threads must not outlive the code they run."""
    _built_library()
    prefix = tmp_path_factory.mktemp("prefix")
    path = _installed_library(prefix)
    lib = ctypes.CDLL(str(path))
    for name, (restype, argtypes) in SIGNATURES.items():
        fn = getattr(lib, name)  # AttributeError: symbol not exported
        fn.restype = restype
        fn.argtypes = argtypes
    lib.path = path
    lib.prefix = prefix
    return lib


@pytest.fixture(scope="module")
def codes(jw):
    """Code name -> value, read from the engine (jw_status_name gives
    "UNKNOWN" for a value that is no code)."""
    table = {}
    for value in range(0, -1000, -1):
        name = jw.jw_status_name(value).decode()
        if name != "UNKNOWN":
            table[name] = value
    return table


class Api:
    """Small helpers over the raw calls: checking statuses, reading
    messages. They only shorten the test; each call is the C call."""

    def __init__(self, jw, codes):
        self.jw = jw
        self.codes = codes

    def ok(self, status: int, what: str) -> None:
        if status != self.codes["OK"]:
            raise AssertionError(
                f"{what}: {self.jw.jw_status_name(status).decode()}: "
                f"{self.jw.jw_last_error().decode()}")

    def name(self, status: int) -> str:
        return self.jw.jw_status_name(status).decode()

    def data(self, msg) -> bytes:
        n = self.jw.jw_msg_data_len(msg)
        return ctypes.string_at(self.jw.jw_msg_data(msg), n)

    def text(self, ptr: c_void_p) -> str:
        """JSON text handed out by the engine, copied, then released with
        jw_free."""
        try:
            return ctypes.string_at(ptr.value).decode()
        finally:
            self.jw.jw_free(ptr)

    def next_msg(self, sub, timeout_ms: int = TIMEOUT_MS):
        msg = H()
        self.ok(self.jw.jw_sub_next(sub, timeout_ms, byref(msg)),
                "jw_sub_next")
        assert msg.value
        return msg


@pytest.fixture
def api(jw, codes):
    return Api(jw, codes)


# ---------------------------------------------------------------------------
# Tests


@pytest.mark.server_independent
def test_ffi_library_and_status_names(jw, codes):
    assert jw.path.name == _soname()
    assert jw.prefix in jw.path.parents  # the installed copy, not the build
    assert re.fullmatch(rb"\d+\.\d+\.\d+.*", jw.jw_version())
    # The engine's names are contiguous from OK downwards and round-trip.
    assert codes["OK"] == 0
    assert sorted(codes.values(), reverse=True) == \
        list(range(0, -len(codes), -1))
    for name in ("TIMEOUT", "INVALID_SUBJECT", "INVALID_ARG",
                 "NO_RESPONDERS", "STREAM_NOT_FOUND", "CONNECTION_CLOSED"):
        assert name in codes
        assert jw.jw_strerror(codes[name])
    assert jw.jw_status_name(1) == b"UNKNOWN"


def test_ffi_pull_only(jw, api, codes, nats_server):
    url = nats_server.url.encode()
    conn = H()
    # Connect with NULL options.
    api.ok(jw.jw_conn_connect(url, None, byref(conn)), "jw_conn_connect")
    assert conn.value
    assert jw.jw_conn_is_connected(conn) == 1
    buf = ctypes.create_string_buffer(64)
    api.ok(jw.jw_conn_server_version(conn, buf, len(buf)), "server_version")
    assert re.fullmatch(rb"\d+\.\d+\.\d+.*", buf.value)

    # A mistake: an invalid subject, its name and its detail text.
    st = jw.jw_conn_publish(conn, b"a..b", b"x", 1)
    assert api.name(st) == "INVALID_SUBJECT"
    assert st == codes["INVALID_SUBJECT"]
    assert b"a..b" in jw.jw_last_error()
    # NULL out-pointer: INVALID_ARG, no crash.
    assert api.name(jw.jw_conn_subscribe(conn, b"x", None, None)) == \
        "INVALID_ARG"

    # Subscribe (pulled), publish, receive: subject, reply, data.
    sub = H()
    api.ok(jw.jw_conn_subscribe(conn, b"ffi.data.*", None, byref(sub)),
           "jw_conn_subscribe")
    assert jw.jw_sub_subject(sub) == b"ffi.data.*"
    api.ok(jw.jw_conn_flush(conn, TIMEOUT_MS), "jw_conn_flush")
    payload = bytes(range(256)) + b"\x00tail"
    api.ok(jw.jw_conn_publish(conn, b"ffi.data.one", payload, len(payload)),
           "jw_conn_publish")
    api.ok(jw.jw_conn_publish_reply(conn, b"ffi.data.two", b"ffi.back",
                                    b"", 0), "jw_conn_publish_reply")
    m1 = api.next_msg(sub)
    assert jw.jw_msg_subject(m1) == b"ffi.data.one"
    assert jw.jw_msg_reply(m1) is None
    assert api.data(m1) == payload
    m2 = api.next_msg(sub)
    assert jw.jw_msg_subject(m2) == b"ffi.data.two"
    assert jw.jw_msg_reply(m2) == b"ffi.back"
    assert api.data(m2) == b""
    jw.jw_msg_free(m1)
    jw.jw_msg_free(m2)
    # Nothing more: TIMEOUT at once with a zero timeout.
    msg = H()
    assert api.name(jw.jw_sub_next(sub, 0, byref(msg))) == "TIMEOUT"
    assert msg.value is None
    # A batch into a C array of handles.
    for i in range(3):
        api.ok(jw.jw_conn_publish(conn, b"ffi.data.batch", b"%d" % i, 1),
               "publish")
    arr = (H * 8)()
    got = []
    deadline = time.monotonic() + 5
    while len(got) < 3 and time.monotonic() < deadline:
        n = jw.jw_sub_next_batch(sub, arr, len(arr), TIMEOUT_MS)
        assert n > 0, api.name(n)
        for i in range(n):
            got.append(api.data(arr[i]))
            jw.jw_msg_free(arr[i])
    assert got == [b"0", b"1", b"2"]
    assert jw.jw_sub_delivered(sub) == 5

    # Request/reply, one thread: start the request, answer it from a pulled
    # subscription, then wait on the connection's fd and poll.
    svc = H()
    api.ok(jw.jw_conn_subscribe(conn, b"ffi.svc", None, byref(svc)),
           "subscribe svc")
    api.ok(jw.jw_conn_flush(conn, TIMEOUT_MS), "flush")
    req = H()
    api.ok(jw.jw_msg_new(b"ffi.svc", None, b"ping", 4, byref(req)),
           "jw_msg_new")
    api.ok(jw.jw_msg_header_add(req, b"Trace-Id", b"t-1"), "header_add")
    rid = c_uint64()
    api.ok(jw.jw_conn_request_start(conn, req, byref(rid)),
           "jw_conn_request_start")
    assert rid.value != 0
    jw.jw_msg_free(req)  # start copied what it sends
    incoming = api.next_msg(svc)
    assert api.data(incoming) == b"ping"
    assert jw.jw_msg_reply(incoming)  # the connection's inbox
    value = c_char_p()
    api.ok(jw.jw_msg_header_get(incoming, b"Trace-Id", 0, byref(value)),
           "header_get")
    assert value.value == b"t-1"
    api.ok(jw.jw_msg_respond(incoming, b"pong", 4), "jw_msg_respond")
    jw.jw_msg_free(incoming)

    fd = jw.jw_conn_fd(conn)
    assert fd >= 0
    done_id, done_status, reply = c_uint64(), c_int(), H()
    deadline = time.monotonic() + 5
    taken = 0
    while not taken and time.monotonic() < deadline:
        readable, _, _ = select.select([fd], [], [], 0.5)
        if readable:
            jw.jw_conn_fd_reset(conn)
        taken = jw.jw_conn_request_poll(conn, byref(done_id),
                                        byref(done_status), byref(reply))
        assert taken >= 0, api.name(taken)
    assert taken == 1, "no completion within 5 s"
    assert done_id.value == rid.value
    assert api.name(done_status.value) == "OK"
    assert api.data(reply) == b"pong"
    jw.jw_msg_free(reply)
    assert jw.jw_conn_request_poll(conn, byref(done_id), byref(done_status),
                                   byref(reply)) == 0

    # Request/reply, two threads: a blocking jw_conn_request (ctypes lets
    # the GIL go during the call) answered from this thread.
    result = {}

    def requester():
        r = H()
        result["status"] = jw.jw_conn_request(conn, b"ffi.svc", b"hello", 5,
                                              TIMEOUT_MS, byref(r))
        if r.value:
            result["data"] = api.data(r)
            jw.jw_msg_free(r)

    t = threading.Thread(target=requester)
    t.start()
    incoming = api.next_msg(svc)
    assert api.data(incoming) == b"hello"
    api.ok(jw.jw_msg_respond(incoming, b"HELLO", 5), "jw_msg_respond")
    jw.jw_msg_free(incoming)
    t.join(10)
    assert not t.is_alive()
    assert api.name(result["status"]) == "OK"
    assert result["data"] == b"HELLO"
    # Nobody listens: NO_RESPONDERS.
    r = H()
    st = jw.jw_conn_request(conn, b"ffi.nobody", b"", 0, TIMEOUT_MS, byref(r))
    assert api.name(st) == "NO_RESPONDERS"
    assert r.value is None

    # JetStream: a stream from a JSON config (durations in ms), a publish
    # with its PubAck, the stored message read back.
    assert jw.jw_conn_jetstream_enabled(conn) == 1
    js = H()
    api.ok(jw.jw_js_new(conn, byref(js)), "jw_js_new")
    config = {"name": "FFI", "subjects": ["ffi.js.>"], "storage": "memory",
              "max_age": 60000, "duplicate_window": 2000}
    info = c_void_p()
    api.ok(jw.jw_js_stream_create_or_update(js, json.dumps(config).encode(),
                                            byref(info)),
           "jw_js_stream_create_or_update")
    cfg = json.loads(api.text(info))["config"]
    assert cfg["name"] == "FFI"
    assert cfg["subjects"] == ["ffi.js.>"]
    assert cfg["max_age"] == 60000  # milliseconds back, as sent
    assert cfg["duplicate_window"] == 2000

    ack = H()
    body = b'{"order": 1}'
    api.ok(jw.jw_js_publish(js, b"ffi.js.orders", body, len(body), None,
                            byref(ack)), "jw_js_publish")
    assert jw.jw_js_pub_ack_stream(ack) == b"FFI"
    assert jw.jw_js_pub_ack_seq(ack) == 1
    assert jw.jw_js_pub_ack_duplicate(ack) == 0
    jw.jw_js_pub_ack_free(ack)
    # The ack is optional (NULL).
    api.ok(jw.jw_js_publish(js, b"ffi.js.orders", b"2", 1, None, None),
           "jw_js_publish without ack")
    stored = H()
    api.ok(jw.jw_js_stream_get_msg(js, b"FFI", 1, byref(stored)),
           "jw_js_stream_get_msg")
    assert jw.jw_msg_subject(stored) == b"ffi.js.orders"
    assert api.data(stored) == body
    jw.jw_msg_free(stored)

    # The same stream seen through a context whose unit is seconds.
    js_s = H()
    api.ok(jw.jw_js_new(conn, byref(js_s)), "jw_js_new (s)")
    api.ok(jw.jw_js_set_str(js_s, b"duration_unit", b"s"), "duration_unit")
    info = c_void_p()
    api.ok(jw.jw_js_stream_info(js_s, b"FFI", byref(info)),
           "jw_js_stream_info")
    doc = json.loads(api.text(info))
    assert doc["config"]["max_age"] == 60
    assert doc["config"]["duplicate_window"] == 2
    assert doc["state"]["messages"] == 2
    jw.jw_js_free(js_s)

    # A JetStream error: its status name, the server's err_code and text.
    info = c_void_p()
    st = jw.jw_js_stream_info(js, b"NOPE", byref(info))
    assert api.name(st) == "STREAM_NOT_FOUND"
    assert info.value is None
    assert jw.jw_js_last_err_code() == 10059
    assert b"not found" in jw.jw_last_error()
    api.ok(jw.jw_js_stream_delete(js, b"FFI"), "jw_js_stream_delete")

    # Events are pulled too: close, then the CLOSED event.
    api.ok(jw.jw_conn_close(conn), "jw_conn_close")
    kinds = []
    ev = H()
    while True:
        st = jw.jw_conn_next_event(conn, TIMEOUT_MS, byref(ev))
        if st != codes["OK"]:
            assert api.name(st) in ("CONNECTION_CLOSED", "TIMEOUT")
            break
        kinds.append(jw.jw_event_kind_name(jw.jw_event_kind_get(ev)).decode())
        jw.jw_event_free(ev)
        if kinds[-1] == "CLOSED":
            break
    assert kinds and kinds[-1] == "CLOSED"
    assert jw.jw_conn_is_connected(conn) == 0
    # A closed connection's subscription says so.
    msg = H()
    assert api.name(jw.jw_sub_next(sub, 0, byref(msg))) in (
        "CONNECTION_CLOSED", "INVALID_SUBSCRIPTION")

    # Free everything, children first; the _free calls accept NULL.
    jw.jw_js_free(js)
    jw.jw_sub_free(svc)
    jw.jw_sub_free(sub)
    jw.jw_conn_free(conn)
    for free in (jw.jw_msg_free, jw.jw_sub_free, jw.jw_js_free,
                 jw.jw_conn_free, jw.jw_js_pub_ack_free, jw.jw_free,
                 jw.jw_event_free):
        free(None)


def test_ffi_callbacks(jw, api, codes, nats_server):
    """Handlers are C function pointers the engine calls from its own
    threads: ctypes takes the GIL in them. The CFUNCTYPE objects must stay
    referenced as long as the engine may call them."""
    got: queue.Queue = queue.Queue()
    closed = threading.Event()

    @MSG_CB
    def on_msg(sub, msg, arg):
        # The message belongs to the handler.
        got.put((jw.jw_msg_subject(msg), api.data(msg),
                 threading.get_ident()))
        jw.jw_msg_free(msg)

    @EVENT_CB
    def on_closed(conn, ev, arg):
        if jw.jw_event_kind_name(jw.jw_event_kind_get(ev)) == b"CLOSED":
            closed.set()

    opts = H()
    api.ok(jw.jw_opts_new(byref(opts)), "jw_opts_new")
    api.ok(jw.jw_opts_set_callback(opts, b"closed_cb", on_closed, None),
           "jw_opts_set_callback")
    conn = H()
    api.ok(jw.jw_conn_connect(nats_server.url.encode(), opts, byref(conn)),
           "jw_conn_connect")
    jw.jw_opts_free(opts)  # connect copied it
    sub = H()
    api.ok(jw.jw_conn_subscribe_cb(conn, b"ffi.cb", None, on_msg, None,
                                   byref(sub)), "jw_conn_subscribe_cb")
    api.ok(jw.jw_conn_flush(conn, TIMEOUT_MS), "flush")
    for i in range(10):
        api.ok(jw.jw_conn_publish(conn, b"ffi.cb", b"m%d" % i, 2), "publish")
    seen = [got.get(timeout=5) for _ in range(10)]
    assert [d for _, d, _ in seen] == [b"m%d" % i for i in range(10)]
    assert all(s == b"ffi.cb" for s, _, _ in seen)
    # Run on the engine's delivery thread, never on the test's.
    assert threading.get_ident() not in {t for _, _, t in seen}

    jw.jw_sub_free(sub)  # waits for a running handler
    jw.jw_conn_free(conn)
    assert closed.wait(5)
