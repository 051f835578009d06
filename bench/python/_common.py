"""Shared parts of the Python benchmark programs (bench_jetwire_py.py,
bench_natspy.py): the command line, the clocks, CPU accounting,
percentiles and the RESULT line. The Python twin of bench/common.h, so
that the Python programs measure the same windows and print the same line
as the C ones (run_python.sh and report.py parse all of them alike).

Only the standard library here: the programs must import the client
library under test and nothing else of size.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from typing import List, NoReturn, Optional, Sequence

#: Requests made before measuring reqrep (as BENCH_DEFAULT_WARMUP in C).
DEFAULT_WARMUP = 200

#: asyncio pubsub: the publisher task yields to the loop (asyncio.sleep(0))
#: after every this many publishes, so that the subscriber's reading
#: interleaves with publishing as it does with a publisher thread in C.
#: The same for every asyncio client; 0 never yields explicitly.
AIO_YIELD_EVERY = 1024

#: The monotonic clock, in nanoseconds (CLOCK_MONOTONIC, like the C side).
now_ns = time.perf_counter_ns


#: The core modes every Python program has; bench_jetwire_py_js.py has its
#: own (JetStream and KV).
CORE_MODES = ("pub", "pubsub", "reqrep")


def parse_args(prog: str, variants: Sequence[str],
               argv: Optional[Sequence[str]] = None,
               variant_flag: str = "--variant",
               modes: Sequence[str] = CORE_MODES) -> argparse.Namespace:
    """The same options as the C programs. ``variants[0]`` is the default;
    anything not listed is rejected so a typo cannot measure the default."""
    p = argparse.ArgumentParser(prog=prog)
    p.add_argument("--mode", required=True, choices=tuple(modes))
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--n", type=int, default=100000)
    p.add_argument("--url", default="nats://127.0.0.1:4222")
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    p.add_argument("--timeout-ms", type=int, default=10000)
    p.add_argument(variant_flag, dest="variant", default=variants[0],
                   choices=tuple(variants))
    args = p.parse_args(argv)
    if args.size < 0 or args.n < 1 or args.warmup < 0 or args.timeout_ms < 1:
        p.error("--size and --warmup must be >= 0, --n and --timeout-ms >= 1")
    args.subject = "bench.%d.%s" % (os.getpid(), args.mode)
    args.stream = "BENCH_%d" % os.getpid()  # JetStream and KV modes
    args.timeout = args.timeout_ms / 1000.0
    return args


def cpu_seconds() -> float:
    """User + system CPU of the whole process (every thread, the engine's
    included), as getrusage(RUSAGE_SELF) reports them."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def payload(size: int) -> bytes:
    """``size`` bytes, the same pattern as bench_payload() in C."""
    return bytes(ord("a") + i % 26 for i in range(size))


class Window:
    """The measured window: wall clock and process CPU."""

    __slots__ = ("start_ns", "end_ns", "cpu_start", "cpu_end")

    def __init__(self) -> None:
        self.start_ns = self.end_ns = 0
        self.cpu_start = self.cpu_end = 0.0

    def start(self) -> None:
        self.cpu_start = cpu_seconds()
        self.start_ns = now_ns()

    def stop(self) -> None:
        self.end_ns = now_ns()
        self.cpu_end = cpu_seconds()


async def wait_progress(done, counts, timeout: float) -> bool:
    """Wait for the future ``done`` while ``counts[0]`` (messages received)
    keeps moving; True when it stood still for ``timeout`` seconds (a
    stall: the caller reports the loss)."""
    import asyncio
    last = -1
    while not done.done():
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout)
        except asyncio.TimeoutError:
            if counts[0] == last:
                return True
            last = counts[0]
    return False


def rank(sorted_ns: List[int], pct: int) -> int:
    """Nearest-rank percentile: the smallest value with at least pct
    percent of the samples at or below it (bench_rank in C)."""
    n = len(sorted_ns)
    r = max(1, (n * pct + 99) // 100)
    return sorted_ns[r - 1]


def report(lib: str, args: argparse.Namespace, w: Window, count: int,
           samples_ns: Optional[List[int]] = None) -> None:
    """The RESULT line of bench/common.h, byte for byte the same fields."""
    elapsed = (w.end_ns - w.start_ns) / 1e9
    cpu = w.cpu_end - w.cpu_start
    rate = count / elapsed if elapsed > 0 else 0.0
    line = ("RESULT lib=%s mode=%s size=%d n=%d variant=%s rate=%.0f "
            "elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f"
            % (lib, args.mode, args.size, count, args.variant, rate,
               elapsed, cpu, cpu / (count / 1e6)))
    if samples_ns is not None and samples_ns:
        s = sorted(samples_ns)
        line += (" p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f "
                 "mean_us=%.1f"
                 % (rank(s, 50) / 1e3, rank(s, 90) / 1e3, rank(s, 99) / 1e3,
                    s[-1] / 1e3, sum(s) / len(s) / 1e3))
    print(line, flush=True)


def fail(prog: str, text: str, code: int = 1) -> NoReturn:
    """Exit status as in C: 1 for a lost message or failed request, 2 for a
    setup error."""
    sys.stdout.flush()
    print("%s: %s" % (prog, text), file=sys.stderr, flush=True)
    os._exit(code)  # at once: a stuck library thread must not hang exit
