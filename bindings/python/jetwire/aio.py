"""The asyncio API: the same names as the blocking API, as coroutines.

A connection registers the engine's readable fd with the running loop
(``loop.add_reader``). When it fires, the connection takes finished
requests, fills the subscriptions somebody is waiting on, and runs event
callbacks, all on the loop's thread: no thread per message and no polling.
Only the calls that wait for the server's round trip (connect, flush, rtt,
drain) borrow the loop's default executor for their single wait.
JetStream and Key-Value calls are such round trips too; a Key-Value watch
learns of its entries from the same fd (see KeyWatcher).
"""
from __future__ import annotations

import asyncio
import collections
import inspect
import weakref
from typing import (TYPE_CHECKING, Any, AsyncIterator, Callable, Deque, Dict,
                    Generator, List, Optional, Sequence, Set, Tuple, Union)

from . import _codec
from ._client import (JW_OK, Msg as _SyncMsg, _BATCH, _respond,
                      _build_msg, _ConnectionState, _ConnState, _event,
                      _make_opts, _ms, _raise, _read_messages,
                      _servers, _subject, _subscribe, _check, _CALLBACKS,
                      _int_arg, _payload, _register_callbacks)
from ._errors import Error, error_for
from . import _jetstream as _js
from . import _kv
from ._kv import Entry, KeyValueStatus
from ._jetstream import PubAck, _js_check
from ._jetwire import ffi, lib

if TYPE_CHECKING:
    from ._client import HeadersIn, Payload

__all__ = ["connect", "Connection", "Subscription", "Msg", "JetStream",
           "Consumer", "OrderedConsumer", "KeyValue", "KeyWatcher"]

Callback = Callable[..., Any]


class Msg(_SyncMsg):
    """A received message; ``await msg.respond(data)`` answers it."""

    __slots__ = ()

    def respond(self, data: Payload = b"",  # type: ignore[override]
                headers: HeadersIn = None) -> "asyncio.Future[None]":
        """Publish to the reply subject; awaitable like Connection.publish
        (the reply is queued by the call)."""
        if not self.reply:
            raise error_for("INVALID_ARG", "message has no reply subject")
        if self._conn is None:
            raise error_for("INVALID_ARG", "message has no connection")
        if headers:
            done: "asyncio.Future[None]" = self._conn.publish(
                self.reply, data, headers=headers)
            return done
        self._conn._state.call(_respond, self.reply, data)
        return self._conn._done  # type: ignore[no-any-return]

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

    async def term(self) -> None:  # type: ignore[override]
        _SyncMsg.term(self)

    async def in_progress(self) -> None:  # type: ignore[override]
        _SyncMsg.in_progress(self)


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


async def _maybe_await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


class Subscription:
    """An asyncio subscription: ``await sub.next_msg()``, ``async for msg in
    sub.messages``, or a ``cb`` coroutine run for each message in order."""

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
        self._finalizer = weakref.finalize(self, lib.jw_sub_free, handle)
        conn._state.subs_by_handle[int(ffi.cast("uintptr_t", handle))] = \
            weakref.ref(self)
        if cb is not None:
            self._task = asyncio.get_running_loop().create_task(
                self._run_callback(cb))

    def _fill(self) -> None:
        """Move what the engine has queued into the buffer (no waiting)."""
        if not self._finalizer.alive or self._ended is not None:
            return
        n = lib.jw_sub_next_batch(self._handle, self._msgs, _BATCH, 0)
        if n > 0:
            self._buffer.extend(_read_messages(
                self._conn._state, self._msgs, n, Msg))
        elif n != lib.JW_ETIMEOUT:  # anything but nothing queued: ended
            code = ffi.string(lib.jw_status_name(n)).decode()
            self._ended = error_for(code, ffi.string(lib.jw_last_error())
                                    .decode("utf-8", "replace"))
        if self._buffer or self._ended is not None:
            while self._waiters:
                fut = self._waiters.popleft()
                if not fut.done():
                    fut.set_result(None)

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
                raise error_for("TIMEOUT", "no message within %s s"
                                % timeout) from None
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
        while True:
            if not buffer:
                # The fd announces a queue that goes from empty to
                # non-empty, and a fill takes at most _BATCH: what a burst
                # left queued behind the last batch is announced by
                # nobody, so look before waiting, as next_msg does.
                self._fill()
            if buffer:
                while buffer:
                    msg = buffer.popleft()
                    try:
                        result = cb(msg)
                        if result is not None and \
                                inspect.isawaitable(result):
                            await result
                    except Exception:  # one bad message stops no other
                        import traceback
                        traceback.print_exc()
                # Let the loop run between batches: plain functions, and
                # coroutines that finish without suspending, never yield.
                await asyncio.sleep(0)
                continue
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

    async def unsubscribe(self, limit: int = 0) -> None:
        if not self._finalizer.alive:
            raise error_for("INVALID_SUBSCRIPTION", "subscription was closed")
        _int_arg(limit, "limit", 0)
        if limit:
            _check(lib.jw_sub_auto_unsubscribe(self._handle, limit))
        else:
            self._conn._release(self)
            _check(lib.jw_sub_unsubscribe(self._handle))
            self._fill()

    async def drain(self) -> None:
        if not self._finalizer.alive:
            raise error_for("INVALID_SUBSCRIPTION", "subscription was closed")
        _check(lib.jw_sub_drain(self._handle))

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
        self._watched: Dict[int, "Union[Subscription, KeyWatcher]"] = {}
        self._held = {}  # the subscriptions it keeps (_hold)
        self._fd = -1
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
        # What publish returns: awaiting a finished future costs no loop
        # iteration, and one future serves every call.
        self._done: "asyncio.Future[None]" = self._loop.create_future()
        self._done.set_result(None)
        conn_p = ffi.new("jw_conn **")
        status = await self._loop.run_in_executor(
            None, lib.jw_conn_connect, urls, opts, conn_p)
        _check(status)
        self._state = _ConnState(conn_p[0], self)  # type: ignore[arg-type]
        self._finalizer = weakref.finalize(self, _ConnState.shutdown,
                                           self._state)
        _register_callbacks(self._state, options)
        self._fd = lib.jw_conn_fd(self._state.handle)
        self._loop.add_reader(self._fd, self._on_readable)

    def _watch(self, sub: "Union[Subscription, KeyWatcher]") -> None:
        self._watched[id(sub)] = sub

    def _unwatch(self, sub: "Union[Subscription, KeyWatcher]") -> None:
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
                fut.set_exception(error_for(code, "request failed: %s"
                                            % code.lower()))
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
            if cb is not None:
                result = (cb(event.error)
                          if event.kind in self._state.wants_error else cb())
                if inspect.isawaitable(result):
                    self._loop.create_task(result)  # type: ignore[arg-type]
        for sub in list(self._watched.values()):
            sub._fill()
            if not sub._waiters:
                self._unwatch(sub)

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
            raise error_for("TIMEOUT", "no reply from %r within %s s"
                            % (subject, ms / 1000)) from None
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
        for sub in list(self._held.values()):
            sub.close()
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(error_for("CONNECTION_CLOSED",
                                            "connection closed"))
        self._requests.clear()
        self._finalizer()
        for watcher in list(self._watched.values()):
            watcher._fill()  # KV watchers waiting learn of the close
        if not self._state.closed_reported:
            self._state.closed_reported = True
            cb = self._state.event_cbs.get("closed")
            if cb is not None:
                await _maybe_await(cb())

    def jetstream(self, timeout: Optional[float] = 5.0, *,
                  domain: Optional[str] = None,
                  prefix: Optional[str] = None,
                  max_pending: Optional[int] = None) -> "JetStream":
        """A JetStream context whose calls are coroutines."""
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


async def _run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) on the running loop's default executor."""
    import functools
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs))


class JetStream:
    """The asyncio JetStream context (``nc.jetstream()``). Each call is one
    blocking engine call (an API request, a publish waiting for its ack, a
    fetch) run on the loop's default executor, so the loop stays free while
    the engine waits; cffi releases the GIL meanwhile."""

    def __init__(self, conn: Connection, js: "_js.JetStream") -> None:
        self._conn = conn
        self._js = js

    async def _run(self, fn: Callable[..., Any], *args: Any,
                   **kwargs: Any) -> Any:
        return await _run(fn, *args, **kwargs)

    async def account_info(self) -> Dict[str, Any]:
        info: Dict[str, Any] = await self._run(self._js.account_info)
        return info

    async def api_level(self) -> int:
        """As JetStream.api_level."""
        level: int = await self._run(self._js.api_level)
        return level

    async def add_stream(self, name: Optional[str] = None,
                         **fields: Any) -> Dict[str, Any]:
        info: Dict[str, Any] = await self._run(self._js.add_stream, name,
                                               **fields)
        return info

    async def update_stream(self, name: Optional[str] = None,
                            **fields: Any) -> Dict[str, Any]:
        info: Dict[str, Any] = await self._run(self._js.update_stream, name,
                                               **fields)
        return info

    async def create_or_update_stream(self, name: Optional[str] = None,
                                      **fields: Any) -> Dict[str, Any]:
        info: Dict[str, Any] = await self._run(
            self._js.create_or_update_stream, name, **fields)
        return info

    async def stream_info(self, name: str) -> Dict[str, Any]:
        info: Dict[str, Any] = await self._run(self._js.stream_info, name)
        return info

    async def delete_stream(self, name: str) -> None:
        await self._run(self._js.delete_stream, name)

    async def purge_stream(self, name: str, subject: Optional[str] = None,
                           seq: Optional[int] = None,
                           keep: Optional[int] = None) -> int:
        n: int = await self._run(self._js.purge_stream, name, subject, seq,
                                 keep)
        return n

    async def streams(self, subject: Optional[str] = None
                      ) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = await self._run(self._js.streams,
                                                    subject)
        return out

    async def stream_names(self, subject: Optional[str] = None) -> List[str]:
        out: List[str] = await self._run(self._js.stream_names, subject)
        return out

    async def get_msg(self, stream: str, seq: int) -> Msg:
        m: Msg = await self._run(self._js.get_msg, stream, seq)
        return m

    async def get_last_msg(self, stream: str, subject: str) -> Msg:
        m: Msg = await self._run(self._js.get_last_msg, stream, subject)
        return m

    async def delete_msg(self, stream: str, seq: int,
                         erase: bool = False) -> None:
        await self._run(self._js.delete_msg, stream, seq, erase)

    async def publish(self, subject: str, payload: Payload = b"",
                      headers: HeadersIn = None, **options: Any) -> PubAck:
        """Publish and wait for the PubAck (options as the blocking
        publish: the engine's publish options)."""
        js = self._js
        opts = _js._call_opts("publish", options, "publish")
        msg = _build_msg(_subject(subject), None, payload, headers or {})
        # The engine's publish_start sends the message with the options'
        # headers; the waiting and the retries after no responders (a
        # stream between leaders in a cluster) are this coroutine's, by the
        # options the engine's blocking publish reads for them.
        timeout = options.get("timeout")
        ms = _ms(js.timeout if timeout is None else timeout)
        retries = options.get("retry_attempts")
        retries = _js.PUB_RETRIES if retries is None else retries
        wait = options.get("retry_wait")
        wait = _js.PUB_RETRY_WAIT if wait is None else wait
        id_p = ffi.new("uint64_t *")
        ack_p = ffi.new("jw_js_pub_ack **")
        attempt = 0
        while True:
            _js_check(lib.jw_js_publish_start(js._h(), msg, opts, id_p))
            try:
                reply = await self._conn._completion(id_p[0], ms, subject,
                                                     True)
            except Error as e:
                if e.code != "NO_RESPONDERS" or attempt >= retries:
                    raise
                attempt += 1
                await asyncio.sleep(wait)
                continue
            _js_check(lib.jw_js_pub_ack_parse(reply, ack_p))
            return _js._take_ack(ack_p)

    async def publish_async(self, subject: str, payload: Payload = b"",
                            headers: HeadersIn = None,
                            **options: Any) -> "_js.PubAckFuture":
        """Publish without waiting for the ack (a PubAckFuture; its
        blocking result() is for after publish_async_complete). While the
        in-flight window has room this runs on the loop at once; a full
        window is waited for on the executor."""
        js = self._js
        if lib.jw_js_publish_async_pending(js._h()) < js.max_pending:
            return js.publish_async(subject, payload, headers, **options)
        fut: "_js.PubAckFuture" = await self._run(
            js.publish_async, subject, payload, headers, **options)
        return fut

    async def publish_async_complete(self,
                                     timeout: Optional[float] = 5.0) -> None:
        await self._run(self._js.publish_async_complete, timeout)

    async def _consumer(self, fn: Callable[..., Any], stream: str,
                        fields: Dict[str, Any]) -> "Consumer":
        return Consumer(self, await self._run(fn, stream, **fields))

    async def add_consumer(self, stream: str, **fields: Any) -> "Consumer":
        return await self._consumer(self._js.add_consumer, stream, fields)

    async def update_consumer(self, stream: str,
                              **fields: Any) -> "Consumer":
        return await self._consumer(self._js.update_consumer, stream, fields)

    async def create_or_update_consumer(self, stream: str,
                                        **fields: Any) -> "Consumer":
        return await self._consumer(self._js.create_or_update_consumer,
                                    stream, fields)

    async def consumer(self, stream: str, name: str) -> "Consumer":
        return Consumer(self, await self._run(self._js.consumer, stream,
                                              name))

    async def consumer_info(self, stream: str, name: str) -> Dict[str, Any]:
        info: Dict[str, Any] = await self._run(self._js.consumer_info,
                                               stream, name)
        return info

    async def delete_consumer(self, stream: str, name: str) -> None:
        await self._run(self._js.delete_consumer, stream, name)

    async def pause_consumer(self, stream: str, name: str,
                             until: Any) -> Dict[str, Any]:
        """As JetStream.pause_consumer."""
        out: Dict[str, Any] = await self._run(self._js.pause_consumer,
                                              stream, name, until)
        return out

    async def resume_consumer(self, stream: str, name: str
                              ) -> Dict[str, Any]:
        out: Dict[str, Any] = await self._run(self._js.resume_consumer,
                                              stream, name)
        return out

    async def unpin_consumer(self, stream: str, name: str,
                             group: str) -> None:
        await self._run(self._js.unpin_consumer, stream, name, group)

    async def consumers(self, stream: str) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = await self._run(self._js.consumers,
                                                    stream)
        return out

    async def consumer_names(self, stream: str) -> List[str]:
        out: List[str] = await self._run(self._js.consumer_names, stream)
        return out

    async def ordered_consumer(self, stream: str,
                               filter_subject: Optional[str] = None,
                               **options: Any) -> "OrderedConsumer":
        """As the blocking ordered_consumer (deliver_policy=,
        opt_start_seq=, ..., idle_heartbeat= seconds)."""
        return OrderedConsumer(await self._run(
            self._js.ordered_consumer, stream, filter_subject, **options))

    # -- key-value buckets ------------------------------------------------

    async def _key_value(self, fn: Callable[..., Any], *args: Any,
                         **fields: Any) -> "KeyValue":
        return KeyValue(self, await self._run(fn, *args, **fields))

    async def create_key_value(self, bucket: Optional[str] = None,
                               **fields: Any) -> "KeyValue":
        """As the blocking create_key_value (fields, config=...)."""
        return await self._key_value(self._js.create_key_value, bucket,
                                     **fields)

    async def update_key_value(self, bucket: Optional[str] = None,
                               **fields: Any) -> "KeyValue":
        return await self._key_value(self._js.update_key_value, bucket,
                                     **fields)

    async def create_or_update_key_value(self, bucket: Optional[str] = None,
                                         **fields: Any) -> "KeyValue":
        return await self._key_value(self._js.create_or_update_key_value,
                                     bucket, **fields)

    async def key_value(self, bucket: str) -> "KeyValue":
        return await self._key_value(self._js.key_value, bucket)

    async def delete_key_value(self, bucket: str) -> None:
        await self._run(self._js.delete_key_value, bucket)

    async def key_value_names(self) -> List[str]:
        out: List[str] = await self._run(self._js.key_value_names)
        return out


class Consumer:
    """An asyncio pull consumer: ``await cons.fetch(n, timeout)``,
    ``async for msg in cons.messages()``. Messages are jetwire.aio.Msg
    (``await msg.ack()``)."""

    def __init__(self, js: JetStream, cons: "_js.Consumer") -> None:
        # Only the blocking consumer: it holds what it needs (see
        # _jetstream._Child), and the engine keeps the context alive.
        self._cons = cons
        cons._cls = Msg
        self.name = cons.name
        self.stream = cons.stream

    async def info(self) -> Dict[str, Any]:
        info: Dict[str, Any] = await _run(self._cons.info)
        return info

    async def fetch(self, batch: int = 1, timeout: Optional[float] = 5.0,
                    **options: Any) -> List[Msg]:
        """Up to batch messages within timeout; [] when none came (options
        as the blocking fetch)."""
        out: List[Msg] = await _run(self._cons.fetch, batch, timeout,
                                    **options)
        return out

    def messages(self, batch: Optional[int] = None, *,
                 timeout: Optional[float] = None,
                 **options: Any) -> AsyncIterator[Msg]:
        """Continuous pull, like the blocking messages(): ends after
        timeout seconds without a message (None: never) or when the loop
        is left."""
        opts = self._cons._consume_opts(batch, options, "messages")
        _ms(timeout)
        return _consume_messages(self._cons, opts, timeout)

    def __repr__(self) -> str:
        return "<jetwire.aio.Consumer %s/%s>" % (self.stream, self.name)


async def _consume_messages(cons: "_js.Consumer", opts: Any,
                            timeout: Optional[float]) -> AsyncIterator[Msg]:
    """Consumer.messages(): the pull starts at the first __anext__."""
    cc = _js._Consume(cons, opts)
    del cons  # the iteration needs only the consume
    msgs = ffi.new("jw_msg *[]", _BATCH)
    # Wait in slices so that a cancelled task leaves the executor soon.
    step = 1000 if timeout is None else min(1000, _ms(timeout))
    left = None if timeout is None else _ms(timeout)
    loop = asyncio.get_running_loop()
    fut: "Optional[asyncio.Future[Any]]" = None
    try:
        while True:
            fut = loop.run_in_executor(None, cc.next, msgs, step)
            # Shielded: a cancelled task must not free the handle
            # while the executor still uses it (see finally).
            got = await asyncio.shield(fut)
            if got:
                left = None if timeout is None else _ms(timeout)
                for m in got:
                    yield m
                continue
            if left is not None:
                left -= step
                if left <= 0:
                    return
    finally:
        if fut is not None and not fut.done():
            fut.add_done_callback(lambda _f: cc.free())
        else:
            cc.free()


class OrderedConsumer:
    """An asyncio ordered consumer: ``await oc.next(timeout)``,
    ``await oc.fetch(batch, timeout)``, ``async for msg in oc`` (or
    ``oc.messages(timeout)``), ``oc.last_sequence``; ``await oc.close()``
    or ``async with``. The engine's waits run on the loop's default
    executor in slices of at most a second; what a slice took after its
    task was cancelled is kept for the next call, so no message is lost."""

    def __init__(self, oc: "_js.OrderedConsumer") -> None:
        self._oc = oc
        oc._cls = Msg
        self.stream = oc.stream
        self._buffer: Deque[Msg] = collections.deque()
        self._inflight: "Optional[asyncio.Future[Any]]" = None
        self._last_reply: Optional[str] = None

    async def _fill(self, ms: int) -> None:
        """Wait up to ms (< 0: until one comes) for messages in the
        buffer."""
        loop = asyncio.get_running_loop()
        deadline = None if ms < 0 else loop.time() + ms / 1000
        while not self._buffer:
            fut = self._inflight
            if fut is None:
                step = 1000 if deadline is None else min(
                    1000, max(0, int((deadline - loop.time()) * 1000)))
                fut = loop.run_in_executor(None, self._oc._take, _BATCH,
                                           step)
                self._inflight = fut
            # Waited on, not awaited: a cancelled task leaves the slice
            # running, and what it takes waits in it for the next call.
            await asyncio.wait({fut})
            if self._inflight is fut:
                self._inflight = None
                self._buffer.extend(fut.result())  # or raise its error
            if deadline is not None and loop.time() >= deadline:
                return

    def _hand_out(self) -> Msg:
        m = self._buffer.popleft()
        self._last_reply = m.reply
        return m

    async def next(self, timeout: Optional[float] = 5.0) -> Msg:
        """The next message; jetwire.TimeoutError when none came within
        timeout seconds (None: wait until one comes)."""
        await self._fill(_ms(timeout))
        if not self._buffer:
            raise error_for("TIMEOUT", "no message within %s s" % timeout)
        return self._hand_out()

    async def fetch(self, batch: int = 1,
                    timeout: Optional[float] = 5.0) -> List[Msg]:
        """Up to batch messages, waiting up to timeout seconds for the
        first; [] when none came."""
        n = _int_arg(batch, "batch", 1)
        await self._fill(_ms(timeout))
        return [self._hand_out() for _ in range(min(n, len(self._buffer)))]

    def messages(self,
                 timeout: Optional[float] = None) -> AsyncIterator[Msg]:
        """Iterate until timeout seconds pass without a message (None:
        never) or the consumer is closed."""
        return self._iterate(_ms(timeout))

    async def _iterate(self, ms: int) -> AsyncIterator[Msg]:
        while True:
            try:
                await self._fill(ms)
            except Error:
                if self._oc._closed:
                    return
                raise
            if not self._buffer or self._oc._closed:
                return
            yield self._hand_out()

    def __aiter__(self) -> AsyncIterator[Msg]:
        return self._iterate(-1)

    @property
    def last_sequence(self) -> int:
        """The stream sequence of the last message handed out (0: none
        yet)."""
        return _js._stream_seq(self._last_reply)

    async def close(self) -> None:
        """Stop and delete the server's consumer (a round trip, on the
        executor). Closing twice is harmless."""
        self._oc._closed = True
        self._buffer.clear()
        await asyncio.get_running_loop().run_in_executor(None,
                                                         self._oc.close)

    async def __aenter__(self) -> "OrderedConsumer":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return "<jetwire.aio.OrderedConsumer %s%s>" % (
            self.stream, " closed" if self._oc._closed else "")


class KeyValue:
    """An asyncio bucket: the blocking KeyValue's calls as coroutines;
    get, put and update are requests on the connection's fd, the others
    one engine round trip each on the loop's default executor;
    ``watch()`` gives an async iterator."""

    def __init__(self, js: JetStream, kv: "_kv.KeyValue") -> None:
        # Not the context: the blocking bucket holds what it needs (see
        # _jetstream._Child); the connection for the requests on its fd.
        self._conn = js._conn
        self._timeout_ms = _ms(js._js.timeout)
        self._kv = kv
        self.bucket = kv.bucket

    async def _on_fd(self, start: Callable[..., int], args: Tuple[Any, ...],
                     what: str) -> Tuple[int, Any]:
        """One request started on the connection's fd like nc.request
        (no executor): start(kv, *args, id_p). (JW_OK, the engine's reply),
        or the status of no responders or a timeout (the engine's result
        calls say what they mean for a bucket) with NULL."""
        id_p = ffi.new("uint64_t *")
        _js_check(self._kv._call(start, *args, id_p))
        try:
            return JW_OK, await self._conn._completion(
                id_p[0], self._timeout_ms, what, True)
        except Error as e:
            if e.code == "NO_RESPONDERS":
                return int(lib.JW_ENO_RESPONDERS), ffi.NULL
            if e.code == "TIMEOUT":
                return int(lib.JW_ETIMEOUT), ffi.NULL
            raise

    async def put(self, key: str, value: Payload) -> int:
        return await self._write(key, value, 0)

    async def _write(self, key: str, value: Payload, last: int) -> int:
        data = _payload(value)
        status, reply = await self._on_fd(
            lib.jw_kv_put_start, (_kv._key(key), data, len(data), last), key)
        rev = ffi.new("uint64_t *")
        _js_check(self._kv._call(lib.jw_kv_put_result, status, reply, rev))
        return int(rev[0])

    async def create(self, key: str, value: Payload, **options: Any) -> int:
        rev: int = await _run(self._kv.create, key, value, **options)
        return rev

    async def update(self, key: str, value: Payload, last: int) -> int:
        if _int_arg(last, "last", 0) == 0:  # "must not exist": as blocking
            rev: int = await _run(self._kv.update, key, value, last)
            return rev
        return await self._write(key, value, last)

    async def delete(self, key: str, last: Optional[int] = None) -> None:
        await _run(self._kv.delete, key, last)

    async def purge(self, key: str, last: Optional[int] = None,
                    **options: Any) -> None:
        await _run(self._kv.purge, key, last, **options)

    async def purge_deletes(self, older_than: Optional[float] = None) -> None:
        await _run(self._kv.purge_deletes, older_than)

    async def get(self, key: str, revision: Optional[int] = None,
                  **options: Any) -> Entry:
        k = _kv._key(key)
        opts = _kv._get_opts(revision, options)
        p = ffi.new("jw_kv_entry **")
        status, reply = await self._on_fd(lib.jw_kv_get_start, (k, opts),
                                          key)
        call = self._kv._call
        if status == lib.JW_ETIMEOUT:
            # The result then asks whether the bucket is gone: a blocking
            # API request, so on the executor.
            st = await _run(call, lib.jw_kv_get_result, k, status, reply,
                            p)
        else:
            st = call(lib.jw_kv_get_result, k, status, reply, p)
        _js_check(st)
        return _kv._take_entry(p, self.bucket)

    async def keys(self, filter: Union[None, str, Sequence[str]] = None
                   ) -> List[str]:
        out: List[str] = await _run(self._kv.keys, filter)
        return out

    def list_keys(self, filter: Optional[str] = None) -> AsyncIterator[str]:
        """``async for key in kv.list_keys()``: the live keys, taken on
        the executor a batch at a time."""
        f = ffi.NULL if filter is None else _kv._key(filter, "filter")
        return _list_keys(self._kv, f)

    async def history(self, key: str) -> List[Entry]:
        out: List[Entry] = await _run(self._kv.history, key)
        return out

    async def status(self) -> KeyValueStatus:
        st: KeyValueStatus = await _run(self._kv.status)
        return st

    def watch(self, keys: Union[str, Sequence[str]] = ">",
              **options: Any) -> "KeyWatcher":
        """``async for entry in kv.watch(keys)``, or ``w = await
        kv.watch(keys)`` then ``await w.updates(timeout)``: the current
        entries, exactly one None, then live updates. options as the
        blocking watch; a combination the engine refuses
        (include_history with updates_only) is raised when the watch
        starts, at the first await."""
        _kv._filters(keys, "keys", none=False)  # wrong arguments fail here
        return KeyWatcher(self, keys, _js._call_opts("watch", options,
                                                     "watch"))

    def watch_all(self, **options: Any) -> "KeyWatcher":
        return KeyWatcher(self, ">",
                          _js._call_opts("watch", options, "watch_all"))

    def __repr__(self) -> str:
        return "<jetwire.aio.KeyValue %s>" % self.bucket


async def _list_keys(kv: "_kv.KeyValue", f: Any) -> AsyncIterator[str]:
    """KeyValue.list_keys(): the listing starts at the first __anext__."""
    lister = await _run(_kv._Lister, kv, f)
    del kv  # the iteration needs only the lister
    loop = asyncio.get_running_loop()
    fut: "Optional[asyncio.Future[List[str]]]" = None
    try:
        while True:
            fut = loop.run_in_executor(None, lister.some, 256)
            # Shielded: a cancelled task must not free the lister while
            # the executor still uses it (see finally).
            batch: List[str] = await asyncio.shield(fut)
            if not batch:
                return
            for k in batch:
                yield k
    finally:
        if fut is not None and not fut.done():
            fut.add_done_callback(lambda _f: lister.free())
        else:
            lister.free()


# While a task waits on a watcher, it looks at it at least this often, so
# that the engine notices a server consumer that went silent (it sends a
# heartbeat every 5 s) and recreates it.
_WATCH_CHECK = 5.0


class KeyWatcher:
    """An asyncio watch. Starting it is one round trip on the executor
    (on the first ``await`` or ``async for``). Then the connection's
    readable fd says when entries are pending, and they are taken in
    batches; the taking runs on the executor as well, because after a gap
    the engine recreates its consumer with a round trip the loop must not
    wait for. ``await w.stop()`` or ``async with`` ends it."""

    def __init__(self, kv: KeyValue, keys: Union[str, Sequence[str]],
                 opts: Any) -> None:
        # The bucket until the watch has started (then the blocking
        # watcher holds what it needs, see _jetstream._Child).
        self._kv: Optional[KeyValue] = kv
        self._bucket = kv.bucket
        self._conn = kv._conn
        self._keys = keys
        self._opts = opts  # the engine's watch options (or NULL)
        self._w: "Optional[_kv.KeyWatcher]" = None
        self._buffer: Deque[Optional[Entry]] = collections.deque()
        self._waiters: Deque["asyncio.Future[None]"] = collections.deque()
        self._draining: "Optional[asyncio.Future[List[Optional[Entry]]]]" = \
            None
        self._again = False
        self._ended: Optional[BaseException] = None
        self._stopped = False

    async def _start(self) -> "KeyWatcher":
        kv = self._kv
        if self._w is None and not self._stopped and kv is not None:
            w = await _run(kv._kv._watch, _kv._filters(self._keys, "keys"),
                           self._opts)
            if self._w is None and not self._stopped:
                self._w = w
                self._kv = None
            else:
                w.stop()
        return self

    def __await__(self) -> Generator[Any, None, "KeyWatcher"]:
        return self._start().__await__()

    def __aiter__(self) -> "KeyWatcher":
        return self

    async def __anext__(self) -> Optional[Entry]:
        try:
            return await self.updates(None)
        except Error as e:
            if self._stopped or e.code in ("CONNECTION_CLOSED",
                                           "INVALID_SUBSCRIPTION"):
                raise StopAsyncIteration from None
            raise

    async def updates(self, timeout: Optional[float] = 5.0
                      ) -> Optional[Entry]:
        """The next entry, None for the end-of-initial-values marker;
        jetwire.TimeoutError when nothing came within timeout seconds."""
        ms = _ms(timeout)
        await self._start()
        loop = self._conn._loop
        deadline = None if ms < 0 else loop.time() + ms / 1000
        while not self._buffer:
            if self._ended is not None:
                raise self._ended
            if self._stopped:
                raise error_for("INVALID_SUBSCRIPTION", "watcher was stopped")
            fut = loop.create_future()
            self._waiters.append(fut)
            self._conn._watch(self)
            if self._draining is None:  # else its result wakes us
                self._drain()
            wait = _WATCH_CHECK if deadline is None else \
                min(_WATCH_CHECK, max(0.0, deadline - loop.time()))
            try:
                await _wait_for(fut, wait)
            except asyncio.TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    raise error_for("TIMEOUT", "no update within %s s"
                                    % timeout) from None
        return self._buffer.popleft()

    def _fill(self) -> None:
        """The connection's fd fired: take what is pending."""
        self._drain()

    def _drain(self) -> None:
        if self._w is None or self._stopped or self._ended is not None:
            return
        if self._draining is not None:
            self._again = True  # look again when this one is done
            return
        self._again = False
        self._draining = self._conn._loop.run_in_executor(
            None, self._w._take, _BATCH)
        self._draining.add_done_callback(self._drained)

    def _drained(self, fut: "asyncio.Future[List[Optional[Entry]]]"
                 ) -> None:
        self._draining = None
        exc = (error_for("INVALID_SUBSCRIPTION", "watcher was stopped")
               if fut.cancelled() else fut.exception())
        if exc is not None:
            self._ended = exc
        else:
            items = fut.result()
            self._buffer.extend(items)
            # A full batch may have left entries behind, which the fd will
            # not announce again.
            self._again = self._again or len(items) == _BATCH
        if self._buffer or self._ended is not None:
            self._wake()
        if self._stopped:
            self._release()
        elif self._again and self._waiters:
            self._drain()

    def _wake(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)

    def _release(self) -> None:
        if self._w is not None:
            self._w.stop()

    async def stop(self) -> None:
        """End the watch: ``async for`` ends, updates() raises. Stopping
        twice is harmless."""
        self._stopped = True
        self._conn._unwatch(self)
        self._wake()
        if self._draining is None:  # else _drained releases it
            self._release()

    async def __aenter__(self) -> "KeyWatcher":
        return await self._start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return "<jetwire.aio.KeyWatcher %s %r%s>" % (
            self._bucket, self._keys, " stopped" if self._stopped else "")
