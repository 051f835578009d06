"""Services (the NATS micro API, ADR-32) in Python, blocking and asyncio:
endpoints and groups, error answers and the statistics they leave, the
stats_handler's data, discovery (PING, INFO, STATS), instances sharing
work, stopping with requests in flight, bad input, and 2,000 requests at
once from another process (the C driver, the fastest peer)."""
import asyncio
import socket
import threading
import time

import pytest

import jetwire
import jetwire.aio as aio

ERROR = "Nats-Service-Error"
ERROR_CODE = "Nats-Service-Error-Code"


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def echo(req):
    req.respond(req.data)


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def endpoint_stats(svc, name, requests=None):
    """An endpoint's STATS; with requests, once it counts that many (a
    handler ends its request after the answer went out)."""
    deadline = time.monotonic() + 10
    while True:
        for ep in svc.stats()["endpoints"]:
            if ep["name"] == name:
                break
        else:
            raise KeyError(name)
        if requests in (None, ep["num_requests"]) or \
                time.monotonic() > deadline:
            return ep
        time.sleep(0.01)


def start_requests(nc, subject, count):
    """count requests published at once, each with its own reply subject
    under one inbox; the subscription that gets the answers."""
    inbox = nc.new_inbox()
    sub = nc.subscribe(inbox + ".*")
    for i in range(count):
        nc.publish(subject, b"%d" % i, reply="%s.%d" % (inbox, i))
    nc.flush()
    return sub


def answers(sub, count, timeout=10.0):
    got = {}
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        try:
            for m in sub.next_msgs(256, 0.2):
                got[m.subject.rsplit(".", 1)[1]] = m
        except jetwire.TimeoutError:
            pass
    return got


@pytest.fixture
def conns(nats_server):
    """The service's connection and a client's."""
    with jetwire.connect(nats_server.url) as nc, \
            jetwire.connect(nats_server.url) as client:
        yield nc, client


# -- blocking ----------------------------------------------------------------

def test_echo_endpoint_and_identity(conns):
    nc, client = conns
    svc = nc.add_service("users", "1.2.3-beta.1", description="the users",
                         metadata={"lang": "python"})
    seen = []

    def handler(req):
        seen.append((req.subject, req.reply is not None,
                     req.headers.get_all("K"), threading.current_thread()))
        req.respond(req.data, headers={"Answered": "yes"})

    ep = svc.add_endpoint("get", handler, metadata={"kind": "read"})
    assert (ep.name, ep.subject, ep.queue_group) == ("get", "get", "q")
    assert ep.service is svc
    assert (svc.name, svc.version, len(svc.id)) == ("users", "1.2.3-beta.1",
                                                    22)
    nc.flush()
    reply = client.request("get", b"hello", headers={"K": ["a", "b"]})
    assert reply.data == b"hello" and reply.headers["Answered"] == "yes"
    assert seen[0][:3] == ("get", True, ["a", "b"])
    assert seen[0][3] is not threading.current_thread()
    info = svc.info()
    assert info["type"] == "io.nats.micro.v1.info_response"
    assert (info["id"], info["description"], info["metadata"]) == (
        svc.id, "the users", {"lang": "python"})
    assert info["endpoints"] == [{"name": "get", "subject": "get",
                                  "queue_group": "q",
                                  "metadata": {"kind": "read"}}]
    stats = endpoint_stats(svc, "get", 1)
    assert (stats["num_requests"], stats["num_errors"]) == (1, 0)
    assert stats["processing_time"] > 0
    svc.reset()
    assert endpoint_stats(svc, "get")["num_requests"] == 0
    assert not svc.stopped
    svc.stop()
    assert svc.stopped


def test_groups_subjects_and_queue_groups(conns, nats_server):
    nc, client = conns
    svc = nc.add_service("math", "1.0.0", queue_group="everyone")
    top = svc.add_endpoint("top", echo)
    g = svc.add_group("math.v1", queue_group="workers")
    inner = g.add_group("admin")
    add = inner.add_endpoint("add", echo, subject="add.*")
    own = g.add_endpoint("own", echo, queue_group="mine")
    solo = g.add_endpoint("solo", echo, queue_group_disabled=True)
    assert (top.subject, top.queue_group) == ("top", "everyone")
    assert (add.subject, add.queue_group) == ("math.v1.admin.add.*",
                                              "workers")
    assert (own.subject, own.queue_group) == ("math.v1.own", "mine")
    assert (solo.subject, solo.queue_group) == ("math.v1.solo", None)
    nc.flush()
    assert client.request("math.v1.admin.add.x", b"1").data == b"1"
    assert client.request("math.v1.own", b"2").data == b"2"
    # Without a queue group every instance answers: two services, two
    # answers to one request.
    with jetwire.connect(nats_server.url) as other:
        svc2 = other.add_service("math", "1.0.0")
        svc2.add_group("math.v1").add_endpoint(
            "solo", echo, queue_group_disabled=True)
        other.flush()
        sub = start_requests(client, "math.v1.solo", 1)
        assert [sub.next_msg(2).data for _ in range(2)] == [b"0", b"0"]
        with pytest.raises(jetwire.TimeoutError):
            sub.next_msg(0.3)
        assert endpoint_stats(svc, "solo", 1)["num_requests"] == 1
        assert endpoint_stats(svc2, "solo", 1)["num_requests"] == 1
    queues = {e["name"]: e["queue_group"] for e in svc.info()["endpoints"]}
    assert queues == {"top": "everyone", "add": "workers", "own": "mine",
                      "solo": ""}


def test_respond_error_headers_and_stats(conns):
    nc, client = conns
    svc = nc.add_service("errs", "1.0.0")

    def handler(req):
        if req.data == b"int":
            req.respond_error(400, "bad input", b"details")
        else:
            req.respond_error("E42", "no such thing")

    svc.add_endpoint("check", handler)
    nc.flush()
    reply = client.request("check", b"int")
    assert reply.headers[ERROR] == "bad input"
    assert reply.headers[ERROR_CODE] == "400"
    assert reply.data == b"details"
    reply = client.request("check", b"str")
    assert (reply.headers[ERROR_CODE], reply.data) == ("E42", b"")
    stats = endpoint_stats(svc, "check", 2)
    assert (stats["num_requests"], stats["num_errors"]) == (2, 2)
    assert stats["last_error"] == "E42:no such thing"


def test_exception_becomes_a_500_and_counts(conns):
    nc, client = conns
    svc = nc.add_service("raises", "1.0.0")

    def handler(req):
        if req.data == b"answered":
            req.respond(b"fine")
        if req.data != b"ok":
            raise ValueError("boom\r\nline")
        req.respond(b"ok")

    svc.add_endpoint("work", handler)
    nc.flush()
    reply = client.request("work", b"raise")
    assert reply.headers[ERROR_CODE] == "500"
    assert reply.headers[ERROR] == repr(ValueError("boom\r\nline"))
    # The dispatcher goes on; a handler that answered before raising is
    # counted as failed without a second answer.
    assert client.request("work", b"ok").data == b"ok"
    inbox = client.new_inbox()
    sub = client.subscribe(inbox)
    client.publish("work", b"answered", reply=inbox)
    first = sub.next_msg(2)
    assert first.data == b"fine" and not first.headers
    with pytest.raises(jetwire.TimeoutError):
        sub.next_msg(0.3)
    stats = endpoint_stats(svc, "work", 3)
    assert (stats["num_requests"], stats["num_errors"]) == (3, 2)
    assert stats["last_error"] == "500:" + repr(ValueError("boom\r\nline"))


def test_stats_handler_data(conns):
    nc, client = conns
    calls = []

    def stats_handler(ep):
        calls.append(ep)
        return {"endpoint": ep.name, "calls": len(calls)}

    svc = nc.add_service("counted", "1.0.0", stats_handler=stats_handler)
    ep = svc.add_endpoint("a", echo)
    assert calls == [ep]  # when added, with the Endpoint
    assert endpoint_stats(svc, "a")["data"] == {"endpoint": "a", "calls": 1}
    nc.flush()
    for _ in range(3):
        client.request("a", b"x")
    assert wait_for(lambda: len(calls) == 4)  # and after each request
    remote = client.service_stats("counted", svc.id)[0]
    assert remote["endpoints"][0]["data"] == {"endpoint": "a", "calls": 4}


def test_stats_handler_scalar_data(conns):
    nc, _ = conns
    svc = nc.add_service("scalar", "1.0.0", stats_handler=lambda ep: 7)
    svc.add_endpoint("a", echo)
    assert endpoint_stats(svc, "a")["data"] == 7


def test_stats_handler_errors_go_to_error_cb(nats_server):
    errors = []
    with jetwire.connect(nats_server.url,
                         error_cb=lambda e, sub: errors.append((e, sub))
                         ) as nc, jetwire.connect(nats_server.url) as cl:
        svc = nc.add_service("badstats", "1.0.0",
                             stats_handler=lambda ep: {"x": object()})
        ep = svc.add_endpoint("e", echo)
        nc.flush()
        assert cl.request("e", b"still served").data == b"still served"
        assert wait_for(lambda: len(errors) == 2)
        assert all(isinstance(e, TypeError) and sub is ep
                   for e, sub in errors)


def test_discovery(nats_server):
    with jetwire.connect(nats_server.url) as a, \
            jetwire.connect(nats_server.url) as b, \
            jetwire.connect(nats_server.url) as client:
        one = a.add_service("disc-a", "1.0.0")
        two = b.add_service("disc-a", "1.0.1")
        other = b.add_service("disc-b", "2.0.0")
        one.add_endpoint("x", echo)
        a.flush()
        b.flush()
        pings = client.service_ping(timeout=0.5)
        assert {(p["name"], p["id"]) for p in pings} == {
            ("disc-a", one.id), ("disc-a", two.id), ("disc-b", other.id)}
        assert all(p["type"] == "io.nats.micro.v1.ping_response"
                   for p in pings)
        by_name = client.service_info("disc-a", timeout=0.5)
        assert sorted(i["version"] for i in by_name) == ["1.0.0", "1.0.1"]
        by_id = client.service_stats("disc-a", two.id, timeout=0.5)
        assert [s["id"] for s in by_id] == [two.id]
        assert by_id[0]["type"] == "io.nats.micro.v1.stats_response"
        began = time.monotonic()
        first = client.service_ping(timeout=5, max_responses=1)
        assert len(first) == 1 and time.monotonic() - began < 4
        assert client.service_ping("nobody", timeout=0.2) == []
        with pytest.raises(jetwire.InvalidArgError):
            client.service_ping(id=one.id)  # an id needs its name
        one.stop()
        assert {p["id"] for p in client.service_ping(timeout=0.5)} == {
            two.id, other.id}


def test_two_instances_share_requests(nats_server):
    with jetwire.connect(nats_server.url) as a, \
            jetwire.connect(nats_server.url) as b, \
            jetwire.connect(nats_server.url) as client:
        services = [nc.add_service("shared", "1.0.0") for nc in (a, b)]
        for svc in services:
            svc.add_endpoint("job", echo)
        a.flush()
        b.flush()
        for i in range(200):
            assert client.request("job", b"%d" % i).data == b"%d" % i
        assert wait_for(lambda: sum(endpoint_stats(s, "job")["num_requests"]
                                    for s in services) == 200)
        counts = [endpoint_stats(s, "job")["num_requests"] for s in services]
        assert sum(counts) == 200 and min(counts) > 0, counts
        assert services[0].id != services[1].id


@pytest.mark.parametrize("threads", [1, 4])
def test_stop_drains_requests_in_flight(nats_server, threads):
    with jetwire.connect(nats_server.url, callback_threads=threads) as nc, \
            jetwire.connect(nats_server.url) as client:
        svc = nc.add_service("drain", "1.0.0")
        started = threading.Event()

        def slow(req):
            started.set()
            time.sleep(0.01)
            req.respond(req.data)

        svc.add_endpoint("slow", slow)
        nc.flush()
        sub = start_requests(client, "slow", 50)
        assert started.wait(5)
        svc.stop(timeout=20)
        assert svc.stopped
        assert endpoint_stats(svc, "slow")["num_requests"] == 50
        got = answers(sub, 50)
        assert sorted(got) == sorted(str(i) for i in range(50))
        assert all(m.data == k.encode() for k, m in got.items())
        with pytest.raises(jetwire.NoRespondersError):
            client.request("slow", b"late", timeout=1)


def test_stop_inside_a_handler_does_not_wait_for_itself(conns):
    nc, client = conns
    svc = nc.add_service("selfstop", "1.0.0")
    done = []

    def handler(req):
        svc.stop(timeout=5)  # returns at once: this request is in flight
        done.append(svc.stopped)
        req.respond(b"bye")

    svc.add_endpoint("stop", handler)
    nc.flush()
    began = time.monotonic()
    assert client.request("stop", b"").data == b"bye"
    assert time.monotonic() - began < 2
    assert done == [False]
    assert wait_for(lambda: svc.stopped)


def test_context_manager_stops(conns):
    nc, client = conns
    with nc.add_service("ctx", "1.0.0") as svc:
        svc.add_endpoint("ctx", echo)
        nc.flush()
        assert client.request("ctx", b"in").data == b"in"
        assert len(client.service_ping("ctx", timeout=0.3)) == 1
    assert svc.stopped
    with pytest.raises(jetwire.NoRespondersError):
        client.request("ctx", b"out", timeout=1)
    assert client.service_ping("ctx", timeout=0.3) == []


def test_requests_answered_later_from_another_thread(conns):
    nc, client = conns
    svc = nc.add_service("later", "1.0.0")
    kept = []
    svc.add_endpoint("later", kept.append)  # no answer in the handler
    nc.flush()
    sub = start_requests(client, "later", 2)
    assert wait_for(lambda: len(kept) == 2)
    t = threading.Thread(target=lambda: (kept[0].respond(b"late"),
                                         kept[1].respond_error(503, "busy")))
    t.start()
    t.join()
    got = answers(sub, 2)
    assert sorted(m.data for m in got.values()) == [b"", b"late"]
    stats = endpoint_stats(svc, "later")
    assert (stats["num_requests"], stats["num_errors"]) == (2, 1)
    assert stats["last_error"] == "503:busy"


def test_a_subject_that_is_no_utf8_is_failed(conns, nats_server):
    """Subjects are bytes on the wire: a request whose subject Python
    cannot read is answered with a 500 and counted, the others are
    served."""
    nc, client = conns
    svc = nc.add_service("bytes", "1.0.0")
    svc.add_endpoint("any", echo, subject="raw.*")
    nc.flush()
    with socket.create_connection(("127.0.0.1", nats_server.port),
                                  timeout=10) as s:
        s.recv(4096)  # INFO
        s.sendall(b'CONNECT {"verbose":false,"headers":true}\r\n'
                  b"SUB _in.x 1\r\nPUB raw.\xff _in.x 0\r\n\r\n"
                  b"PUB raw.ok _in.x 2\r\nok\r\nPING\r\n")
        seen = b""
        while seen.count(b"_in.x") < 2:
            seen += s.recv(4096)
    assert b"Nats-Service-Error-Code: 500" in seen and b"\r\nok\r\n" in seen
    stats = endpoint_stats(svc, "any", 2)
    assert (stats["num_requests"], stats["num_errors"]) == (2, 1)
    assert "UnicodeDecodeError" in stats["last_error"]


def test_bad_input(conns):
    nc, client = conns
    for name, version in (("a b", "1.0.0"), ("", "1.0.0"), (5, "1.0.0"),
                          ("ok", "1.0"), ("ok", "v1"), ("ok", None)):
        with pytest.raises(jetwire.InvalidArgError):
            nc.add_service(name, version)
    with pytest.raises(jetwire.InvalidArgError, match="colour"):
        nc.add_service("ok", "1.0.0", colour="red")
    with pytest.raises(jetwire.InvalidArgError):
        nc.add_service("ok", "1.0.0", metadata={"k": 1})
    with pytest.raises(TypeError):
        nc.add_service("ok", "1.0.0", metadata={"k": object()})
    with pytest.raises(TypeError):
        nc.add_service("ok", "1.0.0", stats_handler="not callable")
    svc = nc.add_service("ok", "1.0.0")
    with pytest.raises(TypeError):
        svc.add_endpoint("e", "not callable")

    async def coroutine(req):
        pass

    with pytest.raises(TypeError, match="jetwire.aio"):
        svc.add_endpoint("e", coroutine)
    with pytest.raises(jetwire.InvalidArgError):
        svc.add_endpoint("a.b", echo)
    with pytest.raises(jetwire.InvalidArgError):
        svc.add_endpoint("e", echo, subject="a..b")
    with pytest.raises(jetwire.InvalidArgError):
        svc.add_endpoint("e", echo, pending_msgs_limit="many")
    with pytest.raises(jetwire.InvalidArgError):
        svc.add_group("a b")
    with pytest.raises(TypeError):
        svc.stop(timeout="soon")
    with pytest.raises(TypeError):
        client.service_ping(name=5)
    with pytest.raises(jetwire.InvalidArgError):
        client.service_ping(name="a\0b")
    with pytest.raises(ValueError):
        client.service_ping(max_responses=0)
    kept = []
    svc.add_endpoint("keep", kept.append)
    nc.flush()
    client.publish("keep", b"", reply="nowhere")
    assert wait_for(lambda: kept)
    req = kept[0]
    for code, description in ((1.5, "x"), (None, "x"), ("1", 5)):
        with pytest.raises(TypeError):
            req.respond_error(code, description)
    for code, description in (("", "x"), ("1", ""), ("1\0", "x")):
        with pytest.raises(jetwire.InvalidArgError):
            req.respond_error(code, description)
    with pytest.raises(TypeError):
        req.respond("text")
    # After stop: no more endpoints; the rest still answers.
    svc.stop()
    svc.stop()
    with pytest.raises(jetwire.InvalidSubscriptionError):
        svc.add_endpoint("late", echo)
    assert svc.info()["name"] == "ok" and svc.stopped
    # After the connection's close.
    live = nc.add_service("live", "1.0.0")
    nc.close()
    with pytest.raises(jetwire.ConnectionClosedError):
        nc.add_service("x", "1.0.0")
    with pytest.raises(jetwire.ConnectionClosedError):
        live.add_endpoint("late", echo)
    with pytest.raises(jetwire.ConnectionClosedError):
        nc.service_ping()
    with pytest.raises(jetwire.ConnectionClosedError):
        req.respond(b"")
    assert live.stats()["name"] == "live"
    live.stop()
    assert live.stopped


# -- asyncio -----------------------------------------------------------------

def test_aio_echo_groups_and_errors(nats_server):
    async def main():
        async with await aio.connect(nats_server.url) as nc, \
                await aio.connect(nats_server.url) as client:
            svc = await nc.add_service("aio-svc", "1.0.0",
                                       metadata={"lang": "py"})
            loop_thread = threading.current_thread()
            threads = []

            async def coro(req):
                threads.append(threading.current_thread())
                await asyncio.sleep(0)
                await req.respond(req.data, headers={"From": "coro"})

            def plain(req):
                threads.append(threading.current_thread())
                req.respond(req.data.upper())

            async def failing(req):
                if req.data == b"error":
                    await req.respond_error(418, "teapot", b"tea")
                else:
                    raise KeyError("missing")

            e1 = await svc.add_endpoint("coro", coro)
            g = svc.add_group("aio.v1", queue_group="w")
            e2 = await g.add_endpoint("plain", plain)
            await g.add_group("deep").add_endpoint("fail", failing)
            assert (e1.subject, e1.queue_group) == ("coro", "q")
            assert (e2.subject, e2.queue_group) == ("aio.v1.plain", "w")
            await nc.flush()
            reply = await client.request("coro", b"hi")
            assert (reply.data, reply.headers["From"]) == (b"hi", "coro")
            assert (await client.request("aio.v1.plain", b"hi")).data == b"HI"
            assert threads == [loop_thread, loop_thread]
            reply = await client.request("aio.v1.deep.fail", b"error")
            assert (reply.headers[ERROR_CODE], reply.headers[ERROR],
                    reply.data) == ("418", "teapot", b"tea")
            reply = await client.request("aio.v1.deep.fail", b"raise")
            assert reply.headers[ERROR_CODE] == "500"
            assert reply.headers[ERROR] == repr(KeyError("missing"))
            stats = endpoint_stats(svc, "fail", 2)
            assert (stats["num_requests"], stats["num_errors"]) == (2, 2)
            assert stats["last_error"] == "500:" + repr(KeyError("missing"))
            await svc.reset()
            assert endpoint_stats(svc, "fail")["num_errors"] == 0
            assert svc.info()["metadata"] == {"lang": "py"}
            await svc.stop()
            assert svc.stopped
    run(main())


def test_aio_stats_handler_and_discovery(nats_server):
    async def main():
        async with await aio.connect(nats_server.url) as nc, \
                await aio.connect(nats_server.url) as nc2, \
                await aio.connect(nats_server.url) as client:
            served = {}

            def stats_handler(ep):
                return {"served": served.get(ep.name, 0)}

            async def handler(req):
                served["e"] = served.get("e", 0) + 1
                await req.respond(b"")

            one = await nc.add_service("aio-disc", "1.0.0",
                                       stats_handler=stats_handler)
            two = await nc2.add_service("aio-disc", "1.0.0")
            await one.add_endpoint("e", handler)
            await nc.flush()
            await nc2.flush()
            for _ in range(3):
                await client.request("e", b"")
            pings = await client.service_ping("aio-disc", timeout=0.5)
            assert {p["id"] for p in pings} == {one.id, two.id}
            infos = await client.service_info("aio-disc", one.id,
                                              timeout=0.5)
            assert [i["endpoints"][0]["name"] for i in infos] == ["e"]
            stats = await client.service_stats("aio-disc", one.id,
                                               timeout=0.5)
            assert stats[0]["endpoints"][0]["data"] == {"served": 3}
            assert stats[0]["endpoints"][0]["num_requests"] == 3
            first = await client.service_ping(timeout=5, max_responses=1)
            assert len(first) == 1
            with pytest.raises(jetwire.InvalidArgError):
                await client.service_stats(id=one.id)
    run(main())


def test_aio_stop_drains_requests_in_flight(nats_server):
    async def main():
        async with await aio.connect(nats_server.url) as nc:
            with jetwire.connect(nats_server.url) as client:
                started = asyncio.Event()

                async def slow(req):
                    started.set()
                    await asyncio.sleep(0.01)
                    await req.respond(req.data)

                async with await nc.add_service("aio-drain", "1.0.0") as svc:
                    await svc.add_endpoint("slow", slow)
                    await nc.flush()
                    sub = start_requests(client, "slow", 50)
                    await asyncio.wait_for(started.wait(), 5)
                assert svc.stopped
                assert endpoint_stats(svc, "slow")["num_requests"] == 50
                got = answers(sub, 50)
                assert sorted(got) == sorted(str(i) for i in range(50))
                with pytest.raises(jetwire.NoRespondersError):
                    client.request("slow", b"late", timeout=1)
    run(main())


def test_aio_stop_inside_a_handler(nats_server):
    async def main():
        async with await aio.connect(nats_server.url) as nc, \
                await aio.connect(nats_server.url) as client:
            svc = await nc.add_service("aio-self", "1.0.0")

            async def handler(req):
                await svc.stop()  # does not wait for this request
                await req.respond(b"bye")

            await svc.add_endpoint("stop", handler)
            await nc.flush()
            assert (await client.request("stop", b"", timeout=2)).data == \
                b"bye"
            for _ in range(100):
                if svc.stopped:
                    break
                await asyncio.sleep(0.01)
            assert svc.stopped
    run(main())


def test_aio_bad_input(nats_server):
    async def main():
        nc = await aio.connect(nats_server.url)
        with pytest.raises(jetwire.InvalidArgError):
            await nc.add_service("bad name", "1.0.0")
        with pytest.raises(jetwire.InvalidArgError):
            await nc.add_service("ok", "one")
        with pytest.raises(TypeError):
            await nc.add_service("ok", "1.0.0", stats_handler=5)
        svc = await nc.add_service("ok", "1.0.0")
        with pytest.raises(TypeError):
            await svc.add_endpoint("e", None)
        with pytest.raises(TypeError):
            await nc.service_ping(timeout="soon")
        with pytest.raises(TypeError):
            await svc.stop(timeout=[])
        await svc.stop()
        with pytest.raises(jetwire.InvalidSubscriptionError):
            await svc.add_endpoint("late", echo)
        live = await nc.add_service("live", "1.0.0")
        await nc.close()
        with pytest.raises(jetwire.ConnectionClosedError):
            await nc.add_service("x", "1.0.0")
        with pytest.raises(jetwire.ConnectionClosedError):
            await live.add_endpoint("late", echo)
        with pytest.raises(jetwire.ConnectionClosedError):
            await nc.service_info()
        await live.stop()
        assert live.stopped
    run(main())


# -- 2,000 requests at once from another process ----------------------------

LOAD = 2_000


def request_many(drivers, url, subject):
    peer = drivers.start("c", label="c-requester")
    return peer.call("request_many", url=url, subject=subject, count=LOAD,
                     size=32, timeout=30)


def check_load(r, svc):
    """After the service stopped: every request it took was handled."""
    assert r["answered"] == LOAD and r["errors"] == {}, r
    stats = endpoint_stats(svc, "load")
    assert (stats["num_requests"], stats["num_errors"]) == (LOAD, 0), stats
    assert stats["data"] == {"seen": LOAD}


@pytest.mark.parametrize("threads", [1, 4])
def test_load_blocking(drivers, nats_server, threads):
    seen = [0]

    def handler(req):
        seen[0] += 1
        req.respond(req.data)

    with jetwire.connect(nats_server.url, callback_threads=threads) as nc:
        svc = nc.add_service("load", "1.0.0",
                             stats_handler=lambda ep: {"seen": seen[0]})
        svc.add_endpoint("load", handler)
        nc.flush()
        r = request_many(drivers, nats_server.url, "load")
        svc.stop()
        assert svc.stopped
        check_load(r, svc)


@pytest.mark.parametrize("kind", ["coroutine", "function"])
def test_load_asyncio(drivers, nats_server, kind):
    seen = [0]

    async def coro(req):
        seen[0] += 1
        await req.respond(req.data)

    def plain(req):
        seen[0] += 1
        req.respond(req.data)

    async def main():
        nc = await aio.connect(nats_server.url)
        svc = await nc.add_service("load", "1.0.0",
                                   stats_handler=lambda ep: {"seen": seen[0]})
        await svc.add_endpoint("load", coro if kind == "coroutine"
                               else plain)
        await nc.flush()
        r = await asyncio.get_running_loop().run_in_executor(
            None, request_many, drivers, nats_server.url, "load")
        await svc.stop()
        assert svc.stopped
        check_load(r, svc)
        await nc.close()
    run(main(), 120)
