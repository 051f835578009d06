"""jetwire's Python package publishing a fast-ingest batch, beside the C
engine's bench_js_fast --mode fast in bench/run_js_batch.sh:

    bench_js_batch_py.py URL N SIZE

makes a fresh memory stream with allow_batched (named after the process),
publishes N messages of SIZE bytes with js.publish_batch (from a generator
of (subject, payload) tuples: the clock covers making them), checks that
the PubAck counts N and the stream stores N, deletes the stream and prints
one RESULT line (lib=jetwire-py mode=fast variant=default), in the shape
of bench/common.h. Exit status 1 for a lost message, 2 for a setup error.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

import jetwire  # noqa: E402

LIB = "jetwire-py"
PROG = "bench_js_batch_py"


def main() -> None:
    p = argparse.ArgumentParser(prog=PROG)
    p.add_argument("url")
    p.add_argument("n", type=int)
    p.add_argument("size", type=int)
    args = p.parse_args()
    if args.n < 1 or args.size < 0:
        p.error("N must be >= 1 and SIZE >= 0")
    args.mode, args.variant = "fast", "default"
    stream = "BENCH_FAST_%d" % os.getpid()
    subject = "bench.%d.fast" % os.getpid()
    try:
        nc = jetwire.connect(args.url, name="bench-js-batch-py")
        js = nc.jetstream(timeout=60.0)
        js.add_stream(stream, subjects=[subject], storage="memory",
                      allow_batched=True)
    except jetwire.Error as e:
        c.fail(PROG, "setup: %s" % e, 2)
    data = c.payload(args.size)
    n = args.n
    w = c.Window()
    w.start()
    ack = js.publish_batch((subject, data) for _ in range(n))
    w.stop()
    stored = js.stream_info(stream)["state"]["messages"]
    if ack.count != n or stored != n:
        c.fail(PROG, "%d in the PubAck, %d stored, %d published"
               % (ack.count, stored, n))
    c.report(LIB, args, w, n)
    js.delete_stream(stream)
    nc.close()


if __name__ == "__main__":
    main()
