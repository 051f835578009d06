"""Every delivery path of every language under load: a burst from another
process at full speed, the same burst published from the receiver's own
thread or loop, a slow consumer, and a responder given 2,000 requests at
once. A path that passes with 10 messages and stalls at 1,000 is the bug
users find first (an asyncio callback stopped after 256 messages).

The paths are listed in tests/drivers/PROTOCOL.md; the publisher and the
requester are the C driver, the fastest peer."""
import pytest

from harness import available_languages

PATHS = {
    "c": ["pull", "handler"],
    "python": ["pull", "callback", "aio_next_msg", "aio_iter",
               "aio_callback", "aio_callback_plain"],
    "lua": ["pull", "pull_driven"],
}
CASES = [(lang, path) for lang in available_languages()
         for path in PATHS[lang]]
IDS = [f"{lang}-{path}" for lang, path in CASES]

BURSTS = [(200_000, 16), (20_000, 64 * 1024)]
BURST_IDS = ["200k-16B", "20k-64KiB"]
AFTER = 100  # messages sent once the burst is taken: delivery goes on
SUBJECT, READY = "burst.data", "burst.ready"


@pytest.mark.server_independent
def test_every_path_is_tested(drivers, lang):
    """A path a driver adds must be added here too."""
    d = drivers.start(lang)
    assert d.call("burst_paths")["paths"] == PATHS[lang]


class Peer:
    """The C driver: publishes a burst once the receiver is ready, and
    what comes after it once the receiver took the burst."""

    def __init__(self, drivers, url):
        self.d = drivers.start("c", label="c-peer")
        self.conn = self.d.connect(url)
        self.ready = self.d.subscribe(self.conn, READY)
        self.d.flush(self.conn)

    def wait_ready(self, timeout=30.0):
        self.d.next_msg(self.ready, timeout=timeout)

    def publish(self, count, size):
        self.d.publish_many(self.conn, SUBJECT, count, size)
        self.d.flush(self.conn, timeout=60)


def check(result, count, *, drops_allowed):
    assert result["reason"] == "OK", result
    assert result["in_order"] is True, result
    assert result["received"] + result["dropped"] == count, result
    if not drops_allowed:
        assert result["dropped"] == 0, result
    # Every drop is reported as a slow consumer event, and only drops.
    assert (result["slow_events"] > 0) == (result["dropped"] > 0), result


def receive(drivers, url, lang, path, **args):
    d = drivers.start(lang, label=f"{lang}-{path}")
    return d.send("burst_receive", url=url, subject=SUBJECT, path=path,
                  ready=READY, **args)


@pytest.mark.parametrize("count,size", BURSTS, ids=BURST_IDS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_burst_from_another_process(drivers, nats_server, case, count,
                                    size):
    lang, path = case
    peer = Peer(drivers, nats_server.url)
    pending = receive(drivers, nats_server.url, lang, path, count=count,
                      size=size, after=AFTER, timeout=120)
    peer.wait_ready()
    peer.publish(count, size)
    peer.wait_ready(timeout=120)  # the burst is taken: the rest follows
    peer.publish(AFTER, size)
    r = pending.result()
    # 200,000 small messages fit the default limits (524,288 messages,
    # 64 MiB) whatever the pace; 64 KiB ones may overflow 64 MiB.
    check(r, count, drops_allowed=size > 1024)
    assert r["after_received"] == AFTER and r["after_in_order"], r


@pytest.mark.parametrize("count,size", BURSTS, ids=BURST_IDS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_burst_from_own_thread(drivers, nats_server, case, count, size):
    """The receiver publishes the burst itself, from the thread or loop it
    receives on, on the same connection."""
    lang, path = case
    d = drivers.start(lang, label=f"{lang}-{path}")
    r = d.call("burst_receive", url=nats_server.url, subject=SUBJECT,
               path=path, count=count, size=size, publish=True, timeout=120,
               _wait=180)
    check(r, count, drops_allowed=size > 1024)


# The path where nothing reads the socket while user code works on a
# message: a driven Lua loop runs only inside jetwire calls. There a slow
# consumer slows the publisher through TCP and the server instead of
# dropping, as long as the server holds the publisher back: up to 2.10 it
# stalls a producer 100 ms to 1 s at a time for a consumer over its
# pending limit; from 2.11 on only 2 to 5 ms, so the consumer's 64 MiB
# fill up and the server closes it as a slow consumer (docs/servers.md).
BACKPRESSURE = {("lua", "pull_driven")}
SLOW_CASES = [
    pytest.param(case, id=i, marks=[pytest.mark.below_server(
        "2.11.0", reason="from 2.11 the server stalls a publisher for "
        "milliseconds only, then disconnects the consumer that reads "
        "nothing")] if case in BACKPRESSURE else [])
    for case, i in zip(CASES, IDS)]


@pytest.mark.parametrize("case", SLOW_CASES)
def test_slow_consumer_drops_are_counted(drivers, nats_server, case):
    """1 ms of work per message under a burst of 5,000 x 64 KiB with the
    default limits: what does not fit 64 MiB is dropped, counted and
    reported (or, where nothing reads meanwhile, the publisher is held
    back and nothing is lost), and delivery resumes after the burst."""
    lang, path = case
    count, size = 5_000, 64 * 1024
    peer = Peer(drivers, nats_server.url)
    pending = receive(drivers, nats_server.url, lang, path, count=count,
                      size=size, delay=0.001, after=AFTER, timeout=120)
    peer.wait_ready()
    peer.publish(count, size)
    peer.wait_ready(timeout=120)
    peer.publish(AFTER, size)
    r = pending.result()
    check(r, count, drops_allowed=True)
    if case in BACKPRESSURE:
        assert r["received"] == count, r
    else:
        assert r["dropped"] > 0, r
    assert r["after_received"] == AFTER and r["after_in_order"], r


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_responder_answers_concurrent_requests(drivers, nats_server, case):
    """The service shape: 2,000 requests in flight at once, all answered."""
    lang, path = case
    count = 2_000
    peer = Peer(drivers, nats_server.url)
    d = drivers.start(lang, label=f"{lang}-{path}")
    serving = d.send("burst_serve", url=nats_server.url, subject=SUBJECT,
                     path=path, count=count, ready=READY, timeout=60)
    peer.wait_ready()
    r = peer.d.call("request_many", url=nats_server.url, subject=SUBJECT,
                    count=count, size=32, timeout=30)
    assert r["answered"] == count and r["errors"] == {}, r
    s = serving.result()
    assert s["reason"] == "OK" and s["served"] == count, s
