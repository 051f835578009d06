"""mypy --strict accepts the installed package and a program using its
public API (so editors and type checkers see useful types)."""
import subprocess
import sys
import textwrap

import pytest

# No nats-server: runs once, against the current server (tests/conftest.py).
pytestmark = pytest.mark.server_independent

USER_PROGRAM = textwrap.dedent('''
    import asyncio
    from concurrent import futures
    from typing import Any, Dict, List, Optional

    import jetwire
    import jetwire.aio


    def blocking(url: str) -> List[bytes]:
        with jetwire.connect(url, name="typed") as nc:
            sub: jetwire.Subscription = nc.subscribe("t.*")
            nc.publish("t.x", b"1", headers={"K": ["a", "b"]})
            msg: jetwire.Msg = sub.next_msg(timeout=1.0)
            values: List[str] = msg.headers.get_all("K")
            try:
                nc.request("t.nobody", b"", timeout=0.5)
            except jetwire.NoRespondersError as err:
                code: str = err.code
            except jetwire.TimeoutError:
                pass
            return [msg.data] + [v.encode() for v in values]


    async def concurrent(url: str) -> bytes:
        nc = await jetwire.aio.connect(url)
        reply = await nc.request("t.svc", b"x", timeout=1.0)
        await nc.close()
        return reply.data


    def persisted(url: str) -> int:
        with jetwire.connect(url) as nc:
            js: jetwire.JetStream = nc.jetstream(timeout=5.0)
            js.create_or_update_stream(name="T", subjects=["t.>"],
                                       max_age=60.0)
            ack: jetwire.PubAck = js.publish("t.a", b"1", msg_id="m1")
            cons: jetwire.Consumer = js.create_or_update_consumer(
                "T", durable="d", ack_wait=30.0)
            for m in cons.fetch(10, timeout=1.0):
                seq: int = m.metadata.sequence.stream
                m.ack()
            oc: jetwire.OrderedConsumer
            with js.ordered_consumer("T", "t.a", deliver_policy="all",
                                     idle_heartbeat=1.0) as oc:
                first: jetwire.Msg = oc.next(timeout=1.0)
                batch: List[jetwire.Msg] = oc.fetch(10, timeout=0.5)
                for m in oc.messages(timeout=0.5):
                    data: bytes = m.data
                last: int = oc.last_sequence
            fut: jetwire.PubAckFuture = js.publish_async("t.a", b"2")
            acks: List[jetwire.PubAck] = [
                f.result() for f in futures.as_completed([fut])]
            later: "futures.Future[jetwire.PubAck]" = fut
            ab: jetwire.AtomicBatch
            with js.atomic_batch() as ab:
                ab.add("t.a", b"1", msg_id="b1")
                done: jetwire.PubAck = ab.commit("t.a", b"2")
                batch_id: str = ab.id
            fb: jetwire.FastBatch
            with js.fast_batch(flow=50, gap="ok") as fb:
                fseq: int = fb.add("t.a", b"1", msg_id="f1")
                fast: jetwire.PubAck = fb.commit()
                acked: int = fb.acked
                errors: List[Dict[str, Any]] = fb.take_errors()
            whole: jetwire.PubAck = js.publish_batch(
                ("t.a", b"%d" % i) for i in range(10))
            total: int = js.counter_add("t.c", 2 ** 70)
            entry: jetwire.CounterEntry = js.counter_get("T", "t.c")
            incr: Optional[int] = entry.incr
            entries: List[jetwire.CounterEntry] = js.counter_get_many(
                "T", ["t.c"])
            return ack.seq + len(acks) + done.count


    async def persisted_aio(url: str) -> int:
        nc = await jetwire.aio.connect(url)
        js = nc.jetstream()
        ack = await js.publish("t.a", b"1")
        cons = await js.create_or_update_consumer("T", durable="d")
        for m in await cons.fetch(1, timeout=1.0):
            await m.ack()
        async with await js.ordered_consumer("T", opt_start_seq=1,
                                             deliver_policy="by_start_sequence"
                                             ) as oc:
            got: jetwire.aio.Msg = await oc.next(timeout=1.0)
            async for om in oc.messages(timeout=0.5):
                stream_seq: int = om.metadata.sequence.stream
            last: int = oc.last_sequence
        async with js.atomic_batch() as ab:
            await ab.add("t.a", b"1")
            done = await ab.commit()
        async with js.fast_batch() as fb:
            fseq: int = await fb.add("t.a", b"1")
            fast: jetwire.PubAck = await fb.commit("t.a", b"2")
        whole = await js.publish_batch([("t.a", b"1", {"K": "v"})])
        total: int = await js.counter_add("t.c", -1)
        entry = await js.counter_get("T", "t.c")
        await nc.close()
        return ack.seq + done.count + entry.value


    def config_store(url: str) -> int:
        with jetwire.connect(url) as nc:
            js = nc.jetstream()
            kv: jetwire.KeyValue = js.create_or_update_key_value(
                bucket="cfg", history=5, ttl=60.0)
            rev: int = kv.put("k", b"v")
            entry: jetwire.Entry = kv.get("k", revision=rev)
            kv.update("k", entry.value + b"!", last=entry.revision)
            keys: List[str] = kv.keys()
            status: jetwire.KeyValueStatus = kv.status()
            ttl: float = status.ttl
            with kv.watch("k", include_history=True) as w:
                for e in w:
                    if e is None:
                        break
                    op: str = e.operation
                    created: float = e.created
            return rev + len(keys)


    async def config_store_aio(url: str) -> List[str]:
        nc = await jetwire.aio.connect(url)
        kv = await nc.jetstream().key_value("cfg")
        async for e in kv.watch(ignore_deletes=True):
            if e is None:
                break
            value: bytes = e.value
        w = await kv.watch_all(updates_only=True)
        first = await w.updates(timeout=1.0)
        await w.stop()
        keys: List[str] = await kv.keys()
        await nc.close()
        return keys


    def served(url: str) -> int:
        def handler(req: jetwire.ServiceRequest) -> None:
            if req.headers.get("K"):
                req.respond_error(400, "no K please", req.data)
            req.respond(req.data, headers={"K": "v"})

        def stats_handler(ep: jetwire.Endpoint) -> Dict[str, str]:
            return {"subject": ep.subject}

        with jetwire.connect(url) as nc:
            with nc.add_service("svc", "1.0.0", description="d",
                                stats_handler=stats_handler) as svc:
                ep: jetwire.Endpoint = svc.add_endpoint("echo", handler,
                                                        subject="svc.echo")
                group: jetwire.ServiceGroup = svc.add_group("g")
                group.add_endpoint("e", handler, queue_group_disabled=True)
                info: Dict[str, Any] = svc.info()
                pings: List[Dict[str, Any]] = nc.service_ping(
                    "svc", svc.id, timeout=0.5, max_responses=1)
                queue: "str | None" = ep.queue_group
            svc.stop(timeout=None)
            return len(pings)


    async def served_aio(url: str) -> bool:
        nc = await jetwire.aio.connect(url)

        async def handler(req: jetwire.aio.ServiceRequest) -> None:
            await req.respond(req.data)

        async with await nc.add_service("svc", "1.0.0") as svc:
            ep: jetwire.aio.Endpoint = await svc.add_endpoint("e", handler)
            await svc.add_group("g").add_endpoint("e", lambda r: None)
            stats: List[Dict[str, Any]] = await nc.service_stats(
                max_responses=1)
        await nc.close()
        return svc.stopped


    packed: bytes = jetwire.pack({"a": [1, 2.5, None]})
    value: object = jetwire.unpack(packed)
''')


def run_mypy(tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir",
         str(tmp_path / "cache"), *args],
        capture_output=True, text=True, cwd=str(tmp_path))


def test_package_passes_mypy_strict(tmp_path):
    result = run_mypy(tmp_path, "-p", "jetwire")
    assert result.returncode == 0, result.stdout + result.stderr


def test_user_program_passes_mypy_strict(tmp_path):
    program = tmp_path / "user.py"
    program.write_text(USER_PROGRAM)
    result = run_mypy(tmp_path, str(program))
    assert result.returncode == 0, result.stdout + result.stderr
    # And a type error in user code is reported, so the check can fail.
    program.write_text(USER_PROGRAM + "\nbad: int = jetwire.pack(1)\n")
    result = run_mypy(tmp_path, str(program))
    assert result.returncode != 0
