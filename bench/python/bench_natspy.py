"""nats-py side of the Python benchmarks; bench_jetwire_py.py is its twin
on jetwire. Both share _common.py (the command line, clocks, CPU,
percentiles and the RESULT line of bench/common.h).

    bench_natspy.py --mode pub|pubsub|reqrep [--variant default|messages]
                    [--size BYTES] [--n COUNT] [--url URL]
                    [--warmup COUNT] [--timeout-ms MS]

nats-py has only an asyncio API; every connection uses its default options
on asyncio's default event loop, as the jetwire aio side does. Each mode
uses nats-py's fastest ordinary path:

  pub     await nc.publish N times (nats-py queues the bytes and its flusher
          task writes them; no flush per message), then await nc.flush().
  pubsub  a publisher task on a second connection, the same loop as the
          subscriber (yielding every _common.AIO_YIELD_EVERY publishes,
          exactly as the jetwire aio publisher does). The subscriber gets a
          subscribe(cb=...) coroutine per message ("default": about 3x
          faster in nats-py 2.16 than its iterator), or iterates ``async for
          msg in sub.messages`` ("messages"). Unlimited pending limits
          (0, 0), every message counted and its size checked.
  reqrep  the responder is a second nats-py connection in this process
          answering in a subscribe(cb=...) coroutine with msg.respond; the
          requester makes N sequential nc.request calls (nats-py's shared
          response inbox, its default new-style request) after --warmup
          unmeasured ones, each timed alone.
"""
from __future__ import annotations

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

import nats  # noqa: E402
import nats.errors  # noqa: E402

LIB = "nats-py"
PROG = "bench_natspy"


class Errors:
    """What nats-py reports asynchronously (slow consumer and the like)."""

    def __init__(self):
        self.slow_consumer = 0
        self.other = []

    async def cb(self, e):
        if isinstance(e, nats.errors.SlowConsumerError):
            self.slow_consumer += 1
        else:
            self.other.append(e)


async def connect(args, name, errors):
    try:
        return await nats.connect(args.url, name=name, error_cb=errors.cb)
    except Exception as e:  # nats-py raises several unrelated types
        c.fail(PROG, "connect: %r" % e, 2)


async def run_pub(args):
    errors = Errors()
    nc = await connect(args, "bench-pub", errors)
    data = c.payload(args.size)
    subject = args.subject
    publish = nc.publish
    w = c.Window()
    w.start()
    for _ in range(args.n):
        await publish(subject, data)
    await nc.flush(60)
    w.stop()
    if errors.other:
        c.fail(PROG, "error: %r" % errors.other[0])
    c.report(LIB, args, w, args.n)
    await nc.close()
    return 0


async def run_pubsub(args):
    errors = Errors()
    sub_nc = await connect(args, "bench-sub", errors)
    pub_nc = await connect(args, "bench-pub", errors)

    data = c.payload(args.size)
    n, size = args.n, args.size
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    w = c.Window()
    counts = [0, 0]  # received, wrong size

    if args.variant == "default":
        state = [0, 0]

        async def on_msg(m):
            if len(m.data) != size:
                state[1] += 1
            state[0] += 1
            received = state[0]
            if received >= n:
                w.stop()  # the clock stops at the last message
                counts[0], counts[1] = state
                if not done.done():
                    done.set_result(None)
            elif not received & 1023:
                counts[0], counts[1] = state

        sub = await sub_nc.subscribe(args.subject, cb=on_msg,
                                     pending_msgs_limit=0,
                                     pending_bytes_limit=0)
        consume = None
    else:
        sub = await sub_nc.subscribe(args.subject, pending_msgs_limit=0,
                                     pending_bytes_limit=0)

        async def consumer():
            received = bad = 0
            async for m in sub.messages:
                if len(m.data) != size:
                    bad += 1
                received += 1
                if received >= n:
                    w.stop()  # the clock stops at the last message
                    break
                if not received & 1023:
                    counts[0], counts[1] = received, bad
            counts[0], counts[1] = received, bad
            if not done.done():
                done.set_result(None)

        consume = loop.create_task(consumer())
    await sub_nc.flush(10)  # the server has the SUB once the PONG is back

    async def publisher():
        subject, publish, every = args.subject, pub_nc.publish, \
            c.AIO_YIELD_EVERY
        for i in range(n):
            await publish(subject, data)
            if every and i % every == every - 1:
                await asyncio.sleep(0)  # let the consumer run
        await pub_nc.flush(60)

    await asyncio.sleep(0)  # the consumer waits before the clock starts
    w.start()
    produce = loop.create_task(publisher())
    stalled = await c.wait_progress(done, counts, args.timeout)
    if stalled and consume is not None:
        consume.cancel()
    await produce

    code = 0
    received, bad = counts
    if stalled or received != n or bad or errors.slow_consumer:
        print("%s: LOSS received %d of %d (%d wrong size, %d slow consumer "
              "errors)" % (PROG, received, n, bad, errors.slow_consumer),
              file=sys.stderr)
        code = 1
    if errors.other:
        print("%s: error: %r" % (PROG, errors.other[0]), file=sys.stderr)
        code = 1
    if code == 0:
        c.report(LIB, args, w, received)
    await pub_nc.close()
    await sub_nc.close()
    return code


async def run_reqrep(args):
    errors = Errors()
    resp_nc = await connect(args, "bench-responder", errors)
    req_nc = await connect(args, "bench-requester", errors)
    respond_failures = []

    async def on_request(msg):
        try:
            await msg.respond(msg.data)  # echo: replies have size S too
        except Exception as e:
            respond_failures.append(e)

    await resp_nc.subscribe(args.subject, cb=on_request)
    await resp_nc.flush(10)

    data = c.payload(args.size)
    subject, size, timeout = args.subject, args.size, args.timeout
    request = req_nc.request
    now = c.now_ns

    async def request_once():
        try:
            reply = await request(subject, data, timeout=timeout)
        except Exception as e:
            c.fail(PROG, "request: %r" % e)
        if len(reply.data) != size:
            c.fail(PROG, "reply of the wrong size")

    for _ in range(args.warmup):
        await request_once()
    samples = [0] * args.n
    w = c.Window()
    w.start()
    for i in range(args.n):
        t0 = now()
        await request_once()
        samples[i] = now() - t0
    w.stop()

    if respond_failures:
        c.fail(PROG, "%d responses failed: %r" % (len(respond_failures),
                                                   respond_failures[0]))
    if errors.other:
        c.fail(PROG, "error: %r" % errors.other[0])
    c.report(LIB, args, w, args.n, samples)
    await req_nc.close()
    await resp_nc.close()
    return 0


def main(argv=None):
    args = c.parse_args(PROG, ("default", "messages"), argv)
    run = {"pub": run_pub, "pubsub": run_pubsub,
           "reqrep": run_reqrep}[args.mode]
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
