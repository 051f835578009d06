"""Blocking waits that Ctrl+C and signal handlers can interrupt.

Python runs signal handlers on the main thread only, between bytecodes: a
thread blocked inside one long C call (an engine wait on a condition
variable) does not see SIGINT until the call returns. So on the main
thread a long wait is made of engine waits of at most SLICE_MS, and
Python runs any pending handler between two of them: KeyboardInterrupt
(or whatever a handler raises) comes out of the wait within a slice, and
after a handler that returns, the wait goes on with the time it has left,
as PEP 475 does for system calls. Other threads never run handlers, so
they wait in one call.

The first slice is the caller's own call (see Subscription.next_msgs):
a wait satisfied at once costs what it did before, one engine call and no
clock. ``rest`` is called only when that first slice timed out.
"""
from __future__ import annotations

import threading
import time

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar
    T = TypeVar("T")
    F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["SLICE_MS", "first_slice", "rest", "on_main_thread",
           "run_in_thread", "interruptible", "slice_ms"]

#: The longest engine wait on the main thread, in milliseconds: a signal
#: is handled within this (plus the handler's own time).
SLICE_MS = 50

_MAIN_IDENT = threading.main_thread().ident
_get_ident = threading.get_ident
_monotonic = time.monotonic


def on_main_thread() -> bool:
    """True on the thread Python runs signal handlers on."""
    return _get_ident() == _MAIN_IDENT


def slice_ms(elsewhere: int) -> int:
    """The slice of a wait that is cut in slices for another reason too
    (a close from another thread must get in): SLICE_MS on the main
    thread, elsewhere on the others."""
    return SLICE_MS if _get_ident() == _MAIN_IDENT else elsewhere


def first_slice(ms: int) -> int:
    """The timeout of a wait's first engine call: ms itself when that is
    short (or 0), else one slice. ms < 0 means forever."""
    return ms if 0 <= ms <= SLICE_MS else SLICE_MS


def rest(wait: "Callable[[int], T]", ms: int,
         timed_out: "Callable[[T], bool]", spent: int = SLICE_MS) -> "T":
    """Go on with a wait whose first slice (spent ms, see first_slice) ran
    out: wait(timeout_ms) is called again, in slices on the main thread,
    in one call elsewhere, until it gives a result timed_out() refuses or
    ms has passed (ms < 0: never). Returns the last result, so a timeout
    comes back as the engine's timeout, for the caller to word. Only for
    waits that can be repeated: a repeated call must not redo anything
    (taking from a queue, a PING answered by any later PONG)."""
    main = _get_ident() == _MAIN_IDENT
    deadline = None if ms < 0 else _monotonic() + (ms - spent) / 1000.0
    while True:
        if deadline is None:
            left = SLICE_MS if main else -1
        else:
            left = int((deadline - _monotonic()) * 1000.0 + 0.999)
            if left <= 0:
                left = 0
            elif main and left > SLICE_MS:
                left = SLICE_MS
        # Pending signal handlers run here, between two engine calls.
        result = wait(left)
        if left == 0 or not timed_out(result):
            return result


def run_in_thread(fn: "Callable[..., Any]", args: "tuple[Any, ...]",
                  abandon: "Callable[[Any], None]", name: str) -> "Any":
    """fn(*args) on a thread of its own while this (main) thread waits in
    slices, for the engine calls that cannot be cut in slices (connect,
    drain). Returns what fn returned. If the wait is interrupted (a
    handler raised), abandon(result) runs once fn has returned, on
    whichever thread sees it last, and the exception goes on. An exception
    fn raised is raised here."""
    lock = threading.Lock()
    box: "list[Any]" = []
    left: "list[bool]" = []

    def target() -> None:
        try:
            result = fn(*args)
        except BaseException as e:  # raised again by the waiting thread
            with lock:
                box.append(e)
            return
        with lock:
            box.append(result)
            gone = bool(left)
        if gone:
            abandon(result)

    t = threading.Thread(target=target, name=name, daemon=True)
    t.start()
    try:
        while t.is_alive():
            t.join(SLICE_MS / 1000.0)
    except BaseException:
        with lock:
            left.append(True)
            done = bool(box)
        if done and not isinstance(box[0], BaseException):
            abandon(box[0])
        raise
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def _drop(result: "Any") -> None:
    """An interrupted call's result: nobody takes it; the collector frees
    what it holds."""


def interruptible(fn: "F") -> "F":
    """fn, run by run_in_thread when called on the main thread: for the
    engine calls that wait for the server and cannot be repeated (an API
    request, a fetch's pull). The whole call runs on the thread, since
    the engine's error text (jw_last_error) is the thread's own. Other
    threads call fn directly."""
    import functools
    name = "jetwire-" + fn.__name__

    @functools.wraps(fn)
    def call(*args: "Any", **kwargs: "Any") -> "Any":
        if _get_ident() != _MAIN_IDENT:
            return fn(*args, **kwargs)
        return run_in_thread(lambda: fn(*args, **kwargs), (), _drop, name)
    return call  # type: ignore[return-value]
