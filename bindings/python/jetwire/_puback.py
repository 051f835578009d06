"""The futures of js.publish_async: PubAckFuture is a
concurrent.futures.Future, so exception(), add_done_callback(),
concurrent.futures.wait / as_completed and asyncio.wrap_future work on it.

Loaded on the first publish_async (concurrent.futures costs ~8 ms of
start-up: it imports logging).

What a publish costs matters (a burst of 100,000 is common), so a future
starts bare: no Condition and no lists, as most futures of a burst are
only ever read after publish_async_complete, or not at all. The engine
queues each publish's outcome; whoever polls (publish_async past 256
pending, done(), publish_async_complete, or the pump thread below) hands
it on, under the pump's lock: to a bare future by setting its fields, to
one with waiting machinery by Future.set_result / set_exception, after
the lock is released (they take the future's Condition and run its
callbacks).

The machinery is made on first use, under the pump's lock: Future's own
methods reach it through the _condition, _waiters and _done_callbacks
properties (concurrent.futures.wait, as_completed, add_done_callback; a
blocking result() or exception() waits on the Condition). A future that
gets it while still pending is watched: while any is, a pump thread waits
in the engine for outcomes and hands them on, so a future completes
without anybody polling; the thread stays a second after the last watched
future completed, then ends.

Lock order: a future's Condition before the pump's lock (wait() holds
several futures' Conditions while asking for the next one's), never the
other way round.
"""
from __future__ import annotations

import threading
import time
from concurrent import futures as _cf
from concurrent.futures import _base

from ._args import _ms
from ._errors import Error, error_for, seconds_text
from ._jetstream import PubAck, _js_check
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

    from ._jetstream import JetStream

__all__ = ["PubAckFuture", "Pump"]

_RUNNING = _base.RUNNING
_FINISHED = _base.FINISHED
_JW_OK = lib.JW_OK

#: How long (ms) the pump thread waits in the engine at a time while a
#: watched future is pending: the finalizer that frees the context waits
#: at most this long for it to stop.
PUMP_SLICE_MS = 100
#: How long (s) the pump thread stays without a watched future.
PUMP_LINGER = 1.0

if TYPE_CHECKING:
    _FutureBase = _cf.Future[PubAck]
else:
    _FutureBase = _cf.Future


class PubAckFuture(_FutureBase):
    """The outcome of one publish_async, a concurrent.futures.Future whose
    result is the PubAck. ``result(timeout)`` gives it or raises the
    publish's error (NotConnectedError when the connection lost its socket
    before the ack came, ...); ``exception(timeout)``, ``done()``,
    ``add_done_callback(fn)``, concurrent.futures.wait / as_completed and
    ``asyncio.wrap_future`` work as for any Future. The publish is on its
    way once the future exists: it is running from the start and
    ``cancel()`` always returns False."""

    # Future.__init__ is not called: see the module's docstring.
    def __init__(self, js: "JetStream", pub_id: int) -> None:
        self._js = js
        self.id = pub_id
        self._state = _RUNNING
        # The engine's jw_js_pub_ack (owned, freed by its gc) until
        # result() reads it into a PubAck: most acks of a burst are never
        # looked at.
        self._result: Any = None
        self._exception: Optional[BaseException] = None

    # -- Future's machinery, made on first use ----------------------------

    # (Settable, as Future's attributes are: the type of
    # concurrent.futures.as_completed asks for that.)
    @property
    def _condition(self) -> threading.Condition:
        cond: Optional[threading.Condition] = self.__dict__.get("_cond")
        if cond is None:
            cond = self._js._pump.watch(self)
        return cond

    @_condition.setter
    def _condition(self, value: threading.Condition) -> None:
        self.__dict__["_cond"] = value

    @property
    def _waiters(self) -> List[Any]:
        self._condition
        waiters: List[Any] = self.__dict__["_waiter_list"]
        return waiters

    @_waiters.setter
    def _waiters(self, value: List[Any]) -> None:
        self.__dict__["_waiter_list"] = value

    @property
    def _done_callbacks(self) -> List[Any]:
        self._condition
        callbacks: List[Any] = self.__dict__["_callback_list"]
        return callbacks

    @_done_callbacks.setter
    def _done_callbacks(self, value: List[Any]) -> None:
        self.__dict__["_callback_list"] = value

    # -- the Future API ---------------------------------------------------

    def done(self) -> bool:
        if self._state is not _FINISHED:
            self._js._pump.poll()
        return self._state is _FINISHED

    def running(self) -> bool:
        return not self.done()

    def cancel(self) -> bool:
        """Always False: the message was handed to the connection when the
        future was made, and cannot be called back."""
        return False

    def cancelled(self) -> bool:
        return False

    def result(self, timeout: Optional[float] = 5.0) -> PubAck:
        """The PubAck, waiting up to timeout seconds (None: forever;
        jetwire.TimeoutError after that), or the publish's error raised."""
        ms = _ms(timeout)
        if self._state is not _FINISHED:
            self._wait(ms)
        if self._exception is not None:
            raise self._exception
        ack = self._result
        if not isinstance(ack, PubAck):
            ack = self._result = PubAck(ack)
        return ack

    def exception(self, timeout: Optional[float] = 5.0
                  ) -> Optional[BaseException]:
        """The publish's error, None when it was acknowledged; waits as
        result() does."""
        ms = _ms(timeout)
        if self._state is not _FINISHED:
            self._wait(ms)
        return self._exception

    def add_done_callback(self, fn: Any) -> None:
        """fn(future) once the outcome is in: at once when it is, else on
        the thread that hands it on (the pump thread, or a caller of
        done(), result(), publish_async_complete, publish_async)."""
        if not callable(fn):
            raise TypeError("fn must be callable, not %s"
                            % type(fn).__name__)
        if self._state is not _FINISHED:
            self._js._pump.poll()
        super().add_done_callback(fn)

    def __repr__(self) -> str:
        if self._state is not _FINISHED:
            return "<PubAckFuture id=%d pending>" % self.id
        if self._exception is not None:
            return "<PubAckFuture id=%d raised %s>" % (
                self.id, type(self._exception).__name__)
        return "<PubAckFuture id=%d acked>" % self.id

    def _wait(self, ms: int) -> None:
        """Until the outcome is in, up to ms (< 0: forever)."""
        pump = self._js._pump
        pump.poll()
        if self._state is _FINISHED:
            return
        deadline = None if ms < 0 else time.monotonic() + ms / 1000.0
        if threading.current_thread() is pump.thread:
            # A done callback waiting on the pump thread: it pumps itself.
            while self._state is not _FINISHED:
                left = PUMP_SLICE_MS if deadline is None else min(
                    PUMP_SLICE_MS, int((deadline - time.monotonic()) * 1000))
                if left <= 0:
                    break
                lib.jw_js_publish_async_wait(pump.handle, left)
                pump.poll()
        else:
            cond = self._condition  # made now: the pump thread hands it on
            with cond:
                while self._state is not _FINISHED:
                    if deadline is None:
                        cond.wait()
                        continue
                    left_s = deadline - time.monotonic()
                    if left_s <= 0:
                        break
                    cond.wait(left_s)
        if self._state is not _FINISHED:
            raise error_for("TIMEOUT", "no PubAck for publish %d within %s s"
                            % (self.id, seconds_text(ms)))


class Pump:
    """A JetStream context's outcomes of publish_async: the futures by id,
    the polling that completes them and the pump thread. Shared with the
    context's finalizer (stop), so it holds no reference to the
    context."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        # Reentrant: the pump thread may drop the last reference to the
        # context while it polls, and the finalizer (close) then runs on
        # that thread, inside poll.
        self.lock = threading.RLock()
        self.futures: Dict[int, PubAckFuture] = {}
        # Outcomes polled before publish_async registered their future
        # (another thread polled in between): taken by add().
        self.early: Dict[int, Tuple[Any, Optional[Error]]] = {}
        self.watched = 0  # pending futures with waiting machinery
        self.thread: Optional[threading.Thread] = None
        self.wake = threading.Condition(self.lock)  # the lingering thread
        self.stopping = False
        self.free_left: Any = None  # a handle the thread frees as it ends
        self.idp = ffi.new("uint64_t *")
        self.stp = ffi.new("jw_status *")
        self.ackp = ffi.new("jw_js_pub_ack **")

    def add(self, js: "JetStream", pub_id: int) -> PubAckFuture:
        fut = PubAckFuture(js, pub_id)
        with self.lock:
            early = self.early.pop(pub_id, None) if self.early else None
            if early is None:
                self.futures[pub_id] = fut
            else:
                fut._result, fut._exception = early
                fut._state = _FINISHED
        if len(self.futures) > 256:
            self.poll()
        return fut

    def poll(self) -> None:
        """Take every queued outcome and hand it to its future."""
        idp, stp, ackp = self.idp, self.stp, self.ackp
        handed: List[Tuple[PubAckFuture, Any, Optional[Error]]] = []
        with self.lock:
            handle = self.handle
            if handle is None:
                return
            futures = self.futures
            while lib.jw_js_publish_async_poll(handle, idp, stp, ackp) == 1:
                pub_id = int(idp[0])
                error: Optional[Error] = None
                ack: Any = None
                if stp[0] == _JW_OK:
                    ack = ffi.gc(ackp[0], lib.jw_js_pub_ack_free)
                else:
                    try:
                        _js_check(stp[0])
                    except Error as e:
                        error = e
                fut = futures.pop(pub_id, None)
                if fut is None:
                    self.early[pub_id] = (ack, error)
                elif "_cond" in fut.__dict__:
                    self.watched -= 1
                    handed.append((fut, ack, error))
                elif fut._state is not _FINISHED:
                    fut._result = ack
                    fut._exception = error
                    fut._state = _FINISHED
        for fut, ack, error in handed:
            try:
                if error is None:
                    _cf.Future.set_result(fut, ack)
                else:
                    _cf.Future.set_exception(fut, error)
            except _cf.InvalidStateError:
                pass  # completed by hand (Future.set_result)

    def watch(self, fut: PubAckFuture) -> threading.Condition:
        """Make fut's waiting machinery; a pending future starts the pump
        thread (or wakes the lingering one)."""
        start = None
        with self.lock:
            d = fut.__dict__
            cond: Optional[threading.Condition] = d.get("_cond")
            if cond is None:
                d["_waiter_list"] = []
                d["_callback_list"] = []
                cond = d["_cond"] = threading.Condition()
                if fut._state is not _FINISHED and not self.stopping:
                    self.watched += 1
                    if self.thread is None:
                        start = self.thread = threading.Thread(
                            target=self._run, name="jetwire-puback",
                            daemon=True)
                    else:
                        self.wake.notify()
        if start is not None:
            start.start()
        return cond

    def _run(self) -> None:
        """The pump thread: wait in the engine for outcomes while a
        watched future is pending, hand them on."""
        handle = self.handle
        while True:
            with self.lock:
                if not self.watched and not self.stopping:
                    self.wake.wait(PUMP_LINGER)
                if self.stopping or not self.watched:
                    self.thread = None
                    left, self.free_left = self.free_left, None
                    break
            lib.jw_js_publish_async_wait(handle, PUMP_SLICE_MS)
            self.poll()
        if left is not None:
            lib.jw_js_free(left)

    def close(self, handle: Any) -> None:
        """The context's finalizer: stop the thread, then free handle (or
        leave that to the thread when the finalizer runs on it)."""
        with self.lock:
            self.stopping = True
            thread = self.thread
            if thread is threading.current_thread():
                self.free_left = handle
                self.handle = None
                return
            self.wake.notify()
        if thread is not None:
            thread.join()
        with self.lock:
            self.handle = None
        lib.jw_js_free(handle)
