"""Blocking waits that Ctrl+C and signal handlers can interrupt.

Python runs signal handlers on the main thread only, between bytecodes: a
thread blocked inside one long C call (an engine wait on a condition
variable) does not see SIGINT until the call returns. Two ways out:

- The engine's wait check (jw_wait_check_set), set for the main thread:
  every engine wait of that thread for the server calls jwpy_wait_check
  each SLICE_MS it goes on. Pending handlers run there; one that raised
  (KeyboardInterrupt) ends the wait with INTERRUPTED and its exception is
  raised when the call returns (raise_interrupt); after one that returned,
  the wait goes on, as PEP 475 has it for system calls. A wait answered
  within a slice never calls back: a fast call costs what it did before.
- The waits the engine does not interrupt (connect, drain) run on a
  thread of their own while the main thread waits in slices
  (run_in_thread).

Other threads never run handlers, so they wait in one call.
"""
from __future__ import annotations

import threading

from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["SLICE_MS", "on_main_thread", "run_in_thread", "install",
           "raise_interrupt", "interrupt_pending"]

#: The longest engine wait on the main thread, in milliseconds: a signal
#: is handled within this (plus the handler's own time).
SLICE_MS = 50

_MAIN_IDENT = threading.main_thread().ident
_get_ident = threading.get_ident


# What a signal handler raised during an engine wait of the main thread,
# until the call that was interrupted raises it.
_interrupts: "list[BaseException]" = []


def _keep_interrupt(exc_type: "Any", exc: "Any", tb: "Any") -> int:
    _interrupts.append(exc if exc is not None else exc_type())
    return 1  # the engine ends the wait with JW_EINTERRUPTED


def _nothing() -> None:
    pass


def _wait_check(arg: "Any") -> int:
    """Called by the engine while a wait of the main thread goes on.
    Python runs pending signal handlers as a frame starts (here and in the
    call below); what one raises reaches _keep_interrupt."""
    if _interrupts:
        return 1  # not raised yet: the next wait ends at once too
    _nothing()
    return 0


ffi.def_extern(name="jwpy_wait_check", onerror=_keep_interrupt)(_wait_check)


def raise_interrupt() -> None:
    """Raise what a signal handler raised during the engine wait that just
    ended with INTERRUPTED (nothing when none is kept)."""
    if _interrupts:
        exc = _interrupts.pop()
        del _interrupts[:]
        raise exc


def interrupt_pending() -> bool:
    """A handler raised during an engine call that still returned a result
    (a fetch gives what it took): the caller raises it instead."""
    return bool(_interrupts)


_installed = False


def install() -> None:
    """Set the engine's wait check for the main thread (once; elsewhere
    nothing: signal handlers run on the main thread only)."""
    global _installed
    if not _installed and _get_ident() == _MAIN_IDENT:
        lib.jw_wait_check_set(lib.jwpy_wait_check, ffi.NULL, SLICE_MS)
        _installed = True


def on_main_thread() -> bool:
    """True on the thread Python runs signal handlers on."""
    return _get_ident() == _MAIN_IDENT


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


install()
