"""Services (the NATS micro API) in the asyncio API (jetwire.aio re-exports
them): the blocking API's services (_service), delivered as asyncio
callback subscriptions are. An endpoint's subscription (the service's)
gets the task of a callback subscription, which takes its requests when
the connection's fd says so and runs the handler for each in turn on the
loop; a handler may be a coroutine function or a plain one. Stopping
waits on the executor, as drain does, while the loop goes on handling.
"""
from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Union

from ._aio_client import Subscription, _guarded
from ._args import _ms
from ._msg import _reply_to
from ._errors import error_for
from ._jetwire import lib
from . import _service
from ._service import _EndpointBase, _Parent, _ServiceBase, _nothing

if TYPE_CHECKING:
    from ._aio_client import Connection
    from ._client import HeadersIn, Payload

__all__ = ["Service", "ServiceGroup", "Endpoint", "ServiceRequest"]


class ServiceRequest(_service.ServiceRequest):
    """A request to an endpoint; ``await request.respond(data)`` answers
    it. respond and respond_error queue the answer when called and return
    an awaitable that is already done, as Connection.publish does."""

    __slots__ = ()

    def respond(self, data: Payload = b"",  # type: ignore[override]
                headers: HeadersIn = None) -> "asyncio.Future[None]":
        done: "asyncio.Future[None]" = _reply_to(self, data, headers)
        self._responded = True
        return done

    def respond_error(self, code: Union[str, int],  # type: ignore[override]
                      description: str, data: Payload = b""
                      ) -> "asyncio.Future[None]":
        self._endpoint._respond_error(self, code, description, data)
        done: "asyncio.Future[None]" = self._conn._done
        return done


class _Requests(Subscription):
    """An endpoint's subscription, delivered as a callback subscription's
    messages are: its task runs Endpoint._serve for each request. The
    handle is the service's: closing this object (the connection's close)
    ends the task and never frees it."""

    _free = staticmethod(_nothing)

    def __init__(self, conn: "Connection", endpoint: "Endpoint") -> None:
        self._endpoint = endpoint
        super().__init__(conn, endpoint._sub, endpoint.subject,
                         endpoint.queue_group, endpoint._serve)

    def _take(self, msgs: Any, n: int) -> List[Any]:
        return self._endpoint._read_requests(msgs, n, ServiceRequest)

    def close(self) -> None:
        super().close()
        # Requests taken that the ended task will not hand to the handler:
        # failed, so that the engine has every request it handed out
        # accounted for.
        ep = self._endpoint
        closed = error_for("CONNECTION_CLOSED", "connection closed")
        while self._buffer:
            req: Any = self._buffer.popleft()
            ep._failed(req, lib.jw_endpoint_begin(ep._handle), closed)


class Endpoint(_EndpointBase):
    """An endpoint, as the blocking API's; its handler runs on the loop,
    one request at a time."""

    def __init__(self, service: "Service", handle: Any,
                 handler: Callable[..., Any], conn: "Connection") -> None:
        super().__init__(service, handle, handler)
        self._delivery = _Requests(conn, self)
        self._report_as_subscription()

    async def _serve(self, req: ServiceRequest) -> None:
        handle = self._handle
        begun = lib.jw_endpoint_begin(handle)
        try:
            result = self._handler(req)
            if result is not None and inspect.isawaitable(result):
                await result
        except BaseException as e:  # a cancel too: the request is over
            self._failed(req, begun, e)
            if not isinstance(e, Exception):
                raise
        else:
            lib.jw_endpoint_end(handle, begun)
        report = self._update_stats()
        if report is not None:
            await _guarded(report)


class _Endpoints(_Parent):
    """add_endpoint (a coroutine) and add_group of the asyncio API."""

    async def add_endpoint(self, name: str, handler: Callable[..., Any],
                           **fields: Any) -> Endpoint:
        """As the blocking add_endpoint; handler(request) may be a
        coroutine function."""
        svc = self._owner()
        conn = svc._conn()
        if conn is None:
            raise error_for("CONNECTION_CLOSED", "connection is closed")
        ep = Endpoint(svc,  # type: ignore[arg-type]
                      self._new_endpoint(name, handler, fields), handler,
                      conn)
        svc._endpoints.append(ep)
        conn._hold(ep._delivery)
        report = ep._update_stats()
        if report is not None:
            await _guarded(report)
        return ep

    def add_group(self, name: str, **fields: Any) -> "ServiceGroup":
        """As the blocking add_group (no wait: not a coroutine, as in
        nats-py)."""
        group: ServiceGroup = self._new_group(ServiceGroup, name, fields)
        return group


class ServiceGroup(_Endpoints):
    """A group of endpoints under a subject prefix."""

    _svc: _ServiceBase
    name: str

    def _owner(self) -> _ServiceBase:
        return self._svc

    def __repr__(self) -> str:
        return "<ServiceGroup %r of %r>" % (self.name, self._svc.name)


class Service(_Endpoints, _ServiceBase):
    """A service (``await nc.add_service(...)``): as the blocking API's,
    with add_endpoint, reset and stop as coroutines; ``async with``
    stops it on leaving."""

    async def reset(self) -> None:
        """Zero every endpoint's statistics and restart the clock."""
        self._reset()

    async def stop(self, timeout: Optional[float] = 5.0) -> None:
        """As the blocking stop: waits (on the executor, while this loop
        goes on handling) for every request that came to be answered.
        Awaited from one of this service's handlers, it does not wait for
        the requests that handler holds up."""
        ms = _ms(timeout)
        self._stop()
        endpoints: List[Endpoint] = self._endpoints
        if asyncio.current_task() in [ep._delivery._task
                                      for ep in endpoints]:
            return
        await asyncio.get_running_loop().run_in_executor(None, self._wait,
                                                         ms)
        conn = self._conn()
        if conn is not None:  # their deliveries have ended
            for ep in endpoints:
                conn._release(ep._delivery)

    async def __aenter__(self) -> "Service":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()
