"""MessagePack through the engine's codec, so that a value packed here
unpacks to the same value in C and Lua.

Mapping: None <-> nil, bool <-> bool, int <-> int (64-bit signed or
unsigned range), float <-> float64, str <-> str, bytes/bytearray <-> bin,
list/tuple -> array (unpacked as list), dict <-> map. Map keys may be any of
these except list and dict (unpacked keys that are lists become tuples)."""
from __future__ import annotations

from ._errors import error_for
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = ["pack", "unpack", "MISSING"]

MISSING: Any = object()
_MAX_DEPTH = 32
_OK = lib.JW_OK
# The value types, bound once: unpacking compares each value's type.
_NIL, _BOOL, _INT, _UINT, _DOUBLE = (lib.JW_VALUE_NIL, lib.JW_VALUE_BOOL,
                                     lib.JW_VALUE_INT, lib.JW_VALUE_UINT,
                                     lib.JW_VALUE_DOUBLE)
_STR, _BIN, _EXT, _ARRAY, _MAP = (lib.JW_VALUE_STR, lib.JW_VALUE_BIN,
                                  lib.JW_VALUE_EXT, lib.JW_VALUE_ARRAY,
                                  lib.JW_VALUE_MAP)
_BYTES = frozenset((_STR, _BIN, _EXT))


def _fail(status: int) -> None:
    code = ffi.string(lib.jw_status_name(status)).decode()
    raise error_for(code, ffi.string(lib.jw_last_error()).decode("utf-8",
                                                                 "replace"))


def _pack_into(p: Any, value: Any, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("value nested deeper than %d levels" % _MAX_DEPTH)
    if value is None:
        st = lib.jw_pack_nil(p)
    elif value is True or value is False:
        st = lib.jw_pack_bool(p, int(value))
    elif isinstance(value, int):
        if -(1 << 63) <= value < 0:
            st = lib.jw_pack_int(p, value)
        elif 0 <= value < (1 << 64):
            st = lib.jw_pack_uint(p, value)
        else:
            raise OverflowError("integer %d does not fit in 64 bits" % value)
    elif isinstance(value, float):
        st = lib.jw_pack_double(p, value)
    elif isinstance(value, str):
        b = value.encode()
        st = lib.jw_pack_str(p, b, len(b))
    elif isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
        st = lib.jw_pack_bin(p, b, len(b))
    elif isinstance(value, (list, tuple)):
        st = lib.jw_pack_array(p, len(value))
        if st == _OK:
            for item in value:
                _pack_into(p, item, depth + 1)
    elif isinstance(value, dict):
        st = lib.jw_pack_map(p, len(value))
        if st == _OK:
            for k, v in value.items():
                if isinstance(k, (dict, list)):
                    raise TypeError("map keys cannot be %s"
                                    % type(k).__name__)
                _pack_into(p, k, depth + 1)
                _pack_into(p, v, depth + 1)
    else:
        raise TypeError("cannot pack %s" % type(value).__name__)
    if st != _OK:
        _fail(st)


def pack(value: Any) -> bytes:
    """Encode value as MessagePack."""
    p_p = ffi.new("jw_packer **")
    st = lib.jw_packer_new(p_p)
    if st != _OK:
        _fail(st)
    p = ffi.gc(p_p[0], lib.jw_packer_free)
    _pack_into(p, value, 0)
    size = ffi.new("size_t *")
    data = lib.jw_packer_data(p, size)
    return bytes(ffi.unpack(ffi.cast("const char *", data), size[0]))


def _value(v: Any) -> Any:
    t = lib.jw_value_type_get(v)
    if t == _NIL:
        return None
    if t == _BOOL:
        return bool(lib.jw_value_bool(v))
    if t == _INT:
        return lib.jw_value_int(v)
    if t == _UINT:
        return lib.jw_value_uint(v)
    if t == _DOUBLE:
        return lib.jw_value_double(v)
    if t in _BYTES:
        size = ffi.new("size_t *")
        ptr = lib.jw_value_bytes(v, size)
        raw = ffi.unpack(ptr, size[0]) if size[0] else b""
        return (raw.decode("utf-8", "surrogateescape")
                if t == _STR else raw)
    if t == _ARRAY:
        return [_value(lib.jw_value_array_at(v, i))
                for i in range(lib.jw_value_count(v))]
    if t == _MAP:
        out = {}
        for i in range(lib.jw_value_count(v)):
            key = _value(lib.jw_value_map_key(v, i))
            if isinstance(key, list):
                key = tuple(key)
            out[key] = _value(lib.jw_value_map_val(v, i))
        return out
    raise error_for("INVALID_ARG", "unknown MessagePack type %d" % t)


def unpack(data: Any) -> Any:
    """Decode one MessagePack value that fills all of data."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("unpack() needs bytes, not %s" % type(data).__name__)
    buf = bytes(data)
    u_p = ffi.new("jw_unpacked **")
    st = lib.jw_unpack(buf, len(buf), u_p)
    if st != _OK:
        _fail(st)
    u = ffi.gc(u_p[0], lib.jw_unpacked_free)
    return _value(lib.jw_unpacked_root(u))
