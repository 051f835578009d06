"""jetwire's Python package and the object store, beside the C engine's
bench_objects in bench/run_objects.sh:

    bench_objects_py.py --url URL [--mib 256]

makes a fresh file-backed bucket (named after the process), puts one
object of MIB MiB from an iterator of 128 KiB pieces (obs.put), reads it
back through a reader into a 64 KiB buffer (obs.get + readinto), checks
every byte, deletes the bucket and prints one RESULT line per direction
(mode put, get; lib=jetwire-py, n the object's bytes, plus mb_per_s), as
bench_objects does. The bytes are bench_objects' (byte i is the low byte
of i * 2654435761), a pattern with a period of 256, so both directions
work on 64 KiB blocks of it. Exit status 1 for wrong bytes, 2 for a setup
error.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

import jetwire  # noqa: E402

LIB = "jetwire-py"
PROG = "bench_objects_py"
PERIOD = 256
BLOCK = 64 * 1024


def report(mode: str, length: int, w: c.Window) -> None:
    """bench_objects' RESULT line: bench/common.h's fields and mb_per_s."""
    elapsed = (w.end_ns - w.start_ns) / 1e9
    cpu = w.cpu_end - w.cpu_start
    print("RESULT lib=%s mode=%s size=%d n=%d variant=default rate=%.0f "
          "elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f mb_per_s=%.1f"
          % (LIB, mode, length, length, length / elapsed, elapsed, cpu,
             cpu / (length / 1e6), length / 1048576 / elapsed), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(prog=PROG)
    p.add_argument("--url", default="nats://127.0.0.1:4222")
    p.add_argument("--mib", type=int, default=256)
    args = p.parse_args()
    if args.mib < 1:
        p.error("--mib must be >= 1")
    length = args.mib << 20
    pattern = bytes((i * 2654435761) & 0xFF for i in range(BLOCK + PERIOD))
    bucket = "benchpy%d" % os.getpid()
    try:
        nc = jetwire.connect(args.url, name=PROG)
        js = nc.jetstream(timeout=60.0)
        obs = js.create_object_store(bucket, storage="file")
    except jetwire.Error as e:
        c.fail(PROG, "setup: %s" % e, 2)

    block = memoryview(pattern)[:BLOCK]
    pieces = length // BLOCK
    w = c.Window()
    w.start()
    obs.put("big", (block for _ in range(pieces)))
    w.stop()
    report("put", length, w)

    buf = bytearray(BLOCK)
    pos = 0
    wrong = False
    w = c.Window()
    w.start()
    with obs.get("big") as reader:
        while True:
            got = reader.readinto(buf)
            if not got:
                break
            at = pos % PERIOD
            if buf[:got] != pattern[at:at + got]:
                wrong = True
            pos += got
    w.stop()
    if wrong or pos != length:
        c.fail(PROG, "the bytes read back differ (%d of %d read)"
               % (pos, length))
    report("get", length, w)
    js.delete_object_store(bucket)
    nc.close()


if __name__ == "__main__":
    main()
