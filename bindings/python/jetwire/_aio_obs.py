"""The asyncio forms of the object store (_obs): the JetStream methods
(AioObsCalls, a base of jetwire.aio.JetStream), ObjectStore, ObjectReader
and ObjectWatcher. Each call is the blocking one on the loop's default
executor, as _aio_js's are (cffi releases the GIL while the engine
waits); a put's file or iterable is read there too.
"""
from __future__ import annotations

import asyncio
import functools
from typing import (TYPE_CHECKING, Any, Callable, Dict, List, Mapping,
                    Optional, Sequence, Union)

from ._aio_batch import _Serial
from . import _obs
from ._obs import ObjectInfo

if TYPE_CHECKING:
    from . import _jetstream as _js

__all__ = ["ObjectStore", "ObjectReader", "ObjectWatcher"]


async def _run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) on the running loop's default executor."""
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs))


class ObjectStore:
    """An asyncio bucket of objects: the blocking ObjectStore's calls as
    coroutines (``obs.sync`` is the blocking one)."""

    def __init__(self, obs: "_obs.ObjectStore") -> None:
        self.sync = obs
        self.bucket = obs.bucket

    async def put(self, name: str, data: Any, *,
                  description: Optional[str] = None,
                  headers: Optional[Mapping[str, Union[str, Sequence[str]]]]
                  = None,
                  metadata: Optional[Mapping[str, str]] = None,
                  chunk_size: Optional[int] = None) -> ObjectInfo:
        """As the blocking put: bytes, a binary file or an iterable of
        bytes (read on the executor's thread)."""
        info: ObjectInfo = await _run(
            self.sync.put, name, data, description=description,
            headers=headers, metadata=metadata, chunk_size=chunk_size)
        return info

    async def get_bytes(self, name: str) -> bytes:
        data: bytes = await _run(self.sync.get_bytes, name)
        return data

    async def get(self, name: str) -> "ObjectReader":
        return ObjectReader(await _run(self.sync.get, name))

    async def info(self, name: str, show_deleted: bool = False
                   ) -> ObjectInfo:
        info: ObjectInfo = await _run(self.sync.info, name, show_deleted)
        return info

    async def list(self, show_deleted: bool = False) -> List[ObjectInfo]:
        out: List[ObjectInfo] = await _run(self.sync.list, show_deleted)
        return out

    async def delete(self, name: str) -> None:
        await _run(self.sync.delete, name)

    async def update_meta(self, name: str, *, new_name: Optional[str] = None,
                          description: Optional[str] = None,
                          headers: Optional[Mapping[str, Any]] = None,
                          metadata: Optional[Mapping[str, str]] = None
                          ) -> None:
        await _run(self.sync.update_meta, name, new_name=new_name,
                   description=description, headers=headers,
                   metadata=metadata)

    async def add_link(self, name: str, target_store: "ObjectStore",
                       target_name: str) -> ObjectInfo:
        info: ObjectInfo = await _run(self.sync.add_link, name,
                                      _sync_store(target_store), target_name)
        return info

    async def add_bucket_link(self, name: str, target_store: "ObjectStore"
                              ) -> ObjectInfo:
        info: ObjectInfo = await _run(self.sync.add_bucket_link, name,
                                      _sync_store(target_store))
        return info

    async def watch(self, include_history: bool = False,
                    ignore_deletes: bool = False, updates_only: bool = False
                    ) -> "ObjectWatcher":
        return ObjectWatcher(await _run(
            self.sync.watch, include_history, ignore_deletes, updates_only))

    async def status(self) -> Dict[str, Any]:
        out: Dict[str, Any] = await _run(self.sync.status)
        return out

    async def seal(self) -> None:
        await _run(self.sync.seal)

    async def close(self) -> None:
        """Release the handle (a call still running releases it when
        done); twice is harmless."""
        self.sync.close()

    async def __aenter__(self) -> "ObjectStore":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return "<jetwire.aio.ObjectStore %s>" % self.bucket


def _sync_store(store: Any) -> Any:
    """The blocking store of an asyncio one (or a blocking one)."""
    if isinstance(store, ObjectStore):
        return store.sync
    if isinstance(store, _obs.ObjectStore):
        return store
    raise TypeError("target_store must be an ObjectStore, not %s"
                    % type(store).__name__)


class ObjectReader(_Serial):
    """An object being read (``await obs.get(name)``): ``await
    r.read(n=-1)``, ``await r.readinto(b)``, ``async for piece in r``,
    ``info``, ``await r.close()`` and ``async with``. Reads run one after
    the other on the executor; the digest error comes at the end as
    jetwire.ProtocolError."""

    def __init__(self, reader: "_obs.ObjectReader") -> None:
        super().__init__(reader)
        self.info: ObjectInfo = reader.info

    def _what(self) -> str:
        return "object reader"

    async def read(self, n: int = -1) -> bytes:
        data: bytes = await self._serial(self._batch.read, n)
        return data

    async def readinto(self, b: Any) -> int:
        got: int = await self._serial(self._batch.readinto, b)
        return got

    def __aiter__(self) -> "ObjectReader":
        return self

    async def __anext__(self) -> bytes:
        piece = await self.read(_obs._PIECE)
        if not piece:
            raise StopAsyncIteration
        return piece

    async def __aenter__(self) -> "ObjectReader":
        return self

    def __repr__(self) -> str:
        return "<jetwire.aio.ObjectReader %s/%s>" % (self.info.bucket,
                                                     self.info.name)


class ObjectWatcher:
    """A running watch (``await obs.watch()``): ``async for info in w``
    (None: the end of the current objects), ``await w.updates(timeout)``,
    ``await w.stop()`` or ``async with``."""

    def __init__(self, watcher: "_obs.ObjectWatcher") -> None:
        self.sync = watcher

    async def updates(self, timeout: Optional[float] = 5.0
                      ) -> Optional[ObjectInfo]:
        info: Optional[ObjectInfo] = await _run(self.sync.updates, timeout)
        return info

    def __aiter__(self) -> "ObjectWatcher":
        return self

    async def __anext__(self) -> Optional[ObjectInfo]:
        try:
            info: Optional[ObjectInfo] = await _run(self.sync.__next__)
        except StopIteration:
            raise StopAsyncIteration from None
        return info

    async def stop(self) -> None:
        # On the executor: the blocking stop waits for a wait in progress
        # (at most a slice), which must not hold the loop.
        await _run(self.sync.stop)

    async def __aenter__(self) -> "ObjectWatcher":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return "<jetwire.aio.ObjectWatcher %s>" % self.sync._bucket


class AioObsCalls:
    """The asyncio JetStream's object store methods."""

    if TYPE_CHECKING:
        _js: "_js.JetStream"

    async def create_object_store(self, bucket: Optional[str] = None,
                                  **fields: Any) -> ObjectStore:
        """As the blocking create_object_store (fields, config=...)."""
        return ObjectStore(await _run(self._js.create_object_store, bucket,
                                      **fields))

    async def update_object_store(self, bucket: Optional[str] = None,
                                  **fields: Any) -> ObjectStore:
        return ObjectStore(await _run(self._js.update_object_store, bucket,
                                      **fields))

    async def create_or_update_object_store(self,
                                            bucket: Optional[str] = None,
                                            **fields: Any) -> ObjectStore:
        return ObjectStore(await _run(
            self._js.create_or_update_object_store, bucket, **fields))

    async def object_store(self, bucket: str) -> ObjectStore:
        return ObjectStore(await _run(self._js.object_store, bucket))

    async def delete_object_store(self, bucket: str) -> None:
        await _run(self._js.delete_object_store, bucket)

    async def object_store_names(self) -> List[str]:
        out: List[str] = await _run(self._js.object_store_names)
        return out

    async def object_stores(self) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = await _run(self._js.object_stores)
        return out
