"""js_counters: distributed counters (ADR-49, nats-server 2.12).

Creates the stream PAGEVIEWS over pages.>, whose subjects are counters
(allow_msg_counter), counts visits to two pages, takes some back, reads one
counter and then every counter of the stream with one request.

  NATS_URL=nats://127.0.0.1:4222 python js_counters.py

Counter values are Python ints of any size (the server counts with big
integers): 1, -3, 10 ** 20 all work.
"""
import json

import jetwire

import common


def add(js, subject, delta):
    """Add delta (text, as printed) to the counter on subject."""
    total = js.counter_add(subject, int(delta))
    print("%s %s -> %d" % (subject, delta, total))


def main():
    common.arguments(__doc__)
    with jetwire.connect(common.server_url(), name="js-counters") as nc:
        js = nc.jetstream(timeout=5.0)
        try:
            js.delete_stream("PAGEVIEWS")  # start from zero
        except jetwire.StreamNotFoundError:
            pass
        js.add_stream("PAGEVIEWS", subjects=["pages.>"], storage="memory",
                      allow_msg_counter=True, allow_direct=True)
        for _ in range(3):
            add(js, "pages.home", "+1")
        add(js, "pages.about", "+10")
        add(js, "pages.about", "-4")
        add(js, "pages.big", "100000000000000000000")

        # One counter: its total and its last increment.
        entry = js.counter_get("PAGEVIEWS", "pages.home")
        print("pages.home: %s" % json.dumps(
            {"subject": entry.subject, "val": str(entry.value),
             "incr": str(entry.incr)}, separators=(",", ":")))

        # Every counter at once: the last message of each subject.
        for entry in js.counter_get_many("PAGEVIEWS", "pages.>"):
            print("  %-12s %d" % (entry.subject, entry.value))
    return 0


if __name__ == "__main__":
    common.run(main)
