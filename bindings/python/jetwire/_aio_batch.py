"""The asyncio forms of atomic batches and counters (_batch): the
JetStream methods (AioBatchCalls, a base of jetwire.aio.JetStream) and
the asyncio AtomicBatch. Each call is one blocking engine call on the
loop's default executor, as everywhere in _aio_js.
"""
from __future__ import annotations

import asyncio
import functools
from typing import (TYPE_CHECKING, Any, Callable, Iterable, List, Optional,
                    Union)

from ._aio_client import _retrieved
from ._batch import AtomicBatch as _SyncBatch, CounterEntry
from ._errors import error_for
from ._jetstream import PubAck

if TYPE_CHECKING:
    from ._client import HeadersIn, Payload
    from . import _jetstream as _js

__all__ = ["AtomicBatch"]


class _Serial:
    """What the asyncio batches share: their calls run on the loop's
    default executor one after the other, also when a task awaiting one
    was cancelled (the next waits for the engine call it left running),
    and closing releases the batch once no call is running. The batch
    (``_batch``) has ``close()``; ``_what`` names it in errors."""

    def __init__(self, batch: Any) -> None:
        self._batch = batch
        self._lock = asyncio.Lock()
        self._inflight: "Optional[asyncio.Future[Any]]" = None
        self._closed = False

    def _what(self) -> str:
        raise NotImplementedError

    def _check_open(self) -> None:
        if self._closed:
            raise error_for("INVALID_ARG", "%s was closed" % self._what())

    async def _serial(self, fn: Callable[..., Any], *args: Any,
                      **kwargs: Any) -> Any:
        async with self._lock:
            if self._inflight is not None:  # left by a cancelled task
                await asyncio.wait({self._inflight})
                self._inflight = None
            self._check_open()
            fut = asyncio.get_running_loop().run_in_executor(
                None, functools.partial(fn, *args, **kwargs))
            fut.add_done_callback(_retrieved)
            self._inflight = fut
            # Waited on, not awaited: a cancelled task leaves the call
            # running, and the next call waits for it.
            await asyncio.wait({fut})
            self._inflight = None
            return fut.result()

    async def close(self) -> None:
        """Release the batch (abandoned unless committed); twice is
        harmless. A call still running on the executor releases it when
        done."""
        self._closed = True
        fut = self._inflight
        if fut is None or fut.done():
            self._batch.close()
        else:
            fut.add_done_callback(lambda _f: self._batch.close())

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class AtomicBatch(_Serial):
    """An asyncio atomic batch (``js.atomic_batch()``): ``await
    batch.add(...)``, ``await batch.commit(...)``, ``async with`` (leaving
    it without a commit abandons the batch) or ``await batch.close()``.
    Calls run one after the other, also when a task awaiting one was
    cancelled: the next waits for the engine call it left running."""

    _batch: _SyncBatch

    def _what(self) -> str:
        return "atomic batch %s" % self._batch.id

    @property
    def id(self) -> str:
        return self._batch.id

    @property
    def count(self) -> int:
        return self._batch.count

    async def add(self, subject: str, payload: Payload = b"",
                  headers: HeadersIn = None, **options: Any) -> None:
        """As the blocking AtomicBatch.add."""
        await self._serial(self._batch.add, subject, payload, headers,
                           **options)

    async def commit(self, subject: Optional[str] = None,
                     payload: Payload = b"", headers: HeadersIn = None,
                     **options: Any) -> PubAck:
        """As the blocking AtomicBatch.commit."""
        ack: PubAck = await self._serial(self._batch.commit, subject,
                                         payload, headers, **options)
        return ack

    async def __aenter__(self) -> "AtomicBatch":
        return self

    def __repr__(self) -> str:
        return "<jetwire.aio.AtomicBatch %s count=%d%s>" % (
            self._batch.id, self._batch.count,
            " closed" if self._closed else "")


class AioBatchCalls:
    """The asyncio JetStream's methods of atomic batches and counters."""

    if TYPE_CHECKING:
        _js: "_js.JetStream"

        async def _run(self, fn: Callable[..., Any], *args: Any,
                       **kwargs: Any) -> Any: ...

    def atomic_batch(self) -> AtomicBatch:
        """A new atomic batch (nothing is sent: no await);
        NotSupportedError before nats-server 2.12."""
        return AtomicBatch(self._js.atomic_batch())

    async def publish_atomic(self, messages: Iterable[Any],
                             **options: Any) -> PubAck:
        """As the blocking publish_atomic."""
        ack: PubAck = await self._run(self._js.publish_atomic, messages,
                                      **options)
        return ack

    async def counter_add(self, subject: str, delta: int,
                          **options: Any) -> int:
        value: int = await self._run(self._js.counter_add, subject, delta,
                                     **options)
        return value

    async def counter_get(self, stream: str, subject: str) -> CounterEntry:
        entry: CounterEntry = await self._run(self._js.counter_get, stream,
                                              subject)
        return entry

    async def counter_get_many(self, stream: str,
                               subjects: Union[str, List[str]]
                               ) -> List[CounterEntry]:
        entries: List[CounterEntry] = await self._run(
            self._js.counter_get_many, stream, subjects)
        return entries
