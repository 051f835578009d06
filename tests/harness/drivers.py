"""Driver processes speaking tests/drivers/PROTOCOL.md, one per language.

A Driver sends one JSON request per line and reads the responses on a
reader thread, so a hung or dead driver fails the test instead of hanging
it. Methods mirror the protocol's ops; an ok:false response raises
DriverError(code, message).
"""
from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[2]
DRIVERS_DIR = REPO / "tests" / "drivers"

# How long the harness waits for a response beyond the op's own timeout.
GRACE = 15.0
DEFAULT_WAIT = 30.0


def build_dir() -> Path:
    path = Path(os.environ.get("JW_BUILD_DIR", "build"))
    return path if path.is_absolute() else REPO / path


@dataclass(frozen=True)
class Language:
    name: str
    argv: list[str]
    marker: Path  # the driver is available when this file exists
    always: bool = False  # C: listed even if not built, so a missing build fails


def languages() -> dict[str, Language]:
    c_bin = build_dir() / "tests" / "drivers" / "jw_c_driver"
    py = DRIVERS_DIR / "py_driver.py"
    lua = DRIVERS_DIR / "lua_driver.lua"
    return {
        "c": Language("c", [str(c_bin)], c_bin, always=True),
        "python": Language("python", [sys.executable, str(py)], py),
        "lua": Language("lua", ["lua5.4", str(lua)], lua),
    }


def available_languages() -> list[str]:
    """Languages whose driver exists (C always: a missing build is a
    failure, not a skip). JW_LANGS=c,python restricts the set."""
    langs = languages()
    names = [n for n, lang in langs.items() if lang.always or lang.marker.exists()]
    wanted = os.environ.get("JW_LANGS")
    if wanted:
        chosen = [w.strip() for w in wanted.split(",") if w.strip()]
        unknown = [w for w in chosen if w not in langs]
        if unknown:
            raise ValueError(f"JW_LANGS names unknown languages: {unknown}")
        names = [n for n in names if n in chosen]
    return names


def language_pairs() -> list[tuple[str, str]]:
    """Ordered pairs of distinct available languages; (c, c) when there is
    only one language, so the pair tests still run."""
    names = available_languages()
    pairs = [(a, b) for a in names for b in names if a != b]
    if not pairs and names:
        pairs = [(names[0], names[0])]
    return pairs


class DriverError(Exception):
    """An ok:false response: code is the shared code name."""

    def __init__(self, code: str, message: str, op: str = ""):
        super().__init__(f"{op}: {code}: {message}" if op else f"{code}: {message}")
        self.code = code
        self.message = message
        self.op = op


class DriverFailure(AssertionError):
    """The driver broke the protocol: died, hung, wrote garbage."""


@dataclass
class Msg:
    subject: str
    reply: str | None
    data: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    status: int = 0

    @classmethod
    def from_wire(cls, obj: dict) -> "Msg":
        try:
            return cls(subject=obj["subject"], reply=obj["reply"],
                        data=b64d(obj["data"]),
                        headers=[(n, v) for n, v in obj["headers"]],
                        status=obj["status"])
        except (KeyError, TypeError, ValueError) as e:
            raise DriverFailure(f"malformed message {obj!r}: {e}") from e

    def header(self, name: str) -> str | None:
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def header_values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name]


@dataclass
class JsMsg:
    """A message taken by fetch: the message, its driver handle (for the
    ack ops) and its JetStream metadata (stream, consumer, num_delivered,
    stream_seq, consumer_seq, num_pending, timestamp)."""
    msg: Msg
    handle: int
    metadata: dict

    @classmethod
    def from_wire(cls, obj: dict) -> "JsMsg":
        try:
            return cls(Msg.from_wire(obj), obj["handle"], obj["metadata"])
        except (KeyError, TypeError) as e:
            raise DriverFailure(
                f"malformed fetched message {obj!r}: {e}") from e

    @property
    def data(self) -> bytes:
        return self.msg.data

    @property
    def seq(self) -> int:
        """The stream sequence."""
        return self.metadata["stream_seq"]

    @property
    def delivered(self) -> int:
        return self.metadata["num_delivered"]


def headers_by_name(headers) -> dict[str, list[str]]:
    """Header values grouped by exact name, in order per name. Languages
    whose API takes headers as a mapping (Python) keep the order of the
    values of a name but not the interleaving of different names, so
    scenarios compare headers this way."""
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return out


def b64e(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def b64d(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def value_to_wire(value: Any) -> Any:
    """Python value -> the protocol's JSON form ({"$bin": ...} for bytes)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bin": b64e(bytes(value))}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"map keys must be str, got {k!r}")
            out[k] = value_to_wire(v)
        return out
    if isinstance(value, (list, tuple)):
        return [value_to_wire(v) for v in value]
    return value


def value_from_wire(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("$bin"), str):
            return b64d(value["$bin"])
        return {k: value_from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [value_from_wire(v) for v in value]
    return value


class Pending:
    """A request sent and not yet answered."""

    def __init__(self, driver: "Driver", rid: int, op: str, wait: float):
        self.driver, self.id, self.op, self.wait = driver, rid, op, wait
        self._response: dict | None = None

    def response(self, wait: float | None = None) -> dict:
        if self._response is None:
            self._response = self.driver._wait_for(self.id, self.op,
                                                   wait if wait is not None else self.wait)
        return self._response

    def msg(self, wait: float | None = None) -> "Msg":
        """The `msg` result (of a request or respond_next)."""
        return Msg.from_wire(self.result(wait)["msg"])

    def result(self, wait: float | None = None) -> dict:
        resp = self.response(wait)
        if resp.get("ok") is True:
            return resp
        if resp.get("ok") is False:
            raise DriverError(str(resp.get("code")), str(resp.get("message", "")),
                              self.op)
        raise DriverFailure(f"{self.driver}: response without ok: {resp!r}")


class Driver:
    def __init__(self, lang: str, log_dir: Path, label: str | None = None):
        langs = languages()
        if lang not in langs:
            raise ValueError(f"unknown language {lang!r}")
        self.lang = lang
        self.label = label or lang
        spec = langs[lang]
        if not spec.marker.exists():
            raise DriverFailure(
                f"{lang} driver not found at {spec.marker}"
                + (" (build it: cmake -S . -B build && cmake --build build;"
                   " JW_BUILD_DIR selects the build directory)"
                   if lang == "c" else ""))
        log_dir = Path(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"driver-{self.label}.stderr"
        env = dict(os.environ)
        env["JW_BUILD_DIR"] = str(build_dir())
        self.env = _driver_env(env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._stderr = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(
                spec.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._stderr, cwd=str(REPO), env=env, bufsize=0)
        except OSError as e:
            self._stderr.close()
            raise DriverFailure(f"cannot start {lang} driver {spec.argv}: {e}") from e
        self._lines: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True,
                                         name=f"driver-{self.label}")
        self._reader.start()
        self._next_id = 1
        self._early: dict[int, dict] = {}
        self._dead = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Driver {self.label} pid={self.proc.pid}>"

    # -- transport -------------------------------------------------------
    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                self._lines.put(line)
        except (OSError, ValueError):
            pass
        self._lines.put(None)

    def stderr_tail(self, limit: int = 4000) -> str:
        try:
            if not self._stderr.closed:
                self._stderr.flush()
            text = self.stderr_path.read_bytes()[-limit:]
            return text.decode(errors="replace")
        except OSError:
            return ""

    def _broken(self, why: str) -> DriverFailure:
        self._dead = True
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        tail = self.stderr_tail()
        return DriverFailure(
            f"{self}: {why} (exit status {self.proc.returncode})"
            + (f"\n--- driver stderr ---\n{tail}" if tail else ""))

    def send_line(self, line: str) -> None:
        """Write one raw line (for protocol robustness tests)."""
        if self._dead:
            raise DriverFailure(f"{self} is no longer usable")
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as e:
            raise self._broken(f"cannot write to the driver: {e}")

    def read_response(self, wait: float = DEFAULT_WAIT) -> dict:
        """The next response line, whatever its id."""
        try:
            line = self._lines.get(timeout=max(wait, 0.0))
        except queue.Empty:
            raise self._broken(f"no response within {wait:.1f} s") from None
        if line is None:
            self._lines.put(None)  # stay at EOF for later readers
            raise self._broken("driver closed its output")
        try:
            obj = json.loads(line)
        except ValueError:
            raise self._broken(f"not a JSON line: {line[:200]!r}") from None
        if not isinstance(obj, dict):
            raise self._broken(f"response is not an object: {line[:200]!r}")
        return obj

    def _wait_for(self, rid: int, op: str, wait: float) -> dict:
        if rid in self._early:
            return self._early.pop(rid)
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._broken(f"no response to {op} (id {rid}) within "
                                   f"{wait:.1f} s")
            try:
                obj = self.read_response(left)
            except DriverFailure as e:
                raise DriverFailure(f"waiting for {op} (id {rid}): {e}") from None
            got = obj.get("id")
            if got == rid:
                return obj
            if not isinstance(got, int) or got > rid:
                raise self._broken(f"response out of order waiting for id "
                                   f"{rid}: {obj!r}")
            self._early[got] = obj

    def send(self, op: str, *, _wait: float | None = None, **args: Any) -> Pending:
        """Send a request without waiting; .result() waits for it. The
        harness-side wait is _wait, or the op's timeout + GRACE, or 30 s."""
        rid = self._next_id
        self._next_id += 1
        req = {"id": rid, "op": op}
        # None means "argument absent", except for a structured value,
        # where it is nil.
        req.update({k: v for k, v in args.items()
                    if v is not None or k == "value"})
        if _wait is None:
            t = args.get("timeout")
            _wait = (t + GRACE) if isinstance(t, (int, float)) and t >= 0 else DEFAULT_WAIT
        self.send_line(json.dumps(req, separators=(",", ":")))
        return Pending(self, rid, op, _wait)

    def call(self, op: str, *, _wait: float | None = None, **args: Any) -> dict:
        return self.send(op, _wait=_wait, **args).result()

    # -- lifecycle -------------------------------------------------------
    def quit(self, wait: float = 20.0) -> int:
        """Send quit, wait for the exit; the exit status (0 expected)."""
        if self._dead:
            return self.proc.returncode if self.proc.returncode is not None else -1
        try:
            self.call("quit", _wait=wait)
            self.proc.stdin.close()
            self.proc.wait(timeout=wait)
        except (DriverFailure, DriverError, subprocess.TimeoutExpired, OSError):
            self.kill()
        self._dead = True
        self._stderr.close()
        return self.proc.returncode

    def kill(self) -> None:
        self._dead = True
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass

    # -- ops ---------------------------------------------------------------
    def version(self) -> dict:
        return self.call("version")

    def free(self, handle: int) -> None:
        self.call("free", handle=handle)

    def connect(self, url: str, **options: Any) -> int:
        return self.call("connect", url=url, options=options)["conn"]

    def close(self, conn: int) -> None:
        self.call("close", conn=conn)

    def drain(self, conn: int, timeout: float | None = None) -> None:
        self.call("drain", conn=conn, timeout=timeout,
                  _wait=(timeout if timeout and timeout > 0 else 30.0) + GRACE)

    def flush(self, conn: int, timeout: float = 5.0) -> None:
        self.call("flush", conn=conn, timeout=timeout)

    def rtt(self, conn: int) -> float:
        return self.call("rtt", conn=conn)["rtt"]

    def status(self, conn: int) -> str:
        return self.call("status", conn=conn)["status"]

    def server_info(self, conn: int) -> dict:
        return self.call("server_info", conn=conn)

    def stats(self, conn: int) -> dict:
        return self.call("stats", conn=conn)

    def servers(self, conn: int) -> dict:
        """{"servers": [...], "discovered": [...]}: the server pool."""
        return self.call("servers", conn=conn)

    def next_event(self, conn: int, timeout: float = 5.0) -> dict:
        return self.call("next_event", conn=conn, timeout=timeout)["event"]

    def publish(self, conn: int, subject: str, data: bytes = b"",
                reply: str | None = None,
                headers: list[tuple[str, str]] | None = None) -> None:
        self.call("publish", conn=conn, subject=subject, data=b64e(data),
                  reply=reply,
                  headers=None if headers is None else [list(h) for h in headers])

    def publish_packed(self, conn: int, subject: str, value: Any) -> None:
        self.call("publish_packed", conn=conn, subject=subject,
                  value=value_to_wire(value))

    def publish_many(self, conn: int, subject: str, count: int, size: int,
                     wait: float = 120.0, start: int | None = None) -> int:
        """start: the first sequence number (absent: 0)."""
        return self.call("publish_many", conn=conn, subject=subject,
                         count=count, size=size, start=start,
                         _wait=wait)["published"]

    def request(self, conn: int, subject: str, data: bytes = b"",
                headers: list[tuple[str, str]] | None = None,
                timeout: float = 5.0) -> Msg:
        r = self.call("request", conn=conn, subject=subject, data=b64e(data),
                      headers=None if headers is None else [list(h) for h in headers],
                      timeout=timeout)
        return Msg.from_wire(r["msg"])

    def request_async(self, conn: int, subject: str, data: bytes = b"",
                      headers: list[tuple[str, str]] | None = None,
                      timeout: float = 5.0) -> Pending:
        """Send a request op without waiting for it: .msg() gives the
        reply. Lets another driver answer meanwhile."""
        return self.send("request", conn=conn, subject=subject, data=b64e(data),
                         headers=None if headers is None else [list(h) for h in headers],
                         timeout=timeout)

    def publish_many_async(self, conn: int, subject: str, count: int,
                           size: int, wait: float = 120.0,
                           start: int | None = None) -> Pending:
        return self.send("publish_many", conn=conn, subject=subject,
                         count=count, size=size, start=start, _wait=wait)

    def subscribe(self, conn: int, subject: str, queue: str | None = None,
                  pending_msgs_limit: int | None = None,
                  pending_bytes_limit: int | None = None) -> int:
        return self.call("subscribe", conn=conn, subject=subject, queue=queue,
                         pending_msgs_limit=pending_msgs_limit,
                         pending_bytes_limit=pending_bytes_limit)["sub"]

    def unsubscribe(self, sub: int) -> None:
        self.call("unsubscribe", sub=sub)

    def auto_unsubscribe(self, sub: int, max: int) -> None:
        self.call("auto_unsubscribe", sub=sub, max=max)

    def sub_drain(self, sub: int) -> None:
        self.call("sub_drain", sub=sub)

    def next_msg(self, sub: int, timeout: float = 5.0) -> Msg:
        return Msg.from_wire(self.call("next_msg", sub=sub, timeout=timeout)["msg"])

    def next_msgs(self, sub: int, max: int, timeout: float = 5.0) -> list[Msg]:
        r = self.call("next_msgs", sub=sub, max=max, timeout=timeout)
        return [Msg.from_wire(m) for m in r["msgs"]]

    def pending(self, sub: int) -> dict:
        return self.call("pending", sub=sub)

    def receive_count(self, sub: int, count: int, timeout: float = 60.0,
                      ordered: bool = False) -> dict:
        return self.call("receive_count", sub=sub, count=count,
                         timeout=timeout, ordered=ordered)

    def respond_next(self, sub: int, data: bytes = b"",
                     headers: list[tuple[str, str]] | None = None,
                     timeout: float = 5.0) -> Msg:
        r = self.call("respond_next", sub=sub, data=b64e(data),
                      headers=None if headers is None else [list(h) for h in headers],
                      timeout=timeout)
        return Msg.from_wire(r["msg"])

    def serve(self, conn: int, subject: str, count: int, mode: str = "echo",
              queue: str | None = None) -> int:
        return self.call("serve", conn=conn, subject=subject, count=count,
                         mode=mode, queue=queue)["sub"]

    # -- services ------------------------------------------------------------
    def service_add(self, conn: int, **config: Any) -> tuple[int, str]:
        """A service from config (name, version, ...): (handle, its id)."""
        r = self.call("service_add", conn=conn, config=config)
        return r["service"], r["service_id"]

    def service_group(self, service: int, group: int | None = None,
                      **config: Any) -> int:
        return self.call("service_group", service=service, group=group,
                         config=config)["group"]

    def service_endpoint(self, service: int, group: int | None = None,
                         mode: str = "echo", **config: Any) -> dict:
        """{name, subject, queue_group} of the endpoint added."""
        r = self.call("service_endpoint", service=service, group=group,
                      mode=mode, config=config)
        return {k: r[k] for k in ("name", "subject", "queue_group")}

    def service_info(self, service: int) -> dict:
        return self.call("service_info", service=service)["info"]

    def service_stats(self, service: int) -> dict:
        return self.call("service_stats", service=service)["stats"]

    def service_reset(self, service: int) -> None:
        self.call("service_reset", service=service)

    def service_stop(self, service: int, timeout: float = 5.0) -> bool:
        return self.call("service_stop", service=service,
                         timeout=timeout)["stopped"]

    def service_discover(self, conn: int, verb: str, name: str | None = None,
                         service_id: str | None = None, timeout: float = 1.0,
                         max: int | None = None) -> list[dict]:
        return self.call("service_discover", conn=conn, verb=verb, name=name,
                         service_id=service_id, timeout=timeout,
                         max=max)["responses"]

    def pack(self, value: Any) -> bytes:
        return b64d(self.call("pack", value=value_to_wire(value))["data"])

    def unpack(self, data: bytes) -> Any:
        return value_from_wire(self.call("unpack", data=b64e(data))["value"])


    # -- JetStream ---------------------------------------------------------
    def jetstream(self, conn: int, timeout: float | None = None,
                  domain: str | None = None) -> int:
        return self.call("jetstream", conn=conn, timeout=timeout,
                         domain=domain)["js"]

    def stream_add(self, js: int, **config: Any) -> dict:
        """config: StreamConfig fields, durations in seconds."""
        return self.call("stream_add", js=js, config=config)["info"]

    def stream_update(self, js: int, **config: Any) -> dict:
        return self.call("stream_update", js=js, config=config)["info"]

    def stream_info(self, js: int, stream: str) -> dict:
        return self.call("stream_info", js=js, stream=stream)["info"]

    def js_api_level(self, js: int) -> int:
        return self.call("js_api_level", js=js)["level"]

    def stream_delete(self, js: int, stream: str) -> None:
        self.call("stream_delete", js=js, stream=stream)

    def stream_purge(self, js: int, stream: str, subject: str | None = None,
                     seq: int | None = None, keep: int | None = None) -> int:
        return self.call("stream_purge", js=js, stream=stream,
                         subject=subject, seq=seq, keep=keep)["purged"]

    def stream_get_msg(self, js: int, stream: str, seq: int) -> dict:
        """{"subject", "data" (bytes), "seq"} of a stored message."""
        r = self.call("stream_get_msg", js=js, stream=stream, seq=seq)
        return {"subject": r["subject"], "data": b64d(r["data"]),
                "seq": r["seq"]}

    def js_publish(self, js: int, subject: str, data: bytes = b"",
                   headers: list[tuple[str, str]] | None = None,
                   timeout: float | None = None, **options: Any) -> dict:
        """options: msg_id, expected_stream, expected_last_seq, ...;
        returns the PubAck {"stream", "seq", "duplicate"}."""
        r = self.call("js_publish", js=js, subject=subject, data=b64e(data),
                      headers=None if headers is None else [list(h) for h in headers],
                      timeout=timeout, **options)
        return _ack(r)

    def atomic_batch(self, js: int) -> tuple[int, str]:
        """A new atomic batch: (handle, id)."""
        r = self.call("atomic_batch", js=js)
        return r["batch"], r["batch_id"]

    def batch_add(self, batch: int, subject: str, data: bytes = b"",
                  headers: list[tuple[str, str]] | None = None,
                  **options: Any) -> int:
        """Add a message; the batch's count after it."""
        return self.call("batch_add", batch=batch, subject=subject,
                         data=b64e(data),
                         headers=None if headers is None
                         else [list(h) for h in headers], **options)["count"]

    def batch_commit(self, batch: int, subject: str | None = None,
                     data: bytes = b"",
                     headers: list[tuple[str, str]] | None = None,
                     **options: Any) -> dict:
        """Commit (subject None: without a message of its own); the
        PubAck."""
        args = dict(options)
        if subject is not None:
            args.update(subject=subject, data=b64e(data))
        if headers is not None:
            args["headers"] = [list(h) for h in headers]
        return _ack(self.call("batch_commit", batch=batch, **args))

    def batch_close(self, batch: int) -> None:
        self.call("batch_close", batch=batch)

    def fast_batch(self, js: int, **options: Any) -> int:
        """A fast-ingest batch (2.14); options: the engine's "fast"
        options (flow, gap, max_outstanding_acks, timeout)."""
        return self.call("fast_batch", js=js, **options)["fast"]

    def fast_add(self, fast: int, subject: str, data: bytes = b"",
                 headers: list[tuple[str, str]] | None = None,
                 **options: Any) -> int:
        """Add a message; its batch sequence."""
        return self.call("fast_add", fast=fast, subject=subject,
                         data=b64e(data),
                         headers=None if headers is None
                         else [list(h) for h in headers], **options)["seq"]

    def fast_commit(self, fast: int, subject: str | None = None,
                    data: bytes = b"") -> dict:
        """End the batch (subject None: without a message); the PubAck."""
        args = {} if subject is None else {"subject": subject,
                                           "data": b64e(data)}
        return _ack(self.call("fast_commit", fast=fast, **args))

    def fast_errors(self, fast: int) -> tuple[list[dict], int]:
        """(errors and gaps reported since the last call, acked)."""
        r = self.call("fast_errors", fast=fast)
        return r["errors"], r["acked"]

    def fast_close(self, fast: int) -> None:
        self.call("fast_close", fast=fast)

    def publish_batch(self, js: int, msgs: list[tuple[str, bytes]],
                      **options: Any) -> dict:
        """Publish msgs as one fast-ingest batch; the final PubAck."""
        return _ack(self.call("publish_batch", js=js,
                              msgs=[[s, b64e(d)] for s, d in msgs],
                              **options))

    # -- object store (ADR-20) --

    def obs_create(self, js: int, **config: Any) -> int:
        """Create or update an object store bucket; its handle."""
        return self.call("obs_create", js=js, config=config)["obs"]

    def obs_bind(self, js: int, bucket: str) -> int:
        return self.call("obs_bind", js=js, bucket=bucket)["obs"]

    def obs_delete_bucket(self, js: int, bucket: str) -> None:
        self.call("obs_delete_bucket", js=js, bucket=bucket)

    def obs_put(self, obs: int, name: str, data: bytes,
                stream: bool = False, **meta: Any) -> dict:
        """Put an object (stream: through the streaming form); meta:
        description, metadata, chunk_size. Its info."""
        return self.call("obs_put", obs=obs, name=name, data=b64e(data),
                         stream=stream, **meta)["info"]

    def obs_get(self, obs: int, name: str,
                piece: int | None = None) -> tuple[bytes, dict]:
        """(data, info); piece: read through the reader, piece bytes at a
        time."""
        args = {} if piece is None else {"piece": piece}
        r = self.call("obs_get", obs=obs, name=name, **args)
        return b64d(r["data"]), r["info"]

    def obs_info(self, obs: int, name: str,
                 show_deleted: bool = False) -> dict:
        return self.call("obs_info", obs=obs, name=name,
                         show_deleted=show_deleted)["info"]

    def obs_list(self, obs: int, show_deleted: bool = False) -> list[dict]:
        return self.call("obs_list", obs=obs,
                         show_deleted=show_deleted)["infos"]

    def obs_delete(self, obs: int, name: str) -> None:
        self.call("obs_delete", obs=obs, name=name)

    def obs_update_meta(self, obs: int, name: str, meta: dict) -> None:
        """meta: the new name, description, metadata."""
        self.call("obs_update_meta", obs=obs, name=name, meta=meta)

    def obs_link(self, obs: int, name: str, target: int,
                 target_name: str | None = None) -> dict:
        args = {} if target_name is None else {"target_name": target_name}
        return self.call("obs_link", obs=obs, name=name, target=target,
                         **args)["info"]

    def obs_status(self, obs: int) -> dict:
        return self.call("obs_status", obs=obs)["status"]

    def counter_add(self, js: int, subject: str, delta: int | str) -> int:
        """Add delta; the new total (an int of any size)."""
        return int(self.call("counter_add", js=js, subject=subject,
                             delta=str(delta))["value"])

    def counter_get(self, js: int, stream: str, subject: str) -> dict:
        """The entry {"subject", "val", "incr", "sources"}, numbers as
        decimal text."""
        return self.call("counter_get", js=js, stream=stream,
                         subject=subject)["entry"]

    def counter_get_many(self, js: int, stream: str,
                         subjects: list[str]) -> list[dict]:
        return self.call("counter_get_many", js=js, stream=stream,
                         subjects=subjects)["entries"]

    def consumer_add(self, js: int, stream: str,
                     action: Optional[str] = None, **config: Any) -> int:
        """Create or update a consumer; config: ConsumerConfig fields,
        durations in seconds; action "create" or "update" for only one of
        the two. Returns the consumer handle."""
        extra = {"action": action} if action else {}
        return self.call("consumer_add", js=js, stream=stream,
                         config=config, **extra)["consumer"]

    def consumer_get(self, js: int, stream: str, name: str) -> int:
        return self.call("consumer_get", js=js, stream=stream,
                         name=name)["consumer"]

    def consumer_info(self, js: int, stream: str, name: str) -> dict:
        return self.call("consumer_info", js=js, stream=stream,
                         name=name)["info"]

    def consumer_delete(self, js: int, stream: str, name: str) -> None:
        self.call("consumer_delete", js=js, stream=stream, name=name)

    def consumer_pause(self, js: int, stream: str, name: str,
                       until: float) -> dict:
        """Pause until `until` (seconds since the epoch)."""
        return self.call("consumer_pause", js=js, stream=stream, name=name,
                         until=until)["pause"]

    def consumer_resume(self, js: int, stream: str, name: str) -> dict:
        return self.call("consumer_resume", js=js, stream=stream,
                         name=name)["pause"]

    def consumer_reset(self, js: int, stream: str, name: str,
                       seq: int = 0) -> dict:
        """Reset the consumer's delivery state (2.14); its info after."""
        return self.call("consumer_reset", js=js, stream=stream, name=name,
                         seq=seq)["info"]

    def consumer_unpin(self, js: int, stream: str, name: str,
                       group: str) -> None:
        self.call("consumer_unpin", js=js, stream=stream, name=name,
                  group=group)

    def fetch(self, consumer: int, batch: int, timeout: float = 5.0,
              no_wait: bool | None = None, **options: Any) -> list[JsMsg]:
        """options: the engine's other fetch options (group, ...)."""
        r = self.call("fetch", consumer=consumer, batch=batch,
                      timeout=timeout, no_wait=no_wait, **options)
        return [JsMsg.from_wire(m) for m in r["msgs"]]

    def ack(self, msg: JsMsg | int) -> None:
        self.call("ack", msg=_msg_handle(msg))

    def ack_sync(self, msg: JsMsg | int, timeout: float = 5.0) -> None:
        self.call("ack_sync", msg=_msg_handle(msg), timeout=timeout)

    def nak(self, msg: JsMsg | int, delay: float | None = None) -> None:
        self.call("nak", msg=_msg_handle(msg), delay=delay)

    def term(self, msg: JsMsg | int, reason: str | None = None) -> None:
        self.call("term", msg=_msg_handle(msg), reason=reason)

    def in_progress(self, msg: JsMsg | int) -> None:
        self.call("in_progress", msg=_msg_handle(msg))

    # -- Key-Value (PROTOCOL.md "Key-Value") ---------------------------------

    def kv_bucket_create(self, js: int, update: bool = False,
                         **config: Any) -> int:
        """config: bucket, history, ttl (seconds), storage, ..."""
        return self.call("kv_bucket_create", js=js, config=config,
                         update=update)["kv"]

    def kv_bucket(self, js: int, bucket: str) -> int:
        return self.call("kv_bucket", js=js, bucket=bucket)["kv"]

    def kv_bucket_delete(self, js: int, bucket: str) -> None:
        self.call("kv_bucket_delete", js=js, bucket=bucket)

    def kv_bucket_names(self, js: int) -> list[str]:
        return self.call("kv_bucket_names", js=js)["names"]

    def kv_bucket_statuses(self, js: int) -> list[dict]:
        return self.call("kv_bucket_statuses", js=js)["statuses"]

    def kv_status(self, kv: int) -> dict:
        return self.call("kv_status", kv=kv)["status"]

    def kv_put(self, kv: int, key: str, value: bytes) -> int:
        return self.call("kv_put", kv=kv, key=key,
                         data=b64e(value))["revision"]

    def kv_create(self, kv: int, key: str, value: bytes,
                  **options: Any) -> int:
        """options: the engine's create options (ttl, seconds)."""
        return self.call("kv_create", kv=kv, key=key, data=b64e(value),
                         **options)["revision"]

    def kv_update(self, kv: int, key: str, value: bytes, last: int) -> int:
        return self.call("kv_update", kv=kv, key=key, data=b64e(value),
                         last=last)["revision"]

    def kv_get(self, kv: int, key: str,
               revision: int | None = None) -> "KvEntry":
        args: dict[str, Any] = {"kv": kv, "key": key}
        if revision is not None:
            args["revision"] = revision
        return KvEntry.from_wire(self.call("kv_get", **args)["entry"])

    def kv_delete(self, kv: int, key: str, last: int | None = None) -> None:
        args: dict[str, Any] = {"kv": kv, "key": key}
        if last is not None:
            args["last"] = last
        self.call("kv_delete", **args)

    def kv_purge(self, kv: int, key: str, last: int | None = None,
                 **options: Any) -> None:
        """options: the engine's purge options (ttl, seconds)."""
        args: dict[str, Any] = {"kv": kv, "key": key, **options}
        if last is not None:
            args["last"] = last
        self.call("kv_purge", **args)

    def kv_keys(self, kv: int, filter: str | None = None) -> list[str]:
        args: dict[str, Any] = {"kv": kv}
        if filter is not None:
            args["filter"] = filter
        return self.call("kv_keys", **args)["keys"]

    def kv_list_keys(self, kv: int, _wait: float | None = None,
                     filter: str | list[str] | None = None) -> list[str]:
        return self.call("kv_list_keys", kv=kv, _wait=_wait,
                         filter=filter)["keys"]

    def kv_history(self, kv: int, key: str) -> list["KvEntry"]:
        return [KvEntry.from_wire(e) for e in
                self.call("kv_history", kv=kv, key=key)["entries"]]

    def kv_watch(self, kv: int, keys: str = ">", **flags: bool) -> int:
        """flags: include_history, ignore_deletes, meta_only,
        updates_only."""
        return self.call("kv_watch", kv=kv, keys=keys, **flags)["watcher"]

    def kv_watch_next(self, watcher: int,
                      timeout: float = 5.0) -> "KvEntry | None":
        e = self.call("kv_watch_next", watcher=watcher,
                      timeout=timeout)["entry"]
        return None if e is None else KvEntry.from_wire(e)


def _ack(r: dict) -> dict:
    """A PubAck as the drivers give it: value (a counter's), batch and
    count (a batch's) only when the ack has them."""
    return {k: r[k] for k in ("stream", "seq", "duplicate", "value",
                              "batch", "count") if k in r}


def _msg_handle(msg: "JsMsg | int") -> int:
    return msg.handle if isinstance(msg, JsMsg) else msg


def _driver_env(env: dict) -> dict:
    """What of a driver's environment matters: all but pytest's note of
    the running test, which changes with every test."""
    return {k: v for k, v in env.items() if k != "PYTEST_CURRENT_TEST"}


class DriverSpares:
    """One idle driver per language, started ahead of the test that asks
    for it, so that the test does not wait for the process to start (a
    Python driver imports the package first). Each spare serves one test
    and is quit at its end, like a driver started on demand: a new process
    that has done nothing yet. A spare is not handed over if the driver's
    environment changed since it started. The conftest keeps one set per
    session; close() quits what is left."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self.started = 0
        self.wanted: set[str] = set()  # languages the tests asked for
        self.idle: dict[str, Driver] = {}

    def take(self, lang: str, label: str) -> Driver | None:
        self.wanted.add(lang)
        d = self.idle.pop(lang, None)
        if d is None:
            return None
        env = dict(os.environ)
        env["JW_BUILD_DIR"] = str(build_dir())
        if d._dead or d.proc.poll() is not None or d.env != _driver_env(env):
            d.kill()  # a fresh start reports whatever went wrong
            d._stderr.close()
            return None
        d.label = label
        return d

    def prepare(self) -> None:
        """Start a spare for each language asked for that has none."""
        for lang in sorted(self.wanted - set(self.idle)):
            self.started += 1
            try:
                self.idle[lang] = Driver(lang, self.log_dir,
                                         label=f"spare-{lang}{self.started}")
            except DriverFailure:
                pass  # DriverPool.start fails the test that asks for it

    def close(self) -> None:
        for d in self.idle.values():
            d.quit()
        self.idle.clear()


class DriverPool:
    """The drivers of one test; close_all() quits them and reports any that
    did not exit cleanly. With spares, start() takes the spare of its
    language when there is one, and close_all() prepares the next ones."""

    def __init__(self, log_dir: Path, spares: DriverSpares | None = None):
        self.log_dir = Path(log_dir)
        self.drivers: list[Driver] = []
        self.spares = spares

    def start(self, lang: str, label: str | None = None) -> Driver:
        label = label or f"{lang}{len(self.drivers)}"
        d = self.spares.take(lang, label) if self.spares is not None else None
        if d is None:
            d = Driver(lang, self.log_dir, label=label)
        self.drivers.append(d)
        return d

    def close_all(self) -> list[str]:
        problems = []
        for d in self.drivers:
            was_dead = d._dead
            rc = d.quit()
            if not was_dead and rc != 0:
                problems.append(f"{d} exited with status {rc}\n{d.stderr_tail()}")
        if self.spares is not None:
            self.spares.prepare()
        return problems


@dataclass(frozen=True)
class KvEntry:
    """A Key-Value entry as a driver reports it."""
    bucket: str
    key: str
    value: bytes
    revision: int
    delta: int
    operation: str
    created: int

    @classmethod
    def from_wire(cls, obj: dict) -> "KvEntry":
        return cls(obj["bucket"], obj["key"], b64d(obj["value"]),
                   obj["revision"], obj["delta"], obj["operation"],
                   obj["created"])
