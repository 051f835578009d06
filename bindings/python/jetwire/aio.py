"""The asyncio API: the same names as the blocking API, as coroutines.

A connection registers the engine's readable fd with the running loop
(``loop.add_reader``). When it fires, the connection takes finished
requests, fills the subscriptions somebody is waiting on, and runs event
callbacks, all on the loop's thread: no thread per message and no polling.
Only the calls that wait for the server's round trip (connect, flush, rtt,
drain) borrow the loop's default executor for their single wait.
JetStream and Key-Value calls are such round trips too; a Key-Value watch
learns of its entries from the same fd (see KeyWatcher).

The code is in four modules, layered like the blocking API's: _aio_client
(the connection, subscriptions, requests, events, Msg), _aio_js (the
JetStream context, consumers, ordered consumers), _aio_kv (Key-Value
buckets and watchers) and _aio_service (services). At import each takes
only from the ones before it; a call that returns an object of a later one
(Connection.jetstream, the bucket calls of JetStream,
Connection.add_service) imports that module when it runs, as the blocking
API's do.
"""
from __future__ import annotations

from ._aio_client import Connection, Msg, Subscription, connect
from ._aio_js import (AtomicBatch, ConsumeContext, Consumer, DirectBatch,
                      FastBatch, JetStream, OrderedConsumer)
from ._aio_kv import KeyValue, KeyWatcher
from ._aio_obs import ObjectReader, ObjectStore, ObjectWatcher
from ._aio_service import Endpoint, Service, ServiceGroup, ServiceRequest

__all__ = ["connect", "Connection", "Subscription", "Msg", "JetStream",
           "Consumer", "ConsumeContext", "OrderedConsumer", "DirectBatch", "AtomicBatch",
           "FastBatch", "KeyValue",
           "KeyWatcher", "ObjectStore", "ObjectReader", "ObjectWatcher",
           "Service", "ServiceGroup", "Endpoint",
           "ServiceRequest"]

# Every other name this module had when it held the code, so that an
# import of one from jetwire.aio keeps working. They are the modules'
# own: rebinding one here changes nothing in them.
import asyncio  # noqa: E402,F401
import collections  # noqa: E402,F401
import inspect  # noqa: E402,F401
import weakref  # noqa: E402,F401
from typing import (TYPE_CHECKING, Any, AsyncIterator,  # noqa: E402,F401
                    Callable, Deque, Dict, Generator, List, Optional,
                    Sequence, Set, Tuple, Union)
from . import _codec, _kv, _jetstream as _js  # noqa: E402,F401
from ._aio_client import (Callback, _Expired, _expire,  # noqa: E402,F401
                          _maybe_await, _wait_for)
from ._aio_js import _consume_messages, _run  # noqa: E402,F401
from ._aio_kv import _WATCH_CHECK, _list_keys  # noqa: E402,F401
from ._args import (JW_OK, _build_msg, _check, _int_arg,  # noqa: E402,F401
                    _ms, _payload, _raise, _subject)
from ._client import (_CALLBACKS, _ConnectionState,  # noqa: E402,F401
                      _ConnState, _event, _make_opts, _register_callbacks,
                      _servers, _subscribe)
from ._msg import (Msg as _SyncMsg, _BATCH,  # noqa: E402,F401
                   _read_messages, _respond)
from ._errors import Error, error_for  # noqa: E402,F401
from ._kv import Entry, KeyValueStatus  # noqa: E402,F401
from ._jetstream import PubAck, _js_check  # noqa: E402,F401
from ._jetwire import ffi, lib  # noqa: E402,F401
