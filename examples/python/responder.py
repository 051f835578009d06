"""responder: the tutorial's "Service (Responder)".

A user service on user.get. A request is {"user_id":"user-1"}; the reply is
the user from a small in-memory table,
  {"user_id":"user-1","name":"Alice Smith","email":"...","found":true}
or {"user_id":"...","found":false} for an unknown id. Runs until it has
answered COUNT requests (when given) or until SIGINT/SIGTERM, then stops
and drains.

  NATS_URL=nats://127.0.0.1:4222 python responder.py [COUNT]

It is a service of the NATS micro API: "users" 1.0.0 with one endpoint,
"get", on user.get, so that `nats micro stats users` and every client's
discovery see it at work. A request that is not {"user_id":"..."} gets an
error reply (code 400), which its statistics count. The handler runs on
the connection's own Python thread and answers with req.respond.
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

    def on_request(req):
        nonlocal answered
        line, reply, problem = common.answer_user_request(req.data)
        print(line)
        if reply is not None:
            # The reply goes to the request's reply subject (its inbox).
            req.respond(reply)
            print("Sent response: %s" % reply.decode())
        else:
            req.respond_error(400, problem)
            print("Sent response: error 400")
        answered += 1
        if limit is not None and answered >= limit:
            enough.set()

    nc = jetwire.connect(common.server_url(), name="responder")
    try:
        svc = nc.add_service("users", "1.0.0",
                             description="the tutorial's user service")
        svc.add_endpoint("get", on_request, subject="user.get")
        nc.flush(timeout=2)  # the server knows us from now on
        print("User service listening on 'user.get'... (service id %s)"
              % svc.id)

        stop.wait(enough)

        # Stop: discovery ends, the endpoint drains and the requests on
        # the way are answered; then the connection drains and closes.
        svc.stop(timeout=5)
        nc.drain(timeout=5)
        print("User service stopped after %d request(s)" % answered)
    finally:
        nc.close()


if __name__ == "__main__":
    common.run(main)
