"""Key-Value store over the engine's jw_kv calls (blocking API).

A bucket is the stream KV_<bucket>; an entry's revision is the stream
sequence of its message. Bucket configurations are keyword arguments (and
an optional ``config`` dict) with the ttl in seconds; they cross to the
engine as JSON with the ttl in milliseconds. See docs/kv.md.
"""
from __future__ import annotations

import threading
import time
import weakref
from collections import deque

from ._args import _INT64_MAX, _engine_name, _int_arg, _ms, _payload, _timeout
from ._errors import Error, error_for
from ._jetstream import _Child, _call_opts, _js_check, _text
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import (Any, Deque, Dict, Iterator, List,
                        Optional, Sequence, Union)

    from ._client import Payload

__all__ = ["KeyValue", "Entry", "KeyValueStatus", "KeyWatcher"]

_ETIMEOUT = lib.JW_ETIMEOUT
# What KeyWatcher._next gives when nothing came in time.
_NOTHING = object()
# A blocking watch waits in slices this long, so that stop() from another
# thread ends it soon (the engine's watcher has no wake-up of its own).
_SLICE_MS = 500


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be a number of seconds, not %s"
                        % (name, type(value).__name__))
    if not 0 <= value <= _INT64_MAX / 1000:  # NaN fails too
        raise ValueError("%s must be a number of seconds >= 0, not %r"
                         % (name, value))
    return float(value)


def _key(value: Any, what: str = "key") -> bytes:
    """A key or filter; the engine checks its characters."""
    if not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (what,
                                                    type(value).__name__))
    if "\0" in value:
        raise error_for("INVALID_ARG", "invalid %s %r: contains NUL"
                        % (what, value))
    return value.encode()


def _filters(value: Any, what: str, none: bool = True) -> Any:
    """Key filters for the engine: None (every key, when none allows it),
    a str, or a list or tuple of str; a char *[] whose strings it keeps
    alive."""
    if value is None and none:
        items: List[bytes] = []
    elif isinstance(value, (list, tuple)):
        if not value:
            raise error_for("INVALID_ARG", "%s must not be empty" % what)
        items = [_key(v, what) for v in value]
    else:
        items = [_key(value, what)]
    strings = [ffi.new("char[]", v) for v in items]
    arr = ffi.new("char *[]", strings) if strings else ffi.new("char *[1]")
    return _Filters(arr, strings, len(items))


def _entries(entries: Any, count: Any) -> List["Entry"]:
    """The engine's entry array as Entry objects; the array is freed."""
    try:
        return [Entry(entries[0][i]) for i in range(count[0])]
    finally:
        lib.jw_kv_entries_free(entries[0], count[0])


class _Filters:
    """A char *[] for the engine and the strings it points to."""
    __slots__ = ("arr", "strings", "count")

    def __init__(self, arr: Any, strings: List[Any], count: int) -> None:
        self.arr, self.strings, self.count = arr, strings, count

    def __len__(self) -> int:
        return self.count


def _last(value: Any) -> int:
    return 0 if value is None else _int_arg(value, "last", 0)


#: The TypeError of iterating an Entry (a watcher's updates() result).
ENTRY_NOT_ITERABLE = (
    "'Entry' object is not iterable: watcher.updates() returns one entry "
    "(or None, the end of the initial values); to go through the updates "
    "as Go's `for u := range w.Updates()` does, iterate the watcher "
    "itself: `for entry in watcher:` (asyncio: `async for entry in "
    "watcher:`)")


class Entry:
    """One revision of a key: bucket, key, value (bytes), revision (the
    stream sequence), created (seconds since the epoch, float, like
    MsgMetadata.timestamp), created_ns, delta (in watches and history: how
    many newer entries match; 0 for the latest) and operation ("PUT",
    "DEL" or "PURGE")."""

    __slots__ = ("bucket", "key", "value", "revision", "created",
                 "created_ns", "delta", "operation")

    def __init__(self, e: Any, bucket: Optional[str] = None) -> None:
        # A bucket handle passes its name: one call less.
        self.bucket = (bucket if bucket is not None else
                       ffi.string(lib.jw_kv_entry_bucket(e)).decode())
        self.key = ffi.string(lib.jw_kv_entry_key(e)).decode()
        n = ffi.new("size_t *")
        p = lib.jw_kv_entry_value(e, n)
        self.value = ffi.buffer(p, n[0])[:] if p and n[0] else b""
        self.revision = int(lib.jw_kv_entry_revision(e))
        self.created_ns = int(lib.jw_kv_entry_created(e))
        self.created = self.created_ns / 1e9
        self.delta = int(lib.jw_kv_entry_delta(e))
        self.operation = _operation(lib.jw_kv_entry_operation(e))

    def __repr__(self) -> str:
        return ("Entry(bucket=%r, key=%r, value=%r, revision=%d, "
                "operation=%r)" % (self.bucket, self.key, self.value[:32],
                                   self.revision, self.operation))

    if not TYPE_CHECKING:  # type checkers keep seeing a non-iterable
        def __iter__(self):
            # `for u in w.updates():`, Go's `for u := range w.Updates()`
            # in Python, iterates the one entry updates() returned: say
            # what to write instead of "'Entry' object is not iterable".
            raise TypeError(ENTRY_NOT_ITERABLE)


# The names of the jw_kv_op values met so far ("PUT", "DEL", "PURGE").
_OPERATIONS: Dict[int, str] = {}


def _operation(op: int) -> str:
    name = _OPERATIONS.get(op)
    if name is None:
        name = _OPERATIONS[op] = _engine_name(lib.jw_kv_op_name(op)) or \
            "UNKNOWN"
    return name


def _take_entry(p: Any, bucket: Optional[str] = None) -> Entry:
    try:
        return Entry(p[0], bucket)
    finally:
        lib.jw_kv_entry_free(p[0])


class KeyValueStatus:
    """A bucket's status, as the engine reports it (docs/kv.md lists the
    fields): bucket, values (stored entries, markers included), history,
    ttl (seconds), bytes, storage, replicas, backing_store ("JetStream"),
    stream (KV_<bucket>), is_compressed, limit_marker_ttl (seconds; 0: no
    markers), metadata, and mirror, sources and republish (None when the
    bucket has none), as attributes; ``as_dict()`` gives them all."""

    __slots__ = ("_doc",)

    def __init__(self, doc: Dict[str, Any]) -> None:
        self._doc = dict(doc)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._doc[name]
        except KeyError:
            raise AttributeError("KeyValueStatus has no %r (its fields: %s)"
                                 % (name, ", ".join(self._doc))) from None

    def as_dict(self) -> Dict[str, Any]:
        return dict(self._doc)

    def __repr__(self) -> str:
        return ("KeyValueStatus(bucket=%r, values=%d, history=%d, ttl=%r, "
                "bytes=%d)" % (self.bucket, self.values, self.history,
                               self.ttl, self.bytes))


def _get_opts(revision: Optional[int], options: Dict[str, Any]) -> Any:
    """The engine's get options of get(key, revision, **options)."""
    if revision is None and not options:
        return ffi.NULL  # the common case: the latest entry
    options["revision"] = revision
    return _call_opts("get", options, "get")


class KeyValue(_Child):
    """A bucket: ``js.create_key_value(bucket=...)`` or
    ``js.key_value("name")``. Reading a deleted key raises KeyDeletedError,
    a key never written KeyNotFoundError (KeyDeletedError is a subclass,
    so ``except jetwire.KeyNotFoundError`` catches both)."""

    def __init__(self, js: Any, handle: Any) -> None:
        super().__init__(js, handle, lib.jw_kv_free)
        self.bucket = ffi.string(lib.jw_kv_bucket(handle)).decode()
        self._timeout_ms = _ms(js.timeout)

    def _write(self, fn: Any, key: str, value: Payload, *last: int) -> int:
        data = _payload(value)
        rev = ffi.new("uint64_t *")
        _js_check(self._call(fn, _key(key), data, len(data), *last, rev))
        return int(rev[0])

    def put(self, key: str, value: Payload) -> int:
        """Store value under key; returns the new revision."""
        return self._write(lib.jw_kv_put, key, value)

    def create(self, key: str, value: Payload, **options: Any) -> int:
        """Store only if key has no live value (a deleted or purged key can
        be created again); KeyExistsError otherwise. options are the
        engine's create options (option_fields("create")): ttl, seconds
        until the key goes by itself (nats-server 2.11; the bucket needs
        limit_marker_ttl)."""
        return self._write(lib.jw_kv_create, key, value,
                           _call_opts("create", options, "create"))

    def update(self, key: str, value: Payload, last: int) -> int:
        """Store only if key's latest revision is last;
        WrongLastSequenceError otherwise."""
        return self._write(lib.jw_kv_update, key, value,
                           _int_arg(last, "last", 0))

    def delete(self, key: str, last: Optional[int] = None) -> None:
        """Write a delete marker (the history stays); with last, only if
        key's latest revision is last."""
        _js_check(self._call(lib.jw_kv_delete, _key(key), _last(last)))

    def purge(self, key: str, last: Optional[int] = None,
              **options: Any) -> None:
        """Write a purge marker that drops key's history. options are the
        engine's purge options: ttl, seconds until the marker goes too."""
        _js_check(self._call(lib.jw_kv_purge, _key(key), _last(last),
                             _call_opts("purge", options, "purge")))

    def purge_deletes(self, older_than: Optional[float] = None) -> None:
        """Remove the delete and purge markers older than older_than
        seconds (None: 30 minutes; 0: all of them). Younger markers keep
        only themselves."""
        if older_than is None:
            ms = 0
        else:
            ms = int(_seconds(older_than, "older_than") * 1000) or -1
        _js_check(self._call(lib.jw_kv_purge_deletes, ms))

    def get(self, key: str, revision: Optional[int] = None,
            **options: Any) -> Entry:
        """The latest entry of key, or the one at revision.
        KeyNotFoundError, or KeyDeletedError when it was deleted. revision
        and options are the engine's get options (option_fields("get"))."""
        k = _key(key)
        opts = _get_opts(revision, options)
        p = ffi.new("jw_kv_entry **")
        _js_check(self._call(lib.jw_kv_get, k, opts, p))
        return _take_entry(p)

    def keys(self, filter: Union[None, str, Sequence[str]] = None
             ) -> List[str]:
        """The live keys (matching filter: '*' tokens, a final '>'; or a
        list of such filters, nats-server 2.10); [] for an empty bucket."""
        filters = _filters(filter, "filter")
        p = ffi.new("char **")
        _js_check(self._call(lib.jw_kv_keys_multi, filters.arr, len(filters),
                             p))
        import json
        keys: List[str] = json.loads(_text(p))
        return keys

    def list_keys(self, filter: Union[None, str, Sequence[str]] = None
                  ) -> Iterator[str]:
        """The live keys one at a time, for buckets too large for keys()
        (filter as for keys()); leaving the loop early stops the
        listing."""
        # The watch the engine's lister makes (ignore_deletes, meta_only)
        # read through KeyWatcher, whose waits are cut in slices on the
        # main thread (_wait) and which takes its entries in batches.
        w = self.watch(">" if filter is None else filter,
                       ignore_deletes=True, meta_only=True)
        return _watched_keys(w, self._timeout_ms)

    def history(self, key: str, **options: Any) -> List[Entry]:
        """Every stored entry of key, oldest first, markers included;
        KeyNotFoundError when there is none. options are the engine's
        history options (option_fields("history")): up_to_revision
        (included) or up_to_time (RFC 3339 text, excluded) give the
        history as it stood then (nats-server 2.11: NotSupportedError
        before)."""
        opts = _call_opts("history", options, "history")
        return self._history(_key(key), opts)

    def _history(self, key: bytes, opts: Any) -> List[Entry]:
        entries = ffi.new("jw_kv_entry ***")
        count = ffi.new("size_t *")
        _js_check(self._call(lib.jw_kv_history, key, opts, entries, count))
        return _entries(entries, count)

    def get_many(self, keys: Union[None, str, Sequence[str]] = None,
                 **options: Any) -> List[Entry]:
        """The latest live entry of each key (keys: a key or filter with
        '*' and '>', a list of them, or None for every key), in revision
        order, read as one consistent view; keys never written, deleted
        or purged are left out. options are the engine's get_many options
        (option_fields("get_many")): up_to_revision or up_to_time (RFC
        3339 text) give the values as they stood then. nats-server 2.11
        (NotSupportedError before); a filter matching more than 1024 keys
        raises JetStreamError."""
        k = _filters(keys, "keys")
        opts = _call_opts("get_many", options, "get_many")
        return self._get_many(k, opts)

    def _get_many(self, k: "_Filters", opts: Any) -> List[Entry]:
        entries = ffi.new("jw_kv_entry ***")
        count = ffi.new("size_t *")
        _js_check(self._call(lib.jw_kv_get_many, k.arr, k.count, opts,
                             entries, count))
        return _entries(entries, count)

    def status(self) -> KeyValueStatus:
        p = ffi.new("char **")
        _js_check(self._call(lib.jw_kv_status, p))
        import json
        return KeyValueStatus(json.loads(_text(p)))

    def watch(self, keys: Union[str, Sequence[str]] = ">",
              **options: Any) -> "KeyWatcher":
        """Watch keys (a key, a filter with '*' tokens and a final '>', or
        a list of them, nats-server 2.10).
        Iterating yields the current entries, then exactly one None (the
        current values are all out), then live updates, until stop().
        options are the engine's watch options (option_fields("watch")),
        each a bool: include_history, ignore_deletes, meta_only,
        updates_only, ..."""
        k = _filters(keys, "keys", none=False)
        return self._watch(k, _call_opts("watch", options, "watch"))

    def watch_all(self, **options: Any) -> "KeyWatcher":
        """watch(">"): every key of the bucket."""
        return self._watch(_filters(">", "keys"),
                           _call_opts("watch", options, "watch_all"))

    def _watch(self, keys: Any, opts: Any) -> "KeyWatcher":
        p = ffi.new("jw_kv_watcher **")
        _js_check(self._call(lib.jw_kv_watch_multi, keys.arr, len(keys), opts,
                             p))
        return KeyWatcher(self, p[0])

    def __repr__(self) -> str:
        return "<jetwire.KeyValue %s>" % self.bucket


class _Lister:
    """A key listing (jw_kv_lister) of list_keys(); whoever iterates it
    frees it at the end (free), else its finalizer."""

    __slots__ = ("_conn", "_handle", "_key", "_finalizer", "__weakref__")

    def __init__(self, kv: KeyValue, filters: "_Filters") -> None:
        p = ffi.new("jw_kv_lister **")
        _js_check(kv._call(lib.jw_kv_list_keys_multi, filters.arr,
                           len(filters), p))
        self._conn = kv._conn  # as _Child's (the engine keeps kv)
        self._handle = p[0]
        self._key = ffi.new("const char **")
        self._finalizer = weakref.finalize(self, lib.jw_kv_lister_free, p[0])

    def some(self, limit: int) -> List[str]:
        """Up to limit keys; [] at the end."""
        key = self._key
        out: List[str] = []
        while len(out) < limit:
            if not self._finalizer.alive:
                raise error_for("INVALID_SUBSCRIPTION",
                                "key listing was stopped")
            _js_check(lib.jw_kv_lister_next(self._handle, key))
            if key[0] == ffi.NULL:
                break
            out.append(ffi.string(key[0]).decode())
        return out

    def free(self) -> None:
        """Stop it (never under a running some())."""
        self._finalizer()


def _watched_keys(w: "KeyWatcher", ms: int) -> Iterator[str]:
    """KeyValue.list_keys(): the keys a watch gives before its None."""
    try:
        while True:
            try:
                e = w.updates(None if ms < 0 else ms / 1000)
            except Error as err:
                if err.code == "TIMEOUT":
                    raise _timeout("no key listed", ms) from None
                raise
            if e is None:
                return
            yield e.key
    finally:
        w.stop()


def _free_watcher(handle: Any, lock: Any, held: Any) -> None:
    with lock:  # not while another thread is inside jwpy_watch_take
        if held[0] != ffi.NULL:
            lib.jw_kv_entry_free(held[0])
            held[0] = ffi.NULL
        lib.jw_kv_watcher_free(handle)


def _entry(bucket: str, key: str, value: bytes, revision: int,
           created_ns: int, delta: int, op: int) -> Entry:
    e = Entry.__new__(Entry)
    e.bucket, e.key, e.value, e.revision = bucket, key, value, revision
    e.created_ns, e.created, e.delta = created_ns, created_ns / 1e9, delta
    e.operation = _OPERATIONS.get(op) or _operation(op)
    return e


# Watch items taken per engine call, and the first size of their buffer.
_WATCH_BATCH = 256
_WATCH_BUF = 64 * 1024


class KeyWatcher:
    """A running watch: iterate it (``for entry in w``) or call
    ``updates(timeout)``; ``stop()`` or ``with`` ends it."""

    def __init__(self, kv: KeyValue, handle: Any) -> None:
        self._conn = kv._conn  # as _Child's (the engine keeps kv)
        self._bucket = kv.bucket
        self._handle = handle
        self._lock = threading.Lock()
        # Entries come in batches (jwpy_watch_take): one engine call and
        # two conversions per batch instead of eight calls per entry.
        self._items: Deque[Optional[Entry]] = deque()
        self._error: Optional[BaseException] = None
        self._held = ffi.new("jw_kv_entry **")
        self._meta = ffi.new("int64_t[]", 6 * _WATCH_BATCH)
        self._cap = _WATCH_BUF
        self._buf = ffi.new("char[]", self._cap)
        self._used_p = ffi.new("size_t *")
        self._status_p = ffi.new("int *")
        self._finalizer = weakref.finalize(self, _free_watcher, handle,
                                           self._lock, self._held)

    def _check(self) -> None:
        if not self._finalizer.alive:
            raise error_for("INVALID_SUBSCRIPTION", "watcher was stopped")
        if self._conn._state.handle is None:
            # Closing the connection ends the watch at once, as in nats-py:
            # entries that had arrived before the close are not handed out.
            raise error_for("CONNECTION_CLOSED", "connection is closed")

    def _fill(self, ms: int, limit: int) -> None:
        """One batch into _items (lock held); the first item waits up to
        ms. An error after some items is kept for after them."""
        while True:
            n = lib.jwpy_watch_take(self._handle, ms, limit, self._held,
                                    self._meta, self._buf, self._cap,
                                    self._used_p, self._status_p)
            st = self._status_p[0]
            if n or st:
                break
            # The next entry is larger than the buffer: grow it.
            self._cap = max(self._cap * 2, self._used_p[0])
            self._buf = ffi.new("char[]", self._cap)
        if st and st != _ETIMEOUT:
            try:
                _js_check(st)
            except Exception as e:
                if not n:
                    raise
                self._error = e
        if not n:
            return
        meta = ffi.unpack(self._meta, 6 * n)
        data = ffi.buffer(self._buf, self._used_p[0])[:]
        bucket = self._bucket
        items = self._items
        pos = 0
        for i in range(0, 6 * n, 6):
            kl = meta[i]
            if kl < 0:
                items.append(None)
                continue
            end = pos + kl + meta[i + 1]
            items.append(_entry(bucket, data[pos:pos + kl].decode(),
                                data[pos + kl:end], meta[i + 2],
                                meta[i + 3], meta[i + 4], meta[i + 5]))
            pos = end

    def _next(self, ms: int) -> Any:
        """The next item: an Entry, None (the marker), or _NOTHING when
        nothing came within ms."""
        with self._lock:
            self._check()
            if not self._items:
                if self._error is not None:
                    raise self._error
                self._fill(ms, _WATCH_BATCH)
                if not self._items:
                    return _NOTHING
            return self._items.popleft()

    def _take(self, limit: int) -> List[Optional[Entry]]:
        """What is there without waiting (up to limit items); the asyncio
        watcher drains with it. Raises only when nothing was taken."""
        with self._lock:
            self._check()
            if not self._items and self._error is None:
                self._fill(0, limit)
            out: List[Optional[Entry]] = []
            while self._items and len(out) < limit:
                out.append(self._items.popleft())
            if not out and self._error is not None:
                raise self._error
            return out

    def updates(self, timeout: Optional[float] = 5.0) -> Optional[Entry]:
        """The next entry, None for the end-of-initial-values marker;
        jetwire.TimeoutError when nothing came within timeout seconds
        (None: wait until one comes or the watcher stops)."""
        ms = _ms(timeout)
        deadline = None if ms < 0 else time.monotonic() + ms / 1000
        step = _SLICE_MS  # so that stop() from another thread gets in
        while True:
            left = step if deadline is None else \
                min(step, max(0, int((deadline - time.monotonic()) * 1000)))
            item = self._next(left)
            if item is not _NOTHING:
                result: Optional[Entry] = item
                return result
            if deadline is not None and time.monotonic() >= deadline:
                raise _timeout("no update", ms)

    def __iter__(self) -> Iterator[Optional[Entry]]:
        return self

    def __next__(self) -> Optional[Entry]:
        try:
            return self.updates(None)
        except Exception as e:
            # stop() or the connection's close ends the iteration.
            if not self._finalizer.alive or \
                    getattr(e, "code", None) == "CONNECTION_CLOSED":
                raise StopIteration from None
            raise

    def stop(self) -> None:
        """End the watch; iteration ends, further calls raise. Stopping
        twice is harmless."""
        self._finalizer()

    def __enter__(self) -> "KeyWatcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return "<jetwire.KeyWatcher %s%s>" % (
            self._bucket, "" if self._finalizer.alive else " stopped")

