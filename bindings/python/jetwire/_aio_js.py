"""The asyncio JetStream context (jetwire.aio re-exports it): streams,
publishing, consumers with fetch and messages(), ordered consumers, and
the calls that open Key-Value buckets (the buckets are _aio_kv's).
"""
from __future__ import annotations

import asyncio
import collections
import inspect
from typing import (TYPE_CHECKING, Any, AsyncIterator, Callable, Deque, Dict,
                    List, Optional, Sequence, Union)

from ._aio_batch import AioBatchCalls, AtomicBatch
from ._aio_obs import AioObsCalls
from ._aio_client import Connection, Msg, _abandon, _retrieved
from ._aio_fast import AioFastCalls, FastBatch
from ._args import _build_msg, _int_arg, _ms, _subject, _timeout
from ._msg import _BATCH, _read_messages
from ._errors import Error, error_for
from . import _jetstream as _js
from ._jetstream import PubAck, _js_check
from ._jetwire import ffi, lib

if TYPE_CHECKING:
    from ._client import HeadersIn, Payload
    from ._aio_kv import KeyValue
    from ._kv import KeyValueStatus

__all__ = ["JetStream", "Consumer", "ConsumeContext", "OrderedConsumer",
           "DirectBatch", "AtomicBatch", "FastBatch"]


async def _run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) on the running loop's default executor."""
    import functools
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs))


class JetStream(AioBatchCalls, AioFastCalls, AioObsCalls):
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

    async def direct_get_batch(self, stream: str,
                               multi_last: Union[None, str,
                                                 Sequence[str]] = None,
                               timeout: Optional[float] = 5.0,
                               **options: Any) -> "DirectBatch":
        """As the blocking direct_get_batch (nats-server 2.11): the
        request is sent on the executor (an older server or a refused
        option raises here); the DirectBatch is iterated with ``async
        for`` or ``await batch.next(timeout)``."""
        _ms(timeout)  # a wrong timeout fails before anything is sent
        batch: "_js.DirectBatch" = await self._run(
            self._js.direct_get_batch, stream, multi_last, timeout,
            **options)
        return DirectBatch(batch)

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
        """Publish without waiting for the ack: a PubAckFuture, a
        concurrent.futures.Future (``await asyncio.wrap_future(fut)``
        waits for the ack without blocking the loop; its blocking
        result() is for after publish_async_complete). While the
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

    async def reset_consumer(self, stream: str, name: str,
                             seq: int = 0) -> Dict[str, Any]:
        """As JetStream.reset_consumer."""
        out: Dict[str, Any] = await self._run(self._js.reset_consumer,
                                              stream, name, seq)
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
        # The bucket's module imports this one: take it at the call, as
        # the blocking JetStream takes _kv's.
        from ._aio_kv import KeyValue
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

    async def key_value_stores(self) -> "List[KeyValueStatus]":
        """Every bucket's status, as the blocking key_value_stores()."""
        out: "List[KeyValueStatus]" = await self._run(
            self._js.key_value_stores)
        return out


class Consumer:
    """An asyncio consumer: ``await cons.fetch(n, timeout)``, ``async for
    msg in cons.messages()``, ``cc = await cons.consume(handler)``.
    Messages are jetwire.aio.Msg (``await msg.ack()``)."""

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

    async def consume(self, handler: Callable[[Msg], Any],
                      batch: Optional[int] = None,
                      **options: Any) -> "ConsumeContext":
        """Continuous consumption calling handler (a function, or a
        coroutine function, awaited) with each message in order, on a
        task of this loop, like nats.go's Consume; ``await cc.stop()``
        ends it. Returns once consumption started: a bad option, or a
        consumer that is gone, raises here. batch and options as for
        messages()."""
        if not callable(handler):
            raise TypeError("handler must be callable")
        opts = self._cons._consume_opts(batch, options, "consume")
        cc = await _start_consume(self._cons, opts)
        return ConsumeContext(_iterate_consume(cc, None), handler)

    def __repr__(self) -> str:
        return "<jetwire.aio.Consumer %s/%s>" % (self.stream, self.name)


class ConsumeContext:
    """A running ``Consumer.consume``: ``await stop()`` ends it;
    ``error`` is what ended it otherwise (None while it runs or after
    stop)."""

    def __init__(self, messages: AsyncIterator[Msg],
                 handler: Callable[[Msg], Any]) -> None:
        self.error: Optional[BaseException] = None
        self._task = asyncio.get_running_loop().create_task(
            self._run(messages, handler))

    async def _run(self, messages: AsyncIterator[Msg],
                   handler: Callable[[Msg], Any]) -> None:
        try:
            async for m in messages:
                try:
                    result = handler(m)
                    if inspect.isawaitable(result):
                        await result
                except Exception:  # one bad message stops no other
                    import traceback
                    traceback.print_exc()
        except Error as e:  # the consumer went (CONSUMER_NOT_FOUND, ...)
            self.error = e

    @property
    def running(self) -> bool:
        return not self._task.done()

    async def stop(self) -> None:
        """Stop taking messages (the one being handled finishes first)."""
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


async def _start_consume(cons: "_js.Consumer", opts: Any) -> "_js._Consume":
    """A started consume (its first request is a round trip: asking the
    consumer's kind), made on the executor so that the loop never waits."""
    return await asyncio.get_running_loop().run_in_executor(
        None, _js._Consume, cons, opts)


async def _consume_messages(cons: "_js.Consumer", opts: Any,
                            timeout: Optional[float]) -> AsyncIterator[Msg]:
    """Consumer.messages(): the consumption starts at the first
    __anext__."""
    cc = await _start_consume(cons, opts)
    del cons  # the iteration needs only the consume
    async for m in _iterate_consume(cc, timeout):
        yield m


async def _iterate_consume(cc: "_js._Consume",
                           timeout: Optional[float]) -> AsyncIterator[Msg]:
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
            # Left during a slice (the task was cancelled): what it gives
            # is nobody's, messages (redelivered after ack_wait, as any
            # not acknowledged) or the error of the drain that followed.
            _abandon(fut, cc.free)
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
                # The next call takes it up (and raises its error); if
                # none comes, nobody wants it: never logged as unseen.
                fut.add_done_callback(_retrieved)
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
            raise _timeout("no message", _ms(timeout))
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


class DirectBatch:
    """An asyncio direct get batch (``await js.direct_get_batch(...)``):
    ``async for msg in batch``, or ``await batch.next(timeout)`` until it
    gives None (the end); then ``num_pending``, ``last_seq`` and
    ``up_to_seq``; ``await batch.close()`` or ``async with``. The engine's
    waits run on the loop's default executor, each taking every message
    that has arrived (a batch comes from the server at once), in slices
    of at most a second; what a slice took after its task was cancelled
    is kept for the next call."""

    def __init__(self, batch: "_js.DirectBatch") -> None:
        self._batch = batch
        self._timeout_ms = batch._timeout_ms
        self._buffer: Deque[Msg] = collections.deque()
        self._inflight: "Optional[asyncio.Future[Any]]" = None
        self._end = False  # the engine said the batch is over
        self._error: Optional[BaseException] = None  # after the buffer
        self._closed = False

    def _take(self, ms: int) -> "tuple[List[Msg], bool]":
        """On the executor: what has arrived, waiting up to ms for the
        first; and whether the batch ended. An error after messages is
        kept for after them."""
        b = self._batch
        state = b._js_state
        p = ffi.new("jw_msg **")
        out: List[Msg] = []
        while True:
            st = lib.jw_direct_batch_next(b._h(), ms if not out else 0, p)
            if st != lib.JW_OK:
                if st == lib.JW_ETIMEOUT:
                    return out, False
                if not out:
                    _js_check(st)
                try:
                    _js_check(st)
                except Error as e:
                    self._error = e
                return out, False
            if p[0] == ffi.NULL:
                return out, True
            out.extend(_read_messages(state, p, 1, Msg))
            if len(out) >= _BATCH:
                return out, False

    async def _fill(self, ms: int) -> None:
        """Wait up to ms (< 0: until one comes) for messages in the
        buffer, or the end."""
        if self._closed:
            raise error_for("INVALID_ARG", "direct get batch was closed")
        loop = asyncio.get_running_loop()
        deadline = None if ms < 0 else loop.time() + ms / 1000
        while not self._buffer and not self._end:
            if self._error is not None:
                raise self._error
            fut = self._inflight
            if fut is None:
                step = 1000 if deadline is None else min(
                    1000, max(0, int((deadline - loop.time()) * 1000)))
                fut = loop.run_in_executor(None, self._take, step)
                fut.add_done_callback(_retrieved)  # as OrderedConsumer's
                self._inflight = fut
            # Waited on, not awaited: a cancelled task leaves the slice
            # running, and what it takes waits in it for the next call.
            await asyncio.wait({fut})
            if self._inflight is fut:
                self._inflight = None
                got, end = fut.result()  # or raise its error
                self._buffer.extend(got)
                self._end = end
            if deadline is not None and loop.time() >= deadline:
                return

    async def next(self, timeout: Optional[float] = 5.0) -> Optional[Msg]:
        """The next message, or None at the end of the batch (and after
        it); jetwire.TimeoutError when none came within timeout seconds
        (None: wait), the batch staying usable."""
        ms = _ms(timeout)
        await self._fill(ms)
        if self._buffer:
            return self._buffer.popleft()
        if self._end:
            return None
        raise _timeout("no direct get reply", ms)

    def __aiter__(self) -> "DirectBatch":
        return self

    async def __anext__(self) -> Msg:
        await self._fill(self._timeout_ms)
        if self._buffer:
            return self._buffer.popleft()
        if self._end:
            raise StopAsyncIteration
        raise _timeout("no direct get reply", self._timeout_ms)

    @property
    def num_pending(self) -> int:
        return self._batch.num_pending

    @property
    def last_seq(self) -> int:
        return self._batch.last_seq

    @property
    def up_to_seq(self) -> int:
        return self._batch.up_to_seq

    async def close(self) -> None:
        """Stop reading and release the batch; closing twice is harmless.
        A slice still running on the executor releases it when done."""
        self._closed = True
        self._buffer.clear()
        if self._inflight is None:
            self._batch.close()
        else:
            self._inflight.add_done_callback(
                lambda _f: self._batch.close())

    async def __aenter__(self) -> "DirectBatch":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return "<jetwire.aio.DirectBatch%s>" % (
            " closed" if self._closed else "")
