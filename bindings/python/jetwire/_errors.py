"""Exceptions: one base class with the shared code name, one subclass per
code. Where a builtin exception means the same thing, the subclass also
derives from it, so ``except TimeoutError`` and ``except ValueError`` work as
Python users expect. Each subclass names the engine's status; its code name
comes from the engine (jw_status_name)."""
from __future__ import annotations

import builtins

from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Type

__all__ = ["Error", "error_for",
           "TimeoutError",
           "NoRespondersError",
           "ConnectionClosedError",
           "NotConnectedError",
           "InvalidArgError",
           "InvalidSubjectError",
           "MaxPayloadError",
           "AuthError",
           "ConnectError",
           "SlowConsumerError",
           "DrainingError",
           "PermissionViolationError",
           "StreamNotFoundError",
           "ConsumerNotFoundError",
           "BucketNotFoundError",
           "KeyNotFoundError",
           "KeyDeletedError",
           "KeyExistsError",
           "WrongLastSequenceError",
           "JetStreamError",
           "NotSupportedError",
           "ProtocolError",
           "IOError",
           "NoMemoryError",
           "InvalidSubscriptionError",
           "TLSError",
           "InterruptedError"]


# The class of each code name (the base class serves the others).
_BY_CODE: Dict[str, Type[Error]] = {}


class Error(Exception):
    """A jetwire failure. ``code`` is the code name shared by every language
    (``"TIMEOUT"``, ``"NO_RESPONDERS"``, ...)."""

    __module__ = "jetwire"
    code: str = "UNKNOWN"
    #: The server's JetStream err_code (10059, ...) for JetStream API
    #: errors, else 0.
    err_code: int = 0
    # A subclass's engine status (jw_status), which gives its code.
    _status: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        status = cls.__dict__.get("_status")
        if status is not None:  # the class of an engine status
            cls.code = ffi.string(lib.jw_status_name(status)).decode()
            _BY_CODE[cls.code] = cls
            cls.__module__ = "jetwire"  # jetwire.TimeoutError, not _errors

    def __init__(self, message: str = "", code: Optional[str] = None) -> None:
        if code is not None:
            self.code = code
        self.message = message or self.code
        super().__init__(self.message)

    def __repr__(self) -> str:
        return "%s(code=%r, message=%r)" % (type(self).__name__, self.code,
                                            self.message)


class TimeoutError(Error, builtins.TimeoutError):
    _status = lib.JW_ETIMEOUT


class NoRespondersError(Error):
    _status = lib.JW_ENO_RESPONDERS


class ConnectionClosedError(Error, builtins.ConnectionError):
    _status = lib.JW_ECONNECTION_CLOSED


class NotConnectedError(Error, builtins.ConnectionError):
    _status = lib.JW_ENOT_CONNECTED


class InvalidArgError(Error, ValueError):
    _status = lib.JW_EINVAL


class InvalidSubjectError(Error, ValueError):
    _status = lib.JW_EINVALID_SUBJECT


class MaxPayloadError(Error, ValueError):
    _status = lib.JW_EMAX_PAYLOAD


class AuthError(Error):
    _status = lib.JW_EAUTH


class ConnectError(Error, builtins.ConnectionError):
    _status = lib.JW_ECONNECT


class SlowConsumerError(Error):
    _status = lib.JW_ESLOW_CONSUMER


class DrainingError(Error):
    _status = lib.JW_EDRAINING


class PermissionViolationError(Error):
    _status = lib.JW_EPERMISSION


class StreamNotFoundError(Error):
    _status = lib.JW_ESTREAM_NOT_FOUND


class ConsumerNotFoundError(Error):
    _status = lib.JW_ECONSUMER_NOT_FOUND


class BucketNotFoundError(Error):
    _status = lib.JW_EBUCKET_NOT_FOUND


class KeyNotFoundError(Error, KeyError):
    _status = lib.JW_EKEY_NOT_FOUND


class KeyDeletedError(KeyNotFoundError):
    """A key whose latest entry is a delete or purge marker: a kind of
    not found, so ``except KeyNotFoundError`` catches it too."""
    _status = lib.JW_EKEY_DELETED


class KeyExistsError(Error):
    _status = lib.JW_EKEY_EXISTS


class WrongLastSequenceError(Error):
    _status = lib.JW_EWRONG_LAST_SEQUENCE


class JetStreamError(Error):
    _status = lib.JW_EJETSTREAM


class NotSupportedError(Error):
    _status = lib.JW_ENOT_SUPPORTED


class ProtocolError(Error):
    _status = lib.JW_EPROTOCOL


class IOError(Error, builtins.OSError):  # noqa: A001
    _status = lib.JW_EIO


class NoMemoryError(Error, MemoryError):
    _status = lib.JW_ENO_MEMORY


class InvalidSubscriptionError(Error):
    _status = lib.JW_EINVALID_SUBSCRIPTION


class TLSError(Error):
    _status = lib.JW_ETLS


class InterruptedError(Error, builtins.InterruptedError):
    """A wait the engine's wait check ended. Blocking Python raises what
    the signal handler raised instead (KeyboardInterrupt); this class is
    for a check that stopped a wait without a Python exception."""
    _status = lib.JW_EINTERRUPTED


def seconds_text(ms: int) -> str:
    """A duration the engine counts in milliseconds, written in the
    seconds the Python API takes: 500 -> "0.5", 2000 -> "2". Every message
    that names a duration uses it, in both APIs."""
    text = "%.3f" % (ms / 1000.0)
    return text.rstrip("0").rstrip(".") if "." in text else text


def in_seconds(text: str) -> str:
    """An engine message with its durations ("within 500 ms") in seconds
    ("within 0.5 s"): the engine words them in its C unit."""
    if " ms" not in text:
        return text
    import re  # only here: it costs start-up time
    return re.sub(r"\b(\d+) ms\b",
                  lambda m: seconds_text(int(m.group(1))) + " s", text)


def error_for(code: str, message: str) -> Error:
    """The exception for a code name (the base class for unknown codes)."""
    cls = _BY_CODE.get(code)
    return cls(message) if cls else Error(message, code)
