"""The blocking API over the C engine.

Every call into C releases the GIL (cffi does that), so a thread blocked in
``next_msg`` or ``request`` lets other Python threads run. On the main
thread Ctrl+C and signal handlers are seen during waits too (_wait: the
engine's wait check, and slices for the waits the binding repeats). Callbacks never run on the engine's thread: a
connection that has callbacks starts one Python thread of its own, which
waits on the engine's readable fd and pulls (and runs them, or hands them
to a pool of callback_threads).
"""
from __future__ import annotations

import select
import threading
import weakref
from collections.abc import Mapping

from . import _codec, _wait
from ._args import (JW_OK, _SLICE_MS, _build_msg, _check, _engine_name,
                    _enum_names, _int_arg, _ms, _payload, _raise, _subject)
from ._errors import Error, error_for, in_seconds
from ._jetwire import ffi, lib
from ._msg import _BATCH, Headers, Msg, _read_messages

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import (Any, Callable, Dict, Iterator, List, Optional,
                        Sequence, Tuple, Union)

    from ._jetstream import JetStream
    from ._service import Endpoint, Service

    Payload = Union[bytes, bytearray, memoryview]
    HeadersIn = Optional[Mapping[str, Union[str, Sequence[str]]]]

__all__ = ["connect", "Connection", "Subscription", "Msg", "Headers", "Event"]


class Event:
    """A connection event: ``kind`` is "disconnected", "reconnected",
    "closed", "error", "discovered_servers" or "lame_duck"; ``error`` the
    jetwire.Error it carries (None for none); ``subscription`` the
    Subscription it concerns (a slow consumer), or None."""

    __slots__ = ("kind", "error", "text", "subscription")

    def __init__(self, kind: str, error: Optional[Error], text: str,
                 subscription: Optional["Subscription"]) -> None:
        self.kind = kind
        self.error = error
        self.text = text
        self.subscription = subscription

    def __repr__(self) -> str:
        return "<Event %s %r>" % (self.kind, self.text)


def _event(state: "_ConnState", ev: Any) -> Event:
    status = lib.jw_event_status(ev)
    text = ffi.string(lib.jw_event_text(ev)).decode("utf-8", "replace")
    error = None
    if status != JW_OK:
        error = error_for(ffi.string(lib.jw_status_name(status)).decode(),
                          text)
    sub_ref = state.subs_by_handle.get(int(ffi.cast("uintptr_t",
                                                    lib.jw_event_sub(ev))))
    kind = _engine_name(lib.jw_event_kind_name(lib.jw_event_kind_get(ev)))
    return Event(kind.lower() if kind else "unknown", error, text,
                 sub_ref() if sub_ref is not None else None)


class _ConnState:
    """What a connection's dispatcher thread and finalizer share. It holds no
    reference to the Connection, so an unclosed connection can still be
    collected; the finalizer then closes it and stops the thread."""

    def __init__(self, handle: Any, owner: "Connection") -> None:
        self.handle = handle
        self.lock = threading.Lock()
        self.owner = weakref.ref(owner)
        # What the dispatcher delivers to: subscriptions with a callback
        # and service endpoints (_service.Endpoint), each with
        # _deliver_to_callback, _finalizer (alive while it may deliver),
        # and the pool's _running and _again.
        self.callback_subs: Dict[int, Any] = {}
        self.ready_tags = ffi.new("uint64_t[]", 256)  # jw_conn_ready's
        self.event_cbs: Dict[str, Callable[..., Any]] = {}
        # Kinds whose callback takes the event's error: "error", and
        # "disconnected" when its callback accepts an argument.
        self.wants_error = {"error"}
        self.subs_by_handle: Dict[int, "weakref.ref[Any]"] = {}
        self.closed_reported = False  # closed_cb runs once, however closed
        self.thread: Optional[threading.Thread] = None
        self.wake_r, self.wake_w = -1, -1
        # Engine calls on the connection handle now running (one entry
        # each; see call()), and the closed handle shutdown left for the
        # last of them to free.
        self.busy: List[None] = []
        self.orphan: Any = None
        self.free_lock = threading.Lock()
        # The counters as they were when the handle was freed: stats stays
        # readable after close and drain, as Go's Stats() does.
        self.last_stats: Dict[str, int] = {}
        # error_cb(error, subscription) when it takes two arguments.
        self.error_wants_sub = False
        # Callback threads (the callback_threads option): 1 runs callbacks
        # on the dispatcher itself; more start a pool (_schedule).
        self.callback_threads = 1
        self.pool: Any = None  # a queue.SimpleQueue of subscriptions
        self.workers: List[threading.Thread] = []
        self.pool_lock = threading.Lock()

    # Why calls on the connection handle are counted: close() frees the
    # handle (jw_conn_free) while other threads may be inside calls on
    # that same handle (a request, a flush, a publish). The engine keeps a
    # connection alive for the handles made through it (subscriptions,
    # JetStream contexts, messages with a reply subject), never for a call
    # running on the freed handle itself: ASan saw jw_conn_publish and
    # jw_conn_flush read freed memory when another thread closed. So each
    # such call counts in busy, and the handle is freed by whoever is last
    # out: shutdown when nothing runs, else the last call to return (the
    # close has woken the waiting ones). A list, because append and pop
    # need no lock. Calls on the other handles (subscriptions, contexts,
    # consumers, buckets, ...) are not counted: those handles keep the
    # connection alive in the engine and report CONNECTION_CLOSED.

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(handle, *args), counted (see above); CONNECTION_CLOSED once
        the connection is closed."""
        busy = self.busy
        busy.append(None)
        try:
            handle = self.handle
            if handle is None:
                raise error_for("CONNECTION_CLOSED", "connection is closed")
            return fn(handle, *args)
        finally:
            busy.pop()
            if self.handle is None:
                self.release()

    def peek(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(handle, *args), counted; None once the connection is
        closed (for the getters that report a closed connection)."""
        busy = self.busy
        busy.append(None)
        try:
            handle = self.handle
            return None if handle is None else fn(handle, *args)
        finally:
            busy.pop()
            if self.handle is None:
                self.release()

    def release(self) -> None:
        """After a counted call of a closed connection: free the handle
        shutdown left if no other call is running."""
        with self.free_lock:
            if self.busy or self.orphan is None:
                return
            handle, self.orphan = self.orphan, None
        self.last_stats = _stats(handle)
        lib.jw_conn_free(handle)

    def start_dispatcher(self) -> None:
        if self.thread is not None:
            return
        import os
        self.wake_r, self.wake_w = os.pipe()
        if self.callback_threads > 1:
            import queue
            self.pool = queue.SimpleQueue()
            for i in range(self.callback_threads):
                worker = threading.Thread(
                    target=self._work, name="jetwire-callback-%d" % (i + 1),
                    daemon=True)
                self.workers.append(worker)
                worker.start()
        self.thread = threading.Thread(target=self._dispatch,
                                       name="jetwire-dispatch", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        """Make the dispatcher look at what it delivers to once more: a
        subscription added while it ran a round may have had its fd
        wake-up then, and the fd announces a queue that fills, not one
        that stays full."""
        with self.lock:  # shutdown closes the pipe after handle is None
            if self.handle is not None and self.wake_w >= 0:
                import os
                os.write(self.wake_w, b"x")

    def _dispatch(self) -> None:
        import os
        msgs = ffi.new("jw_msg *[]", _BATCH)
        ev_p = ffi.new("jw_event **")
        fd = lib.jw_conn_fd(self.handle)
        try:
            while True:
                try:
                    ready, _, _ = select.select([fd, self.wake_r], [], [])
                    if self.wake_r in ready:  # shut down
                        os.read(self.wake_r, 512)
                except (OSError, ValueError):
                    return
                if self._round(msgs, ev_p):
                    return
        finally:
            for _ in self.workers:  # let the pool finish, then stop
                self.pool.put(None)

    def _round(self, msgs: Any, ev_p: Any) -> bool:
        """Take what the readable fd announced: events and callback
        messages. True once the connection closed."""
        events = []
        with self.lock:
            if self.handle is None:
                return True
            lib.jw_conn_fd_reset(self.handle)
            closed = False
            while True:
                st = lib.jw_conn_next_event(self.handle, 0, ev_p)
                if st != JW_OK:
                    # Anything but nothing-queued: closed.
                    closed = closed or st != lib.JW_ETIMEOUT
                    break
                # The CLOSED event is the last: stop after handing
                # callbacks what is still queued (the engine may not
                # have finished its teardown yet, so do not wait for
                # a later status to say so).
                closed = closed or lib.jw_event_kind_get(
                    ev_p[0]) == lib.JW_EVENT_CLOSED
                events.append(_event(self, ev_p[0]))
                lib.jw_event_free(ev_p[0])
            # The engine lists the subscriptions that got messages (or
            # closed), tagged with their key in callback_subs: a round
            # costs what came, not how many subscriptions there are.
            subs = []
            tags = self.ready_tags
            while True:
                n = lib.jw_conn_ready(self.handle, tags, len(tags))
                if n <= 0:
                    break
                for i in range(n):
                    sub = self.callback_subs.get(tags[i])
                    if sub is not None:
                        subs.append(sub)
                if n < len(tags):
                    break
        # The callbacks run without the lock: one may close the
        # connection, and shutdown takes it.
        for event in events:
            self._run_event(event)
        if self.pool is None:
            for sub in subs:
                sub._deliver_to_callback(msgs)
        else:
            for sub in subs:
                self._schedule(sub)
        return closed

    # The pool (callback_threads > 1): a subscription with messages is
    # queued for the workers, and runs on one of them at a time, so its
    # callbacks keep their order while other subscriptions' run beside
    # them. The dispatcher marks a subscription that is already running
    # (_again): its worker then looks once more before letting it go.

    def _schedule(self, sub: "Subscription") -> None:
        if not sub._finalizer.alive:
            return
        with self.pool_lock:
            if sub._running:
                sub._again = True
                return
            sub._running = True
        self.pool.put(sub)

    def _work(self) -> None:
        msgs = ffi.new("jw_msg *[]", _BATCH)
        while True:
            sub = self.pool.get()
            if sub is None:
                return
            while True:
                sub._again = False
                sub._deliver_to_callback(msgs)
                with self.pool_lock:
                    if not sub._again:
                        sub._running = False
                        break

    def report_error(self, error: BaseException, sub: Any) -> Any:
        """An exception a callback raised, or an error event: to error_cb
        (with the subscription when it takes two arguments), else printed
        (nats-py logs it when no error_cb is set). Returns what error_cb
        returned: asyncio awaits a coroutine's."""
        cb = self.event_cbs.get("error")
        try:
            if cb is None:
                raise error
            if self.error_wants_sub:
                return cb(error, sub)
            return cb(error)
        except Exception:  # a user's callback must not kill the thread
            import traceback
            traceback.print_exc()
        return None

    def _run_event(self, event: Event) -> None:
        if event.kind == "closed":
            if self.closed_reported:
                return
            self.closed_reported = True
        cb = self.event_cbs.get(event.kind)
        if cb is None:
            return
        if event.kind == "error":
            self.report_error(event.error or error_for("UNKNOWN", event.text),
                              event.subscription)
            return
        try:
            if event.kind in self.wants_error:
                cb(event.error)
            else:
                cb()
        except Exception:  # a user's callback must not kill the thread
            import traceback
            traceback.print_exc()

    @staticmethod
    def shutdown(state: "_ConnState") -> None:
        """Close and free the connection (idempotent; also the finalizer).
        The handles made through it stay theirs to free: the engine keeps
        the connection's memory for them, and their calls report
        CONNECTION_CLOSED."""
        with state.lock:
            handle, state.handle = state.handle, None
        if handle is None:
            return
        lib.jw_conn_close(handle)  # wakes every waiting call
        if state.thread is not None:
            import os
            os.write(state.wake_w, b"x")
            if state.thread is not threading.current_thread():
                state.thread.join()
            os.close(state.wake_r)
            os.close(state.wake_w)
        with state.free_lock:
            if state.busy:  # the last of them frees it (release)
                state.orphan = handle
                return
        state.last_stats = _stats(handle)
        lib.jw_conn_free(handle)


class Subscription:
    """A subscription. Pull with ``next_msg``/``next_msgs`` or iterate;
    with a ``cb`` the connection's dispatcher thread calls it instead."""

    def __init__(self, conn: "Connection", handle: Any, subject: str,
                 queue: Optional[str], cb: Optional[Callable[[Msg], Any]]):
        # A pulled subscription keeps its connection alive. One with a
        # callback belongs to the connection's dispatcher instead, and must
        # not pin the connection, or an unclosed one could never be
        # collected.
        self._conn = conn if cb is None else None
        self._owner = weakref.ref(conn)  # to be let go by (_release)
        self._state = conn._state
        self._handle = handle
        self.subject = subject
        self.queue = queue
        self._cb = cb
        # On a callback pool: running on a worker; to be looked at again.
        self._running = False
        self._again = False
        self._msgs = ffi.new("jw_msg *[]", _BATCH)
        self._finalizer = weakref.finalize(self, lib.jw_sub_free, handle)
        conn._state.subs_by_handle[int(ffi.cast("uintptr_t", handle))] = \
            weakref.ref(self)

    def _h(self) -> Any:
        if not self._finalizer.alive:
            raise error_for("INVALID_SUBSCRIPTION", "subscription was closed")
        return self._handle

    def next_msg(self, timeout: Optional[float] = 1.0) -> Msg:
        """The next message, waiting up to timeout seconds (None: forever).
        Raises jetwire.TimeoutError when none came."""
        msgs = self.next_msgs(1, timeout)
        return msgs[0]

    def next_msgs(self, max_msgs: int = _BATCH,
                  timeout: Optional[float] = 1.0) -> List[Msg]:
        """Up to max_msgs queued messages, waiting up to timeout for the
        first. Raises jetwire.TimeoutError when none came."""
        _int_arg(max_msgs, "max_msgs", 1)
        if self._cb is not None:
            raise error_for("INVALID_ARG",
                            "subscription delivers to its callback")
        handle = self._h()
        ms = _ms(timeout)
        msgs = self._msgs
        # One engine call: on the main thread its wait check lets signal
        # handlers run (_wait).
        n = lib.jw_sub_next_batch(handle, msgs, min(max_msgs, _BATCH), ms)
        if n < 0:
            _raise(n)
        return _read_messages(self._state, msgs, n)

    def __iter__(self) -> Iterator[Msg]:
        """Messages until the subscription or its connection is closed."""
        while True:
            try:
                # At most about 1 MiB: a batch taken is out of the queue
                # and its limits (jw_sub_batch_size).
                batch = self.next_msgs(lib.jw_sub_batch_size(
                    self._h(), _BATCH), None)
            except (Error,) as e:
                if e.code in ("INVALID_SUBSCRIPTION", "CONNECTION_CLOSED"):
                    return
                raise
            yield from batch

    def _deliver_to_callback(self, msgs: Any) -> None:
        if not self._finalizer.alive:
            return
        handle = self._handle
        while True:
            n = lib.jw_sub_next_batch(handle, msgs, lib.jw_sub_batch_size(
                handle, _BATCH), 0)
            if n <= 0:
                return
            for m in _read_messages(self._state, msgs, n):
                try:
                    self._cb(m)  # type: ignore[misc]
                except Exception as e:  # to error_cb, with this sub
                    self._state.report_error(e, self)

    def unsubscribe(self, limit: int = 0) -> None:
        """Stop now, or after ``limit`` messages in total."""
        _int_arg(limit, "limit", 0)
        handle = self._h()
        if limit:
            _check(lib.jw_sub_auto_unsubscribe(handle, limit))
        else:
            self._let_go()
            _check(lib.jw_sub_unsubscribe(handle))

    def _let_go(self) -> None:
        conn = self._owner()
        if conn is not None:
            conn._release(self)

    def drain(self) -> None:
        """Unsubscribe but keep what is on the way; returns at once."""
        _check(lib.jw_sub_drain(self._h()))

    def set_pending_limits(self, msgs: int, bytes_: int) -> None:
        """Queue limits (<= 0: none on that dimension)."""
        _sub_set_limits(self._h(), msgs, bytes_)

    @property
    def pending_limits(self) -> Tuple[int, int]:
        """(messages, bytes) the queue may hold (<= 0: no limit)."""
        return _sub_pair(lib.jw_sub_pending_limits, self._h())

    @property
    def pending(self) -> Tuple[int, int]:
        """(messages, bytes) queued."""
        return _sub_pair(lib.jw_sub_pending, self._h())

    @property
    def dropped(self) -> int:
        return int(lib.jw_sub_dropped(self._h()))

    @property
    def delivered(self) -> int:
        return int(lib.jw_sub_delivered(self._h()))

    @property
    def is_valid(self) -> bool:
        return self._finalizer.alive and bool(lib.jw_sub_is_valid(
            self._handle))

    def close(self) -> None:
        """Unsubscribe if needed and release the handle (idempotent)."""
        self._state.callback_subs.pop(id(self), None)
        self._let_go()
        self._finalizer()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<Subscription subject=%r queue=%r>" % (self.subject,
                                                        self.queue)


# The engine's connection options (jw_opts_fields): name -> type, read at
# the first connect; those the binding sets itself (lang) left out.
_OPTION_TYPES: Dict[str, str] = {}


def _option_types() -> Dict[str, str]:
    if not _OPTION_TYPES:
        import json  # only here: it costs start-up time
        p = ffi.new("char **")
        _check(lib.jw_opts_fields(p))
        try:
            fields = json.loads(ffi.string(p[0]).decode())
        finally:
            lib.jw_free(p[0])
        _OPTION_TYPES.update((f["name"], f["type"]) for f in fields
                             if not f["binding"])
    return _OPTION_TYPES


# The engine's counters: "in_msgs", ...
_STATS = _enum_names(lib.jw_stat_name, lib.JW_STAT_IN_MSGS)
# One callback option per event kind: "disconnected_cb", ...
_CALLBACKS = tuple(kind.lower() + "_cb" for kind in _enum_names(
    lib.jw_event_kind_name, lib.JW_EVENT_DISCONNECTED))


def _takes_argument(cb: Callable[..., Any]) -> bool:
    try:
        import inspect  # only here: it costs start-up time
        inspect.signature(cb).bind(None)
    except (TypeError, ValueError):
        return False
    return True


def _takes_two(cb: Callable[..., Any]) -> bool:
    try:
        import inspect
        inspect.signature(cb).bind(None, None)
    except (TypeError, ValueError):
        return False
    return True


def _register_callbacks(state: "_ConnState", options: Dict[str, Any]) -> None:
    """Keep the event callbacks of connect()'s options in state."""
    for key in _CALLBACKS:
        cb = options.get(key)
        if cb is None:
            continue
        state.event_cbs[key[:-3]] = cb
        if key == "disconnected_cb" and _takes_argument(cb):
            state.wants_error.add("disconnected")
        if key == "error_cb" and _takes_two(cb):
            state.error_wants_sub = True


def _callback_threads(options: Dict[str, Any]) -> int:
    """Take the binding's own callback_threads option out of options."""
    value = options.pop("callback_threads", None)
    if value is None:
        return 1
    return _int_arg(value, "callback_threads", 1)


def _make_opts(options: Dict[str, Any]) -> Any:
    opts_p = ffi.new("jw_opts **")
    _check(lib.jw_opts_new(opts_p))
    opts = ffi.gc(opts_p[0], lib.jw_opts_free)
    types = _option_types()
    for key, value in options.items():
        if value is None or key in _CALLBACKS:
            continue
        name = key.encode()
        kind = types.get(key)
        if kind is None:
            raise TypeError("connect() got an unexpected keyword argument %r"
                            % key)
        if kind == "string":
            if not isinstance(value, str):
                raise TypeError("%s must be str" % key)
            _check(lib.jw_opts_set_str(opts, name, value.encode()))
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise TypeError("%s must be bool" % key)
            _check(lib.jw_opts_set_bool(opts, name, int(value)))
        elif kind == "duration":  # seconds here, ms in the engine
            _check(lib.jw_opts_set_int(opts, name, _ms(value, key)))
        else:
            _check(lib.jw_opts_set_int(opts, name, _int_arg(value, key)))
    # What CONNECT calls the client (the server's /connz shows it): set
    # here, after the user's options, and not among them, so that no
    # keyword argument can name the client another language.
    _check(lib.jw_opts_set_str(opts, b"lang", b"python"))
    _check(lib.jw_opts_set_str(opts, b"lang_version", _LANG_VERSION))
    return opts


def _lang_version() -> bytes:
    """The package's version (jetwire.__version__, the engine's)."""
    return bytes(ffi.string(lib.jw_version()))


_LANG_VERSION = _lang_version()


def _servers(servers: Union[str, Sequence[str], None]) -> bytes:
    if servers is None:
        return b"nats://127.0.0.1:4222"
    if isinstance(servers, str):
        return servers.encode()
    if isinstance(servers, (list, tuple)) and servers and all(
            isinstance(s, str) for s in servers):
        return ",".join(servers).encode()
    raise TypeError("servers must be a URL string or a list of them")


class _ConnectionState:
    """What both Connection classes report about their connection."""

    _state: "_ConnState"
    # What publish returns: None here, a finished future in asyncio.
    _done: Any = None
    # The subscriptions this connection keeps (_hold), and its running
    # services (_service); each Connection's __init__ makes the dicts.
    _held: Dict[int, Any]
    _services: Dict[int, Any]
    _prune_at = 64

    def _hold(self, sub: Any) -> None:
        """Keep sub until it is closed or unsubscribed, as nats.go and
        nats-py keep theirs: a subscription nobody else references still
        receives, and its callback still runs. The connection object holds
        them (not its state, which the dispatcher thread reaches), so an
        unclosed connection nobody references can still be collected. Ended
        subscriptions (auto-unsubscribed, drained) are let go whenever the
        count has doubled since the last look."""
        held = self._held
        held[id(sub)] = sub
        if len(held) >= self._prune_at:
            for key, s in list(held.items()):
                if not s._finalizer.alive or \
                        not lib.jw_sub_is_valid(s._handle):
                    del held[key]
            self._prune_at = max(64, 2 * len(held))

    def _release(self, sub: Any) -> None:
        self._held.pop(id(sub), None)

    def publish(self, subject: str, payload: Payload = b"",
                reply: Optional[str] = None, headers: HeadersIn = None,
                *, obj: Any = _codec.MISSING) -> Any:
        """Publish payload (bytes) to subject. ``obj=value`` publishes the
        value packed with MessagePack and sets ``Content-Type:
        application/msgpack``. Both APIs' publish: the asyncio one returns
        an awaitable that is already done (see jetwire.aio)."""
        # The common call, publish(str, bytes), in as few steps as possible.
        if (type(payload) is bytes and reply is None and headers is None and
                obj is _MISSING):
            subj: Optional[bytes]
            try:
                subj = _PUB_SUBJECTS[subject]
            except (KeyError, TypeError):
                subj = _pub_subject(subject)
            if subj is not None:
                # _ConnState.call written out: a counted call (see there).
                state = self._state
                busy = state.busy
                busy.append(None)
                try:
                    handle = state.handle
                    if handle is None:
                        raise error_for("CONNECTION_CLOSED",
                                        "connection is closed")
                    st = _jw_publish(handle, subj, payload, len(payload))
                finally:
                    busy.pop()
                    if state.handle is None:
                        state.release()
                if st:
                    _raise(st)
                return self._done
        self._state.call(_publish, subject, payload, reply, headers, obj)
        return self._done

    def new_inbox(self) -> str:
        buf = ffi.new("char[64]")
        _check(self._state.call(lib.jw_conn_new_inbox, buf, 64))
        return str(ffi.string(buf).decode())

    @property
    def is_connected(self) -> bool:
        return bool(self._state.peek(lib.jw_conn_status_get) ==
                    lib.JW_CONN_CONNECTED)

    @property
    def is_closed(self) -> bool:
        st = self._state.peek(lib.jw_conn_status_get)
        return st is None or st == lib.JW_CONN_CLOSED

    @property
    def is_reconnecting(self) -> bool:
        return bool(self._state.peek(lib.jw_conn_status_get) ==
                    lib.JW_CONN_RECONNECTING)

    @property
    def is_draining(self) -> bool:
        """Draining its subscriptions or, after them, its publishes."""
        return self._state.peek(lib.jw_conn_status_get) in (
            lib.JW_CONN_DRAINING_SUBS, lib.JW_CONN_DRAINING_PUBS)

    @property
    def status(self) -> str:
        st = self._state.peek(lib.jw_conn_status_get)
        name = None if st is None else _engine_name(
            lib.jw_conn_status_name(st))
        return name or "CLOSED"

    @property
    def connected_url(self) -> Optional[str]:
        buf = ffi.new("char[512]")
        if self._state.peek(lib.jw_conn_connected_url, buf, 512) is None:
            return None
        return ffi.string(buf).decode() or None

    def _server_list(self, getter: Any) -> List[str]:
        buf = ffi.new("char[65536]")
        _check(self._state.call(getter, buf, 65536))
        text = ffi.string(buf).decode()
        return text.split(",") if text else []

    @property
    def servers(self) -> List[str]:
        """The server pool, in the order it is tried: the URLs given to
        connect plus those the servers announced."""
        return self._server_list(lib.jw_conn_servers)

    @property
    def discovered_servers(self) -> List[str]:
        """The servers learned from the cluster (INFO connect_urls)."""
        return self._server_list(lib.jw_conn_discovered_servers)

    @property
    def server_info(self) -> Dict[str, Any]:
        buf = ffi.new("char[65536]")
        _check(self._state.call(lib.jw_conn_server_info, buf, 65536))
        text = ffi.string(buf).decode()
        import json
        return json.loads(text) if text else {}

    @property
    def max_payload(self) -> int:
        return int(self._state.call(lib.jw_conn_max_payload))

    @property
    def stats(self) -> Dict[str, int]:
        """The counters (in_msgs, in_bytes, out_msgs, out_bytes,
        reconnects); after close or drain, their last values."""
        stats: Optional[Dict[str, int]] = self._state.peek(_stats)
        return dict(self._state.last_stats) if stats is None else stats



# Subjects published to, as the engine takes them: the common publish skips
# the type and NUL checks and the encoding (bounded; the engine still
# checks the subject itself).
_PUB_SUBJECTS: Dict[str, bytes] = {}
_PUB_SUBJECTS_MAX = 1024
_MISSING = _codec.MISSING
_jw_publish = lib.jw_conn_publish


def _sub_set_limits(handle: Any, msgs: Any, bytes_: Any) -> None:
    """A subscription's pending limits (both APIs)."""
    _check(lib.jw_sub_set_pending_limits(
        handle, _int_arg(msgs, "msgs"), _int_arg(bytes_, "bytes_")))


def _sub_pair(getter: Any, handle: Any) -> Tuple[int, int]:
    """The (messages, bytes) a subscription getter gives (both APIs)."""
    m = ffi.new("int64_t *")
    b = ffi.new("int64_t *")
    _check(getter(handle, m, b))
    return m[0], b[0]


def _pub_subject(subject: Any) -> Optional[bytes]:
    """subject as bytes for the common publish; None when it needs the
    full checks (not a str, or holding a NUL)."""
    if type(subject) is not str or "\0" in subject:
        return None
    if len(_PUB_SUBJECTS) >= _PUB_SUBJECTS_MAX:
        _PUB_SUBJECTS.clear()
    subj = _PUB_SUBJECTS[subject] = subject.encode()
    return subj


def _connect_call(urls: bytes, opts: Any, conn_p: Any) -> Tuple[int, str]:
    """jw_conn_connect and its detail text, read on the thread that ran it
    (jw_last_error is per thread)."""
    st = lib.jw_conn_connect(urls, opts, conn_p)
    detail = "" if st == JW_OK else ffi.string(lib.jw_last_error()).decode(
        "utf-8", "replace")
    return st, detail


def _flush(handle: Any, ms: int) -> int:
    return int(lib.jw_conn_flush(handle, ms))


def _next_event(handle: Any, ms: int, ev_p: Any) -> int:
    return int(lib.jw_conn_next_event(handle, ms, ev_p))


def _drain_call(handle: Any, ms: int) -> Tuple[int, str]:
    """jw_conn_drain and its detail text, read on the thread that ran it."""
    st = lib.jw_conn_drain(handle, ms)
    detail = "" if st == JW_OK else ffi.string(lib.jw_last_error()).decode(
        "utf-8", "replace")
    return st, detail


def _ignore(result: Any) -> None:
    """An interrupted drain's result: the close that followed says it."""


def _join(thread: threading.Thread, seconds: float) -> None:
    """thread.join(seconds), in slices (_wait)."""
    import time
    deadline = time.monotonic() + seconds
    while thread.is_alive():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        thread.join(min(left, _SLICE_MS / 1000.0))


def _stats(handle: Any) -> Dict[str, int]:
    return {name: int(lib.jw_conn_stat(handle, lib.JW_STAT_IN_MSGS + i))
            for i, name in enumerate(_STATS)}


def _publish(handle: Any, subject: str, payload: Payload,
             reply: Optional[str], headers: HeadersIn, obj: Any) -> None:
    """The publish both APIs share: bytes, headers, or a packed obj."""
    if obj is not _codec.MISSING:
        payload = _codec.pack(obj)
        merged = dict(headers or {})
        merged["Content-Type"] = "application/msgpack"
        headers = merged
    subj = _subject(subject)
    if headers:
        _check(lib.jw_conn_publish_msg(
            handle, _build_msg(subj, reply, payload, headers)))
        return
    rep = _subject(reply, "reply") if reply is not None else ffi.NULL
    data = _payload(payload)
    _check(lib.jw_conn_publish_reply(handle, subj, rep, data, len(data)))


def _subscribe(handle: Any, subject: str, queue: Optional[str], cb: Any,
               pending_msgs_limit: Optional[int],
               pending_bytes_limit: Optional[int]) -> Any:
    """Subscribe for both APIs; returns the engine's handle."""
    subj = _subject(subject)
    q = _subject(queue, "queue") if queue is not None else ffi.NULL
    if cb is not None and not callable(cb):
        raise TypeError("cb must be callable")
    for value, name in ((pending_msgs_limit, "pending_msgs_limit"),
                        (pending_bytes_limit, "pending_bytes_limit")):
        if value is not None:
            _int_arg(value, name)
    sub_p = ffi.new("jw_sub **")
    _check(lib.jw_conn_subscribe(handle, subj, q, sub_p))
    if pending_msgs_limit is not None or pending_bytes_limit is not None:
        # The one not given stays as the connection set it.
        now = ffi.new("int64_t[2]")
        lib.jw_sub_pending_limits(sub_p[0], now, now + 1)
        st = lib.jw_sub_set_pending_limits(
            sub_p[0],
            now[0] if pending_msgs_limit is None else pending_msgs_limit,
            now[1] if pending_bytes_limit is None else pending_bytes_limit)
        if st != JW_OK:
            lib.jw_sub_free(sub_p[0])
            _raise(st)
    return sub_p[0]


class Connection(_ConnectionState):
    """A connection to NATS. Use ``jetwire.connect()`` to make one."""

    def __init__(self, servers: Union[str, Sequence[str], None] = None,
                 **options: Any) -> None:
        for key in _CALLBACKS:
            cb = options.get(key)
            if cb is not None and not callable(cb):
                raise TypeError("%s must be callable" % key)
        options = dict(options)
        threads = _callback_threads(options)
        opts = _make_opts(options)
        conn_p = ffi.new("jw_conn **")
        urls = _servers(servers)
        if _wait.on_main_thread():
            # The handshake may take connect_timeout per server: on a
            # thread of its own, so that Ctrl+C ends the wait (and the
            # connection, once made, is closed).
            st, detail = _wait.run_in_thread(
                _connect_call, (urls, opts, conn_p),
                lambda result: lib.jw_conn_free(conn_p[0])
                if result[0] == JW_OK else None, "jetwire-connect")
            if st != JW_OK:
                code = ffi.string(lib.jw_status_name(st)).decode()
                raise error_for(code, in_seconds(detail) or ffi.string(
                    lib.jw_strerror(st)).decode())
        else:
            _check(lib.jw_conn_connect(urls, opts, conn_p))
        self._state = _ConnState(conn_p[0], self)
        self._state.callback_threads = threads
        self._held = {}
        self._services = {}
        self._finalizer = weakref.finalize(self, _ConnState.shutdown,
                                           self._state)
        _register_callbacks(self._state, options)
        if self._state.event_cbs:
            self._state.start_dispatcher()

    # -- publishing -------------------------------------------------------

    if TYPE_CHECKING:
        def publish(self, subject: str, payload: Payload = b"",
                    reply: Optional[str] = None, headers: HeadersIn = None,
                    *, obj: Any = _codec.MISSING) -> None:
            """Publish payload (bytes) to subject. ``obj=value`` publishes
            the value packed with MessagePack and sets ``Content-Type:
            application/msgpack``."""

    def request(self, subject: str, payload: Payload = b"",
                timeout: Optional[float] = 2.0,
                headers: HeadersIn = None) -> Msg:
        """Send a request and wait for the first reply. Raises
        jetwire.NoRespondersError or jetwire.TimeoutError."""
        call = self._state.call
        subj = _subject(subject)
        ms = _ms(timeout)
        reply_p = ffi.new("jw_msg **")
        if headers:
            msg = _build_msg(subj, None, payload, headers)
            _check(call(lib.jw_conn_request_msg, msg, ms, reply_p))
        else:
            data = _payload(payload)
            _check(call(lib.jw_conn_request, subj, data, len(data), ms,
                        reply_p))
        reply: Msg = _read_messages(self._state, reply_p, 1)[0]
        return reply

    # -- subscribing ------------------------------------------------------

    def subscribe(self, subject: str, queue: Optional[str] = None,
                  cb: Optional[Callable[[Msg], Any]] = None, *,
                  pending_msgs_limit: Optional[int] = None,
                  pending_bytes_limit: Optional[int] = None) -> Subscription:
        handle = self._state.call(_subscribe, subject, queue, cb,
                                  pending_msgs_limit, pending_bytes_limit)
        sub = Subscription(self, handle, subject, queue, cb)
        self._hold(sub)
        if cb is not None:
            self._state.callback_subs[id(sub)] = sub
            _check(lib.jw_sub_set_tag(handle, id(sub)))
            self._state.start_dispatcher()
            # A message may have come before the dispatcher knew of sub.
            self._state.wake()
        return sub

    # -- JetStream --------------------------------------------------------

    def jetstream(self, timeout: Optional[float] = 5.0, *,
                  domain: Optional[str] = None,
                  prefix: Optional[str] = None,
                  max_pending: Optional[int] = None) -> "JetStream":
        """A JetStream context (jetwire.JetStream): timeout is how long
        each API request and publish waits for its answer."""
        from ._jetstream import JetStream
        return JetStream(self, timeout, domain, prefix, max_pending)

    # -- services ---------------------------------------------------------

    def add_service(self, name: str, version: str, *,
                    stats_handler: Optional[Callable[["Endpoint"], Any]]
                    = None, **fields: Any) -> "Service":
        """Start a service (the NATS micro API; jetwire.Service): name
        (letters, digits, '-' and '_') and version (semantic versioning,
        "1.0.0") and the engine's other fields: description, metadata (a
        dict of str), queue_group ("q" by default), queue_group_disabled.
        It answers discovery ($SRV PING, INFO, STATS) at once and serves
        the endpoints added to it until stopped. stats_handler(endpoint)
        gives the "data" of each endpoint's STATS (JSON-able), called when
        the endpoint is added and after each request it handled."""
        from ._service import Service
        return Service(self, name, version, stats_handler, fields)

    def service_ping(self, name: Optional[str] = None,
                     id: Optional[str] = None,
                     timeout: Optional[float] = 1.0,
                     max_responses: Optional[int] = None
                     ) -> List[Dict[str, Any]]:
        """PING every service, those called name, or one instance (name
        and id): the answers (dicts) that came within timeout seconds, or
        the first max_responses of them."""
        return self._discover(lib.JW_SERVICE_PING, name, id, timeout,
                              max_responses)

    def service_info(self, name: Optional[str] = None,
                     id: Optional[str] = None,
                     timeout: Optional[float] = 1.0,
                     max_responses: Optional[int] = None
                     ) -> List[Dict[str, Any]]:
        """The INFO answers, as service_ping gathers them."""
        return self._discover(lib.JW_SERVICE_INFO, name, id, timeout,
                              max_responses)

    def service_stats(self, name: Optional[str] = None,
                      id: Optional[str] = None,
                      timeout: Optional[float] = 1.0,
                      max_responses: Optional[int] = None
                      ) -> List[Dict[str, Any]]:
        """The STATS answers, as service_ping gathers them."""
        return self._discover(lib.JW_SERVICE_STATS, name, id, timeout,
                              max_responses)

    def _discover(self, verb: int, *args: Any) -> List[Dict[str, Any]]:
        from ._service import _discover, _discover_args
        answers: List[Dict[str, Any]] = self._state.call(
            _discover, verb, *_discover_args(*args))
        return answers

    # -- the rest ---------------------------------------------------------

    def flush(self, timeout: Optional[float] = 5.0) -> None:
        """Write what is queued and wait for the server's PONG. Raises
        jetwire.TimeoutError when none came within timeout seconds."""
        _check(self._state.call(_flush, _ms(timeout)))

    def rtt(self) -> float:
        """Round-trip time to the server, in seconds."""
        us = ffi.new("int64_t *")
        _check(self._state.call(lib.jw_conn_rtt, us))
        return float(us[0]) / 1e6

    def drain(self, timeout: Optional[float] = None) -> None:
        """Unsubscribe all, let messages on the way arrive, write pending
        publishes, then close. Messages already queued in subscriptions stay
        readable. Raises jetwire.TimeoutError if it took longer than
        timeout (default: the drain_timeout option); closed anyway."""
        ms = -1 if timeout is None else _ms(timeout)
        state = self._state
        if _wait.on_main_thread():
            # One engine call that cannot be cut in slices: on a thread of
            # its own. Interrupted (Ctrl+C), the connection closes at once.
            try:
                st, detail = _wait.run_in_thread(
                    state.call, (_drain_call, ms), _ignore, "jetwire-drain")
            except BaseException:
                self.close()
                raise
        else:
            st, detail = state.call(_drain_call, ms)
        me = threading.current_thread()
        # Let the dispatcher (and the callback threads) hand callbacks what
        # arrived before closing; in slices, for Ctrl+C.
        for t in [state.thread] + state.workers:
            if t is not None and t is not me:
                _join(t, 5.0)
        self._finalizer()
        self._held.clear()  # what they hold stays readable to their owners
        self._services.clear()
        self._report_closed()
        if st != JW_OK:
            code = ffi.string(lib.jw_status_name(st)).decode()
            raise error_for(code, in_seconds(detail) or ffi.string(
                lib.jw_strerror(st)).decode())

    def close(self) -> None:
        """Close at once. Closing twice is harmless."""
        self._finalizer()
        self._held.clear()
        self._services.clear()
        self._report_closed()

    def _report_closed(self) -> None:
        """Run closed_cb once, here if the dispatcher did not get to it."""
        state = self._state
        if state.closed_reported:
            return
        state.closed_reported = True
        cb = state.event_cbs.get("closed")
        if cb is not None:
            try:
                cb()
            except Exception:
                import traceback
                traceback.print_exc()

    def next_event(self, timeout: Optional[float] = 0) -> Event:
        """The next queued connection event, waiting up to timeout seconds
        (jetwire.TimeoutError when none). For connections without event
        callbacks: with callbacks, their thread takes the events."""
        ev_p = ffi.new("jw_event **")
        _check(self._state.call(_next_event, _ms(timeout), ev_p))
        try:
            return _event(self._state, ev_p[0])
        finally:
            lib.jw_event_free(ev_p[0])

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<jetwire.Connection %s %s>" % (self.status,
                                               self.connected_url or "")


def connect(servers: Union[str, Sequence[str], None] =
            "nats://127.0.0.1:4222", **options: Any) -> Connection:
    """Connect and complete the handshake. ``servers`` is a URL, a
    comma-separated string or a list. Options: name, user, password, token,
    nkeys_seed and user_credentials (file paths), the TLS options
    tls_ca_file, tls_cert_file, tls_key_file, tls_hostname and
    tls_insecure_skip_verify, no_echo, connect_timeout, ping_interval,
    max_outstanding_pings, drain_timeout (seconds), pending_msgs_limit,
    pending_bytes_limit, max_pending_out; reconnection: allow_reconnect
    (True), max_reconnect_attempts (60 per server, -1 forever),
    reconnect_time_wait (2.0), reconnect_jitter (0.1), reconnect_jitter_tls
    (1.0), reconnect_buf_size (8 MiB; publishing past it while reconnecting
    raises jetwire.NotConnectedError), no_randomize,
    ignore_discovered_servers, retry_on_failed_connect; and the callbacks
    disconnected_cb, reconnected_cb, closed_cb, error_cb(error) or
    error_cb(error, subscription) (also for exceptions raised by
    subscription callbacks), discovered_servers_cb, lame_duck_cb (run on a
    jetwire Python thread); callback_threads (1: how many threads run the
    subscriptions' callbacks; each subscription on one at a time, in order);
    disconnected_cb may take one argument, the error that ended the
    connection (None when it left a lame duck server). Requests waiting
    when the connection is lost raise jetwire.NotConnectedError."""
    return Connection(servers, **options)
