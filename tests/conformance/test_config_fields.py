"""The engine owns the configuration fields: every field of its table
(jetwire.config_fields, the same table jw_js_config_fields gives C) is
accepted by every language with the same unit, and reaches the server as
the engine means it. A spy subscribed to the JetStream API subjects reads
each request off the wire: a duration of 1.5 s must arrive as 1,500,000,000
ns whichever language sent it. A field newer than the connected server is
NOT_SUPPORTED, naming the version, and sends nothing.

The round trips (a configuration read from the server written back
unchanged) are here too, for streams, consumers and buckets."""
import json
import time

import pytest

import jetwire
from harness import DriverError

NS = 1_000_000_000

# One value of each type the table names, and what the wire must carry.
SAMPLES = {
    "duration": (1.5, 3 * NS // 2),
    "durations": ([1.5, 2], [3 * NS // 2, 2 * NS]),
    "integer": (7, 7),
    "boolean": (True, True),
    "string": ("x", "x"),
    "strings": (["a.b"], ["a.b"]),
    "object": ({"k": "v"}, {"k": "v"}),
    "any": ([{"name": "X"}], [{"name": "X"}]),
}
# A bucket field and the stream field it becomes (kv.md).
BUCKET_TO_STREAM = {"history": "max_msgs_per_subject", "ttl": "max_age",
                    "max_value_size": "max_msg_size",
                    "replicas": "num_replicas",
                    "limit_marker_ttl": "subject_delete_marker_ttl"}
BUCKET_SAMPLES = {"storage": ("memory", "memory"),
                  "compression": (True, "s2"),
                  "republish": ({"src": ">", "dest": "r.>"},
                                {"src": ">", "dest": "r.>"}),
                  "placement": ({"cluster": "c"}, {"cluster": "c"}),
                  "mirror": ({"name": "src"}, {"name": "KV_src"}),
                  "sources": ([{"name": "src", "subject_transforms": [
                      {"src": "$KV.src.>", "dest": "$KV.x.>"}]}],
                      [{"name": "KV_src", "subject_transforms": [
                          {"src": "$KV.src.>", "dest": "$KV.x.>"}]}])}
# Fields every request carries already (identity).
SKIP = {"stream": {"name"}, "consumer": {"name", "durable_name"},
        "bucket": {"bucket"}}


def version_tuple(text):
    return tuple(int(p) for p in text.split("-")[0].split(".")[:3])


def sample(kind, field):
    if kind == "bucket" and field["name"] in BUCKET_SAMPLES:
        return BUCKET_SAMPLES[field["name"]]
    value, wire = SAMPLES[field["type"]]
    if field.get("values"):  # an enumeration: one of its values
        value = wire = field["values"][0]
    if field.get("fields"):  # an object with fields of its own
        inner = field["fields"][0]
        value, wire = ({inner["name"]: SAMPLES[inner["type"]][0]},
                       {inner["name"]: SAMPLES[inner["type"]][1]})
    return value, wire


class Spy:
    """A connection reading the JetStream API requests."""

    def __init__(self, drivers, url):
        self.d = drivers.start("c", label="spy")
        self.conn = self.d.connect(url)
        self.sub = self.d.subscribe(self.conn, "$JS.API.>")
        self.d.flush(self.conn)
        self.version = version_tuple(self.d.call(
            "server_info", conn=self.conn)["info"]["version"])

    def request_for(self, api, name, timeout=5.0):
        """The body of the next create request of `api` ("STREAM" or
        "CONSUMER"), which must be for the stream, consumer or bucket
        stream `name`: a request for another one first means one went out
        that should not have. TIMEOUT when none came within timeout
        seconds in all (the server's own requests, such as those of
        sourcing streams, keep coming and are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DriverError("TIMEOUT", "no create request", "next_msg")
            m = self.d.next_msg(self.sub, timeout=left)
            tokens = m.subject.split(".")
            if tokens[2] != api or "CREATE" not in tokens:
                continue  # info, names, the server's own: not checked
            assert name in m.subject.split("."), (
                f"unexpected request {m.subject} while waiting for {name}")
            return json.loads(m.data)


def walk(drivers, nats_server, lang, kind, make):
    """For each field of kind: make(driver, js, index, field, value) sends
    it; the spy checks what went out."""
    spy = Spy(drivers, nats_server.url)
    server = spy.version
    d = drivers.start(lang)
    conn = d.connect(nats_server.url)
    js = d.call("jetstream", conn=conn)["js"]
    checked = refused = 0
    for i, field in enumerate(jetwire.config_fields(kind)):
        if field["name"] in SKIP[kind]:
            continue
        value, wire = sample(kind, field)
        since = field["since"]
        try:
            suffix, key = make(d, js, i, field["name"], value)
        except DriverError as e:
            if since and server < version_tuple(since):
                assert e.code == "NOT_SUPPORTED", (field, e)
                assert field["name"] in e.message and since in e.message
                refused += 1
                continue
            # The server may refuse the sample; the request went out.
            assert e.code == "JETSTREAM", (field, e)
            suffix, key = e.suffix, e.key
        else:
            assert not since or server >= version_tuple(since), field
        body = spy.request_for("CONSUMER" if kind == "consumer" else "STREAM",
                               suffix)
        cfg = body.get("config", body)
        assert cfg.get(key) == wire, (lang, kind, field, cfg.get(key))
        checked += 1
    assert checked > 0
    # The refused fields come last in the tables: no request may follow.
    with pytest.raises(DriverError) as nothing:
        spy.request_for("CONSUMER" if kind == "consumer" else "STREAM", "-",
                        timeout=1.0)
    assert nothing.value.code == "TIMEOUT"
    newest = max(version_tuple(f["since"]) for f in
                 jetwire.config_fields(kind) if f["since"])
    assert (refused > 0) == (server < newest), (refused, server, newest)
    return checked, refused


class Sent(DriverError):
    """A driver error after the request went out, with where to look."""


def attempt(fn, suffix, key):
    try:
        fn()
    except DriverError as e:
        err = Sent(e.code, e.message, e.op)
        err.suffix, err.key = suffix, key
        raise err from None
    return suffix, key


def test_stream_fields(drivers, nats_server, lang):
    def make(d, js, i, name, value):
        stream = f"CF{i}"
        return attempt(lambda: d.call("stream_add", js=js, config={
            "name": stream, "subjects": [f"cf{i}.>"], name: value}),
            stream, name)
    walk(drivers, nats_server, lang, "stream", make)


def test_consumer_fields(drivers, nats_server, lang):
    d0 = drivers.start("python", label="setup")
    c0 = d0.connect(nats_server.url)
    js0 = d0.call("jetstream", conn=c0)["js"]
    d0.call("stream_add", js=js0, config={"name": "CFS",
                                          "subjects": ["cfs.>"]})

    def make(d, js, i, name, value):
        durable = f"c{i}"
        return attempt(lambda: d.call("consumer_add", js=js, stream="CFS",
                                      config={"durable_name": durable,
                                              name: value}),
                       durable, name)
    walk(drivers, nats_server, lang, "consumer", make)


def test_bucket_fields(drivers, nats_server, lang):
    def make(d, js, i, name, value):
        bucket = f"cf{i}"
        return attempt(lambda: d.call("kv_bucket_create", js=js, config={
            "bucket": bucket, name: value}),
            f"KV_{bucket}", BUCKET_TO_STREAM.get(name, name))
    walk(drivers, nats_server, lang, "bucket", make)


def test_stream_config_round_trip(drivers, nats_server, lang):
    """What a server says a stream's configuration is can be written back
    unchanged (a current server adds fields such as allow_msg_ttl)."""
    d = drivers.start(lang)
    conn = d.connect(nats_server.url)
    js = d.call("jetstream", conn=conn)["js"]
    info = d.call("stream_add", js=js, config={
        "name": "RT", "subjects": ["rt.>"], "max_age": 1.5,
        "duplicate_window": 0.5, "max_msgs": 10})["info"]
    cfg = d.call("stream_info", js=js, stream="RT")["info"]["config"]
    assert cfg["max_age"] == 1.5 and cfg["duplicate_window"] == 0.5
    again = d.call("stream_update", js=js, config=cfg)["info"]["config"]
    assert again == cfg == info["config"]


def test_consumer_config_round_trip(drivers, nats_server, lang):
    d = drivers.start(lang)
    conn = d.connect(nats_server.url)
    js = d.call("jetstream", conn=conn)["js"]
    d.call("stream_add", js=js, config={"name": "RTC",
                                        "subjects": ["rtc.>"]})
    # The server makes ack_wait the first backoff: give it so.
    d.call("consumer_add", js=js, stream="RTC", config={
        "durable_name": "d", "ack_wait": 2.5, "backoff": [2.5, 1.5],
        "max_deliver": 4})
    cfg = d.call("consumer_info", js=js, stream="RTC",
                 name="d")["info"]["config"]
    assert cfg["ack_wait"] == 2.5 and cfg["backoff"] == [2.5, 1.5]
    d.call("consumer_add", js=js, stream="RTC", config=cfg)
    again = d.call("consumer_info", js=js, stream="RTC",
                   name="d")["info"]["config"]
    assert again == cfg


def test_bucket_status_in_seconds(drivers, nats_server, lang):
    d = drivers.start(lang)
    conn = d.connect(nats_server.url)
    js = d.call("jetstream", conn=conn)["js"]
    kv = d.call("kv_bucket_create", js=js,
                config={"bucket": "st", "ttl": 1.5, "history": 3})["kv"]
    status = d.call("kv_status", kv=kv)["status"]
    assert status["ttl"] == 1.5 and status["history"] == 3


def test_enumerations_checked_locally(drivers, nats_server, lang):
    """A value outside an enumeration is refused by the engine, naming the
    field and the values it takes, in the same words in every language
    (the server would answer with an unmarshalling error, err_code 10025,
    that names neither)."""
    d = drivers.start(lang)
    js = d.call("jetstream", conn=d.connect(nats_server.url))["js"]
    with pytest.raises(DriverError) as e:
        d.call("stream_add", js=js, config={
            "name": "EN", "subjects": ["en.>"], "retention": "limit"})
    assert e.value.code == "INVALID_ARG"
    assert e.value.message.endswith(
        "stream configuration field 'retention' must be one of \"limits\", "
        "\"interest\", \"workqueue\", not \"limit\"")
    d.call("stream_add", js=js, config={"name": "EN",
                                        "subjects": ["en.>"]})
    with pytest.raises(DriverError) as e:
        d.call("consumer_add", js=js, stream="EN", config={
            "durable_name": "c", "ack_policy": "explict"})
    assert e.value.code == "INVALID_ARG"
    assert '"none", "all", "explicit", not "explict"' in e.value.message
    with pytest.raises(DriverError) as e:
        d.call("stream_add", js=js, config={"name": "EN2",
                                            "subjects": ["en2.>"],
                                            "storage": "disk"})
    assert '"file", "memory", not "disk"' in e.value.message
    with pytest.raises(DriverError) as e:
        d.call("kv_bucket_create", js=js, config={"bucket": "b",
                                                   "storage": "disk"})
    assert '"file", "memory", not "disk"' in e.value.message
    with pytest.raises(DriverError) as e:
        d.call("stream_info", js=js, stream="EN2")
    assert e.value.code == "STREAM_NOT_FOUND"


def test_aliases_in_every_language(drivers, nats_server, lang):
    """The spellings of nats.go and nats-py the engine takes for the
    server's names: replicas for num_replicas, durable for durable_name."""
    d = drivers.start(lang)
    js = d.call("jetstream", conn=d.connect(nats_server.url))["js"]
    info = d.call("stream_add", js=js, config={
        "name": "AL", "subjects": ["al.>"], "replicas": 1})["info"]
    assert info["config"]["num_replicas"] == 1
    d.call("consumer_add", js=js, stream="AL", config={"durable": "dur"})
    cfg = d.call("consumer_info", js=js, stream="AL",
                 name="dur")["info"]["config"]
    assert cfg["durable_name"] == "dur"
    with pytest.raises(DriverError) as e:
        d.call("stream_add", js=js, config={
            "name": "AL2", "subjects": ["al2.>"], "replicas": 1,
            "num_replicas": 1})
    assert e.value.code == "INVALID_ARG"
    assert "both 'replicas' and 'num_replicas'" in e.value.message


@pytest.mark.server_independent
def test_config_fields_table():
    """The table itself: the durations of every kind are typed so, and
    the fields of later servers name their version."""
    by_name = {f["name"]: f for f in jetwire.config_fields("stream")}
    assert by_name["max_age"]["type"] == "duration"
    assert by_name["subject_delete_marker_ttl"] == {
        "name": "subject_delete_marker_ttl", "type": "duration",
        "since": "2.11.0"}
    assert by_name["allow_batched"]["since"] == "2.14.0"
    assert by_name["name"]["since"] is None
    limits = {f["name"]: f for f in by_name["consumer_limits"]["fields"]}
    assert limits["inactive_threshold"]["type"] == "duration"
    consumer = {f["name"]: f for f in jetwire.config_fields("consumer")}
    assert consumer["priority_timeout"]["type"] == "duration"
    assert consumer["backoff"]["type"] == "durations"
    bucket = {f["name"]: f for f in jetwire.config_fields("bucket")}
    assert bucket["limit_marker_ttl"]["since"] == "2.11.0"
    assert by_name["retention"]["values"] == ["limits", "interest",
                                              "workqueue"]
    assert by_name["num_replicas"]["alias"] == "replicas"
    assert consumer["durable_name"]["alias"] == "durable"
    with pytest.raises(jetwire.InvalidArgError):
        jetwire.config_fields("streams")
