"""Received messages: Headers, Msg (with its JetStream acks), batches of
engine messages read into Msg objects in one call (jwpy_flatten), and
the replies every respond sends."""
from __future__ import annotations

import threading
from collections.abc import Mapping

from . import _codec
from ._args import _check, _ms, _payload, _subject
from ._errors import error_for
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any, Iterator, List, Optional, Sequence, Tuple

    from ._client import HeadersIn, Payload, _ConnState
    from ._jetstream import MsgMetadata

_BATCH = 256
_META = 4  # integers per message from jwpy_flatten


class Headers(Mapping[str, str]):
    """Message headers: names keep their case and a name may repeat.
    ``h["K"]`` is the first value, ``h.get_all("K")`` all of them."""

    __slots__ = ("_items",)

    def __init__(self, items: Sequence[Tuple[str, str]] = ()) -> None:
        self._items = list(items)

    def __getitem__(self, name: str) -> str:
        for k, v in self._items:
            if k == name:
                return v
        raise KeyError(name)

    def get_all(self, name: str) -> List[str]:
        return [v for k, v in self._items if k == name]

    def items_all(self) -> List[Tuple[str, str]]:
        """Every (name, value) line, in order."""
        return list(self._items)

    def __iter__(self) -> Iterator[str]:
        seen = []
        for k, _ in self._items:
            if k not in seen:
                seen.append(k)
        return iter(seen)

    def __len__(self) -> int:
        return len(set(k for k, _ in self._items))

    def __repr__(self) -> str:
        return "Headers(%r)" % self._items


class Msg:
    """A received message. ``respond`` publishes to its reply subject."""

    __slots__ = ("subject", "reply", "data", "_headers", "_status", "_conn",
                 "_engine_msg", "__weakref__")

    def __init__(self, subject: str, reply: Optional[str], data: bytes,
                 headers: Optional[Headers] = None, status: int = 0,
                 conn: Any = None) -> None:
        self.subject = subject
        self.reply = reply
        self.data = data
        self._headers = headers
        self._status = status
        self._conn: Any = conn  # the sync or asyncio Connection
        # The engine's message, kept for JetStream acks (consumer fetches).
        self._engine_msg: Any = None

    @property
    def headers(self) -> Headers:
        return self._headers if self._headers is not None else Headers()

    @property
    def status(self) -> int:
        """The status code of a status message ("NATS/1.0 503"), else 0."""
        return self._status

    def respond(self, data: Payload = b"", headers: HeadersIn = None) -> None:
        """Publish data to the reply subject. Without headers the reply
        leaves from this thread when the connection's loop is idle
        (jw_conn_respond), a thread hand-off less than a publish."""
        _reply_to(self, data, headers)

    # -- JetStream ------------------------------------------------------

    @property
    def metadata(self) -> "MsgMetadata":
        """JetStream metadata parsed from the reply subject (a
        jetwire.MsgMetadata); jetwire.InvalidArgError for other messages."""
        from ._jetstream import _metadata
        return _metadata(self.reply)

    def _engine(self, what: str) -> Any:
        if self._engine_msg is None:
            raise error_for(
                "INVALID_ARG", "cannot %s: not a JetStream message (no "
                "$JS.ACK reply subject)" % what)
        return self._engine_msg

    def ack(self) -> None:
        """Acknowledge a JetStream message. A second ack, nak or term raises
        jetwire.InvalidArgError ("already acknowledged")."""
        _check(lib.jw_msg_ack(self._engine("ack")))

    def ack_sync(self, timeout: Optional[float] = 5.0) -> None:
        """Acknowledge and wait for the server to confirm it."""
        from ._jetstream import _js_check
        _js_check(lib.jw_msg_ack_sync(self._engine("ack"), _ms(timeout)))

    def nak(self, delay: Optional[float] = None) -> None:
        """Ask for redelivery, after delay seconds when given."""
        m = self._engine("nak")
        if delay is None:
            _check(lib.jw_msg_nak(m))
        else:
            _check(lib.jw_msg_nak_delay(m, _ms(delay, "delay")))

    def term(self, reason: Optional[str] = None) -> None:
        """Never deliver this message again; a reason (nats-server 2.10.4)
        goes into the server's MSG_TERMINATED advisory."""
        m = self._engine("term")
        if reason is None:
            _check(lib.jw_msg_term(m))
            return
        if not isinstance(reason, str):
            raise TypeError("reason must be str, not %s"
                            % type(reason).__name__)
        if "\0" in reason:
            raise error_for("INVALID_ARG", "reason contains a NUL byte")
        _check(lib.jw_msg_term_reason(m, reason.encode()))

    def in_progress(self) -> None:
        """Reset the ack_wait timer (may repeat)."""
        _check(lib.jw_msg_in_progress(self._engine("in_progress")))

    def unpack(self) -> Any:
        """Decode the MessagePack payload."""
        return _codec.unpack(self.data)

    def __repr__(self) -> str:
        return "<Msg subject=%r reply=%r data=%r>" % (
            self.subject, self.reply, self.data[:64])


def _read_headers(m: Any) -> Headers:
    name_p = ffi.new("const char **")
    value_p = ffi.new("const char **")
    items = []
    for k in range(lib.jw_msg_header_count(m)):
        lib.jw_msg_header_at(m, k, name_p, value_p)
        items.append((ffi.string(name_p[0]).decode("utf-8", "replace"),
                      ffi.string(value_p[0]).decode("utf-8", "replace")))
    return Headers(items)


class _Scratch(threading.local):
    """Per-thread buffers for jwpy_flatten: the dispatcher and user threads
    read batches at the same time, with the GIL released inside C."""

    def __init__(self) -> None:
        self.meta = ffi.new("int64_t[]", _META * _BATCH)
        self.size = 64 * 1024
        self.buf = ffi.new("char[]", self.size)


_scratch = _Scratch()


def _read_messages(state: "_ConnState", msgs: Any, n: int,
                   cls: type = Msg, keep: bool = False) -> List[Any]:
    """Copy n engine messages into Msg objects and free them. A message a
    JetStream consumer delivered (reply $JS.ACK.*) keeps its engine message
    for the acks, and so does every message with keep. The batch crosses
    in one call, as two flat arrays (see jwpy_flatten)."""
    sc = _scratch
    used = lib.jwpy_flatten(msgs, n, sc.meta, sc.buf, sc.size)
    if used < 0:
        sc.size = max(-used, 2 * sc.size)
        sc.buf = ffi.new("char[]", sc.size)
        used = lib.jwpy_flatten(msgs, n, sc.meta, sc.buf, sc.size)
    raw = ffi.unpack(sc.buf, used)
    it = iter(ffi.unpack(sc.meta, _META * n))
    conn = state.owner()
    out: List[Any] = []
    append = out.append
    new = object.__new__
    kept: List[int] = list(range(n)) if keep else []
    subject = ""
    pos = 0
    # Msg.__init__ is for users; here the slots are filled directly, which
    # halves what a message costs.
    for subject_end, reply_end, data_end, has_headers in zip(it, it, it, it):
        if subject_end >= 0:  # else the previous message's subject
            subject = raw[pos:subject_end].decode()
            pos = subject_end
        m: Any = new(cls)
        m.subject = subject
        if reply_end >= 0:
            reply = m.reply = raw[pos:reply_end].decode()
            pos = reply_end
            if not keep and reply.startswith("$JS.ACK."):
                kept.append(len(out))
        else:
            m.reply = None
        m.data = raw[pos:data_end]
        pos = data_end
        if has_headers:
            engine_msg = msgs[len(out)]
            m._headers = _read_headers(engine_msg)
            m._status = lib.jw_msg_status_code(engine_msg)
        else:
            m._headers = None
            m._status = 0
        m._conn = conn
        m._engine_msg = None
        append(m)
    if not kept:
        lib.jwpy_free(msgs, n)
        return out
    kept_set = set(kept)
    for i in range(n):
        if i in kept_set:
            out[i]._engine_msg = ffi.gc(msgs[i], lib.jw_msg_free)
        else:
            lib.jw_msg_free(msgs[i])
    return out


def _reply_to(msg: Any, data: Payload, headers: HeadersIn) -> Any:
    """Every respond (Msg's, a service request's; both APIs): data to
    msg's reply subject. Returns what the connection's publish returns:
    None, or in asyncio an awaitable that is already done."""
    if not msg.reply:
        raise error_for("INVALID_ARG", "message has no reply subject")
    conn = msg._conn
    if conn is None:
        raise error_for("INVALID_ARG", "message has no connection")
    if headers:
        return conn.publish(msg.reply, data, headers=headers)
    conn._state.call(_respond, msg.reply, data)
    return conn._done


def _respond(handle: Any, reply: str, payload: Payload) -> None:
    """A reply without headers, for both APIs' Msg.respond."""
    data = _payload(payload)
    _check(lib.jw_conn_respond(handle, _subject(reply, "reply"), data,
                               len(data)))
