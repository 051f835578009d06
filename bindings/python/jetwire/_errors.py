"""Exceptions: one base class with the shared code name, one subclass per
code. Where a builtin exception means the same thing, the subclass also
derives from it, so ``except TimeoutError`` and ``except ValueError`` work as
Python users expect."""
from __future__ import annotations

import builtins
from typing import Dict, Optional, Type

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
           "IOError_",
           "NoMemoryError",
           "InvalidSubscriptionError",
           "TLSError"]


class Error(Exception):
    __module__ = "jetwire"
    """A jetwire failure. ``code`` is the code name shared by every language
    (``"TIMEOUT"``, ``"NO_RESPONDERS"``, ...)."""

    code: str = "UNKNOWN"

    def __init__(self, message: str = "", code: Optional[str] = None) -> None:
        if code is not None:
            self.code = code
        self.message = message or self.code
        super().__init__(self.message)

    def __repr__(self) -> str:
        return "%s(code=%r, message=%r)" % (type(self).__name__, self.code,
                                            self.message)


def _make(name: str, code: str, *bases: type) -> Type[Error]:
    cls = type(name, (Error,) + bases, {"code": code, "__module__": "jetwire"})
    return cls  # type: ignore[return-value]


TimeoutError = _make("TimeoutError", "TIMEOUT", builtins.TimeoutError)
NoRespondersError = _make("NoRespondersError", "NO_RESPONDERS")
ConnectionClosedError = _make("ConnectionClosedError", "CONNECTION_CLOSED",
                              builtins.ConnectionError)
NotConnectedError = _make("NotConnectedError", "NOT_CONNECTED",
                          builtins.ConnectionError)
InvalidArgError = _make("InvalidArgError", "INVALID_ARG", ValueError)
InvalidSubjectError = _make("InvalidSubjectError", "INVALID_SUBJECT",
                            ValueError)
MaxPayloadError = _make("MaxPayloadError", "MAX_PAYLOAD", ValueError)
AuthError = _make("AuthError", "AUTH")
ConnectError = _make("ConnectError", "CONNECT", builtins.ConnectionError)
SlowConsumerError = _make("SlowConsumerError", "SLOW_CONSUMER")
DrainingError = _make("DrainingError", "DRAINING")
PermissionViolationError = _make("PermissionViolationError", "PERMISSION")
StreamNotFoundError = _make("StreamNotFoundError", "STREAM_NOT_FOUND")
ConsumerNotFoundError = _make("ConsumerNotFoundError", "CONSUMER_NOT_FOUND")
BucketNotFoundError = _make("BucketNotFoundError", "BUCKET_NOT_FOUND")
KeyNotFoundError = _make("KeyNotFoundError", "KEY_NOT_FOUND", KeyError)
KeyDeletedError = _make("KeyDeletedError", "KEY_DELETED", KeyError)
KeyExistsError = _make("KeyExistsError", "KEY_EXISTS")
WrongLastSequenceError = _make("WrongLastSequenceError",
                               "WRONG_LAST_SEQUENCE")
JetStreamError = _make("JetStreamError", "JETSTREAM")
NotSupportedError = _make("NotSupportedError", "NOT_SUPPORTED")
ProtocolError = _make("ProtocolError", "PROTOCOL")
IOError_ = _make("IOError", "IO", builtins.OSError)
NoMemoryError = _make("NoMemoryError", "NO_MEMORY", MemoryError)
InvalidSubscriptionError = _make("InvalidSubscriptionError",
                                 "INVALID_SUBSCRIPTION")
TLSError = _make("TLSError", "TLS")

_BY_CODE: Dict[str, Type[Error]] = {
    cls.code: cls
    for cls in (TimeoutError, NoRespondersError, ConnectionClosedError,
                NotConnectedError, InvalidArgError, InvalidSubjectError,
                MaxPayloadError, AuthError, ConnectError, SlowConsumerError,
                DrainingError, PermissionViolationError, StreamNotFoundError,
                ConsumerNotFoundError, BucketNotFoundError, KeyNotFoundError,
                KeyDeletedError, KeyExistsError, WrongLastSequenceError,
                JetStreamError, NotSupportedError, ProtocolError, IOError_,
                NoMemoryError, InvalidSubscriptionError, TLSError)
}


def error_for(code: str, message: str) -> Error:
    """The exception for a code name (the base class for unknown codes)."""
    cls = _BY_CODE.get(code)
    return cls(message) if cls else Error(message, code)
