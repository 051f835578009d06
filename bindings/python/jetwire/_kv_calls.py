"""The Key-Value methods of the JetStream context (a base of
jetwire.JetStream, as _obs's ObsCalls is for object stores): creating,
binding, deleting and listing buckets. The buckets themselves are _kv's.
"""
from __future__ import annotations

from . import _jetstream as _js  # a cycle: its names are read at call time
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable, Dict, List, Optional

    from ._kv import KeyValue, KeyValueStatus


class KvCalls:
    """The JetStream methods of Key-Value buckets (a base of
    jetwire.JetStream, whose _call and _json they use)."""

    if TYPE_CHECKING:
        def _call(self, fn: Any, *args: Any) -> Any: ...

        def _json(self, fn: Callable[..., int], *args: Any) -> Any: ...

    def _kv_call(self, fn: Callable[..., int], bucket: Optional[str],
                 config: Optional[Mapping[str, Any]],
                 fields: Dict[str, Any]) -> "KeyValue":
        from ._kv import KeyValue
        if bucket is not None:
            fields["bucket"] = bucket
        cfg = _js._config("key-value", config, fields)
        p = ffi.new("jw_kv **")
        _js._js_check(self._call(fn, cfg, p))
        return KeyValue(self, p[0])

    def create_key_value(self, bucket: Optional[str] = None, *,
                         config: Optional[Mapping[str, Any]] = None,
                         **fields: Any) -> "KeyValue":
        """Create a bucket and return it. Fields: description, history
        (1-64), ttl (seconds), max_value_size, max_bytes, storage ("file"
        or "memory"), replicas, republish, placement, compression,
        metadata, limit_marker_ttl (seconds): config_fields("bucket") has
        them with the server version each needs. JetStreamError when it
        exists with another configuration."""
        return self._kv_call(lib.jw_js_kv_create, bucket, config, fields)

    def update_key_value(self, bucket: Optional[str] = None, *,
                         config: Optional[Mapping[str, Any]] = None,
                         **fields: Any) -> "KeyValue":
        """Change a bucket's configuration (BucketNotFoundError)."""
        return self._kv_call(lib.jw_js_kv_update, bucket, config, fields)

    def create_or_update_key_value(self, bucket: Optional[str] = None, *,
                                   config: Optional[Mapping[str, Any]] = None,
                                   **fields: Any) -> "KeyValue":
        return self._kv_call(lib.jw_js_kv_create_or_update, bucket, config,
                             fields)

    def key_value(self, bucket: str) -> "KeyValue":
        """Bind to an existing bucket (BucketNotFoundError)."""
        from ._kv import KeyValue
        p = ffi.new("jw_kv **")
        _js._js_check(self._call(lib.jw_js_kv, _js._name(bucket, "bucket"),
                                 p))
        return KeyValue(self, p[0])

    def delete_key_value(self, bucket: str) -> None:
        """Delete a bucket and everything in it (BucketNotFoundError)."""
        _js._js_check(self._call(lib.jw_js_kv_delete,
                                 _js._name(bucket, "bucket")))

    def key_value_names(self) -> List[str]:
        """The names of every bucket."""
        names: List[str] = self._json(lib.jw_js_kv_names)
        return names

    def key_value_stores(self) -> "List[KeyValueStatus]":
        """Every bucket's status (as KeyValue.status() gives it), from one
        listing of the streams: nats.go's KeyValueStores."""
        from ._kv import KeyValueStatus
        return [KeyValueStatus(doc)
                for doc in self._json(lib.jw_js_kv_statuses)]
