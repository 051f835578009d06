"""responder: the tutorial's "Service (Responder)".

A user service on user.get. A request is {"user_id":"user-1"}; the reply is
the user from a small in-memory table,
  {"user_id":"user-1","name":"Alice Smith","email":"...","found":true}
or {"user_id":"...","found":false} for an unknown id. Runs until it has
answered COUNT requests (when given) or until SIGINT/SIGTERM, then drains.

  NATS_URL=nats://127.0.0.1:4222 python responder.py [COUNT]

Requests are handled in a callback, on the connection's own Python thread,
which answers with msg.respond.
"""
import threading

import jetwire

import common


def main():
    limit = common.arguments(__doc__, ("count", "exit after COUNT requests")
                             ).count
    stop = common.StopOnSignal()
    answered = 0
    enough = threading.Event()

    def on_request(msg):
        nonlocal answered
        line, reply = common.answer_user_request(msg.data)
        print(line)
        # The reply goes to the request's reply subject (its inbox).
        msg.respond(reply)
        print("Sent response: %s" % reply.decode())
        answered += 1
        if limit is not None and answered >= limit:
            enough.set()

    nc = jetwire.connect(common.server_url(), name="responder")
    try:
        nc.subscribe("user.get", cb=on_request)
        nc.flush(timeout=2)  # the server knows us from now on
        print("User service listening on 'user.get'...")

        stop.wait(enough)

        # Drain: stop taking requests, answer those in flight, flush, close.
        nc.drain(timeout=5)
        print("User service stopped after %d request(s)" % answered)
    finally:
        nc.close()


if __name__ == "__main__":
    common.run(main)
