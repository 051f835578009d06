"""js_schedules: messages the stream publishes later (ADR-51, nats-server
2.12), and a consumer reset (nats-server 2.14).

A reminder is scheduled one second ahead, a heartbeat every second; the
heartbeat is stopped by purging its schedule's subject. The consumer that
read them is then reset to the reminder's sequence and reads it again,
without being deleted.

  NATS_URL=nats://127.0.0.1:4222 python js_schedules.py
"""
import time

import jetwire

import common


def print_each(cons, count):
    """Fetch up to count messages, print and ack each; how many came."""
    msgs = cons.fetch(count, timeout=5.0)
    for m in msgs:
        print("  %s #%d: %s" % (m.subject, m.metadata.sequence.stream,
                                m.data.decode()))
        m.ack()
    return len(msgs)


def main():
    common.arguments(__doc__)
    with jetwire.connect(common.server_url(), name="js-schedules") as nc:
        js = nc.jetstream(timeout=5.0)
        try:
            js.delete_stream("REMINDERS")
        except jetwire.StreamNotFoundError:
            pass
        js.add_stream("REMINDERS", subjects=["reminders.>", "schedules.>"],
                      storage="memory", allow_msg_schedules=True)
        cons = js.create_or_update_consumer(
            "REMINDERS", durable_name="reader",
            filter_subject="reminders.>")

        # In one second: "@at <RFC 3339 time>", UTC.
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                             time.gmtime(time.time() + 1))
        js.publish("schedules.call", b"call the bank", schedule_at=when,
                   schedule_target="reminders.due")
        print("Reminder scheduled at %s" % when)
        if print_each(cons, 1) != 1:
            return 1

        # Every second (a duration: seconds in Python), until purged.
        js.publish("schedules.heartbeat", b"still here", schedule_every=1.0,
                   schedule_target="reminders.due")
        print("Heartbeat every second:")
        got = 0
        while got < 2:
            n = print_each(cons, 2 - got)
            if n <= 0:
                return 1
            got += n
        js.purge_stream("REMINDERS", subject="schedules.heartbeat")
        print("Heartbeat stopped (its schedule purged)")

        # Reset (2.14): read from the first reminder again, same consumer.
        try:
            js.reset_consumer("REMINDERS", "reader", 1)
        except jetwire.NotSupportedError as e:
            print("Consumer reset: %s" % e.message)
            return 0
        print("Consumer reset to sequence 1, reading again:")
        if print_each(cons, 1) != 1:
            return 1
    return 0


if __name__ == "__main__":
    common.run(main)
