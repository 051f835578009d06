"""jetwire's Python side of the Key-Value interop tests
(tests/conformance/test_interop_go.py); the same arguments and output as
tests/interop/c/kv_peer.c:

    NATS_URL=... kv_peer.py get BUCKET KEY [REVISION]
    NATS_URL=... kv_peer.py put BUCKET KEY VALUE
    NATS_URL=... kv_peer.py update BUCKET KEY REVISION VALUE

One JSON line out; other failures on stderr with status 1, usage 2.
"""
import json
import os
import sys

import jetwire


def main(argv):
    if not ((len(argv) in (4, 5) and argv[1] == "get") or
            (len(argv) == 5 and argv[1] == "put") or
            (len(argv) == 6 and argv[1] == "update")):
        print("usage: kv_peer.py get BUCKET KEY [REVISION] | put BUCKET KEY "
              "VALUE | update BUCKET KEY REVISION VALUE", file=sys.stderr)
        return 2
    url = os.environ.get("NATS_URL") or "nats://127.0.0.1:4222"
    try:
        with jetwire.connect(url) as nc:
            kv = nc.jetstream().key_value(argv[2])
            key = argv[3]
            if argv[1] == "get":
                entry = kv.get(key, int(argv[4]) if len(argv) == 5 else None)
                out = {"op": "get", "key": key, "revision": entry.revision,
                       "value": entry.value.decode()}
            elif argv[1] == "put":
                out = {"op": "put", "key": key,
                       "revision": kv.put(key, argv[4].encode())}
            else:
                out = {"op": "update", "key": key}
                try:
                    out["revision"] = kv.update(key, argv[5].encode(),
                                                int(argv[4]))
                except jetwire.WrongLastSequenceError:
                    out["conflict"] = True
    except jetwire.Error as e:
        print("kv_peer.py: %s: %s" % (e.code, e), file=sys.stderr)
        return 1
    print(json.dumps(out, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
