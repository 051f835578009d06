"""Key-Value across languages, on one bucket with history: Lua puts,
Python watches, C reads by revision; then each language's write is seen
by the others. The Lua and C sides are the interop peers
(tests/interop/*/kv_peer.*), the Python side this process's jetwire."""
import json
import threading

import jetwire
from harness.programs import kv_peer

BUCKET = "service-config"
KEY = "payment-service"


def config(timeout_ms: int, writer: str) -> str:
    return json.dumps({"timeout_ms": timeout_ms, "writer": writer},
                      separators=(",", ":"))


def test_lua_puts_python_watches_c_reads_by_revision(nats_server):
    url = nats_server.url
    with jetwire.connect(url) as nc:
        js = nc.jetstream()
        kv = js.create_key_value(bucket=BUCKET, history=5)
        seen: list = []
        marker = threading.Event()
        done = threading.Event()
        watcher = kv.watch(KEY)

        def watch():
            for entry in watcher:
                if entry is None:
                    marker.set()
                    continue
                seen.append((entry.revision, entry.value.decode(),
                             entry.operation))
                if len(seen) == 4:
                    done.set()
                    return

        thread = threading.Thread(target=watch)
        thread.start()
        assert marker.wait(10), "no end-of-initial-values marker"

        values = [config(1000 * i, "lua") for i in (1, 2, 3)]
        puts = [kv_peer("lua", url, "put", BUCKET, KEY, v) for v in values]
        revisions = [p["revision"] for p in puts]
        assert revisions == sorted(revisions) and len(set(revisions)) == 3

        # C reads each revision Lua wrote, and the latest.
        for rev, value in zip(revisions, values):
            got = kv_peer("c", url, "get", BUCKET, KEY, rev)
            assert (got["revision"], got["value"]) == (rev, value)
        latest = kv_peer("c", url, "get", BUCKET, KEY)
        assert (latest["revision"], latest["value"]) == (revisions[-1],
                                                         values[-1])

        # C updates at the revision it read; Lua is refused the stale one.
        mine = config(9000, "c")
        updated = kv_peer("c", url, "update", BUCKET, KEY, revisions[-1],
                          mine)
        stale = kv_peer("lua", url, "update", BUCKET, KEY, revisions[-1],
                        config(1, "lua"))
        assert stale == {"op": "update", "key": KEY, "conflict": True}

        assert done.wait(10), seen
        watcher.stop()
        thread.join(10)
        assert seen == [(r, v, "PUT") for r, v in zip(revisions, values)] + [
            (updated["revision"], mine, "PUT")]
        # Python reads what C wrote, with the history Lua began.
        assert kv.get(KEY).value.decode() == mine
        assert [e.revision for e in kv.history(KEY)] == revisions + [
            updated["revision"]]
