"""jetwire's Python package on JetStream, beside the C engine's
bench_jetwire in the same run (bench/run_python.sh, JS_MODES). The modes
and windows are those of bench/bench_jetwire.c:

    bench_jetwire_py_js.py --mode jspub|jsasync|jsfetch|jsconsume|
                                  kvput|kvget|kvwatch
                           [--api sync|aio] [--size BYTES] [--n COUNT]
                           [--url URL] [--timeout-ms MS]

  jspub      js.publish N times, each waiting for its PubAck.
  jsasync    js.publish_async N times, then publish_async_complete.
  jsfetch    N messages stored first (async publish, unmeasured), then a
             durable explicit-ack consumer fetches batches of 256 and acks
             each message; the clock stops after a flush.
  jsconsume  the same with continuous consumption (consumer.messages).
  kvput      kv.put N times over 1,000 keys, each waiting for its ack.
  kvget      kv.get N times over 1,000 keys put first.
  kvwatch    N keys put first, then kv.watch() read up to the end marker.

The stream (or bucket) is in memory, one per process. With --api aio
every call is the asyncio API's coroutine.
"""
from __future__ import annotations

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

import jetwire  # noqa: E402
import jetwire.aio  # noqa: E402

LIB = "jetwire-py"
PROG = "bench_jetwire_py_js"
MODES = ("jspub", "jsasync", "jsfetch", "jsconsume", "kvput", "kvget",
         "kvwatch")
KV_KEYS = 1000  # as BENCH_KV_KEYS
BATCH = 256          # fetch batches, as BENCH_JS_BATCH
CONSUME_BATCH = 1024  # as BENCH_JS_CONSUME_BATCH
DURABLE = "bench"


# --------------------------------------------------------------------------
# blocking API
# --------------------------------------------------------------------------
def sync_setup(args, name):
    try:
        nc = jetwire.connect(args.url, name=name)
        js = nc.jetstream(timeout=args.timeout)
        js.add_stream(args.stream, subjects=[args.subject], storage="memory")
    except jetwire.Error as e:
        c.fail(PROG, "setup: %s" % e, 2)
    return nc, js


def sync_publish_all(js, args, data):
    publish_async = js.publish_async
    subject = args.subject
    for _ in range(args.n):
        publish_async(subject, data)
    js.publish_async_complete(args.timeout)


def sync_run(args):
    nc, js = sync_setup(args, "bench-" + args.mode)
    data = c.payload(args.size)
    w = c.Window()
    if args.mode == "jspub":
        publish, subject = js.publish, args.subject
        w.start()
        for _ in range(args.n):
            publish(subject, data)
        w.stop()
    elif args.mode == "jsasync":
        w.start()
        sync_publish_all(js, args, data)
        w.stop()
    else:
        sync_publish_all(js, args, data)
        cons = js.add_consumer(args.stream, durable_name=DURABLE,
                               ack_policy="explicit", max_ack_pending=-1)
        received = 0
        w.start()
        if args.mode == "jsfetch":
            while received < args.n:
                batch = cons.fetch(min(BATCH, args.n - received),
                                   args.timeout)
                if not batch:
                    c.fail(PROG, "fetch stalled at %d" % received)
                for m in batch:
                    m.ack()
                received += len(batch)
        else:
            for m in cons.messages(batch=CONSUME_BATCH,
                                   timeout=args.timeout):
                m.ack()
                received += 1
                if received == args.n:
                    break
            if received != args.n:
                c.fail(PROG, "consume stalled at %d" % received)
        nc.flush(args.timeout)  # the acks are out
        w.stop()
    c.report(LIB, args, w, args.n)
    js.delete_stream(args.stream)
    nc.close()
    return 0


def sync_kv(args):
    try:
        nc = jetwire.connect(args.url, name="bench-" + args.mode)
        js = nc.jetstream(timeout=args.timeout)
        kv = js.create_key_value(bucket=args.stream, storage="memory")
    except jetwire.Error as e:
        c.fail(PROG, "setup: %s" % e, 2)
    data = c.payload(args.size)
    keys = ["k%d" % i for i in range(KV_KEYS)]
    w = c.Window()
    put, get = kv.put, kv.get
    if args.mode == "kvput":
        w.start()
        for i in range(args.n):
            put(keys[i % KV_KEYS], data)
        w.stop()
    elif args.mode == "kvget":
        for key in keys:
            put(key, data)
        w.start()
        for i in range(args.n):
            if len(get(keys[i % KV_KEYS]).value) != args.size:
                c.fail(PROG, "a value of the wrong size")
        w.stop()
    else:
        for i in range(args.n):
            put("k%d" % i, data)
        seen = 0
        w.start()
        with kv.watch() as watcher:
            for entry in watcher:
                if entry is None:
                    break
                seen += 1
        w.stop()
        if seen != args.n:
            c.fail(PROG, "watch saw %d of %d keys" % (seen, args.n))
    c.report(LIB, args, w, args.n)
    js.delete_key_value(args.stream)
    nc.close()
    return 0


# --------------------------------------------------------------------------
# asyncio API
# --------------------------------------------------------------------------
async def aio_publish_all(js, args, data):
    publish_async = js.publish_async
    subject = args.subject
    for _ in range(args.n):
        await publish_async(subject, data)
    await js.publish_async_complete(args.timeout)


async def aio_run(args):
    try:
        nc = await jetwire.aio.connect(args.url, name="bench-" + args.mode)
        js = nc.jetstream(timeout=args.timeout)
        await js.add_stream(args.stream, subjects=[args.subject],
                            storage="memory")
    except jetwire.Error as e:
        c.fail(PROG, "setup: %s" % e, 2)
    data = c.payload(args.size)
    w = c.Window()
    if args.mode == "jspub":
        publish, subject = js.publish, args.subject
        w.start()
        for _ in range(args.n):
            await publish(subject, data)
        w.stop()
    elif args.mode == "jsasync":
        w.start()
        await aio_publish_all(js, args, data)
        w.stop()
    else:
        await aio_publish_all(js, args, data)
        cons = await js.add_consumer(args.stream, durable_name=DURABLE,
                                     ack_policy="explicit",
                                     max_ack_pending=-1)
        received = 0
        w.start()
        if args.mode == "jsfetch":
            while received < args.n:
                batch = await cons.fetch(min(BATCH, args.n - received),
                                         args.timeout)
                if not batch:
                    c.fail(PROG, "fetch stalled at %d" % received)
                for m in batch:
                    await m.ack()
                received += len(batch)
        else:
            async for m in cons.messages(batch=CONSUME_BATCH,
                                         timeout=args.timeout):
                await m.ack()
                received += 1
                if received == args.n:
                    break
            if received != args.n:
                c.fail(PROG, "consume stalled at %d" % received)
        await nc.flush(args.timeout)
        w.stop()
    c.report(LIB, args, w, args.n)
    await js.delete_stream(args.stream)
    await nc.close()
    return 0


async def aio_kv(args):
    try:
        nc = await jetwire.aio.connect(args.url, name="bench-" + args.mode)
        js = nc.jetstream(timeout=args.timeout)
        kv = await js.create_key_value(bucket=args.stream, storage="memory")
    except jetwire.Error as e:
        c.fail(PROG, "setup: %s" % e, 2)
    data = c.payload(args.size)
    keys = ["k%d" % i for i in range(KV_KEYS)]
    w = c.Window()
    put, get = kv.put, kv.get
    if args.mode == "kvput":
        w.start()
        for i in range(args.n):
            await put(keys[i % KV_KEYS], data)
        w.stop()
    elif args.mode == "kvget":
        for key in keys:
            await put(key, data)
        w.start()
        for i in range(args.n):
            if len((await get(keys[i % KV_KEYS])).value) != args.size:
                c.fail(PROG, "a value of the wrong size")
        w.stop()
    else:
        for i in range(args.n):
            await put("k%d" % i, data)
        seen = 0
        w.start()
        watcher = await kv.watch()
        async for entry in watcher:
            if entry is None:
                break
            seen += 1
        await watcher.stop()
        w.stop()
        if seen != args.n:
            c.fail(PROG, "watch saw %d of %d keys" % (seen, args.n))
    c.report(LIB, args, w, args.n)
    await js.delete_key_value(args.stream)
    await nc.close()
    return 0


def main(argv=None):
    args = c.parse_args(PROG, ("sync", "aio"), argv, variant_flag="--api",
                        modes=MODES)
    kv = args.mode.startswith("kv")
    if args.variant == "sync":
        return sync_kv(args) if kv else sync_run(args)
    return asyncio.run(aio_kv(args) if kv else aio_run(args))


if __name__ == "__main__":
    sys.exit(main())
