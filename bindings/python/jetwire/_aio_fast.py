"""The asyncio forms of fast-ingest batches (_fast): the JetStream methods
(AioFastCalls, a base of jetwire.aio.JetStream) and the asyncio FastBatch.

An add must not block the loop. The engine sends at once while the batch
is fewer than flow * max_outstanding_acks messages ahead of the last ack
(flow is the server's, and adapts): an add runs on the loop's thread while
the engine says there is room (jw_js_fast_room), and on the loop's default
executor otherwise (the first add, which waits for the server's first
answer, as well). publish_batch is one blocking call on the executor.
"""
from __future__ import annotations

from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterable, List,
                    Optional)

from ._aio_batch import _Serial
from ._fast import FastBatch as _SyncFast
from ._jetstream import PubAck
from ._jetwire import lib

if TYPE_CHECKING:
    from ._client import HeadersIn, Payload
    from . import _jetstream as _js

__all__ = ["FastBatch"]


class FastBatch(_Serial):
    """An asyncio fast-ingest batch (``js.fast_batch()``): ``await
    batch.add(...)``, ``await batch.commit(...)``, ``async with`` (leaving
    it without a commit abandons the batch) or ``await batch.close()``;
    ``acked`` and ``take_errors()`` as the blocking FastBatch's. Calls run
    one after the other, also when a task awaiting one was cancelled: the
    next waits for the engine call it left running."""

    _batch: _SyncFast

    def _what(self) -> str:
        return "fast batch"

    @property
    def sent(self) -> int:
        return self._batch.sent

    @property
    def acked(self) -> int:
        return self._batch.acked

    def take_errors(self) -> List[Dict[str, Any]]:
        """As the blocking FastBatch.take_errors (it does not wait)."""
        return self._batch.take_errors()

    async def add(self, subject: str, payload: Payload = b"",
                  headers: HeadersIn = None, **options: Any) -> int:
        """As the blocking FastBatch.add: the batch sequence."""
        b = self._batch
        sent = b._sent
        # Cannot wait: the engine says the window is open. The lock is
        # free: nothing runs.
        if (sent and self._inflight is None and not self._lock.locked()
                and not self._closed and b._finalizer.alive
                and lib.jw_js_fast_room(b._handle) > 0):
            return b.add(subject, payload, headers, **options)
        seq: int = await self._serial(b.add, subject, payload, headers,
                                      **options)
        return seq

    async def commit(self, subject: Optional[str] = None,
                     payload: Payload = b"",
                     headers: HeadersIn = None) -> PubAck:
        """As the blocking FastBatch.commit."""
        ack: PubAck = await self._serial(self._batch.commit, subject,
                                         payload, headers)
        return ack

    async def __aenter__(self) -> "FastBatch":
        return self

    def __repr__(self) -> str:
        return "<jetwire.aio.FastBatch sent=%d acked=%d%s>" % (
            self._batch.sent, self._batch.acked,
            " closed" if self._closed else "")


class AioFastCalls:
    """The asyncio JetStream's methods of fast-ingest batches."""

    if TYPE_CHECKING:
        _js: "_js.JetStream"

        async def _run(self, fn: Callable[..., Any], *args: Any,
                       **kwargs: Any) -> Any: ...

    def fast_batch(self, **options: Any) -> FastBatch:
        """A new fast-ingest batch (nothing is sent: no await);
        NotSupportedError before nats-server 2.14."""
        return FastBatch(self._js.fast_batch(**options))

    async def publish_batch(self, messages: Iterable[Any],
                            **options: Any) -> PubAck:
        """As the blocking publish_batch, run on the executor (a generator
        of messages is read there)."""
        ack: PubAck = await self._run(self._js.publish_batch, messages,
                                      **options)
        return ack
