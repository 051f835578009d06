"""asyncio shutdown logs nothing (issue 18, point 3).

Stopping a task that iterates `cons.messages()` (or an ordered consumer, a
KV watch, a subscription) by cancelling it and then `await nc.drain()`
used to log "Future exception was never retrieved ... ConnectionClosedError":
the engine call the cancelled task was waiting in went on on the executor
and failed when the drain closed the connection, and nobody read its
future. Each case runs in a child `python -X dev -W error` (asyncio's debug
mode, every warning an error) that records the loop's exception handler
calls; the child must exit 0 with nothing at all on stderr.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent(r'''
    import asyncio, gc, sys
    import jetwire.aio as aio

    url, case = sys.argv[1:3]
    handled = []  # the loop's exception handler calls


    async def main():
        loop = asyncio.get_running_loop()
        # Debug mode also logs slow steps; the machine may be busy, and
        # slowness is not what is tested here.
        loop.slow_callback_duration = 60.0

        def on_exception(loop, context):
            handled.append(context)
            loop.default_exception_handler(context)  # on stderr: fails
        loop.set_exception_handler(on_exception)

        nc = await aio.connect(url)
        js = nc.jetstream()
        got = []
        if case.startswith(("consumer", "ordered")):
            await js.add_stream(name="SHUT", subjects=["shut.>"],
                                storage="memory")
            for i in range(5):
                await js.publish("shut.x", b"%d" % i)
            if case.startswith("consumer"):
                cons = await js.add_consumer("SHUT", durable_name="d",
                                             ack_policy="explicit")
                async def consume():
                    async for msg in cons.messages():
                        got.append(msg)
                        await msg.ack()
            else:
                oc = await js.ordered_consumer("SHUT")
                async def consume():
                    async for msg in oc:
                        got.append(msg)
        elif case.startswith("watch"):
            kv = await js.create_key_value(bucket="SHUT", storage="memory")
            for i in range(4):
                await kv.put("k%d" % i, b"v")
            w = kv.watch()  # started by the task
            async def consume():
                if case.startswith("watch-updates"):
                    await w
                    while True:
                        got.append(await w.updates(None))
                async for entry in w:
                    got.append(entry)
        elif case.startswith("sub"):
            sub = await nc.subscribe("shut.>")
            await nc.flush()
            for i in range(5):
                await nc.publish("shut.x", b"%d" % i)
            async def consume():
                async for msg in sub.messages:
                    got.append(msg)
        else:
            raise SystemExit("unknown case " + case)

        task = asyncio.ensure_future(consume())
        deadline = loop.time() + 10
        while len(got) < 5 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        assert len(got) == 5, got
        await asyncio.sleep(0.05)  # the task waits for more now
        if case.endswith("-run"):
            return  # asyncio.run cancels the task; nothing is closed
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await nc.drain()
        # The engine call the task was in ends within its slice (1 s):
        # its future is then done, then collected.
        await asyncio.sleep(1.2)
        gc.collect()
        await asyncio.sleep(0.05)


    asyncio.run(main())
    gc.collect()
    if handled:
        sys.exit("exception handler called: %r" % (handled,))
    print("CLEAN", flush=True)
''')

CASES = ["consumer", "ordered", "watch", "watch-updates", "sub",
         "consumer-run", "ordered-run", "watch-run", "sub-run"]


def child(*args, env=None, **kwargs):
    env = dict(os.environ if env is None else env, PYTHONASYNCIODEBUG="1")
    return subprocess.Popen(
        [sys.executable, "-X", "dev", "-W", "error", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        **kwargs)


@pytest.mark.parametrize("case", CASES)
def test_cancel_then_drain_logs_nothing(nats_server, case):
    p = child("-c", CHILD, nats_server.url, case)
    out, err = p.communicate(timeout=60)
    assert err == "", err
    assert p.returncode == 0 and "CLEAN" in out, out


# The shutdown recipe of docs/python.md ("Signals, shutdown and callbacks"),
# as written there, with the service's handle() and apply() filled in and
# a READY line for the test.
RECIPE = textwrap.dedent(r'''
    import asyncio
    import signal
    import sys
    import jetwire.aio

    URL = sys.argv[1]
    handled = []


    async def handle(msg):
        await asyncio.sleep(0)


    def apply(entry):
        pass


    async def main():
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = 60.0
        loop.set_exception_handler(
            lambda loop, ctx: (handled.append(ctx),
                               loop.default_exception_handler(ctx)))
        nc = await jetwire.aio.connect(URL, name="order-service")
        js = nc.jetstream()
        await js.add_stream(name="ORDERS", subjects=["orders.>"])
        await js.add_consumer("ORDERS", durable_name="processor",
                              ack_policy="explicit")
        await js.create_key_value(bucket="config")
        cons = await js.consumer("ORDERS", "processor")
        kv = await js.key_value("config")

        async def process_orders():
            async for msg in cons.messages():
                await handle(msg)
                await msg.ack()

        async def follow_config():
            async for entry in kv.watch("payment.>"):
                if entry is not None:
                    apply(entry)

        tasks = [asyncio.create_task(process_orders()),
                 asyncio.create_task(follow_config())]

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        for i in range(3):
            await js.publish("orders.new", b"%d" % i)
        await kv.put("payment.limit", b"10")
        await asyncio.sleep(0.3)  # the tasks wait in their iterations
        print("READY", flush=True)
        await stop.wait()                # the service runs in its tasks

        for t in tasks:                  # stop pulling and watching
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await nc.drain()                 # acks and publishes out, closed
        for r in results:                # a task that failed before
            if isinstance(r, Exception):
                raise r
        await asyncio.sleep(1.2)  # the cancelled pull's slice ends
        import gc
        gc.collect()
        await asyncio.sleep(0.05)
        print("DRAINED", flush=True)

    asyncio.run(main())
    if handled:
        sys.exit("exception handler called: %r" % (handled,))
''')


def _stop_on_signal(args, sig, ready, done, tmp_path, env=None):
    p = child(*args, cwd=str(tmp_path), env=env)
    try:
        line = p.stdout.readline()
        assert ready in line, line + p.stderr.read()
        time.sleep(0.2)
        t0 = time.monotonic()
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert err == "", err
    assert p.returncode == 0, out
    assert done in out, out
    return took


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["TERM", "INT"])
def test_documented_recipe_stops_cleanly(nats_server, sig, tmp_path):
    script = tmp_path / "service.py"
    script.write_text(RECIPE)
    took = _stop_on_signal([str(script), nats_server.url], sig, "READY",
                           "DRAINED", tmp_path)
    assert took < 10, took


EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                        "python")


def test_service_example_stops_on_sigterm(nats_server, tmp_path):
    """The asyncio JetStream service example: SIGTERM while it waits for
    orders, a clean exit at once (its consuming task cancelled)."""
    env = dict(os.environ, NATS_URL=nats_server.url)
    setup = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "aio_js_setup.py")],
        env=env, capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    took = _stop_on_signal([os.path.join(EXAMPLES, "aio_js_durable.py")],
                           signal.SIGTERM, "Order processor running.",
                           "Shutting down...", tmp_path, env=env)
    assert took < 5, took
