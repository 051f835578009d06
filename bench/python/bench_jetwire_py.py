"""jetwire's Python package side of the Python benchmarks; bench_natspy.py
is its twin on nats-py. Both share _common.py (the command line, clocks,
CPU, percentiles and the RESULT line of bench/common.h).

    bench_jetwire_py.py --mode pub|pubsub|reqrep [--api sync|aio]
                        [--size BYTES] [--n COUNT] [--url URL]
                        [--warmup COUNT] [--timeout-ms MS]

``--api`` is the RESULT line's variant. Each mode uses the API's ordinary
fast path:

  pub     sync: nc.publish N times, then nc.flush.
          aio:  await nc.publish N times, then await nc.flush.
  pubsub  a publisher on a second connection (sync: its own Python thread;
          aio: a task on the same loop) while the subscriber connection
          receives: sync pulls batches with sub.next_msgs(256, timeout) on
          the main thread; aio iterates ``async for msg in sub.messages``.
          Unlimited pending limits, every message counted and its size
          checked.
  reqrep  the responder is a second jetwire connection in this process
          answering in a subscribe(cb=...) callback with msg.respond
          (sync: jetwire's dispatcher thread; aio: a callback coroutine);
          the requester makes N sequential nc.request calls after
          --warmup unmeasured ones, each timed alone.
"""
from __future__ import annotations

import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

import jetwire  # noqa: E402

LIB = "jetwire-py"
PROG = "bench_jetwire_py"
BATCH = 256


# --------------------------------------------------------------------------
# blocking API
# --------------------------------------------------------------------------
def connect(args, name):
    try:
        return jetwire.connect(args.url, name=name)
    except jetwire.Error as e:
        c.fail(PROG, "connect: %s" % e, 2)


def sync_pub(args):
    nc = connect(args, "bench-pub")
    data = c.payload(args.size)
    subject = args.subject
    publish = nc.publish
    w = c.Window()
    w.start()
    for _ in range(args.n):
        publish(subject, data)
    nc.flush(60)
    w.stop()
    c.report(LIB, args, w, args.n)
    nc.close()
    return 0


def sync_pubsub(args):
    sub_nc = connect(args, "bench-sub")
    pub_nc = connect(args, "bench-pub")
    # No limit: the run must not lose messages to a slow consumer.
    sub = sub_nc.subscribe(args.subject, pending_msgs_limit=0,
                           pending_bytes_limit=0)
    sub_nc.flush(10)  # the server has the SUB once the PONG is back

    data = c.payload(args.size)
    failure = []

    def publisher():
        subject, publish, n = args.subject, pub_nc.publish, args.n
        try:
            for _ in range(n):
                publish(subject, data)
            pub_nc.flush(60)
        except jetwire.Error as e:
            failure.append(e)

    size = args.size
    received = bad_size = 0
    next_msgs = sub.next_msgs
    thread = threading.Thread(target=publisher, name="bench-publisher")
    w = c.Window()
    w.start()
    thread.start()
    while received < args.n:
        try:
            batch = next_msgs(BATCH, args.timeout)
        except jetwire.TimeoutError:
            break  # stalled: count the loss below
        for m in batch:
            if len(m.data) != size:
                bad_size += 1
        received += len(batch)
    w.stop()
    thread.join()

    code = 0
    if failure:
        print("%s: publisher failed: %s" % (PROG, failure[0]),
              file=sys.stderr)
        code = 1
    if received != args.n or bad_size:
        print("%s: LOSS received %d of %d (%d wrong size, %d dropped by the "
              "client)" % (PROG, received, args.n, bad_size, sub.dropped),
              file=sys.stderr)
        code = 1
    if code == 0:
        c.report(LIB, args, w, received)
    sub.close()
    pub_nc.close()
    sub_nc.close()
    return code


def sync_reqrep(args):
    resp_nc = connect(args, "bench-responder")
    req_nc = connect(args, "bench-requester")
    respond_failures = []

    def on_request(msg):  # jetwire's dispatcher thread
        try:
            msg.respond(msg.data)  # echo: replies have size S too
        except jetwire.Error as e:
            respond_failures.append(e)

    resp_nc.subscribe(args.subject, cb=on_request)
    resp_nc.flush(10)

    data = c.payload(args.size)
    subject, size, timeout = args.subject, args.size, args.timeout
    request = req_nc.request
    now = c.now_ns

    def request_once():
        try:
            reply = request(subject, data, timeout)
        except jetwire.Error as e:
            c.fail(PROG, "request: %s" % e)
        if len(reply.data) != size:
            c.fail(PROG, "reply of the wrong size")

    for _ in range(args.warmup):
        request_once()
    samples = [0] * args.n
    w = c.Window()
    w.start()
    for i in range(args.n):
        t0 = now()
        request_once()
        samples[i] = now() - t0
    w.stop()

    if respond_failures:
        c.fail(PROG, "%d responses failed: %s" % (len(respond_failures),
                                                   respond_failures[0]))
    c.report(LIB, args, w, args.n, samples)
    req_nc.close()
    resp_nc.close()
    return 0


# --------------------------------------------------------------------------
# asyncio API
# --------------------------------------------------------------------------
async def aconnect(args, name):
    try:
        return await jetwire.aio.connect(args.url, name=name)
    except jetwire.Error as e:
        c.fail(PROG, "connect: %s" % e, 2)


async def aio_pub(args):
    nc = await aconnect(args, "bench-pub")
    data = c.payload(args.size)
    subject = args.subject
    publish = nc.publish
    w = c.Window()
    w.start()
    for _ in range(args.n):
        await publish(subject, data)
    await nc.flush(60)
    w.stop()
    c.report(LIB, args, w, args.n)
    await nc.close()
    return 0


async def aio_pubsub(args):
    sub_nc = await aconnect(args, "bench-sub")
    pub_nc = await aconnect(args, "bench-pub")
    sub = await sub_nc.subscribe(args.subject, pending_msgs_limit=0,
                                 pending_bytes_limit=0)
    await sub_nc.flush(10)

    data = c.payload(args.size)
    n, size = args.n, args.size
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    w = c.Window()
    counts = [0, 0]  # received, wrong size

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

    async def publisher():
        subject, publish, every = args.subject, pub_nc.publish, \
            c.AIO_YIELD_EVERY
        for i in range(n):
            await publish(subject, data)
            if every and i % every == every - 1:
                await asyncio.sleep(0)  # let the consumer run
        await pub_nc.flush(60)

    consume = loop.create_task(consumer())
    await asyncio.sleep(0)  # the consumer waits before the clock starts
    w.start()
    produce = loop.create_task(publisher())
    stalled = await c.wait_progress(done, counts, args.timeout)
    if stalled:
        consume.cancel()
    await produce

    code = 0
    received, bad = counts
    if stalled or received != n or bad:
        print("%s: LOSS received %d of %d (%d wrong size, %d dropped by the "
              "client)" % (PROG, received, n, bad, sub.dropped),
              file=sys.stderr)
        code = 1
    if code == 0:
        c.report(LIB, args, w, received)
    await pub_nc.close()
    await sub_nc.close()
    return code


async def aio_reqrep(args):
    resp_nc = await aconnect(args, "bench-responder")
    req_nc = await aconnect(args, "bench-requester")
    respond_failures = []

    async def on_request(msg):
        try:
            await msg.respond(msg.data)
        except jetwire.Error as e:
            respond_failures.append(e)

    await resp_nc.subscribe(args.subject, cb=on_request)
    await resp_nc.flush(10)

    data = c.payload(args.size)
    subject, size, timeout = args.subject, args.size, args.timeout
    request = req_nc.request
    now = c.now_ns

    async def request_once():
        try:
            reply = await request(subject, data, timeout)
        except jetwire.Error as e:
            c.fail(PROG, "request: %s" % e)
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
        c.fail(PROG, "%d responses failed: %s" % (len(respond_failures),
                                                   respond_failures[0]))
    c.report(LIB, args, w, args.n, samples)
    await req_nc.close()
    await resp_nc.close()
    return 0


def main(argv=None):
    args = c.parse_args(PROG, ("sync", "aio"), argv, variant_flag="--api")
    if args.variant == "sync":
        return {"pub": sync_pub, "pubsub": sync_pubsub,
                "reqrep": sync_reqrep}[args.mode](args)
    run = {"pub": aio_pub, "pubsub": aio_pubsub,
           "reqrep": aio_reqrep}[args.mode]
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
