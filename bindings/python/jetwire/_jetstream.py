"""JetStream over the engine's jw_js calls (blocking API).

Stream and consumer configurations are keyword arguments named after the
server's own fields (StreamConfig, ConsumerConfig), with durations in
seconds; they cross to the engine as JSON with durations in milliseconds.
Info replies come back as dicts in the server's schema, with the durations
of their "config" in seconds again.
"""
from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Mapping

from ._args import (JW_OK, _INT64_MAX, _build_msg, _int_arg, _ms, _raise,
                    _subject, _timeout)
from ._msg import Msg, _BATCH, _read_messages
from ._errors import Error, error_for
from . import _wait
from ._batch import BatchCalls
from ._fast import FastCalls
from ._kv_calls import KvCalls
from ._obs import ObsCalls
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import (Any, Callable, Dict, Iterator, List, Optional,
                        Sequence, Tuple, Union)

    from ._client import HeadersIn, Payload

__all__ = ["JetStream", "Consumer", "PubAck", "PubAckFuture",
           "MsgMetadata", "SequencePair", "ConsumeContext",
           "OrderedConsumer", "DirectBatch", "config_fields",
           "option_fields"]



def _js_check(status: int) -> None:
    """Raise for a failed JetStream call, with the server's err_code."""
    if status == JW_OK:
        return
    err_code = lib.jw_js_last_err_code()
    try:
        _raise(status)
    except Error as e:
        e.err_code = int(err_code)
        raise


def _text(p: Any) -> str:
    """Take a JSON text the engine returned (and free it)."""
    try:
        return str(ffi.string(p[0]).decode())
    finally:
        lib.jw_free(p[0])


def _name(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (what,
                                                    type(value).__name__))
    if not value or "\0" in value:
        raise ValueError("%s must be a non-empty name" % what)
    return value.encode()


def _seconds_to_ms(value: Any, name: str) -> int:
    ms = _ms(value, name)
    if ms < 0:
        raise ValueError("%s must be a number of seconds" % name)
    return ms


def _config(what: str, config: Optional[Mapping[str, Any]],
            kwargs: Dict[str, Any]) -> bytes:
    """Keyword arguments (and a config dict) as JSON for the engine, which
    knows the fields, their types and units (durations in seconds: the
    context's duration_unit) and which server versions know them. A None
    value means "not set"."""
    if config is not None and not isinstance(config, Mapping):
        raise TypeError("config must be a dict of %s fields" % what)
    merged: Dict[str, Any] = dict(config or {})
    merged.update(kwargs)
    out = {key: value for key, value in merged.items() if value is not None}
    try:
        import json
        return json.dumps(out, allow_nan=False).encode()
    except (TypeError, ValueError) as e:
        raise TypeError("%s configuration is not JSON: %s" % (what, e))


# -- call options -----------------------------------------------------------
#
# What a call takes beyond its few essential arguments (publish's msg_id
# and expectations, fetch and consume limits, watch modes, a get's
# revision) is the engine's jw_call_opts, set by name. The names, their
# types and limits are the engine's table (jw_call_opts_fields): this
# binding lists none of them, so an option the engine gains works from
# Python as a keyword argument at once.

# The engine's options per call kind, {name: type}, read once.
_OPTION_TYPES: Dict[str, Dict[str, str]] = {}

# What a Python value of each engine option type must be (durations are
# seconds: the JetStream context's duration_unit is "s"). A type not
# listed here goes to the engine by its Python type, for it to judge.
_WANTED: Dict[str, Tuple[Tuple[type, ...], str]] = {
    "string": ((str,), "str"),
    "integer": ((int,), "int"),
    "boolean": ((bool,), "bool"),
    "duration": ((int, float), "a number of seconds (int or float)"),
}


def option_fields(call: str) -> List[Dict[str, Any]]:
    """The engine's table of options for call "publish", "fetch",
    "consume", "watch" or "get": dicts with name, type ("string",
    "integer", "boolean" or "duration", which is seconds in Python, int or
    float), since (the first nats-server version that knows the option;
    None: every JetStream server) and doc. They are the keyword arguments
    of the calls that take options."""
    p = ffi.new("char **")
    _js_check(lib.jw_call_opts_fields(_name(call, "call"), p))
    import json
    fields: List[Dict[str, Any]] = json.loads(_text(p))
    return fields


def _option_types(call: str) -> Dict[str, str]:
    types = _OPTION_TYPES.get(call)
    if types is None:
        types = {f["name"]: f["type"] for f in option_fields(call)}
        _OPTION_TYPES[call] = types
    return types


def _call_opts(call: str, options: Mapping[str, Any], fn: str) -> Any:
    """A jw_call_opts for call (an engine call kind) made of options, the
    keyword arguments of the Python function fn; ffi.NULL when none is
    given (a None value is "not given"). A name the engine's table does not
    have, or a value of a Python type that does not fit the option, is a
    TypeError; a value the engine refuses (out of range, an empty string)
    its InvalidArgError, a ValueError."""
    if not options:
        return ffi.NULL  # the common case: nothing to allocate
    types = _option_types(call)
    given = []
    for name, value in options.items():
        kind = types.get(name)
        if kind is None:
            raise TypeError("%s() got an unexpected keyword argument %r"
                            % (fn, name))
        if value is None:
            continue
        wanted = _WANTED.get(kind)
        if wanted is not None and (
                not isinstance(value, wanted[0]) or
                (isinstance(value, bool) and bool not in wanted[0])):
            raise TypeError("%s() argument %r must be %s, not %s"
                            % (fn, name, wanted[1], type(value).__name__))
        given.append((name, value))
    if not given:
        return ffi.NULL
    p = ffi.new("jw_call_opts **")
    _js_check(lib.jw_call_opts_new(call.encode(), p))
    opts = ffi.gc(p[0], lib.jw_call_opts_free)
    for name, value in given:
        _js_check(_set_option(opts, call, fn, name, value))
    return opts


def _set_option(opts: Any, call: str, fn: str, name: str, value: Any) -> int:
    """One jw_call_opts_set_* by value's Python type; its status."""
    key = name.encode()
    if isinstance(value, bool):
        return int(lib.jw_call_opts_set_bool(opts, key, value))
    if isinstance(value, int):
        if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
            raise error_for("INVALID_ARG", "%s option '%s' must be a 64-bit "
                            "integer, not %d" % (call, name, value))
        return int(lib.jw_call_opts_set_int(opts, key, value))
    if isinstance(value, float):
        return int(lib.jw_call_opts_set_double(opts, key, value))
    if isinstance(value, str):
        if "\0" in value:
            raise error_for("INVALID_ARG", "%s option '%s' contains NUL"
                            % (call, name))
        return int(lib.jw_call_opts_set_str(opts, key, value.encode()))
    raise TypeError("%s() argument %r must be a str, int, float or bool, "
                    "not %s" % (fn, name, type(value).__name__))


class SequencePair:
    __slots__ = ("stream", "consumer")

    def __init__(self, stream: int, consumer: int) -> None:
        self.stream = stream
        self.consumer = consumer

    def __repr__(self) -> str:
        return "SequencePair(stream=%d, consumer=%d)" % (self.stream,
                                                         self.consumer)


class MsgMetadata:
    """Metadata of a JetStream message: stream, consumer, domain,
    num_delivered, sequence (.stream, .consumer), timestamp (seconds since
    the epoch, float), timestamp_ns, num_pending."""

    __slots__ = ("stream", "consumer", "domain", "num_delivered", "sequence",
                 "timestamp", "timestamp_ns", "num_pending")

    def __init__(self, m: Any) -> None:
        self.stream = ffi.string(lib.jw_js_meta_stream(m)).decode()
        self.consumer = ffi.string(lib.jw_js_meta_consumer(m)).decode()
        self.domain = ffi.string(lib.jw_js_meta_domain(m)).decode()
        self.num_delivered = int(lib.jw_js_meta_num_delivered(m))
        self.sequence = SequencePair(int(lib.jw_js_meta_stream_seq(m)),
                                     int(lib.jw_js_meta_consumer_seq(m)))
        self.timestamp_ns = int(lib.jw_js_meta_timestamp(m))
        self.timestamp = self.timestamp_ns / 1e9
        self.num_pending = int(lib.jw_js_meta_num_pending(m))

    def __repr__(self) -> str:
        return ("MsgMetadata(stream=%r, consumer=%r, num_delivered=%d, "
                "sequence=%r, num_pending=%d)" % (
                    self.stream, self.consumer, self.num_delivered,
                    self.sequence, self.num_pending))


def _metadata(reply: Optional[str]) -> MsgMetadata:
    if not reply or "\0" in reply:
        from ._errors import error_for
        raise error_for("INVALID_ARG", "not a JetStream message: no "
                        "$JS.ACK reply subject")
    p = ffi.new("jw_js_meta **")
    _js_check(lib.jw_js_meta_parse(reply.encode(), p))
    try:
        return MsgMetadata(p[0])
    finally:
        lib.jw_js_meta_free(p[0])


class PubAck:
    """The stream's acknowledgment of a publish."""

    __slots__ = ("stream", "seq", "duplicate", "domain", "value", "batch",
                 "count")

    def __init__(self, handle: Any) -> None:
        self.stream = ffi.string(lib.jw_js_pub_ack_stream(handle)).decode()
        self.seq = int(lib.jw_js_pub_ack_seq(handle))
        self.duplicate = bool(lib.jw_js_pub_ack_duplicate(handle))
        domain = lib.jw_js_pub_ack_domain(handle)
        self.domain = ffi.string(domain).decode() if domain else ""
        #: A counter stream's new total (an int of any size), else None.
        value = lib.jw_js_pub_ack_value(handle)
        self.value = int(ffi.string(value)) if value else None
        #: The batch id and its stored count, on the ack that ends a batch.
        batch = lib.jw_js_pub_ack_batch(handle)
        self.batch = ffi.string(batch).decode() if batch else None
        self.count = int(lib.jw_js_pub_ack_count(handle))

    def __repr__(self) -> str:
        extra = "".join(", %s=%r" % (name, getattr(self, name))
                        for name in ("value", "batch") if getattr(self, name)
                        is not None)
        if self.batch is not None:
            extra += ", count=%d" % self.count
        return "PubAck(stream=%r, seq=%d, duplicate=%r%s)" % (
            self.stream, self.seq, self.duplicate, extra)


def _take_ack(p: Any) -> PubAck:
    try:
        return PubAck(p[0])
    finally:
        lib.jw_js_pub_ack_free(p[0])


#: The engine's blocking publish tries again this often, this many seconds
#: apart, after no responders (its retry_attempts and retry_wait
#: defaults); the asyncio publish, which retries itself, does the same.
PUB_RETRIES = 2
PUB_RETRY_WAIT = 0.25


def _plain(subject: Any, payload: Any, headers: Any) -> bool:
    """The common publish: a str subject, bytes and no headers; it needs
    no message object."""
    return (type(payload) is bytes and type(subject) is str and not headers
            and "\0" not in subject)


def __getattr__(name: str) -> Any:
    # PubAckFuture is a concurrent.futures.Future: that module (and the
    # logging it imports) loads on first use, not with jetwire.
    if name == "PubAckFuture":
        from ._puback import PubAckFuture
        return PubAckFuture
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


if TYPE_CHECKING:
    from ._puback import PubAckFuture, Pump


def _free_context(handle: Any, pumps: "List[Pump]") -> None:
    """A context's finalizer: its pump's thread ends before the handle
    goes."""
    if pumps:
        pumps[0].close(handle)
    else:
        lib.jw_js_free(handle)


_PUMP_LOCK = threading.Lock()


class JetStream(BatchCalls, FastCalls, KvCalls, ObsCalls):
    """A JetStream context: ``nc.jetstream(timeout=5.0)``. Atomic batches
    and counters are BatchCalls' (_batch), fast-ingest batches
    FastCalls' (_fast), Key-Value buckets KvCalls' (_kv_calls), object
    stores ObsCalls' (_obs)."""

    def __init__(self, conn: Any, timeout: Optional[float] = 5.0,
                 domain: Optional[str] = None, prefix: Optional[str] = None,
                 max_pending: Optional[int] = None) -> None:
        # The Connection object, which the engine does not keep (it keeps
        # the connection's handle alive for this context's): collecting an
        # unclosed Connection closes it, and messages read here (get_msg)
        # respond through it.
        self._conn = conn
        self.timeout = timeout
        ms = _seconds_to_ms(timeout, "timeout")
        p = ffi.new("jw_js **")
        _js_check(conn._state.call(lib.jw_js_new, p))
        self._handle = p[0]
        # Frees this handle alone, whenever this object goes: what was
        # made through the context keeps it alive in the engine. The
        # futures of publish_async (and their pump, made by the first)
        # keep this object alive.
        self._pumps: List[Pump] = []
        self._finalizer = weakref.finalize(self, _free_context, p[0],
                                           self._pumps)
        _js_check(lib.jw_js_set_int(self._handle, b"timeout", ms))
        # Durations in configurations and infos are seconds, as everywhere
        # in the Python API; the engine converts them.
        _js_check(lib.jw_js_set_str(self._handle, b"duration_unit", b"s"))
        if domain is not None:
            _js_check(lib.jw_js_set_str(self._handle, b"domain",
                                        _name(domain, "domain")))
        if prefix is not None:
            _js_check(lib.jw_js_set_str(self._handle, b"prefix",
                                        _name(prefix, "prefix")))
        self.max_pending = 4000  # the engine's default
        if max_pending is not None:
            _js_check(lib.jw_js_set_int(self._handle, b"max_pending",
                                        _int_arg(max_pending,
                                                 "max_pending", 1)))
            self.max_pending = max_pending

    def _h(self) -> Any:
        """The engine's handle: it lives as long as this object (once the
        connection is closed, its calls report CONNECTION_CLOSED)."""
        return self._handle

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(self._handle, *args)

    def _json(self, fn: Callable[..., int], *args: Any) -> Any:
        p = ffi.new("char **")
        _js_check(self._call(fn, *args, p))
        import json
        return json.loads(_text(p))

    def account_info(self) -> Dict[str, Any]:
        info: Dict[str, Any] = self._json(lib.jw_js_account_info)
        return info

    def api_level(self) -> int:
        """The JetStream API level of the servers answering this context
        (ADR-44: 0 before nats-server 2.11), asked of them now. Features of
        a higher level raise NotSupportedError even when the connected
        server is newer (a leaf node in front of an older hub)."""
        p = ffi.new("int *")
        _js_check(self._call(lib.jw_js_api_level, p))
        return int(p[0])

    # -- streams ----------------------------------------------------------

    def _stream_call(self, fn: Callable[..., int], name: Any,
                     config: Optional[Mapping[str, Any]],
                     kwargs: Dict[str, Any]) -> Dict[str, Any]:
        if name is not None:
            kwargs["name"] = name
        cfg = _config("stream", config, kwargs)
        info: Dict[str, Any] = self._json(fn, cfg)
        return info

    def add_stream(self, name: Optional[str] = None, *,
                   config: Optional[Mapping[str, Any]] = None,
                   **fields: Any) -> Dict[str, Any]:
        """Create a stream; returns its StreamInfo (a dict). Fields are
        StreamConfig's (durations in seconds; replicas for num_replicas).
        A stream of that name with another configuration: JetStreamError
        (err_code 10058)."""
        return self._stream_call(lib.jw_js_stream_create, name, config,
                                 fields)

    def update_stream(self, name: Optional[str] = None, *,
                      config: Optional[Mapping[str, Any]] = None,
                      **fields: Any) -> Dict[str, Any]:
        """Update a stream (StreamNotFoundError when there is none)."""
        return self._stream_call(lib.jw_js_stream_update, name, config,
                                 fields)

    def create_or_update_stream(self, name: Optional[str] = None, *,
                                config: Optional[Mapping[str, Any]] = None,
                                **fields: Any) -> Dict[str, Any]:
        return self._stream_call(lib.jw_js_stream_create_or_update, name,
                                 config, fields)

    def stream_info(self, name: str) -> Dict[str, Any]:
        info: Dict[str, Any] = self._json(lib.jw_js_stream_info,
                                          _name(name, "stream"))
        return info

    def delete_stream(self, name: str) -> None:
        _js_check(self._call(lib.jw_js_stream_delete, _name(name, "stream")))

    def purge_stream(self, name: str, subject: Optional[str] = None,
                     seq: Optional[int] = None,
                     keep: Optional[int] = None) -> int:
        """Purge all messages, those of subject, those below seq, or all but
        the newest keep. Returns how many were removed."""
        filt = _subject(subject) if subject is not None else ffi.NULL
        s = _int_arg(seq, "seq", 0) if seq is not None else 0
        k = _int_arg(keep, "keep", 0) if keep is not None else 0
        purged = ffi.new("uint64_t *")
        _js_check(self._call(lib.jw_js_stream_purge, _name(name, "stream"),
                                         filt, s, k, purged))
        return int(purged[0])

    def streams(self, subject: Optional[str] = None) -> List[Dict[str, Any]]:
        """StreamInfo of every stream (those capturing subject)."""
        filt = _subject(subject) if subject is not None else ffi.NULL
        infos: List[Dict[str, Any]] = self._json(lib.jw_js_stream_list,
                                                 filt)
        return infos

    def stream_names(self, subject: Optional[str] = None) -> List[str]:
        filt = _subject(subject) if subject is not None else ffi.NULL
        names: List[str] = self._json(lib.jw_js_stream_names, filt)
        return names

    def _stored(self, p: Any) -> Msg:
        return _read_messages(self._conn._state, p, 1)[0]  # type: ignore

    def get_msg(self, stream: str, seq: int) -> Msg:
        """The stored message with sequence seq (JetStreamError 10037 when
        there is none); headers carry Nats-Sequence, Nats-Time-Stamp."""
        p = ffi.new("jw_msg **")
        _js_check(self._call(lib.jw_js_stream_get_msg, _name(stream, "stream"),
                                           _int_arg(seq, "seq", 1), p))
        return self._stored(p)

    def get_last_msg(self, stream: str, subject: str) -> Msg:
        """The last stored message on subject (direct get when the stream
        allows it)."""
        p = ffi.new("jw_msg **")
        _js_check(self._call(
            lib.jw_js_stream_get_last_msg, _name(stream, "stream"), _subject(subject), p))
        return self._stored(p)

    def direct_get_batch(self, stream: str,
                         multi_last: Union[None, str, Sequence[str]] = None,
                         timeout: Optional[float] = 5.0,
                         **options: Any) -> "DirectBatch":
        """Many stored messages with one request (ADR-31, nats-server
        2.11; the stream needs allow_direct): a run from ``seq``,
        ``next_by_subject`` or ``start_time`` (RFC 3339 text), or with
        multi_last (a subject or a list, wildcards allowed) the last
        message of each matching subject, as of ``up_to_seq`` or
        ``up_to_time``. options are the engine's direct_get options
        (option_fields("direct_get")): batch, max_bytes, seq, ... The
        DirectBatch yields the messages as they arrive, each waited for up
        to timeout seconds (None: wait); a server before 2.11 raises
        NotSupportedError."""
        if multi_last is None:
            subjects: List[Any] = []
        elif isinstance(multi_last, str):
            subjects = [_text_arg(multi_last, "multi_last")]
        elif isinstance(multi_last, (list, tuple)):
            if not multi_last:
                raise error_for("INVALID_ARG", "multi_last must not be "
                                "empty")
            subjects = [_text_arg(v, "multi_last") for v in multi_last]
        else:
            raise TypeError("multi_last must be a str or a list of str, not "
                            "%s" % type(multi_last).__name__)
        arr = ffi.new("char *[]", subjects) if subjects else ffi.NULL
        opts = _call_opts("direct_get", options, "direct_get_batch")
        p = ffi.new("jw_direct_batch **")
        _js_check(self._call(lib.jw_js_direct_get_batch,
                             _name(stream, "stream"), arr, len(subjects),
                             opts, p))
        return DirectBatch(self, p[0], _ms(timeout), stream)

    def delete_msg(self, stream: str, seq: int, erase: bool = False) -> None:
        _js_check(self._call(
            lib.jw_js_stream_delete_msg, _name(stream, "stream"), _int_arg(seq, "seq", 1),
            int(bool(erase))))

    # -- publish ----------------------------------------------------------

    def publish(self, subject: str, payload: Payload = b"",
                headers: HeadersIn = None, **options: Any) -> PubAck:
        """Publish and wait for the stream's PubAck. options are the
        engine's publish options (option_fields("publish")): msg_id,
        expected_stream, expected_last_seq, expected_last_subject_seq,
        expected_last_msg_id, timeout (seconds), retry_attempts,
        retry_wait, ... NoRespondersError when no stream captures subject;
        WrongLastSequenceError, JetStreamError for refused messages."""
        opts = _call_opts("publish", options, "publish") if options \
            else ffi.NULL
        p = ffi.new("jw_js_pub_ack **")
        if _plain(subject, payload, headers):
            _js_check(self._call(lib.jw_js_publish, subject.encode(),
                                 payload, len(payload), opts, p))
        else:
            msg = _build_msg(_subject(subject), None, payload, headers or {})
            _js_check(self._call(lib.jw_js_publish_msg, msg, opts, p))
        return _take_ack(p)

    def publish_async(self, subject: str, payload: Payload = b"",
                      headers: HeadersIn = None,
                      **options: Any) -> PubAckFuture:
        """Publish without waiting; the PubAckFuture resolves when the ack
        comes. Waits when max_pending publishes are in flight. options as
        for publish (those that become headers matter here)."""
        opts = _call_opts("publish", options, "publish_async") if options \
            else ffi.NULL
        idp = ffi.new("uint64_t *")
        if _plain(subject, payload, headers):
            # A message freed at once rather than left to the gc.
            msg_p = ffi.new("jw_msg **")
            _js_check(lib.jw_msg_new(subject.encode(), ffi.NULL, payload,
                                     len(payload), msg_p))
            try:
                _js_check(self._call(lib.jw_js_publish_async, msg_p[0],
                                     opts, idp))
            finally:
                lib.jw_msg_free(msg_p[0])
        else:
            msg = _build_msg(_subject(subject), None, payload, headers or {})
            _js_check(self._call(lib.jw_js_publish_async, msg, opts, idp))
        pumps = self._pumps
        return (pumps[0] if pumps else self._new_pump()).add(self,
                                                             int(idp[0]))

    @property
    def _pump(self) -> "Pump":
        """Where the futures of publish_async are completed (_puback)."""
        return self._pumps[0] if self._pumps else self._new_pump()

    def _new_pump(self) -> "Pump":
        from ._puback import Pump
        with _PUMP_LOCK:
            if not self._pumps:
                self._pumps.append(Pump(self._handle))
        return self._pumps[0]

    def _poll_async(self) -> None:
        if self._pumps:
            self._pumps[0].poll()

    def publish_async_complete(self, timeout: Optional[float] = 5.0) -> None:
        """Wait until every async publish is acknowledged (TimeoutError if
        some are still missing after timeout). Once after the connection
        lost its socket (or closed) with publishes in flight, which then
        failed at once, raises NotConnectedError (ConnectionClosedError)
        saying how many."""
        ms = _ms(timeout)
        h = self._handle
        try:
            _js_check(lib.jw_js_publish_async_complete(h, ms))
        finally:
            self._poll_async()

    def publish_async_pending(self) -> int:
        return int(self._call(lib.jw_js_publish_async_pending))

    # -- consumers --------------------------------------------------------

    def _consumer_call(self, fn: Callable[..., int], stream: str,
                       config: Optional[Mapping[str, Any]],
                       kwargs: Dict[str, Any]) -> "Consumer":
        cfg = _config("consumer", config, kwargs)
        p = ffi.new("jw_consumer **")
        _js_check(self._call(fn, _name(stream, "stream"), cfg, p))
        return Consumer(self, p[0])

    def add_consumer(self, stream: str, *,
                     config: Optional[Mapping[str, Any]] = None,
                     **fields: Any) -> "Consumer":
        """Create a consumer (ConsumerConfig fields as keywords, durations
        in seconds, durable= for durable_name; ack_policy defaults to
        "explicit"). The same consumer when one with this configuration
        exists; JetStreamError when one has another."""
        return self._consumer_call(lib.jw_js_consumer_create, stream, config,
                                   fields)

    def update_consumer(self, stream: str, *,
                        config: Optional[Mapping[str, Any]] = None,
                        **fields: Any) -> "Consumer":
        return self._consumer_call(lib.jw_js_consumer_update, stream, config,
                                   fields)

    def create_or_update_consumer(self, stream: str, *,
                                  config: Optional[Mapping[str, Any]] = None,
                                  **fields: Any) -> "Consumer":
        return self._consumer_call(lib.jw_js_consumer_create_or_update,
                                   stream, config, fields)

    def consumer(self, stream: str, name: str) -> "Consumer":
        """A handle on an existing consumer (ConsumerNotFoundError)."""
        p = ffi.new("jw_consumer **")
        _js_check(self._call(lib.jw_js_consumer_get, _name(stream, "stream"),
                                         _name(name, "consumer"), p))
        return Consumer(self, p[0])

    def consumer_info(self, stream: str, name: str) -> Dict[str, Any]:
        info: Dict[str, Any] = self._json(
            lib.jw_js_consumer_info, _name(stream, "stream"),
            _name(name, "consumer"))
        return info

    def delete_consumer(self, stream: str, name: str) -> None:
        _js_check(self._call(lib.jw_js_consumer_delete, _name(stream, "stream"),
                                            _name(name, "consumer")))

    def pause_consumer(self, stream: str, name: str,
                       until: Any) -> Dict[str, Any]:
        """Pause the consumer until `until` (a datetime, or seconds since
        the epoch): nothing is delivered before (nats-server 2.11). The
        server's answer: {"paused", "pause_until", "pause_remaining"
        (seconds)}."""
        import datetime
        if isinstance(until, datetime.datetime):
            if until.tzinfo is None:
                raise ValueError("until must be an aware datetime (with a "
                                 "tzinfo), or seconds since the epoch")
            seconds = until.timestamp()
        elif isinstance(until, (int, float)) and not isinstance(until, bool):
            seconds = float(until)
        else:
            raise TypeError("until must be a datetime or seconds since the "
                            "epoch, not %s" % type(until).__name__)
        if not 0 <= seconds < 9.2e9:
            raise ValueError("until is out of range")
        out: Dict[str, Any] = self._json(
            lib.jw_js_consumer_pause, _name(stream, "stream"),
            _name(name, "consumer"), int(seconds * 1e9))
        return out

    def resume_consumer(self, stream: str, name: str) -> Dict[str, Any]:
        """Resume a paused consumer now; the server's answer."""
        out: Dict[str, Any] = self._json(
            lib.jw_js_consumer_resume, _name(stream, "stream"),
            _name(name, "consumer"))
        return out

    def reset_consumer(self, stream: str, name: str,
                       seq: int = 0) -> Dict[str, Any]:
        """Reset a consumer's delivery state without deleting it
        (nats-server 2.14): delivery starts again above the ack floor, or
        at the first message at or after seq; ConsumerInfo after the reset,
        with "reset_seq"."""
        out: Dict[str, Any] = self._json(
            lib.jw_js_consumer_reset, _name(stream, "stream"),
            _name(name, "consumer"), _int_arg(seq, "seq", 0))
        return out

    def unpin_consumer(self, stream: str, name: str, group: str) -> None:
        """Release the client pinned to a pinned_client priority group
        (ADR-42); the server pins another on its next pull."""
        _js_check(self._call(lib.jw_js_consumer_unpin,
                             _name(stream, "stream"), _name(name, "consumer"),
                             _name(group, "group")))

    def consumers(self, stream: str) -> List[Dict[str, Any]]:
        """ConsumerInfo of every consumer of stream."""
        infos: List[Dict[str, Any]] = self._json(lib.jw_js_consumer_list,
                                                 _name(stream, "stream"))
        return infos

    def consumer_names(self, stream: str) -> List[str]:
        names: List[str] = self._json(lib.jw_js_consumer_names,
                                      _name(stream, "stream"))
        return names

    def ordered_consumer(self, stream: str,
                         filter_subject: Optional[str] = None, *,
                         deliver_policy: Optional[str] = None,
                         opt_start_seq: Optional[int] = None,
                         opt_start_time: Optional[str] = None,
                         headers_only: Optional[bool] = None,
                         replay_policy: Optional[str] = None,
                         idle_heartbeat: Optional[float] = None,
                         description: Optional[str] = None
                         ) -> "OrderedConsumer":
        """Every message of stream (or of filter_subject) in stream order,
        without gaps, duplicates or acks: an ephemeral push consumer the
        engine makes again from the next sequence when a gap shows or the
        server's consumer goes silent. deliver_policy ("all", "last",
        "new", "by_start_sequence" with opt_start_seq, "by_start_time"
        with opt_start_time, RFC 3339), idle_heartbeat in seconds (5.0).
        StreamNotFoundError when there is no such stream."""
        fields: Dict[str, Any] = dict(
            filter_subject=filter_subject, deliver_policy=deliver_policy,
            opt_start_seq=opt_start_seq, opt_start_time=opt_start_time,
            headers_only=headers_only, replay_policy=replay_policy,
            idle_heartbeat=idle_heartbeat, description=description)
        cfg = _config("ordered consumer", None, fields)
        p = ffi.new("jw_ordered **")
        _js_check(self._call(lib.jw_js_ordered_consumer,
                             _name(stream, "stream"), cfg, p))
        return OrderedConsumer(self, p[0], stream)

    def __repr__(self) -> str:
        return "<jetwire.JetStream timeout=%r>" % (self.timeout,)


class _Child:
    """A handle made through a JetStream context (a consumer, a bucket).
    Its finalizer frees this handle alone, whenever this object goes,
    whatever else is open: the engine keeps the context and the
    connection alive for it, and once the connection is closed its calls
    report CONNECTION_CLOSED. Every handle below is held the same way."""

    def __init__(self, js: Any, handle: Any, free: Callable[[Any], None]
                 ) -> None:
        # The Connection object, not the context (the engine keeps that
        # itself): collecting an unclosed Connection closes it, and the
        # messages read here respond through it.
        self._conn = js._conn
        self._handle = handle
        self._finalizer = weakref.finalize(self, free, handle)

    def _h(self) -> Any:
        return self._handle

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(self._handle, *args)


def _text_arg(value: Any, what: str) -> Any:
    """A str for the engine as a char[] (the engine checks it)."""
    if not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (what,
                                                    type(value).__name__))
    if "\0" in value:
        raise error_for("INVALID_ARG", "%s %r contains NUL" % (what, value))
    return ffi.new("char[]", value.encode())


class DirectBatch(_Child):
    """The messages of one direct get batch (``js.direct_get_batch``), as
    the server's replies arrive: iterate it, or call ``next()`` until it
    gives None (the end). Each message has its stored subject, data and
    headers (Nats-Sequence, Nats-Time-Stamp, Nats-Num-Pending, ...). After
    the end, ``num_pending`` says how many more match (a batch cut by
    batch or max_bytes), ``last_seq`` the sequence of the last message
    sent, ``up_to_seq`` (multi_last) the sequence the answer was read at."""

    def __init__(self, js: JetStream, handle: Any, timeout_ms: int,
                 stream: str = "") -> None:
        super().__init__(js, handle, lib.jw_direct_batch_free)
        self._js_state = js._conn._state
        self._timeout_ms = timeout_ms
        self._stream = stream

    def _h(self) -> Any:
        if not self._finalizer.alive:
            raise error_for("INVALID_ARG", "direct get batch was closed")
        return self._handle

    def next(self, timeout: Optional[float] = 5.0) -> Optional[Msg]:
        """The next message, or None at the end of the batch (and after
        it); TimeoutError when none came within timeout seconds (None:
        wait), the batch staying usable."""
        return self._next(_ms(timeout))

    def _next(self, ms: int) -> Optional[Msg]:
        p = ffi.new("jw_msg **")
        h = self._h()
        _js_check(lib.jw_direct_batch_next(h, ms, p))  # a timeout keeps it
        if p[0] == ffi.NULL:
            return None
        return _read_messages(self._js_state, p, 1)[0]  # type: ignore

    def __iter__(self) -> Iterator[Msg]:
        return self

    def __next__(self) -> Msg:
        m = self._next(self._timeout_ms)
        if m is None:
            raise StopIteration
        return m

    @property
    def num_pending(self) -> int:
        return int(lib.jw_direct_batch_num_pending(self._h()))

    @property
    def last_seq(self) -> int:
        return int(lib.jw_direct_batch_last_seq(self._h()))

    @property
    def up_to_seq(self) -> int:
        return int(lib.jw_direct_batch_up_to_seq(self._h()))

    def close(self) -> None:
        """Stop reading and release the batch; closing twice is harmless."""
        self._finalizer()

    def __enter__(self) -> "DirectBatch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<jetwire.DirectBatch%s>" % (
            "" if self._finalizer.alive else " closed")


class Consumer(_Child):
    """A pull consumer: ``fetch`` batches, ``messages()`` continuously."""

    def __init__(self, js: JetStream, handle: Any) -> None:
        super().__init__(js, handle, lib.jw_consumer_free)
        self.name = ffi.string(lib.jw_consumer_name(handle)).decode()
        self.stream = ffi.string(lib.jw_consumer_stream(handle)).decode()

    def info(self) -> Dict[str, Any]:
        p = ffi.new("char **")
        _js_check(self._call(lib.jw_consumer_info, p))
        import json
        info: Dict[str, Any] = json.loads(_text(p))
        return info

    def fetch(self, batch: int = 1, timeout: Optional[float] = 5.0,
              **options: Any) -> List[Msg]:
        """Up to batch messages, waiting up to timeout seconds (None: the
        context's timeout); what arrived in time, an empty list when
        nothing did. options are the engine's other fetch options
        (option_fields("fetch")): max_bytes, no_wait, ..."""
        n = _int_arg(batch, "batch")
        options["timeout"] = timeout
        # The engine checks the batch (its range: option_fields("fetch"))
        # before the room for it is made.
        options["batch"] = n
        opts = _call_opts("fetch", options, "fetch")
        msgs = ffi.new("jw_msg *[]", n)
        got = lib.jw_consumer_fetch(self._handle, msgs, n, opts)
        if got < 0:
            _js_check(got)
        if got and _wait.interrupt_pending():
            # Interrupted after some came: the exception goes on, and the
            # messages taken come again after ack_wait, as unacked ones do.
            lib.jwpy_free(msgs, got)
            _wait.raise_interrupt()
        return _read_messages(self._conn._state, msgs, got, self._cls,
                              keep=True)

    _cls: type = Msg

    def _consume_opts(self, batch: Optional[int], options: Dict[str, Any],
                      fn: str) -> Any:
        """The consume options of messages() / consume(), checked at the
        call rather than at the first message."""
        options["batch"] = batch
        return _call_opts("consume", options, fn)

    def messages(self, batch: Optional[int] = None, *,
                 timeout: Optional[float] = None,
                 **options: Any) -> Iterator[Msg]:
        """Continuous pull (like Go's Messages): overlapping pull requests
        of batch messages (the engine's default: 100). Ends when timeout
        seconds pass without a message (None: never), or when the loop is
        left (the requests stop). options are the engine's other consume
        options (option_fields("consume")): max_bytes, expires (seconds),
        ..."""
        opts = self._consume_opts(batch, options, "messages")
        return _consume_messages(self, opts, _ms(timeout))

    def consume(self, handler: Callable[[Msg], Any],
                batch: Optional[int] = None,
                **options: Any) -> "ConsumeContext":
        """Continuous pull delivering to handler on a thread of its own
        (like Go's Consume); ``stop()`` ends it. batch and options as for
        messages()."""
        if not callable(handler):
            raise TypeError("handler must be callable")
        cc = _Consume(self, self._consume_opts(batch, options, "consume"))
        return ConsumeContext(cc, handler)

    def __repr__(self) -> str:
        return "<jetwire.Consumer %s/%s>" % (self.stream, self.name)


class _Consume:
    """A running continuous pull (jw_consume) of messages() or consume();
    whoever iterates it frees it at the end (free), else its finalizer."""

    __slots__ = ("_conn", "_cls", "_handle", "_finalizer", "__weakref__")

    def __init__(self, cons: Consumer, opts: Any) -> None:
        p = ffi.new("jw_consume **")
        _js_check(lib.jw_consumer_consume(cons._handle, opts, p))
        self._conn = cons._conn  # as _Child's (the engine keeps cons)
        self._cls = cons._cls
        self._handle = p[0]
        self._finalizer = weakref.finalize(self, lib.jw_consume_free, p[0])

    def next(self, msgs: Any, timeout_ms: int) -> List[Msg]:
        """What came within timeout_ms (up to _BATCH); [] when nothing."""
        if not self._finalizer.alive:
            raise error_for("INVALID_SUBSCRIPTION", "consume was stopped")
        got = lib.jw_consume_next(self._handle, msgs, _BATCH, timeout_ms)
        if got < 0:
            _js_check(got)
        return _read_messages(self._conn._state, msgs, got, self._cls,
                              keep=True)

    def free(self) -> None:
        """Stop it (by the thread that iterates it, or once that is out
        of next: never under a running next)."""
        self._finalizer()


def _consume_messages(cons: Consumer, opts: Any, ms: int) -> Iterator[Msg]:
    """Consumer.messages(): the pull starts at the first next()."""
    cc = _Consume(cons, opts)
    del cons  # the iteration needs only the consume
    msgs = ffi.new("jw_msg *[]", _BATCH)
    try:
        while True:
            got = cc.next(msgs, ms)
            if not got:
                return
            yield from got
    finally:
        cc.free()


class ConsumeContext:
    """A running ``Consumer.consume``: ``stop()`` ends it."""

    def __init__(self, cc: _Consume, handler: Callable[[Msg], Any]) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run,
                                        args=(cc, handler),
                                        name="jetwire-consume", daemon=True)
        self._thread.start()

    def _run(self, cc: _Consume, handler: Callable[[Msg], Any]) -> None:
        msgs = ffi.new("jw_msg *[]", _BATCH)
        try:
            while not self._stopping.is_set():
                try:
                    got = cc.next(msgs, 200)
                except Error:
                    return
                for m in got:
                    try:
                        handler(m)
                    except Exception:
                        import traceback
                        traceback.print_exc()
        finally:
            cc.free()

    def stop(self, timeout: Optional[float] = 5.0) -> None:
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(None if timeout is None or
                              timeout == math.inf else timeout)


#: A blocking wait on an ordered consumer is made of engine waits this
#: long, so that close() from another thread gets in soon.
_SLICE_MS = 500


def _free_ordered(handle: Any, lock: Any) -> None:
    with lock:  # not while another thread is inside jw_ordered_next
        lib.jw_ordered_free(handle)


def _stream_seq(reply: Optional[str]) -> int:
    return 0 if reply is None else _metadata(reply).sequence.stream


class OrderedConsumer:
    """An ordered consumer (``js.ordered_consumer``): ``next``, ``fetch``
    or iterate (``messages(timeout)``, ``for msg in oc``); messages need no
    ack. ``close()`` or ``with`` ends it and deletes the server's
    consumer."""

    def __init__(self, js: JetStream, handle: Any, stream: str) -> None:
        self._conn = js._conn  # as _Child's (the engine keeps js)
        self._handle = handle
        self.stream = stream
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _free_ordered, handle,
                                           self._lock)
        # The reply subject of the last message handed out: its sequence
        # is last_sequence. (The engine's count includes messages taken in
        # a batch but not yet handed out by an iterator.)
        self._last_reply: Optional[str] = None
        self._closed = False  # by close(): iteration ends quietly

    _cls: type = Msg

    def _h(self) -> Any:
        if not self._finalizer.alive:
            raise error_for("INVALID_SUBSCRIPTION",
                            "ordered consumer was closed")
        return self._handle

    def _take(self, max_msgs: int, ms: int) -> List[Msg]:
        """One jw_ordered_next, waiting up to ms: [] when nothing came."""
        msgs = ffi.new("jw_msg *[]", max_msgs)
        with self._lock:  # close() frees the handle only between calls
            got = lib.jw_ordered_next(self._h(), msgs, max_msgs, ms)
        if got < 0:
            _js_check(got)
        return _read_messages(self._conn._state, msgs, got, self._cls,
                              keep=True)

    def _wait(self, max_msgs: int, ms: int) -> List[Msg]:
        """Up to max_msgs, waiting up to ms (< 0: until one comes) in
        slices: [] when nothing came in time."""
        deadline = None if ms < 0 else time.monotonic() + ms / 1000
        # In steps, so that close() from another thread gets in.
        step = _SLICE_MS
        while True:
            left = step if deadline is None else min(
                step, max(0, int((deadline - time.monotonic()) * 1000)))
            got = self._take(max_msgs, left)
            if got or (deadline is not None and
                       time.monotonic() >= deadline):
                return got

    def next(self, timeout: Optional[float] = 5.0) -> Msg:
        """The next message; jetwire.TimeoutError when none came within
        timeout seconds (None: wait until one comes)."""
        got = self._wait(1, _ms(timeout))
        if not got:
            raise _timeout("no message", _ms(timeout))
        self._last_reply = got[0].reply
        return got[0]

    def fetch(self, batch: int = 1,
              timeout: Optional[float] = 5.0) -> List[Msg]:
        """Up to batch messages, waiting up to timeout seconds for the
        first (then taking only what is there); an empty list when none
        came."""
        n = _int_arg(batch, "batch", 1)
        got = self._wait(min(n, _BATCH), _ms(timeout))
        while got and len(got) < n:
            more = self._take(min(n - len(got), _BATCH), 0)
            if not more:
                break
            got += more
        if got:
            self._last_reply = got[-1].reply
        return got

    def messages(self, timeout: Optional[float] = None) -> Iterator[Msg]:
        """Iterate until timeout seconds pass without a message (None:
        never) or the consumer is closed."""
        return self._iterate(_ms(timeout))

    def _iterate(self, ms: int) -> Iterator[Msg]:
        while True:
            try:
                got = self._wait(_BATCH, ms)
            except Error:
                if self._closed:
                    return
                raise
            if not got:
                return
            for m in got:
                if self._closed:
                    return
                self._last_reply = m.reply
                yield m

    def __iter__(self) -> Iterator[Msg]:
        return self._iterate(-1)

    @property
    def last_sequence(self) -> int:
        """The stream sequence of the last message handed out (0: none
        yet); it stays readable after close."""
        return _stream_seq(self._last_reply)

    def close(self) -> None:
        """Stop and delete the server's consumer. Closing twice is
        harmless."""
        self._closed = True
        self._finalizer()

    def __enter__(self) -> "OrderedConsumer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<jetwire.OrderedConsumer %s%s>" % (
            self.stream, "" if self._finalizer.alive else " closed")


def config_fields(kind: str) -> List[Dict[str, Any]]:
    """The engine's table of configuration fields for kind "stream",
    "consumer" or "bucket": dicts with name, type ("duration" fields are
    seconds in Python), since (the first nats-server version that knows the
    field; None: every JetStream server) and, for objects with fields of
    their own, fields."""
    if not isinstance(kind, str):
        raise TypeError("kind must be str")
    p = ffi.new("char **")
    _js_check(lib.jw_js_config_fields(kind.encode(), p))
    import json
    fields: List[Dict[str, Any]] = json.loads(_text(p))
    return fields
