"""Exceptions: one base class with the shared code name, one subclass per
code. Where a builtin exception means the same thing, the subclass also
derives from it, so ``except TimeoutError`` and ``except ValueError`` work as
Python users expect."""
from __future__ import annotations

import builtins
TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
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
           "IOError",
           "NoMemoryError",
           "InvalidSubscriptionError",
           "TLSError"]


class Error(Exception):
    __module__ = "jetwire"
    """A jetwire failure. ``code`` is the code name shared by every language
    (``"TIMEOUT"``, ``"NO_RESPONDERS"``, ...)."""

    code: str = "UNKNOWN"
    #: The server's JetStream err_code (10059, ...) for JetStream API
    #: errors, else 0.
    err_code: int = 0

    def __init__(self, message: str = "", code: Optional[str] = None) -> None:
        if code is not None:
            self.code = code
        self.message = message or self.code
        super().__init__(self.message)

    def __repr__(self) -> str:
        return "%s(code=%r, message=%r)" % (type(self).__name__, self.code,
                                            self.message)


class TimeoutError(Error, builtins.TimeoutError):
    code = "TIMEOUT"


class NoRespondersError(Error):
    code = "NO_RESPONDERS"


class ConnectionClosedError(Error, builtins.ConnectionError):
    code = "CONNECTION_CLOSED"


class NotConnectedError(Error, builtins.ConnectionError):
    code = "NOT_CONNECTED"


class InvalidArgError(Error, ValueError):
    code = "INVALID_ARG"


class InvalidSubjectError(Error, ValueError):
    code = "INVALID_SUBJECT"


class MaxPayloadError(Error, ValueError):
    code = "MAX_PAYLOAD"


class AuthError(Error):
    code = "AUTH"


class ConnectError(Error, builtins.ConnectionError):
    code = "CONNECT"


class SlowConsumerError(Error):
    code = "SLOW_CONSUMER"


class DrainingError(Error):
    code = "DRAINING"


class PermissionViolationError(Error):
    code = "PERMISSION"


class StreamNotFoundError(Error):
    code = "STREAM_NOT_FOUND"


class ConsumerNotFoundError(Error):
    code = "CONSUMER_NOT_FOUND"


class BucketNotFoundError(Error):
    code = "BUCKET_NOT_FOUND"


class KeyNotFoundError(Error, KeyError):
    code = "KEY_NOT_FOUND"


class KeyDeletedError(KeyNotFoundError):
    """A key whose latest entry is a delete or purge marker: a kind of
    not found, so ``except KeyNotFoundError`` catches it too."""
    code = "KEY_DELETED"


class KeyExistsError(Error):
    code = "KEY_EXISTS"


class WrongLastSequenceError(Error):
    code = "WRONG_LAST_SEQUENCE"


class JetStreamError(Error):
    code = "JETSTREAM"


class NotSupportedError(Error):
    code = "NOT_SUPPORTED"


class ProtocolError(Error):
    code = "PROTOCOL"


class IOError(Error, builtins.OSError):  # noqa: A001
    code = "IO"


class NoMemoryError(Error, MemoryError):
    code = "NO_MEMORY"


class InvalidSubscriptionError(Error):
    code = "INVALID_SUBSCRIPTION"


class TLSError(Error):
    code = "TLS"


# "IOError" would shadow the builtin alias of OSError inside this module.
IOError_ = IOError


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

for _cls in _BY_CODE.values():  # show as jetwire.TimeoutError, not _errors
    _cls.__module__ = "jetwire"
