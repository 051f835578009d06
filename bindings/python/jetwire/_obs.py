"""The object store (ADR-20) over the engine's jw_obs calls (blocking API):
the JetStream methods (through ObsCalls, a base of jetwire.JetStream),
ObjectStore, ObjectInfo, ObjectReader and ObjectWatcher.

An object is kept in chunks on $O.<bucket>.C.<nuid> and one meta message;
the engine splits, hashes and checks. A bucket configuration is keyword
arguments (and an optional ``config`` dict) of the engine's
"object_store" fields (config_fields("object_store")), the ttl in
seconds. Infos are the engine's JSON as ObjectInfo. See docs/objects.md.
"""
from __future__ import annotations

import json
import threading
import time
import weakref

from ._args import JW_OK, _build_msg, _ms, _timeout
from ._errors import error_for
from . import _jetstream as _js  # a cycle: its names are read at call time
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import (Any, Callable, Dict, Iterator, List, Optional,
                        Sequence, Union)

__all__ = ["ObjectStore", "ObjectInfo", "ObjectReader", "ObjectWatcher"]

_ETIMEOUT = lib.JW_ETIMEOUT
# A blocking watch waits in slices this long, so that stop() from another
# thread ends it soon (as the Key-Value watcher does).
_SLICE_MS = 500
# What a reader reads at a time when asked for everything, or iterated.
_PIECE = 128 * 1024


def _obj_name(value: Any, what: str = "name") -> bytes:
    """An object name: non-empty text (the engine checks its length)."""
    if not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (what,
                                                    type(value).__name__))
    if not value or "\0" in value:
        raise error_for("INVALID_ARG", "%s must be non-empty text without "
                        "NUL, not %r" % (what, value))
    return value.encode()


def _opt_str(value: Any, what: str) -> Optional[str]:
    if value is not None and not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (what,
                                                    type(value).__name__))
    return value


def _headers(value: Any) -> Optional[Dict[str, List[str]]]:
    """Headers as the engine's object of arrays of strings: a mapping of
    str to str or to a list of str."""
    if value is None:
        return None
    if not hasattr(value, "items"):
        raise TypeError("headers must be a mapping of str to str or list of "
                        "str, not %s" % type(value).__name__)
    out: Dict[str, List[str]] = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise TypeError("header names must be str, not %s"
                            % type(k).__name__)
        vals = [v] if isinstance(v, str) else v
        if not isinstance(vals, (list, tuple)) or not all(
                isinstance(x, str) for x in vals):
            raise TypeError("header %r must be str or a list of str" % k)
        out[k] = list(vals)
    # The engine's rules of message headers (names, values without line
    # breaks): the headers of an object are given back as such.
    _build_msg(b"_", None, b"", out)
    return out


def _metadata(value: Any) -> Optional[Dict[str, str]]:
    if value is None:
        return None
    if not hasattr(value, "items") or not all(
            isinstance(k, str) and isinstance(v, str)
            for k, v in value.items()):
        raise TypeError("metadata must be a mapping of str to str")
    return dict(value.items())


def _meta_json(name: Any, description: Any, headers: Any, metadata: Any,
               chunk_size: Any = None) -> bytes:
    """The engine's meta JSON of a put or a meta update."""
    meta: Dict[str, Any] = {}
    if name is not None:
        _obj_name(name)
        meta["name"] = name
    if _opt_str(description, "description") is not None:
        meta["description"] = description
    h = _headers(headers)
    if h is not None:
        meta["headers"] = h
    m = _metadata(metadata)
    if m is not None:
        meta["metadata"] = m
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
            raise TypeError("chunk_size must be int, not %s"
                            % type(chunk_size).__name__)
        if chunk_size <= 0:
            raise error_for("INVALID_ARG", "chunk_size must be > 0, not %d"
                            % chunk_size)
        meta["options"] = {"max_chunk_size": chunk_size}
    return json.dumps(meta).encode()


def _take_json(p: Any) -> Any:
    return json.loads(_js._text(p))


class ObjectInfo:
    """An object's info: name, description, headers (a dict of lists),
    metadata (a dict), bucket, nuid, size, chunks, digest
    ("SHA-256=<base64url>", None for a deleted object), deleted (bool),
    mtime (RFC 3339 text) and link (None, or {"bucket", "name"}: name is
    absent for a link to a whole bucket); ``as_dict()`` is the engine's
    JSON object."""

    __slots__ = ("_doc", "name", "description", "headers", "metadata",
                 "bucket", "nuid", "size", "chunks", "digest", "deleted",
                 "mtime", "link")

    def __init__(self, doc: Dict[str, Any]) -> None:
        self._doc = doc
        self.name: str = doc.get("name", "")
        self.description: Optional[str] = doc.get("description")
        self.headers: Dict[str, List[str]] = doc.get("headers") or {}
        self.metadata: Dict[str, str] = doc.get("metadata") or {}
        self.bucket: str = doc.get("bucket", "")
        self.nuid: str = doc.get("nuid", "")
        self.size: int = int(doc.get("size", 0))
        self.chunks: int = int(doc.get("chunks", 0))
        self.digest: Optional[str] = doc.get("digest")
        self.deleted: bool = bool(doc.get("deleted", False))
        self.mtime: str = doc.get("mtime", "")
        self.link: Optional[Dict[str, str]] = \
            (doc.get("options") or {}).get("link")

    @classmethod
    def _from_text(cls, p: Any) -> "ObjectInfo":
        return cls(_take_json(p))

    def as_dict(self) -> Dict[str, Any]:
        return json.loads(json.dumps(self._doc))  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectInfo):
            return NotImplemented
        return self._doc == other._doc

    __hash__ = None  # type: ignore[assignment]  # compared by value

    def __repr__(self) -> str:
        text = "ObjectInfo(bucket=%r, name=%r, size=%d, chunks=%d" % (
            self.bucket, self.name, self.size, self.chunks)
        if self.link is not None:
            text += ", link=%r" % (self.link,)
        if self.deleted:
            text += ", deleted=True"
        return text + ", mtime=%r)" % self.mtime


def _infos(p: Any) -> List[ObjectInfo]:
    return [ObjectInfo(d) for d in _take_json(p)]


class _Source:
    """The bytes of a streamed put: a binary file object or an iterable of
    bytes chunks, read from the engine's jw_obs_read_fn. An exception
    raised while reading is kept (the put then fails and raises it)."""

    def __init__(self, data: Any) -> None:
        self.error: Optional[BaseException] = None
        self._rest = memoryview(b"")
        if hasattr(data, "read"):
            self._file: Any = data
            self._chunks: Any = None
        else:
            self._file = None
            self._chunks = iter(data)
        self.callback = ffi.callback("jw_obs_read_fn", self._read)

    def _next(self, cap: int) -> Any:
        """The next piece of bytes (a memoryview), None at the end."""
        if self._file is not None:
            b = self._file.read(cap)
            if not isinstance(b, (bytes, bytearray, memoryview)):
                raise TypeError("file read() gave %s, not bytes (open the "
                                "file in binary mode)" % type(b).__name__)
            return memoryview(b).cast("B") if len(b) else None
        b = next(self._chunks, None)
        if b is None:
            return None
        if not isinstance(b, (bytes, bytearray, memoryview)):
            raise TypeError("chunks must be bytes, bytearray or memoryview, "
                            "not %s" % type(b).__name__)
        return memoryview(b).cast("B")

    def _read(self, arg: Any, buf: Any, cap: int) -> int:
        try:
            while not len(self._rest):  # an empty chunk ends nothing
                nxt = self._next(cap)
                if nxt is None:
                    return 0
                self._rest = nxt
            n = min(cap, len(self._rest))
            ffi.memmove(buf, self._rest[:n], n)
            self._rest = self._rest[n:]
            return n
        except BaseException as e:  # back out of put
            self.error = e
            return -1


class ObjectStore:
    """A bucket of objects: ``js.create_object_store("b")`` or
    ``js.object_store("b")``. ``close()`` (or ``with``) releases the
    handle; readers and watchers opened from it keep working."""

    def __init__(self, js: Any, handle: Any) -> None:
        # As jetstream._Child (defined after this module is imported):
        # the engine keeps the context and connection alive for the
        # handle, which the finalizer frees alone.
        self._conn = js._conn
        self._handle = handle
        self._finalizer = weakref.finalize(self, lib.jw_obs_free, handle)
        self.bucket = ffi.string(lib.jw_obs_bucket(handle)).decode()
        self._timeout = js.timeout
        self._lock = threading.Lock()
        self._busy = 0
        self._closed = False

    def _enter(self) -> Any:
        with self._lock:
            if self._closed:
                raise error_for("INVALID_ARG", "object store %s is closed"
                                % self.bucket)
            self._busy += 1
        return self._handle

    def _leave(self) -> None:
        with self._lock:
            self._busy -= 1
            if self._closed and not self._busy:
                self._finalizer()

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        h = self._enter()
        try:
            return fn(h, *args)
        finally:
            self._leave()

    def close(self) -> None:
        """Release the handle (the bucket stays); a call running in
        another thread finishes first. Twice is harmless."""
        with self._lock:
            self._closed = True
            if not self._busy:
                self._finalizer()

    def __enter__(self) -> "ObjectStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def put(self, name: str, data: Any, *, description: Optional[str] = None,
            headers: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
            metadata: Optional[Mapping[str, str]] = None,
            chunk_size: Optional[int] = None) -> ObjectInfo:
        """Store data under name (replacing an object of that name) and
        return its info. data is bytes, bytearray or memoryview; a binary
        file object (read in pieces); or an iterable of bytes chunks. An
        exception raised by the file or iterable comes out of put, and no
        new object is left."""
        meta = _meta_json(name, description, headers, metadata, chunk_size)
        if name is None:
            raise TypeError("name must be str, not NoneType")
        p = ffi.new("char **")
        if isinstance(data, (bytes, bytearray, memoryview)):
            buf = ffi.from_buffer(data)
            _js._js_check(self._call(lib.jw_obs_put, meta, buf, len(buf), p))
            return ObjectInfo._from_text(p)
        if isinstance(data, str) or hasattr(data, "keys") or not (
                hasattr(data, "read") or hasattr(data, "__iter__")):
            raise TypeError("data must be bytes, bytearray, memoryview, a "
                            "binary file or an iterable of bytes, not %s"
                            % type(data).__name__)
        src = _Source(data)
        st = self._call(lib.jw_obs_put_stream, meta, src.callback, ffi.NULL,
                        p)
        if src.error is not None:
            if st == JW_OK:  # cannot be: the engine stops at a failed read
                lib.jw_free(p[0])
            raise src.error
        _js._js_check(st)
        return ObjectInfo._from_text(p)

    def get_bytes(self, name: str) -> bytes:
        """The whole object in memory, its digest checked (ProtocolError
        when it does not match); a link to an object is followed."""
        n = _obj_name(name)
        data = ffi.new("void **")
        size = ffi.new("size_t *")
        _js._js_check(self._call(lib.jw_obs_get, n, data, size, ffi.NULL))
        try:
            return ffi.buffer(data[0], size[0])[:] if size[0] else b""
        finally:
            lib.jw_free(data[0])

    def get(self, name: str) -> "ObjectReader":
        """A reader of the object (a file-like object): read(n),
        readinto(b), iteration over pieces; the digest is checked at the
        end (ProtocolError)."""
        n = _obj_name(name)
        p = ffi.new("jw_obs_reader **")
        _js._js_check(self._call(lib.jw_obs_open, n, p))
        return ObjectReader(p[0], self._timeout)

    def info(self, name: str, show_deleted: bool = False) -> ObjectInfo:
        """The object's info (KeyNotFoundError when there is none, or it
        was deleted unless show_deleted)."""
        p = ffi.new("char **")
        _js._js_check(self._call(lib.jw_obs_info, _obj_name(name),
                                 _flag(show_deleted, "show_deleted"), p))
        return ObjectInfo._from_text(p)

    def list(self, show_deleted: bool = False) -> List[ObjectInfo]:
        """Every object's info ([] for an empty bucket)."""
        p = ffi.new("char **")
        _js._js_check(self._call(lib.jw_obs_list,
                                 _flag(show_deleted, "show_deleted"), p))
        return _infos(p)

    def delete(self, name: str) -> None:
        """Delete the object (its chunks are purged); twice is harmless."""
        _js._js_check(self._call(lib.jw_obs_delete, _obj_name(name)))

    def update_meta(self, name: str, *, new_name: Optional[str] = None,
                    description: Optional[str] = None,
                    headers: Optional[Mapping[str, Any]] = None,
                    metadata: Optional[Mapping[str, str]] = None) -> None:
        """Replace the object's description, headers and metadata (one not
        given is removed) and rename it to new_name (KeyExistsError when a
        live object has that name)."""
        n = _obj_name(name)
        meta = _meta_json(new_name, description, headers, metadata)
        _js._js_check(self._call(lib.jw_obs_update_meta, n, meta))

    def add_link(self, name: str, target_store: "ObjectStore",
                 target_name: str) -> ObjectInfo:
        """A link called name to the object target_name of target_store
        (this bucket or another)."""
        return self._link(name, target_store, target_name)

    def add_bucket_link(self, name: str, target_store: "ObjectStore"
                        ) -> ObjectInfo:
        """A link called name to the whole bucket of target_store."""
        return self._link(name, target_store, None)

    def _link(self, name: str, target: Any, target_name: Optional[str]
              ) -> ObjectInfo:
        n = _obj_name(name)
        if not isinstance(target, ObjectStore):
            raise TypeError("target_store must be an ObjectStore, not %s"
                            % type(target).__name__)
        tn = None if target_name is None else _obj_name(target_name,
                                                        "target_name")
        p = ffi.new("char **")
        th = target._enter()
        try:
            if tn is None:
                st = self._call(lib.jw_obs_add_bucket_link, n, th, p)
            else:
                st = self._call(lib.jw_obs_add_link, n, th, tn, p)
        finally:
            target._leave()
        _js._js_check(st)
        return ObjectInfo._from_text(p)

    def watch(self, include_history: bool = False,
              ignore_deletes: bool = False, updates_only: bool = False
              ) -> "ObjectWatcher":
        """Watch the bucket's objects: iterating yields the current infos,
        then exactly one None (they are all out), then live changes, until
        stop()."""
        opts = _js._call_opts("watch", {
            "include_history": _flag(include_history, "include_history")
            or None,
            "ignore_deletes": _flag(ignore_deletes, "ignore_deletes")
            or None,
            "updates_only": _flag(updates_only, "updates_only") or None,
        }, "watch")
        p = ffi.new("jw_obs_watcher **")
        _js._js_check(self._call(lib.jw_obs_watch, opts, p))
        return ObjectWatcher(self, p[0])

    def status(self) -> Dict[str, Any]:
        """The bucket's status: bucket, description, ttl (seconds),
        storage, replicas, size (bytes stored), sealed, metadata,
        is_compressed, backing_store."""
        p = ffi.new("char **")
        _js._js_check(self._call(lib.jw_obs_status, p))
        out: Dict[str, Any] = _take_json(p)
        return out

    def seal(self) -> None:
        """Seal the bucket: nothing can be written or removed any more."""
        _js._js_check(self._call(lib.jw_obs_seal))

    def __repr__(self) -> str:
        return "<jetwire.ObjectStore %s%s>" % (
            self.bucket, " closed" if self._closed else "")


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError("%s must be bool, not %s" % (what,
                                                     type(value).__name__))
    return value


class ObjectReader:
    """An object being read (``obs.get(name)``): read(n=-1), readinto(b),
    iteration over pieces of bytes, ``info``, close() and ``with``. The
    size and digest are checked at the end: a mismatch raises
    ProtocolError (and again on every later read)."""

    def __init__(self, handle: Any, timeout: Optional[float]) -> None:
        self._handle = handle
        self._ms = _ms(timeout)
        self._lock = threading.Lock()
        self._got = ffi.new("size_t *")
        self._eof = False
        self._finalizer = weakref.finalize(self, lib.jw_obs_reader_free,
                                           handle)
        self.info = ObjectInfo(json.loads(
            ffi.string(lib.jw_obs_reader_info(handle)).decode()))

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def readable(self) -> bool:
        return True

    def _read_into(self, buf: Any, cap: int) -> int:
        with self._lock:
            if not self._finalizer.alive:
                raise ValueError("I/O operation on closed ObjectReader")
            _js._js_check(lib.jw_obs_reader_read(self._handle, buf, cap,
                                                 self._ms, self._got))
            n = int(self._got[0])
            if not n:
                self._eof = True
            return n

    def readinto(self, b: Any) -> int:
        """Fill b (a writable buffer) with the next bytes; 0 at the end."""
        view = memoryview(b).cast("B")
        if view.readonly:
            raise TypeError("readinto() needs a writable buffer")
        if not len(view):
            return 0
        return self._read_into(ffi.from_buffer(view), len(view))

    def read(self, n: int = -1) -> bytes:
        """Up to n bytes (fewer only at the end; b"" there); n < 0 or None:
        everything left."""
        if n is None:
            n = -1
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError("n must be int, not %s" % type(n).__name__)
        if n == 0:
            return b""
        out = bytearray()
        buf = ffi.new("char[]", _PIECE if n < 0 else min(n, 4 * _PIECE))
        while n < 0 or len(out) < n:
            cap = len(buf) if n < 0 else min(len(buf), n - len(out))
            got = self._read_into(buf, cap)
            if not got:
                break
            out += ffi.buffer(buf, got)
        return bytes(out)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        b = self.read(_PIECE)
        if not b:
            raise StopIteration
        return b

    def close(self) -> None:
        """Stop reading and release the reader; twice is harmless."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> "ObjectReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<jetwire.ObjectReader %s/%s%s>" % (
            self.info.bucket, self.info.name,
            " closed" if self.closed else "")


def _free_watcher(handle: Any, lock: Any) -> None:
    with lock:  # not while another thread is inside jw_obs_watcher_next
        lib.jw_obs_watcher_free(handle)


class ObjectWatcher:
    """A running watch of a bucket: iterate it, or call
    ``updates(timeout)``; ``stop()`` or ``with`` ends it. None is the
    end-of-initial-values marker."""

    def __init__(self, obs: ObjectStore, handle: Any) -> None:
        self._conn = obs._conn
        self._bucket = obs.bucket
        self._handle = handle
        self._lock = threading.Lock()
        self._p = ffi.new("char **")
        self._finalizer = weakref.finalize(self, _free_watcher, handle,
                                           self._lock)

    def _next(self, ms: int) -> Any:
        """(True, an ObjectInfo or None), or (False, None) on a timeout."""
        with self._lock:
            if not self._finalizer.alive:
                raise error_for("INVALID_SUBSCRIPTION", "watcher was stopped")
            if self._conn._state.handle is None:
                raise error_for("CONNECTION_CLOSED", "connection is closed")
            st = lib.jw_obs_watcher_next(self._handle, ms, self._p)
            if st == _ETIMEOUT:
                return False, None
            _js._js_check(st)
            if self._p[0] == ffi.NULL:
                return True, None
            return True, ObjectInfo._from_text(self._p)

    def updates(self, timeout: Optional[float] = 5.0) -> Optional[ObjectInfo]:
        """The next info, None for the end-of-initial-values marker;
        jetwire.TimeoutError when nothing came within timeout seconds
        (None: wait until one comes or the watcher stops)."""
        ms = _ms(timeout)
        deadline = None if ms < 0 else time.monotonic() + ms / 1000
        while True:
            left = _SLICE_MS if deadline is None else min(
                _SLICE_MS, max(0, int((deadline - time.monotonic()) * 1000)))
            got, item = self._next(left)
            if got:
                result: Optional[ObjectInfo] = item
                return result
            if deadline is not None and time.monotonic() >= deadline:
                raise _timeout("no update", ms)

    def __iter__(self) -> Iterator[Optional[ObjectInfo]]:
        return self

    def __next__(self) -> Optional[ObjectInfo]:
        try:
            return self.updates(None)
        except Exception as e:
            if not self._finalizer.alive or \
                    getattr(e, "code", None) == "CONNECTION_CLOSED":
                raise StopIteration from None
            raise

    def stop(self) -> None:
        """End the watch; twice is harmless."""
        self._finalizer()

    def __enter__(self) -> "ObjectWatcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return "<jetwire.ObjectWatcher %s%s>" % (
            self._bucket, "" if self._finalizer.alive else " stopped")


class ObsCalls:
    """The JetStream methods of object stores (a base of
    jetwire.JetStream, whose _call, _conn and timeout they use)."""

    if TYPE_CHECKING:
        _conn: Any
        timeout: Optional[float]

        def _call(self, fn: Any, *args: Any) -> Any: ...

    def _obs_call(self, fn: Any, bucket: Optional[str],
                  config: Optional[Mapping[str, Any]],
                  fields: Dict[str, Any]) -> ObjectStore:
        if bucket is not None:
            fields["bucket"] = bucket
        cfg = _js._config("object store", config, fields)
        p = ffi.new("jw_obs **")
        _js._js_check(self._call(fn, cfg, p))
        return ObjectStore(self, p[0])

    def create_object_store(self, bucket: Optional[str] = None, *,
                            config: Optional[Mapping[str, Any]] = None,
                            **fields: Any) -> ObjectStore:
        """Create a bucket and return it. Fields: description, ttl
        (seconds), storage ("file" or "memory"), replicas, max_bytes,
        placement, compression (bool), metadata: config_fields(
        "object_store") has them with the server version each needs."""
        return self._obs_call(lib.jw_js_obs_create, bucket, config, fields)

    def update_object_store(self, bucket: Optional[str] = None, *,
                            config: Optional[Mapping[str, Any]] = None,
                            **fields: Any) -> ObjectStore:
        """Change a bucket's configuration (BucketNotFoundError)."""
        return self._obs_call(lib.jw_js_obs_update, bucket, config, fields)

    def create_or_update_object_store(
            self, bucket: Optional[str] = None, *,
            config: Optional[Mapping[str, Any]] = None,
            **fields: Any) -> ObjectStore:
        return self._obs_call(lib.jw_js_obs_create_or_update, bucket, config,
                              fields)

    def object_store(self, bucket: str) -> ObjectStore:
        """Bind to an existing bucket (BucketNotFoundError)."""
        p = ffi.new("jw_obs **")
        _js._js_check(self._call(lib.jw_js_obs_get,
                                 _js._name(bucket, "bucket"), p))
        return ObjectStore(self, p[0])

    def delete_object_store(self, bucket: str) -> None:
        """Delete a bucket and every object in it (BucketNotFoundError)."""
        _js._js_check(self._call(lib.jw_js_obs_delete,
                                 _js._name(bucket, "bucket")))

    def object_store_names(self) -> List[str]:
        p = ffi.new("char **")
        _js._js_check(self._call(lib.jw_js_obs_names, p))
        out: List[str] = _take_json(p)
        return out

    def object_stores(self) -> List[Dict[str, Any]]:
        """Every bucket's status (dicts, as ObjectStore.status gives)."""
        p = ffi.new("char **")
        _js._js_check(self._call(lib.jw_js_obs_list, p))
        out: List[Dict[str, Any]] = _take_json(p)
        return out
