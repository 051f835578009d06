"""Services (the NATS micro API, ADR-32) in the blocking API.

The engine does a service's work: it checks the configurations, subscribes
the endpoints and the discovery subjects, answers PING, INFO and STATS
itself and keeps each endpoint's statistics. The binding runs the Python
handlers. Endpoints are added without a C handler, so their requests queue
in the endpoint's subscription (jw_endpoint_sub, owned by the service) and
reach the handler as a callback subscription's messages reach its
callback: the connection's dispatcher thread, or its callback_threads
pool, takes them with jw_sub_next_batch. Each request is bracketed by
jw_endpoint_begin and jw_endpoint_end, or jw_endpoint_fail when the handler
raised, so that the engine counts it and jw_service_wait knows when a
stopped service has handled everything it took.

Lifetimes: the service's handle is freed (jw_service_free) when the
Service object is collected. Its endpoints and their requests reference
it, and the connection keeps a running service, as nats.go and nats-py
do, so that nothing calls into a freed service: not a handler, not a
request answered later, not a wait.

The asyncio API's services (_aio_service) share everything here but the
delivery and the calls that wait.
"""
from __future__ import annotations

import threading
import weakref

from . import _codec
from ._args import _check, _int_arg, _ms, _payload
from ._msg import _BATCH, Headers, _read_messages, _reply_to
from ._jetstream import _config, _text, _text_arg
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple, Union

    from ._client import HeadersIn, Payload

    Handler = Callable[["ServiceRequest"], Any]
    # Takes the Endpoint (of either API).
    StatsHandler = Callable[[Any], Any]

__all__ = ["Service", "ServiceGroup", "Endpoint", "ServiceRequest"]

# jw_service_discover takes max_responses as a C int.
_INT_MAX = (1 << (8 * ffi.sizeof("int") - 1)) - 1


def _string(p: Any) -> str:
    return str(ffi.string(p).decode())


def _description(exc: BaseException) -> bytes:
    """What the 500 answer to a handler that raised says (and the
    endpoint's last_error): the exception's repr, which has no line
    breaks to spoil a header."""
    return repr(exc).encode("utf-8", "backslashreplace")


def _nothing(handle: Any) -> None:
    """The finalizer of what the service owns (an endpoint's
    subscription): jw_service_free frees it."""


class ServiceRequest:
    """A request to an endpoint, handed to its handler: ``data``,
    ``subject``, ``reply`` and ``headers`` as a Msg has them. Answer it
    with ``respond`` or ``respond_error``, in the handler or later, from
    any thread: the request keeps what answering needs."""

    # A Msg's slots (_read_messages fills them; _engine_msg is kept for
    # jw_endpoint_respond_error and jw_endpoint_fail), the endpoint, and
    # whether an answer went out: a handler that raises after answering
    # is counted as failed without a second answer.
    __slots__ = ("subject", "reply", "data", "_headers", "_status", "_conn",
                 "_engine_msg", "_endpoint", "_responded")

    subject: str
    reply: Optional[str]
    data: bytes
    _headers: Optional[Headers]
    _status: int
    _conn: Any  # the sync or asyncio Connection
    _engine_msg: Any
    _endpoint: "_EndpointBase"
    _responded: bool

    @property
    def headers(self) -> Headers:
        return self._headers if self._headers is not None else Headers()

    def respond(self, data: Payload = b"", headers: HeadersIn = None
                ) -> None:
        """Publish data (and headers) to the reply subject."""
        _reply_to(self, data, headers)
        self._responded = True

    def respond_error(self, code: Union[str, int], description: str,
                      data: Payload = b"") -> None:
        """Answer with an error: the headers Nats-Service-Error
        (description) and Nats-Service-Error-Code (code), data as body.
        It counts as the endpoint's error; its last_error becomes
        "code:description"."""
        self._endpoint._respond_error(self, code, description, data)

    def unpack(self) -> Any:
        """Decode the MessagePack payload."""
        return _codec.unpack(self.data)

    def __repr__(self) -> str:
        return "<ServiceRequest subject=%r reply=%r data=%r>" % (
            self.subject, self.reply, self.data[:64])


class _EndpointBase:
    """An endpoint of either API: its engine handle (borrowed from the
    service, which this object keeps alive), its names and its handler."""

    def __init__(self, service: "_ServiceBase", handle: Any,
                 handler: Callable[..., Any]) -> None:
        self._service = service
        self._state = service._state
        self._handle = handle
        self._handler = handler
        self._sub = lib.jw_endpoint_sub(handle)
        self.name = _string(lib.jw_endpoint_name(handle))
        self.subject = _string(lib.jw_endpoint_subject(handle))
        queue = lib.jw_endpoint_queue_group(handle)
        #: The queue group, None when disabled.
        self.queue_group = None if queue == ffi.NULL else _string(queue)

    def _report_as_subscription(self) -> None:
        """Slow consumer events of the endpoint's subscription name this
        endpoint (error_cb's second argument)."""
        key = int(ffi.cast("uintptr_t", self._sub))
        self._state.subs_by_handle[key] = weakref.ref(self)

    def _read_requests(self, msgs: Any, n: int, cls: type) -> List[Any]:
        """The n requests taken into msgs as cls objects, each to be ended
        or failed. One that cannot be read (a subject that is no UTF-8)
        is failed here, the others read one at a time: every request
        taken must be accounted for, or the service never finishes
        stopping."""
        try:
            reqs = _read_messages(self._state, msgs, n, cls, True)
        except Exception:
            reqs = []
            for i in range(n):
                try:
                    reqs += _read_messages(self._state, msgs + i, 1, cls,
                                           True)
                except Exception as e:
                    lib.jw_endpoint_fail(self._handle, msgs[i],
                                         lib.jw_endpoint_begin(self._handle),
                                         _description(e))
                    lib.jw_msg_free(msgs[i])
        for req in reqs:
            req._endpoint = self
            req._responded = False
        return reqs

    def _failed(self, req: ServiceRequest, begun: int,
                exc: BaseException) -> None:
        """The handler raised: the engine answers 500 unless the handler
        answered, and counts the error. A failed answer (the connection
        closed) has nobody to go to."""
        lib.jw_endpoint_fail(self._handle,
                             ffi.NULL if req._responded else req._engine_msg,
                             begun, _description(exc))

    def _respond_error(self, req: ServiceRequest, code: Union[str, int],
                       description: str, data: Payload) -> None:
        if isinstance(code, bool) or not isinstance(code, (str, int)):
            raise TypeError("code must be str or int, not %s"
                            % type(code).__name__)
        code_text = _text_arg(str(code), "code")
        description_text = _text_arg(description, "description")
        payload = _payload(data)
        _check(lib.jw_endpoint_respond_error(
            self._handle, req._engine_msg, code_text, description_text,
            payload, len(payload)))
        req._responded = True

    def _update_stats(self) -> Any:
        """Give the engine the service's stats_handler's data for this
        endpoint (the "data" of its STATS), as JSON. The engine's own
        stats hook would run Python on its loop thread, so the binding
        calls the handler instead: when the endpoint is added and after
        each request it handled. A failure goes where callback errors go
        (error_cb, else printed); returns what error_cb returned (asyncio
        awaits a coroutine's)."""
        stats_handler = self._service._stats_handler
        if stats_handler is None:
            return None
        try:
            data = stats_handler(self)
            text = ffi.NULL
            if data is not None:
                import json
                text = json.dumps(data, allow_nan=False).encode()
            _check(lib.jw_endpoint_set_stats_data(self._handle, text))
        except Exception as e:
            return self._state.report_error(e, self)
        return None

    @property
    def service(self) -> Any:
        """The service this endpoint belongs to."""
        return self._service

    def __repr__(self) -> str:
        return "<%s %r subject=%r queue_group=%r>" % (
            type(self).__name__, self.name, self.subject, self.queue_group)


class Endpoint(_EndpointBase):
    """An endpoint: ``name``, ``subject`` (with its groups' prefixes) and
    ``queue_group`` (None when disabled). Its handler runs on the
    connection's callback thread (or its callback_threads pool), one
    request at a time, as a subscription's callback does."""

    def __init__(self, service: "_ServiceBase", handle: Any,
                 handler: Callable[..., Any]) -> None:
        super().__init__(service, handle, handler)
        # What the dispatcher and the pool ask of the objects they deliver
        # to (_ConnState._schedule): whether they live (as long as the
        # service's handle), and the pool's two marks.
        self._finalizer = service._finalizer
        self._running = False
        self._again = False
        self._report_as_subscription()

    def _deliver_to_callback(self, msgs: Any) -> None:
        """The dispatcher's (or a pool worker's) turn: every request
        queued, each through the handler."""
        sub = self._sub
        while True:
            n = lib.jw_sub_next_batch(sub, msgs, lib.jw_sub_batch_size(
                sub, _BATCH), 0)
            if n <= 0:
                if n != lib.JW_ETIMEOUT:  # drained or closed: it is over
                    self._state.callback_subs.pop(id(self), None)
                return
            for req in self._read_requests(msgs, n, ServiceRequest):
                self._serve(req)

    def _serve(self, req: ServiceRequest) -> None:
        handle = self._handle
        begun = lib.jw_endpoint_begin(handle)
        try:
            self._handler(req)
        except BaseException as e:
            self._failed(req, begun, e)
            if not isinstance(e, Exception):
                raise
        else:
            lib.jw_endpoint_end(handle, begun)
        self._update_stats()


class _Parent:
    """A service or a group: what endpoints and groups are added to."""

    _group: Any = ffi.NULL  # the jw_service_group; NULL: the service

    def _owner(self) -> "_ServiceBase":
        raise NotImplementedError

    def _new_group(self, cls: Any, name: str, fields: Dict[str, Any]) -> Any:
        svc = self._owner()
        fields["name"] = name
        config = _config("group", None, fields)
        out = ffi.new("jw_service_group **")
        _check(lib.jw_service_add_group(svc._handle, self._group, config,
                                        out))
        group = cls.__new__(cls)
        group._svc = svc
        group._group = out[0]
        group.name = name
        return group

    def _new_endpoint(self, name: str, handler: Any,
                      fields: Dict[str, Any]) -> Any:
        """Add an endpoint without a C handler; its jw_endpoint."""
        if not callable(handler):
            raise TypeError("handler must be callable, not %s"
                            % type(handler).__name__)
        svc = self._owner()
        fields["name"] = name
        config = _config("endpoint", None, fields)
        out = ffi.new("jw_endpoint **")
        _check(lib.jw_service_add_endpoint(svc._handle, self._group, config,
                                           ffi.NULL, ffi.NULL, out))
        return out[0]


class _Endpoints(_Parent):
    """add_endpoint and add_group of the blocking API."""

    def add_endpoint(self, name: str, handler: Handler,
                     **fields: Any) -> Endpoint:
        """Add an endpoint and start serving it: ``handler(request)`` (a
        jetwire.ServiceRequest) runs for each request. Fields, as the
        engine takes them: subject (default: the name), metadata (a dict
        of str), queue_group, queue_group_disabled, pending_msgs_limit,
        pending_bytes_limit. A handler that raises: the engine answers
        with error 500 (the exception's repr) and counts the error."""
        import inspect
        if inspect.iscoroutinefunction(handler):
            raise TypeError("handler is a coroutine function: serve it "
                            "with jetwire.aio")
        svc = self._owner()
        ep = Endpoint(svc, self._new_endpoint(name, handler, fields),
                      handler)
        svc._endpoints.append(ep)
        state = svc._state
        state.callback_subs[id(ep)] = ep
        _check(lib.jw_sub_set_tag(ep._sub, id(ep)))
        state.start_dispatcher()
        state.wake()
        ep._update_stats()
        return ep

    def add_group(self, name: str, **fields: Any) -> "ServiceGroup":
        """A group: its endpoints listen on "<name>.<subject>" (name may
        have several tokens) and take its queue_group (or none with
        queue_group_disabled) unless they set their own."""
        group: ServiceGroup = self._new_group(ServiceGroup, name, fields)
        return group


class ServiceGroup(_Endpoints):
    """A group of endpoints under a subject prefix (Service.add_group)."""

    _svc: "_ServiceBase"
    name: str

    def _owner(self) -> "_ServiceBase":
        return self._svc

    def __repr__(self) -> str:
        return "<ServiceGroup %r of %r>" % (self.name, self._svc.name)


def _new_service(handle: Any, config: bytes, out: Any) -> None:
    _check(lib.jw_service_new(handle, config, out))


class _ServiceBase(_Parent):
    """A service of either API: its handle, names, INFO and STATS."""

    def __init__(self, conn: Any, name: str, version: str,
                 stats_handler: Optional[StatsHandler],
                 fields: Dict[str, Any]) -> None:
        if stats_handler is not None and not callable(stats_handler):
            raise TypeError("stats_handler must be callable, not %s"
                            % type(stats_handler).__name__)
        fields["name"] = name
        fields["version"] = version
        config = _config("service", None, fields)
        out = ffi.new("jw_service **")
        conn._state.call(_new_service, config, out)
        handle = self._handle = out[0]
        self._finalizer = weakref.finalize(self, lib.jw_service_free, handle)
        # Not at exit: a daemon thread may still be in a handler then, and
        # would end its request on a freed endpoint.
        self._finalizer.atexit = False
        self._state = conn._state
        self._conn = weakref.ref(conn)
        self._stats_handler = stats_handler
        self._endpoints: List[Any] = []
        self.id = _string(lib.jw_service_id(handle))
        self.name = _string(lib.jw_service_name(handle))
        self.version = _string(lib.jw_service_version(handle))
        conn._services[id(self)] = self

    def _owner(self) -> "_ServiceBase":
        return self

    def info(self) -> Dict[str, Any]:
        """The service's INFO answer as it stands (a dict)."""
        return self._json(lib.jw_service_info)

    def stats(self) -> Dict[str, Any]:
        """The service's STATS answer as it stands (a dict): per endpoint
        num_requests, num_errors, last_error, processing_time and
        average_processing_time (nanoseconds) and the stats_handler's
        data."""
        return self._json(lib.jw_service_stats)

    def _json(self, fn: Callable[..., int]) -> Dict[str, Any]:
        import json
        p = ffi.new("char **")
        _check(fn(self._handle, p))
        answer: Dict[str, Any] = json.loads(_text(p))
        return answer

    def _reset(self) -> None:
        _check(lib.jw_service_reset(self._handle))

    def _stop(self) -> None:
        """Stop at once (jw_service_stop): the connection lets go of the
        service, whose endpoints' deliveries keep it until they end."""
        conn = self._conn()
        if conn is not None:
            conn._services.pop(id(self), None)
        _check(lib.jw_service_stop(self._handle))

    def _wait(self, ms: int) -> None:
        """Wait for the stopped service to have handled every request it
        took. One engine call: on the main thread its wait check lets
        Ctrl+C end it (_wait)."""
        _check(lib.jw_service_wait(self._handle, ms))

    @property
    def stopped(self) -> bool:
        """Stopped, and every request taken was handled."""
        return bool(lib.jw_service_stopped(self._handle) == 1)

    def __repr__(self) -> str:
        return "<%s %s %s id=%s>" % (type(self).__name__, self.name,
                                     self.version, self.id)


class Service(_Endpoints, _ServiceBase):
    """A service (Connection.add_service): ``id``, ``name``, ``version``,
    its endpoints and groups, ``info()``, ``stats()``, ``reset()`` and
    ``stop()``. A context manager: stopped on leaving."""

    def reset(self) -> None:
        """Zero every endpoint's statistics and restart the clock."""
        self._reset()

    def stop(self, timeout: Optional[float] = 5.0) -> None:
        """Stop: discovery ends at once, the endpoints' subscriptions
        drain, and the call waits up to timeout seconds (None: as long as
        it takes) for the handlers to answer every request that came
        (jetwire.TimeoutError if they have not). Stopping twice is
        harmless. Called from a handler or a callback, it does not wait:
        the requests left may need the very thread it runs on."""
        ms = _ms(timeout)
        self._stop()
        state = self._state
        me = threading.current_thread()
        if me is state.thread or me in state.workers:
            return
        self._wait(ms)

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# -- discovery ---------------------------------------------------------------

def _discover_args(name: Optional[str], id: Optional[str],
                   timeout: Optional[float], max_responses: Optional[int]
                   ) -> Tuple[Any, Any, int, int]:
    """The discovery calls' arguments, checked, as jw_service_discover
    takes them."""
    name_text = ffi.NULL if name is None else _text_arg(name, "name")
    id_text = ffi.NULL if id is None else _text_arg(id, "id")
    ms = _ms(timeout)
    most = 0  # no limit
    if max_responses is not None:
        most = min(_int_arg(max_responses, "max_responses", 1), _INT_MAX)
    return name_text, id_text, ms, most


def _discover(handle: Any, verb: int, name: Any, id: Any, ms: int,
              most: int) -> List[Dict[str, Any]]:
    """jw_service_discover on the connection's handle, checked on the
    thread that ran it (jw_last_error is per thread), parsed."""
    import json
    p = ffi.new("char **")
    _check(lib.jw_service_discover(handle, verb, name, id, ms, most, p))
    answers: List[Dict[str, Any]] = json.loads(_text(p))
    return answers
