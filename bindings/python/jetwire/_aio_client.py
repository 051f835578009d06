"""The asyncio connection (jetwire.aio re-exports it): Connection and its
readable fd, subscriptions, requests, events and Msg; see jetwire.aio for
how the loop is used. JetStream is in _aio_js, Key-Value in _aio_kv.
"""
from __future__ import annotations

import asyncio
import collections
import inspect
import weakref
from typing import (TYPE_CHECKING, Any, AsyncIterator, Callable, Deque, Dict,
                    List, Optional, Sequence, Set, Tuple, Union)

from . import _codec
from ._args import (JW_OK, _build_msg, _check, _int_arg, _ms, _payload,
                    _raise, _subject, _timeout)
from ._client import (_CALLBACKS, _ConnectionState, _ConnState,
                      _connect_call, _event, _make_opts, _register_callbacks,
                      _servers, _sub_pair, _sub_set_limits,
                      _subscribe)
from ._msg import Msg as _SyncMsg, _BATCH, _read_messages, _reply_to
from ._errors import Error, error_for, in_seconds
from . import _jetstream as _js
from ._jetstream import _js_check
from ._jetwire import ffi, lib

if TYPE_CHECKING:
    from ._client import HeadersIn, Payload
    from ._aio_js import JetStream
    from ._aio_kv import KeyWatcher
    from ._aio_service import Endpoint, Service

__all__ = ["connect", "Connection", "Subscription", "Msg"]

# Seconds of callbacks without a turn of the event loop after which the
# engine's loop runs between two of them (Subscription._run_callback).
_ENGINE_EVERY = 0.002

Callback = Callable[..., Any]


class Msg(_SyncMsg):
    """A received message; ``await msg.respond(data)`` answers it."""

    __slots__ = ()

    def respond(self, data: Payload = b"",  # type: ignore[override]
                headers: HeadersIn = None) -> "asyncio.Future[None]":
        """Publish to the reply subject; awaitable like Connection.publish
        (the reply is queued by the call)."""
        done: "asyncio.Future[None]" = _reply_to(self, data, headers)
        return done

    # JetStream acks. ack, nak, term and in_progress only queue a publish
    # and return at once; ack_sync waits for the server on the executor.

    async def ack(self) -> None:  # type: ignore[override]
        _SyncMsg.ack(self)

    async def ack_sync(self,  # type: ignore[override]
                       timeout: Optional[float] = 5.0) -> None:
        m = self._engine("ack")
        ms = _ms(timeout)
        st = await asyncio.get_running_loop().run_in_executor(
            None, lib.jw_msg_ack_sync, m, ms)
        _js_check(st)

    async def nak(self,  # type: ignore[override]
                  delay: Optional[float] = None) -> None:
        _SyncMsg.nak(self, delay)

    async def term(  # type: ignore[override]
            self, reason: Optional[str] = None) -> None:
        _SyncMsg.term(self, reason)

    async def in_progress(self) -> None:  # type: ignore[override]
        _SyncMsg.in_progress(self)


def _retrieved(fut: "asyncio.Future[Any]") -> None:
    """A done callback for an executor future whose waiter may be gone
    (its task was cancelled while the engine call ran on): reads the
    exception, so that asyncio does not log "Future exception was never
    retrieved" for a result nobody wants any more (typically the
    ConnectionClosedError of the drain that followed the cancel). A
    later fut.result() still raises it: a call that takes the future up
    again sees the error."""
    if not fut.cancelled():
        fut.exception()


def _abandon(fut: "asyncio.Future[Any]", release: Callable[[], None]
             ) -> None:
    """Give up an executor future whose waiter is gone: release() (of
    what the engine call uses) once the call has returned, its result or
    error dropped (_retrieved)."""
    def done(f: "asyncio.Future[Any]") -> None:
        _retrieved(f)
        release()
    fut.add_done_callback(done)


class _Expired(Exception):
    """A _wait_for timer fired."""


def _expire(fut: "asyncio.Future[Any]") -> None:
    if not fut.done():
        fut.set_exception(_Expired())


async def _wait_for(fut: "asyncio.Future[Any]",
                    timeout: Optional[float]) -> Any:
    """asyncio.wait_for(fut, timeout) for the futures this module resolves,
    without the inner waiter that costs wait_for an extra loop iteration on
    every completion (a request round trip pays it)."""
    if timeout is None:
        return await fut
    timer = asyncio.get_running_loop().call_later(timeout, _expire, fut)
    try:
        return await fut
    except _Expired:
        raise asyncio.TimeoutError from None
    finally:
        timer.cancel()


def _abandon_connect(fut: "asyncio.Future[Any]", conn_p: Any) -> None:
    """The end of a connect whose task was cancelled: a connection made
    meanwhile is nobody's, so it is freed; a failure is nobody's to see."""
    if fut.cancelled() or fut.exception() is not None:
        return
    if fut.result()[0] == JW_OK:
        lib.jw_conn_free(conn_p[0])


async def _maybe_await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


async def _guarded(result: Any) -> None:
    """Await what a callback returned, if it is awaitable; an exception it
    raises is printed: it must not end the task that runs callbacks (nor
    go back to error_cb, which may be what raised it)."""
    if result is None or not inspect.isawaitable(result):
        return
    try:
        await result
    except Exception:
        import traceback
        traceback.print_exc()


class Subscription:
    """An asyncio subscription: ``await sub.next_msg()``, ``async for msg in
    sub.messages``, or a ``cb`` coroutine run for each message in order."""

    # What frees the handle when the subscription goes: a service's
    # endpoints deliver through a subclass whose handle is the service's
    # (_aio_service).
    _free: Callable[[Any], None] = lib.jw_sub_free

    def __init__(self, conn: "Connection", handle: Any, subject: str,
                 queue: Optional[str], cb: Optional[Callback]) -> None:
        self._conn = conn
        self._handle = handle
        self.subject = subject
        self.queue = queue
        self._buffer: Deque[Msg] = collections.deque()
        self._waiters: Deque["asyncio.Future[None]"] = collections.deque()
        self._msgs = ffi.new("jw_msg *[]", _BATCH)
        self._ended: Optional[Error] = None
        self._task: Optional["asyncio.Task[None]"] = None
        self._finalizer = weakref.finalize(self, self._free, handle)
        self._key = int(ffi.cast("uintptr_t", handle))
        conn._state.subs_by_handle[self._key] = weakref.ref(self)
        # The engine names it in jw_conn_ready when messages come, so the
        # connection fills the subscriptions that got some, not all.
        _check(lib.jw_sub_set_tag(handle, self._key))
        if cb is not None:
            self._task = asyncio.get_running_loop().create_task(
                self._run_callback(cb))

    def _fill(self) -> None:
        """Move what the engine has queued into the buffer (no waiting)."""
        if not self._finalizer.alive or self._ended is not None:
            return
        handle = self._handle
        n = lib.jw_sub_next_batch(handle, self._msgs, lib.jw_sub_batch_size(
            handle, _BATCH), 0)
        if n > 0:
            self._buffer.extend(self._take(self._msgs, n))
        elif n != lib.JW_ETIMEOUT:  # anything but nothing queued: ended
            code = ffi.string(lib.jw_status_name(n)).decode()
            self._ended = error_for(code, ffi.string(lib.jw_last_error())
                                    .decode("utf-8", "replace"))
        if self._buffer or self._ended is not None:
            while self._waiters:
                fut = self._waiters.popleft()
                if not fut.done():
                    fut.set_result(None)

    def _take(self, msgs: Any, n: int) -> List[Any]:
        """The n engine messages taken into msgs, as Msg objects."""
        return _read_messages(self._conn._state, msgs, n, Msg)

    async def next_msg(self, timeout: Optional[float] = 1.0) -> Msg:
        """The next message, waiting up to timeout seconds (None: forever).
        Raises jetwire.TimeoutError when none came."""
        ms = _ms(timeout)
        if not self._buffer:
            self._fill()
        if not self._buffer and self._ended is None:
            if not self._finalizer.alive:
                raise error_for("INVALID_SUBSCRIPTION",
                                "subscription was closed")
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            self._conn._watch(self)
            try:
                await _wait_for(fut, None if ms < 0 else ms / 1000)
            except asyncio.TimeoutError:
                raise _timeout("no message", ms) from None
            if not self._buffer:
                self._fill()
        if self._buffer:
            return self._buffer.popleft()
        if self._ended is not None:
            raise self._ended
        raise error_for("TIMEOUT", "no message")

    async def next_msgs(self, max_msgs: int = _BATCH,
                        timeout: Optional[float] = 1.0) -> List[Msg]:
        _int_arg(max_msgs, "max_msgs", 1)
        first = await self.next_msg(timeout)
        out = [first]
        while self._buffer and len(out) < max_msgs:
            out.append(self._buffer.popleft())
        return out

    @property
    def messages(self) -> AsyncIterator[Msg]:
        """``async for msg in sub.messages``: until the subscription ends."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Msg]:
        buffer = self._buffer
        while True:
            while buffer:  # what is here already, without a wait each
                yield buffer.popleft()
            try:
                msg = await self.next_msg(None)
            except Error as e:
                if e.code in ("INVALID_SUBSCRIPTION", "CONNECTION_CLOSED"):
                    return
                raise
            yield msg

    async def _run_callback(self, cb: Callback) -> None:
        # next_msg(None) written out, so that each message resumes this
        # coroutine alone rather than a stack of three.
        buffer = self._buffer
        loop = asyncio.get_running_loop()
        clock = loop.time
        run_engine = self._conn._run_engine
        busy = False  # the last batch was taken without a wait after it
        while True:
            if not buffer:
                # The fd announces a queue that goes from empty to
                # non-empty, and a fill takes at most _BATCH: what a burst
                # left queued behind the last batch is announced by
                # nobody, so look before waiting, as next_msg does.
                self._fill()
            if buffer:
                if busy:
                    # Batch after batch with no wait between: let the loop
                    # run first (plain functions, and coroutines that
                    # finish without suspending, never yield). A batch
                    # that emptied the queue waits below instead, which
                    # yields anyway: one loop turn less per request.
                    await asyncio.sleep(0)
                busy = True
                ran = clock()
                while buffer:
                    msg = buffer.popleft()
                    try:
                        result = cb(msg)
                        if result is not None and \
                                inspect.isawaitable(result):
                            await result
                    except Exception as e:  # one bad message stops no other
                        # To error_cb with this subscription, as in the
                        # blocking API (printed without one).
                        await _guarded(self._conn._state.report_error(
                            e, self))
                    # The engine's loop runs on this thread: callbacks
                    # that hold it (plain functions, coroutines that do
                    # not suspend) let it read the socket every few ms,
                    # so that the server keeps sending and the pending
                    # limits, not a server-side slow consumer, decide.
                    now = clock()
                    if now - ran >= _ENGINE_EVERY:
                        ran = now
                        run_engine()
                continue
            busy = False
            ended = self._ended
            if ended is not None:
                if ended.code in ("INVALID_SUBSCRIPTION",
                                  "CONNECTION_CLOSED"):
                    return
                raise ended
            if not self._finalizer.alive:
                return
            fut = loop.create_future()
            self._waiters.append(fut)
            self._conn._watch(self)
            await fut

    def _live(self) -> Any:
        """The handle, or INVALID_SUBSCRIPTION once closed."""
        if not self._finalizer.alive:
            raise error_for("INVALID_SUBSCRIPTION", "subscription was closed")
        return self._handle

    async def unsubscribe(self, limit: int = 0) -> None:
        handle = self._live()
        _int_arg(limit, "limit", 0)
        if limit:
            _check(lib.jw_sub_auto_unsubscribe(handle, limit))
        else:
            self._conn._release(self)
            _check(lib.jw_sub_unsubscribe(handle))
            self._fill()

    async def drain(self) -> None:
        _check(lib.jw_sub_drain(self._live()))

    def set_pending_limits(self, msgs: int, bytes_: int) -> None:
        """Queue limits (<= 0: none on that dimension), as the blocking
        Subscription's."""
        _sub_set_limits(self._live(), msgs, bytes_)

    @property
    def pending_limits(self) -> Tuple[int, int]:
        """(messages, bytes) the queue may hold (<= 0: no limit)."""
        return _sub_pair(lib.jw_sub_pending_limits, self._live())

    @property
    def pending(self) -> Tuple[int, int]:
        """(messages, bytes) waiting: the engine's queue (its bytes as the
        pending limits count them), and the messages taken from it that
        this subscription has not handed out yet (their payloads)."""
        msgs, size = _sub_pair(lib.jw_sub_pending, self._live())
        return (msgs + len(self._buffer),
                size + sum(len(x.data) for x in self._buffer))

    @property
    def dropped(self) -> int:
        return int(lib.jw_sub_dropped(self._handle)) \
            if self._finalizer.alive else 0

    @property
    def delivered(self) -> int:
        return int(lib.jw_sub_delivered(self._handle)) \
            if self._finalizer.alive else 0

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._conn._unwatch(self)
        self._conn._release(self)
        self._finalizer()
        self._ended = error_for("INVALID_SUBSCRIPTION",
                                "subscription was closed")
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)


class Connection(_ConnectionState):
    """An asyncio connection. Make one with ``await jetwire.aio.connect()``."""

    def __init__(self) -> None:  # use connect()
        self._state: _ConnState
        self._loop: asyncio.AbstractEventLoop
        self._requests: Dict[int, "asyncio.Future[Any]"] = {}
        # Requests whose future gets the engine's reply itself (a jw_msg,
        # freed by its gc), not a Msg: JetStream publishes parse it in C.
        self._raw_replies: Set[int] = set()
        # What waits for the readable fd: subscriptions by their engine
        # key (filled when jw_conn_ready names them), the rest (KV
        # watchers) by id, looked at each time.
        self._watched_subs: Dict[int, Subscription] = {}
        self._watched: Dict[int, "Union[Subscription, KeyWatcher]"] = {}
        self._ready_tags = ffi.new("uint64_t[]", 256)
        self._held = {}  # the subscriptions it keeps (_hold)
        self._services = {}  # its running services (_aio_service)
        self._fd = -1
        # The engine's loop, run on this event loop's thread (_run_engine):
        # its poll fd, and the timer for its next due time.
        self._engine_loop: Any = None
        self._loop_fd = -1
        self._timer: Optional[asyncio.TimerHandle] = None
        self._timer_at = 0.0
        # Out cells for jw_conn_request_poll, jw_conn_next_event and
        # request ids, used on the loop's thread only.
        self._poll_cells = (ffi.new("uint64_t *"), ffi.new("jw_status *"),
                            ffi.new("jw_msg **"), ffi.new("jw_event **"))

    async def _open(self, servers: Any, options: Dict[str, Any]) -> None:
        for key in _CALLBACKS:
            cb = options.get(key)
            if cb is not None and not callable(cb):
                raise TypeError("%s must be callable" % key)
        opts = _make_opts(options)
        urls = _servers(servers)
        self._loop = asyncio.get_running_loop()
        # The connection's engine loop is driven from this event loop: its
        # sockets and timers are watched here and it runs on this thread,
        # so a reply read off the socket reaches its future without a
        # thread hand-off. The connect itself (on the executor) runs it
        # until then.
        loop_p = ffi.new("jw_loop **")
        _check(lib.jw_loop_new_driven(loop_p))
        self._engine_loop = loop_p[0]
        self._engine_free = weakref.finalize(self, lib.jw_loop_free,
                                             loop_p[0])
        _check(lib.jw_opts_set_loop(opts, loop_p[0]))
        # What publish returns: awaiting a finished future costs no loop
        # iteration, and one future serves every call.
        self._done: "asyncio.Future[None]" = self._loop.create_future()
        self._done.set_result(None)
        conn_p = ffi.new("jw_conn **")
        # _connect_call reads the error text on the executor's thread
        # (jw_last_error is per thread). Shielded: a cancelled connect (a
        # wait_for's timeout) leaves the engine call to finish, and the
        # connection it may still make is closed then (_abandon_connect).
        fut = self._loop.run_in_executor(None, _connect_call, urls, opts,
                                         conn_p)
        try:
            status, detail = await asyncio.shield(fut)
        except asyncio.CancelledError:
            fut.add_done_callback(lambda f: _abandon_connect(f, conn_p))
            raise
        if status != JW_OK:
            code = ffi.string(lib.jw_status_name(status)).decode()
            raise error_for(code, in_seconds(detail) or ffi.string(
                lib.jw_strerror(status)).decode())
        self._state = _ConnState(conn_p[0], self)  # type: ignore[arg-type]
        self._finalizer = weakref.finalize(self, _ConnState.shutdown,
                                           self._state)
        _register_callbacks(self._state, options)
        self._fd = lib.jw_conn_fd(self._state.handle)
        self._loop.add_reader(self._fd, self._on_readable)
        fd = lib.jw_loop_fd(self._engine_loop)
        if fd < 0:
            _raise(fd)
        self._loop_fd = fd
        self._loop.add_reader(fd, self._run_engine)
        self._run_engine()

    def _run_engine(self) -> None:
        """Run the engine's loop once (its fd is readable, or a timer is
        due), hand out what it delivered, and set the timer for its next
        due time."""
        if self._state.handle is None or self._engine_loop is None:
            return
        lib.jw_loop_run(self._engine_loop, 0)
        self._on_readable()
        ms = lib.jw_loop_timeout_ms(self._engine_loop)
        if ms < 0:
            return
        at = self._loop.time() + ms / 1000.0
        if self._timer is not None:
            if not self._timer.cancelled() and self._timer_at <= at:
                return  # the one set already comes first
            self._timer.cancel()
        self._timer_at = at
        self._timer = self._loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._run_engine()

    def _stop_engine(self) -> None:
        """Stop watching the engine's loop (before its fd goes away)."""
        if self._loop_fd >= 0:
            self._loop.remove_reader(self._loop_fd)
            self._loop_fd = -1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _watch(self, sub: "Union[Subscription, KeyWatcher]") -> None:
        if isinstance(sub, Subscription):
            self._watched_subs[sub._key] = sub
        else:
            self._watched[id(sub)] = sub

    def _unwatch(self, sub: "Union[Subscription, KeyWatcher]") -> None:
        if isinstance(sub, Subscription):
            self._watched_subs.pop(sub._key, None)
        else:
            self._watched.pop(id(sub), None)

    def _on_readable(self) -> None:
        # Uncounted (_ConnState.call): this runs on the loop's thread, as
        # close() does, and the loop's reader keeps the connection from
        # being collected, so nothing frees the handle meanwhile.
        handle = self._state.handle
        if handle is None:
            return
        lib.jw_conn_fd_reset(handle)
        id_p, status_p, reply_p, ev_p = self._poll_cells
        while lib.jw_conn_request_poll(handle, id_p, status_p, reply_p) == 1:
            fut = self._requests.pop(id_p[0], None)
            if status_p[0] == JW_OK:
                if id_p[0] in self._raw_replies:
                    msg = ffi.gc(reply_p[0], lib.jw_msg_free)
                else:
                    msg = _read_messages(self._state, reply_p, 1, Msg)[0]
                if fut is not None and not fut.done():
                    fut.set_result(msg)
            elif fut is not None and not fut.done():
                code = ffi.string(lib.jw_status_name(status_p[0])).decode()
                fut.set_exception(error_for(code, "request failed: %s" % (
                    ffi.string(lib.jw_strerror(status_p[0])).decode())))
        # Events first: a reconnected callback comes before the messages
        # that were buffered during the outage.
        while self._state.event_cbs and lib.jw_conn_next_event(
                handle, 0, ev_p) == JW_OK:
            event = _event(self._state, ev_p[0])
            lib.jw_event_free(ev_p[0])
            if event.kind == "closed":
                if self._state.closed_reported:
                    continue
                self._state.closed_reported = True
            cb = self._state.event_cbs.get(event.kind)
            if cb is None:
                continue
            if event.kind == "error":
                # error_cb(error) or error_cb(error, subscription), as the
                # blocking dispatcher calls it.
                result = self._state.report_error(
                    event.error or error_for("UNKNOWN", event.text),
                    event.subscription)
            else:
                try:
                    result = (cb(event.error) if event.kind in
                              self._state.wants_error else cb())
                except Exception:  # the rest of this round must run
                    import traceback
                    traceback.print_exc()
                    continue
            if result is not None and inspect.isawaitable(result):
                self._loop.create_task(_guarded(result))
        tags = self._ready_tags
        while True:
            n = lib.jw_conn_ready(handle, tags, len(tags))
            for i in range(max(n, 0)):
                sub = self._watched_subs.get(tags[i])
                if sub is not None:
                    sub._fill()
                    if not sub._waiters:
                        self._unwatch(sub)
            if n < len(tags):
                break
        for other in list(self._watched.values()):
            other._fill()
            if not other._waiters:
                self._unwatch(other)

    # -- publishing and requests ------------------------------------------

    if TYPE_CHECKING:
        def publish(self, subject: str, payload: Payload = b"",
                    reply: Optional[str] = None, headers: HeadersIn = None,
                    *, obj: Any = _codec.MISSING) -> "asyncio.Future[None]":
            """Queue a message, as the blocking publish does (it is the
            same code), and return an awaitable that is already done:
            ``await nc.publish(...)`` reads as with nats-py, without a
            coroutine made and run for every message. Errors are raised
            by the call itself."""

    async def request(self, subject: str, payload: Payload = b"",
                      timeout: Optional[float] = 2.0,
                      headers: HeadersIn = None) -> Msg:
        """Send a request; the reply, or jetwire.NoRespondersError /
        jetwire.TimeoutError."""
        call = self._state.call
        ms = _ms(timeout)
        id_p = self._poll_cells[0]  # read before any other call can run
        if headers:
            msg = _build_msg(_subject(subject), None, payload, headers)
            _check(call(lib.jw_conn_request_start, msg, id_p))
        else:
            data = _payload(payload)
            _check(call(lib.jwpy_request_start, _subject(subject), data,
                        len(data), id_p))
        reply: Msg = await self._completion(id_p[0], ms, subject, False)
        return reply

    async def _completion(self, request_id: int, ms: int, subject: str,
                          raw: bool) -> Any:
        """Wait for a started request's reply (ms < 0: forever); raw gives
        the engine's jw_msg instead of a Msg. The wait is _wait_for's,
        written out: one coroutine less to resume on every reply."""
        loop = self._loop
        fut = loop.create_future()
        self._requests[request_id] = fut
        if raw:
            self._raw_replies.add(request_id)
        timer = None if ms < 0 else loop.call_later(ms / 1000, _expire, fut)
        try:
            return await fut
        except _Expired:
            raise _timeout("no reply from '%s'" % subject, ms) from None
        except Error as e:
            if e.code != "NO_RESPONDERS":
                raise
            # Worded as the blocking request words it.
            raise error_for("NO_RESPONDERS", "no responders on '%s'"
                            % subject) from None
        finally:
            if timer is not None:
                timer.cancel()
            if raw:
                self._raw_replies.discard(request_id)
            if self._requests.pop(request_id, None) is not None:
                self._state.peek(lib.jw_conn_request_cancel, request_id)

    # -- subscriptions ----------------------------------------------------

    async def subscribe(self, subject: str, queue: Optional[str] = None,
                        cb: Optional[Callback] = None, *,
                        pending_msgs_limit: Optional[int] = None,
                        pending_bytes_limit: Optional[int] = None
                        ) -> Subscription:
        handle = self._state.call(_subscribe, subject, queue, cb,
                                  pending_msgs_limit, pending_bytes_limit)
        sub = Subscription(self, handle, subject, queue, cb)
        self._hold(sub)
        return sub

    # -- round trips and lifetime ----------------------------------------

    # The waits run on the executor as counted calls (_ConnState.call):
    # a close() meanwhile leaves the handle to be freed when they return.

    async def flush(self, timeout: Optional[float] = 5.0) -> None:
        ms = _ms(timeout)
        _check(await self._loop.run_in_executor(
            None, self._state.call, lib.jw_conn_flush, ms))

    async def rtt(self) -> float:
        us = ffi.new("int64_t *")
        _check(await self._loop.run_in_executor(
            None, self._state.call, lib.jw_conn_rtt, us))
        return float(us[0]) / 1e6

    async def drain(self, timeout: Optional[float] = None) -> None:
        """Like the blocking drain; callbacks get what arrived before it
        closed."""
        st = await self._loop.run_in_executor(
            None, self._state.call, lib.jw_conn_drain,
            -1 if timeout is None else _ms(timeout))
        # Hand callback subscriptions what was queued before the close.
        subs = list(self._held.values())
        for sub in subs:
            sub._fill()
        tasks = [s._task for s in subs if s._task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        await self.close()
        if st != JW_OK:
            _raise(st)

    async def close(self) -> None:
        """Close at once; closing twice is harmless."""
        if self._fd >= 0 and self._state.handle is not None:
            self._loop.remove_reader(self._fd)
        self._stop_engine()
        for sub in list(self._held.values()):
            sub.close()
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(error_for("CONNECTION_CLOSED",
                                            "connection closed"))
        self._requests.clear()
        self._services.clear()
        self._finalizer()
        self._engine_free()  # the connection held the loop until now
        for watcher in [*self._watched_subs.values(),
                        *self._watched.values()]:
            watcher._fill()  # what waits learns of the close
        if not self._state.closed_reported:
            self._state.closed_reported = True
            cb = self._state.event_cbs.get("closed")
            if cb is not None:
                await _maybe_await(cb())

    # -- services ---------------------------------------------------------

    async def add_service(self, name: str, version: str, *,
                          stats_handler: Optional[Callable[["Endpoint"],
                                                           Any]] = None,
                          **fields: Any) -> "Service":
        """Start a service, as the blocking add_service does; its
        endpoints' handlers (coroutine functions or plain ones) run on
        this loop."""
        from ._aio_service import Service
        return Service(self, name, version, stats_handler, fields)

    async def service_ping(self, name: Optional[str] = None,
                           id: Optional[str] = None,
                           timeout: Optional[float] = 1.0,
                           max_responses: Optional[int] = None
                           ) -> List[Dict[str, Any]]:
        """As the blocking service_ping."""
        return await self._discover(lib.JW_SERVICE_PING, name, id, timeout,
                                    max_responses)

    async def service_info(self, name: Optional[str] = None,
                           id: Optional[str] = None,
                           timeout: Optional[float] = 1.0,
                           max_responses: Optional[int] = None
                           ) -> List[Dict[str, Any]]:
        """As the blocking service_info."""
        return await self._discover(lib.JW_SERVICE_INFO, name, id, timeout,
                                    max_responses)

    async def service_stats(self, name: Optional[str] = None,
                            id: Optional[str] = None,
                            timeout: Optional[float] = 1.0,
                            max_responses: Optional[int] = None
                            ) -> List[Dict[str, Any]]:
        """As the blocking service_stats."""
        return await self._discover(lib.JW_SERVICE_STATS, name, id,
                                    timeout, max_responses)

    async def _discover(self, verb: int, *args: Any) -> List[Dict[str, Any]]:
        """One wait for the answers, on the executor (a counted call)."""
        from ._service import _discover, _discover_args
        answers: List[Dict[str, Any]] = await self._loop.run_in_executor(
            None, self._state.call, _discover, verb, *_discover_args(*args))
        return answers

    def jetstream(self, timeout: Optional[float] = 5.0, *,
                  domain: Optional[str] = None,
                  prefix: Optional[str] = None,
                  max_pending: Optional[int] = None) -> "JetStream":
        """A JetStream context whose calls are coroutines."""
        from ._aio_js import JetStream  # it imports this module
        return JetStream(self, _js.JetStream(self, timeout, domain, prefix,
                                             max_pending))

    async def __aenter__(self) -> "Connection":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


async def connect(servers: Union[str, Sequence[str], None] =
                  "nats://127.0.0.1:4222", **options: Any) -> Connection:
    """Connect on the running loop. Options as jetwire.connect; callbacks
    may be coroutines."""
    conn = Connection()
    await conn._open(servers, options)
    return conn
