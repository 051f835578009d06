"""jetwire: a NATS client on the jetwire C engine.

Blocking API here (``jetwire.connect``); the asyncio API is
``jetwire.aio``. Errors are ``jetwire.Error`` subclasses carrying the code
name shared with the C and Lua APIs.
"""
from ._codec import pack, unpack
from ._errors import *  # noqa: F401,F403
from ._errors import Error, error_for
from ._client import Connection, Event, Subscription, connect
from ._msg import Headers, Msg
from ._jetstream import (JetStream, Consumer, ConsumeContext, DirectBatch,
                         OrderedConsumer, PubAck, MsgMetadata,
                         SequencePair, config_fields, option_fields)
from ._batch import AtomicBatch, CounterEntry
from ._fast import FastBatch
from ._kv import Entry, KeyValue, KeyValueStatus, KeyWatcher
from ._obs import ObjectInfo, ObjectReader, ObjectStore, ObjectWatcher
from ._service import Endpoint, Service, ServiceGroup, ServiceRequest
from ._jetwire import ffi as _ffi, lib as _lib

__all__ = [
    "connect",
    "Connection",
    "Subscription",
    "Msg",
    "Headers",
    "Event",
    "JetStream",
    "Consumer",
    "ConsumeContext",
    "OrderedConsumer",
    "DirectBatch",
    "AtomicBatch",
    "CounterEntry",
    "FastBatch",
    "PubAck",
    "PubAckFuture",
    "MsgMetadata",
    "SequencePair",
    "config_fields",
    "option_fields",
    "KeyValue",
    "KeyValueStatus",
    "KeyWatcher",
    "Entry",
    "ObjectStore",
    "ObjectInfo",
    "ObjectReader",
    "ObjectWatcher",
    "Service",
    "ServiceGroup",
    "Endpoint",
    "ServiceRequest",
    "pack",
    "unpack",
    "Error",
    "error_for",
    "engine_version",
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
]

# The package is built with its engine: one version, the header's.
engine_version = _ffi.string(_lib.jw_version()).decode()
__version__ = engine_version


TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._puback import PubAckFuture


def __getattr__(name: str) -> object:  # asyncio costs import time: lazy
    if name == "aio":
        import importlib
        return importlib.import_module(".aio", __name__)
    if name == "PubAckFuture":  # so does concurrent.futures (logging)
        from ._puback import PubAckFuture
        return PubAckFuture
    raise AttributeError("module 'jetwire' has no attribute %r" % name)
