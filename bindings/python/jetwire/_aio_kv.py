"""The asyncio Key-Value buckets and watchers (jetwire.aio re-exports
them), opened by the JetStream context of _aio_js.
"""
from __future__ import annotations

import asyncio
import collections
from typing import (TYPE_CHECKING, Any, AsyncIterator, Callable, Coroutine,
                    Deque, Generator, List, Optional, Sequence, Tuple,
                    Union)

from ._aio_client import _abandon, _wait_for
from ._aio_js import JetStream, _run
from ._args import JW_OK, _int_arg, _ms, _payload, _timeout
from ._msg import _BATCH
from ._errors import Error, error_for
from . import _jetstream as _js
from . import _kv
from ._kv import Entry, KeyValueStatus
from ._jetstream import _js_check
from ._jetwire import ffi, lib

if TYPE_CHECKING:
    from ._client import Payload

__all__ = ["KeyValue", "KeyWatcher"]


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

    def list_keys(self, filter: Union[None, str, Sequence[str]] = None
                  ) -> AsyncIterator[str]:
        """``async for key in kv.list_keys()``: the live keys (filter as
        for keys()), taken on the executor a batch at a time."""
        return _list_keys(self._kv, _kv._filters(filter, "filter"))

    async def history(self, key: str, **options: Any) -> List[Entry]:
        """As the blocking history: options are the engine's history
        options (up_to_revision, up_to_time; nats-server 2.11), checked
        at the call."""
        opts = _js._call_opts("history", options, "history")
        out: List[Entry] = await _run(self._kv._history, _kv._key(key), opts)
        return out

    async def get_many(self, keys: Union[None, str, Sequence[str]] = None,
                       **options: Any) -> List[Entry]:
        """As the blocking get_many (nats-server 2.11): the latest live
        entry of each key or filter, in revision order; one engine call on
        the executor."""
        k = _kv._filters(keys, "keys")
        opts = _js._call_opts("get_many", options, "get_many")
        out: List[Entry] = await _run(self._kv._get_many, k, opts)
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
            # Left during a batch (the task was cancelled): its keys, or
            # its error, are nobody's.
            _abandon(fut, lister.free)
        else:
            lister.free()


_UPDATES_NOT_ITERABLE = (
    "KeyWatcher.updates() is awaited for one entry: `entry = await "
    "watcher.updates(timeout)` (None: the end of the initial values); to "
    "go through the updates as Go's `for u := range w.Updates()` does, "
    "iterate the watcher itself: `async for entry in watcher:`")


class _Update(Coroutine[Any, Any, Optional[Entry]]):
    """What KeyWatcher.updates() returns: its coroutine, which await,
    create_task, gather and wait_for take as they take any coroutine,
    and which fails with a message naming the right call when iterated
    (a coroutine would say "'coroutine' object is not iterable" and warn
    that it was never awaited)."""

    __slots__ = ("_coro",)

    def __init__(self, coro: "Coroutine[Any, Any, Optional[Entry]]"
                 ) -> None:
        self._coro = coro

    def send(self, value: Any) -> Any:
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)  # pragma: no cover

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Optional[Entry]]:
        return self._coro.__await__()

    def _not_iterable(self) -> "TypeError":
        self._coro.close()  # never to run: no "never awaited" warning
        return TypeError(_UPDATES_NOT_ITERABLE)

    if not TYPE_CHECKING:  # type checkers keep seeing a non-iterable
        def __iter__(self):
            raise self._not_iterable()

        def __aiter__(self):
            raise self._not_iterable()

    def __repr__(self) -> str:
        return "<jetwire.aio.KeyWatcher.updates() %r>" % (self._coro,)


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
            return await self._update(None)
        except Error as e:
            if self._stopped or e.code in ("CONNECTION_CLOSED",
                                           "INVALID_SUBSCRIPTION"):
                raise StopAsyncIteration from None
            raise

    def updates(self, timeout: Optional[float] = 5.0
                ) -> "Coroutine[Any, Any, Optional[Entry]]":
        """``await w.updates(timeout)``: the next entry, None for the
        end-of-initial-values marker; jetwire.TimeoutError when nothing
        came within timeout seconds. A coroutine as nats-py's (create_task
        takes it); iterated (``for u in w.updates()``, Go's ``for u :=
        range w.Updates()``), a TypeError that names ``async for entry
        in w``."""
        return _Update(self._update(timeout))

    async def _update(self, timeout: Optional[float]) -> Optional[Entry]:
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
                    raise _timeout("no update", ms) from None
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
