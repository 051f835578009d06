"""What every call into the engine shares: turning Python arguments into
the engine's (subjects, payloads, timeouts in the engine's rule, int64
values, messages with headers) and the engine's statuses into the
package's exceptions."""
from __future__ import annotations

import sys
from collections.abc import Mapping

from . import _wait
from ._errors import Error, error_for, in_seconds, seconds_text
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence, Union

    from ._client import Payload

JW_OK = lib.JW_OK
_EINTERRUPTED = lib.JW_EINTERRUPTED
_SLICE_MS = _wait.SLICE_MS

def _engine_name(text: Any) -> Optional[str]:
    """A static name an engine function returned; None for its NULL."""
    return None if text == ffi.NULL else str(ffi.string(text).decode())


def _enum_names(name_of: Any, first: int) -> List[str]:
    """Every name of an engine enum numbered from first: its name function
    gives NULL past the last value."""
    names: List[str] = []
    while True:
        name = _engine_name(name_of(first + len(names)))
        if name is None:
            return names
        names.append(name)


def _raise(status: int) -> None:
    if status == _EINTERRUPTED:  # by a signal handler: raise what it raised
        _wait.raise_interrupt()
    code = ffi.string(lib.jw_status_name(status)).decode()
    detail = ffi.string(lib.jw_last_error()).decode("utf-8", "replace")
    # Durations in the seconds the API takes, not the engine's ms.
    raise error_for(code, in_seconds(detail) if detail else
                    ffi.string(lib.jw_strerror(status)).decode())


def _timeout(what: str, ms: int) -> Error:
    """The TIMEOUT of a wait of ms (> 0) the binding cut in slices: the
    engine's text would name the last slice. Worded as the engine words
    it, in seconds: "no message within 0.5 s"."""
    return error_for("TIMEOUT", "%s within %s s" % (what, seconds_text(ms)))


def _check(status: int) -> None:
    if status != JW_OK:
        _raise(status)


def _ms(timeout: Optional[float], name: str = "timeout") -> int:
    """Seconds (None or inf: forever) to the engine's milliseconds, by
    the engine's rule (jw_seconds_to_ms: range, rounding, wording). The
    values seen are kept: most calls pass one of a few constants."""
    if timeout is None:
        return -1
    kind = timeout.__class__
    if kind is float or kind is int:
        ms = _MS_SEEN.get(timeout)
        if ms is not None:
            return ms
    elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError("%s must be a number of seconds or None, not %s"
                        % (name, type(timeout).__name__))
    try:
        seconds = float(timeout)
    except OverflowError:  # an int past any float: past the engine's limit
        seconds = sys.float_info.max
    ms = int(lib.jw_seconds_to_ms(name.encode(), seconds))
    if ms == lib.JW_EINVAL:  # else >= 0, or -1 for forever
        _raise(ms)
    if len(_MS_SEEN) < 256:
        _MS_SEEN[timeout] = ms
    return ms


_MS_SEEN: Dict[Any, int] = {}
_INT64_MAX = (1 << 63) - 1


def _int_arg(value: Any, name: str, minimum: int = -_INT64_MAX) -> int:
    """An integer argument the engine takes as an int64."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be int, not %s"
                        % (name, type(value).__name__))
    if not minimum <= value <= _INT64_MAX:
        raise ValueError("%s must be between %d and %d, not %d"
                         % (name, minimum, _INT64_MAX, value))
    return value


def _subject(value: Any, name: str = "subject") -> bytes:
    if not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (name,
                                                    type(value).__name__))
    if "\0" in value:  # C would read only up to it: another subject
        raise error_for("INVALID_SUBJECT",
                        "invalid %s %r: contains NUL" % (name, value))
    return value.encode()


def _payload(value: Any) -> Any:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return ffi.from_buffer(value)
    raise TypeError("payload must be bytes, bytearray or memoryview, not %s"
                    % type(value).__name__)


def _build_msg(subject: bytes, reply: Optional[str], payload: Payload,
               headers: Mapping[str, Union[str, Sequence[str]]]) -> Any:
    """An engine message with headers, for publish_msg / request_msg."""
    if not isinstance(headers, Mapping):
        raise TypeError("headers must be a mapping of str to str or list")
    data = _payload(payload)
    rep = _subject(reply, "reply") if reply is not None else ffi.NULL
    msg_p = ffi.new("jw_msg **")
    _check(lib.jw_msg_new(subject, rep, data, len(data), msg_p))
    msg = ffi.gc(msg_p[0], lib.jw_msg_free)
    for name, value in headers.items():
        if not isinstance(name, str):
            raise TypeError("header names must be str")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple)):
            raise TypeError("header %r: value must be str or a list of str"
                            % name)
        for v in values:
            if not isinstance(v, str):
                raise TypeError("header %r: values must be str" % name)
            _check(lib.jw_msg_header_add(msg, name.encode(), v.encode()))
    return msg
