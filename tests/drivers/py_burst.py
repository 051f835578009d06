"""The Python driver's delivery paths under load (PROTOCOL.md, "Delivery
paths under load"): each way the package hands messages to user code,
blocking and asyncio, driven at full speed through the public API."""
import asyncio
import time

import jetwire
import jetwire.aio

SYNC_PATHS = ("pull", "callback")
AIO_PATHS = ("aio_next_msg", "aio_iter", "aio_callback", "aio_callback_plain")
PATHS = SYNC_PATHS + AIO_PATHS

# How often the side that waits looks whether the burst is accounted for
# (its last messages may have been dropped, so no message says so).
LOOK = 0.02
RUN = 256  # publishes between pulls when the receiver publishes itself


class Burst:
    """One burst_receive: its arguments and what the receiver saw."""

    def __init__(self, params):
        self.__dict__.update(params)
        self.received = 0
        self.last = -1
        self.increasing = True
        self.exact = True  # every sequence number equal to its position
        self.after_phase = False
        self.after_received = 0
        self.after_in_order = True
        self.sub = None
        self.slow_events = 0
        self.reason = "OK"
        self.deadline = time.monotonic() + self.timeout

    def take(self, msg):
        seq = int.from_bytes(msg.data[:8], "big")
        if self.after_phase:
            if seq != self.after_received:
                self.after_in_order = False
            self.after_received += 1
            return
        if seq <= self.last:
            self.increasing = False
        if seq != self.received:
            self.exact = False
        self.last = seq
        self.received += 1

    def burst_taken(self):
        return self.received + self.sub.dropped >= self.count

    def finished(self):
        return self.after_phase and self.after_received >= self.after

    def start_after(self):
        """The burst is accounted for: True when the peer is to be asked
        for the messages after it."""
        self.after_phase = True
        return self.after > 0

    def expired(self):
        if time.monotonic() < self.deadline:
            return False
        self.reason = "TIMEOUT"
        return True

    def payloads(self):
        pad = bytes(self.size - 8)
        for i in range(self.count):
            yield i.to_bytes(8, "big") + pad

    def result(self):
        dropped = self.sub.dropped if self.sub is not None else 0
        return {"received": self.received, "dropped": dropped,
                "in_order": self.increasing and (self.exact or dropped > 0),
                "slow_events": self.slow_events,
                "after_received": self.after_received,
                "after_in_order": self.after_in_order, "reason": self.reason}


def _limits(b):
    return {"pending_msgs_limit": b.pending_msgs_limit,
            "pending_bytes_limit": b.pending_bytes_limit}


# -- blocking ----------------------------------------------------------------

def _sync_step(b, nc):
    """One look of the waiting side: switch to the after phase when the
    burst is accounted for. False once done, timed out or ended."""
    if not b.after_phase and b.burst_taken():
        if b.start_after():
            nc.publish(b.ready)
            nc.flush()
    if b.finished():
        return False
    return not b.expired()


def _sync_pull(b, nc, sub):
    def pull(timeout):
        try:
            for m in sub.next_msgs(256, timeout):
                if b.delay:
                    time.sleep(b.delay)
                b.take(m)
        except jetwire.TimeoutError:
            pass
    if b.publish:
        for i, payload in enumerate(b.payloads()):
            nc.publish(b.subject, payload)
            if i % RUN == RUN - 1:
                pull(0)
    while _sync_step(b, nc):
        pull(LOOK)


def _on_error(b):
    def on_error(err):
        if err.code == "SLOW_CONSUMER":
            b.slow_events += 1
    return on_error


def _sync_receive(b):
    nc = jetwire.connect(b.url, error_cb=_on_error(b))
    try:
        if b.path == "pull":
            b.sub = sub = nc.subscribe(b.subject, **_limits(b))
        else:
            def cb(msg):
                if b.delay:
                    time.sleep(b.delay)
                b.take(msg)
            b.sub = sub = nc.subscribe(b.subject, cb=cb, **_limits(b))
        nc.flush()
        if b.ready:
            nc.publish(b.ready)
            nc.flush()
        try:
            if b.path == "pull":
                _sync_pull(b, nc, sub)
            else:
                for payload in (b.payloads() if b.publish else ()):
                    nc.publish(b.subject, payload)
                while _sync_step(b, nc):
                    time.sleep(LOOK)
        except jetwire.Error as e:
            b.reason = e.code
        return b.result()
    finally:
        nc.close()


# -- asyncio -----------------------------------------------------------------

async def _aio_publisher(b, nc):
    """A second task on the receiver's loop: yields every RUN messages."""
    for i, payload in enumerate(b.payloads()):
        await nc.publish(b.subject, payload)
        if i % RUN == RUN - 1:
            await asyncio.sleep(0)


async def _aio_consume(b, sub):
    """The pulling asyncio paths, until cancelled or the subscription
    ends."""
    if b.path == "aio_iter":
        async for m in sub.messages:
            if b.delay:
                await asyncio.sleep(b.delay)
            b.take(m)
        raise jetwire.error_for("INVALID_SUBSCRIPTION", "iteration ended")
    while True:
        m = await sub.next_msg(None)
        if b.delay:
            await asyncio.sleep(b.delay)
        b.take(m)


async def _aio_receive(b):
    nc = await jetwire.aio.connect(b.url, error_cb=_on_error(b))
    tasks = []
    try:
        cb = None
        if b.path == "aio_callback":
            async def cb(msg):
                if b.delay:
                    await asyncio.sleep(b.delay)
                b.take(msg)
        elif b.path == "aio_callback_plain":
            def cb(msg):
                if b.delay:
                    time.sleep(b.delay)
                b.take(msg)
        b.sub = sub = await nc.subscribe(b.subject, cb=cb, **_limits(b))
        await nc.flush()
        if b.ready:
            await nc.publish(b.ready)
            await nc.flush()
        if cb is None:
            tasks.append(asyncio.ensure_future(_aio_consume(b, sub)))
        if b.publish:
            tasks.append(asyncio.ensure_future(_aio_publisher(b, nc)))
        try:
            while True:
                if not b.after_phase and b.burst_taken():
                    if b.start_after():
                        await nc.publish(b.ready)
                        await nc.flush()
                if b.finished() or b.expired():
                    break
                for t in tasks:  # a consumer that failed ends the wait
                    if t.done():
                        t.result()
                await asyncio.sleep(LOOK)
        except jetwire.Error as e:
            b.reason = e.code
        return b.result()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await nc.close()


def receive(params):
    b = Burst(params)
    if b.after > 0 and not b.ready:
        raise ValueError("after needs ready")
    if b.path in AIO_PATHS:
        return asyncio.run(_aio_receive(b))
    return _sync_receive(b)


# -- serving and requesting --------------------------------------------------

def _sync_serve(p):
    nc = jetwire.connect(p["url"])
    served = [0]
    reason = "OK"
    deadline = time.monotonic() + p["timeout"]
    try:
        def answer(msg):
            msg.respond(msg.data)
            served[0] += 1
        if p["path"] == "pull":
            sub = nc.subscribe(p["subject"])
        else:
            sub = nc.subscribe(p["subject"], cb=answer)
        nc.flush()
        if p["ready"]:
            nc.publish(p["ready"])
            nc.flush()
        while served[0] < p["count"]:
            if time.monotonic() >= deadline:
                reason = "TIMEOUT"
                break
            if p["path"] == "callback":
                time.sleep(LOOK)
                continue
            try:
                for m in sub.next_msgs(256, LOOK):
                    answer(m)
            except jetwire.TimeoutError:
                pass
    except jetwire.Error as e:
        reason = e.code
    finally:
        nc.close()
    return {"served": served[0], "reason": reason}


async def _aio_serve(p):
    nc = await jetwire.aio.connect(p["url"])
    served = [0]
    reason = "OK"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + p["timeout"]
    task = None
    try:
        async def answer(msg):
            await msg.respond(msg.data)
            served[0] += 1

        def answer_plain(msg):
            msg.respond(msg.data)
            served[0] += 1

        cb = {"aio_callback": answer,
              "aio_callback_plain": answer_plain}.get(p["path"])
        sub = await nc.subscribe(p["subject"], cb=cb)
        await nc.flush()
        if p["ready"]:
            await nc.publish(p["ready"])
            await nc.flush()
        if cb is None:
            async def pull():
                if p["path"] == "aio_iter":
                    async for m in sub.messages:
                        await answer(m)
                    return
                while True:
                    await answer(await sub.next_msg(None))
            task = asyncio.ensure_future(pull())
        while served[0] < p["count"]:
            if loop.time() >= deadline:
                reason = "TIMEOUT"
                break
            if task is not None and task.done():
                task.result()
            await asyncio.sleep(LOOK)
    except jetwire.Error as e:
        reason = e.code
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await nc.close()
    return {"served": served[0], "reason": reason}


def serve(params):
    if params["path"] in AIO_PATHS:
        return asyncio.run(_aio_serve(params))
    return _sync_serve(params)


async def _request_many(url, subject, count, size, timeout):
    nc = await jetwire.aio.connect(url)
    try:
        pad = bytes(max(size, 8) - 8)
        payloads = [i.to_bytes(8, "big") + pad for i in range(count)]
        replies = await asyncio.gather(
            *(nc.request(subject, payload, timeout=timeout)
              for payload in payloads), return_exceptions=True)
    finally:
        await nc.close()
    answered = 0
    errors = {}
    for payload, reply in zip(payloads, replies):
        if isinstance(reply, jetwire.Error):
            errors[reply.code] = errors.get(reply.code, 0) + 1
        elif isinstance(reply, BaseException):
            raise reply
        elif reply.data != payload:
            errors["MISMATCH"] = errors.get("MISMATCH", 0) + 1
        else:
            answered += 1
    return {"answered": answered, "errors": errors}


def request_many(url, subject, count, size, timeout):
    return asyncio.run(_request_many(url, subject, count, size, timeout))
