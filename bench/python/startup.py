"""Startup: the time from starting a fresh interpreter to ``import X;
connect; publish one message; flush`` done, for jetwire (blocking and
asyncio APIs) and nats-py, plus the bare interpreter for reference.

    startup.py [--url URL] [--runs N]

Each sample is a new subprocess of this interpreter. The parent reads
CLOCK_MONOTONIC (system-wide) just before it spawns the child; the child
prints the same clock right after its flush returns, so the sample covers
fork/exec, interpreter start-up, the imports, the connection handshake,
the publish and the flush (and not the close or interpreter exit). One
unmeasured run of each comes first (page cache, .pyc files); then the
clients take turns, ``--runs`` times each, and the median is reported as

    RESULT lib=jetwire-py mode=startup size=1 n=7 variant=sync startup_ms=...
        min_ms=... max_ms=...
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CLIENTS = {
    # (lib, variant): the child's program; URL is substituted.
    ("python", "bare"): (
        "import time\n"
        "print(time.monotonic_ns())\n"),
    ("jetwire-py", "sync"): (
        "import time\n"
        "import jetwire\n"
        "nc = jetwire.connect(URL)\n"
        "nc.publish('bench.startup', b'x')\n"
        "nc.flush()\n"
        "print(time.monotonic_ns())\n"),
    ("jetwire-py", "aio"): (
        "import time, asyncio\n"
        "import jetwire.aio\n"
        "async def main():\n"
        "    nc = await jetwire.aio.connect(URL)\n"
        "    await nc.publish('bench.startup', b'x')\n"
        "    await nc.flush()\n"
        "    print(time.monotonic_ns(), flush=True)\n"
        "    await nc.close()\n"
        "asyncio.run(main())\n"),
    ("nats-py", "default"): (
        "import time, asyncio\n"
        "import nats\n"
        "async def main():\n"
        "    nc = await nats.connect(URL)\n"
        "    await nc.publish('bench.startup', b'x')\n"
        "    await nc.flush()\n"
        "    print(time.monotonic_ns(), flush=True)\n"
        "    await nc.close()\n"
        "asyncio.run(main())\n"),
}


def sample(code: str, url: str) -> float:
    """One fresh interpreter; milliseconds to its printed mark."""
    program = code.replace("URL", repr(url))
    t0 = time.monotonic_ns()
    proc = subprocess.run([sys.executable, "-c", program],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace"))
    mark = int(proc.stdout.split()[0])
    return (mark - t0) / 1e6


def main() -> int:
    p = argparse.ArgumentParser(prog="startup.py")
    p.add_argument("--url", default="nats://127.0.0.1:4222")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()

    times = {key: [] for key in CLIENTS}
    try:
        for key, code in CLIENTS.items():
            sample(code, args.url)  # warm: page cache, .pyc files
        keys = list(CLIENTS)
        for r in range(args.runs):
            k = r % len(keys)  # each client goes first in turn
            for key in keys[k:] + keys[:k]:
                times[key].append(sample(CLIENTS[key], args.url))
    except (RuntimeError, subprocess.TimeoutExpired, ValueError,
            IndexError) as e:
        print("startup.py: a child failed: %s" % e, file=sys.stderr)
        return 1
    for (lib, variant), ts in times.items():
        print("RESULT lib=%s mode=startup size=1 n=%d variant=%s "
              "startup_ms=%.1f min_ms=%.1f max_ms=%.1f"
              % (lib, len(ts), variant, statistics.median(ts), min(ts),
                 max(ts)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
