"""aio_responder: the tutorial's "Service (Responder)", with asyncio.

A user service on user.get. A request is {"user_id":"user-1"}; the reply is
the user from a small in-memory table,
  {"user_id":"user-1","name":"Alice Smith","email":"...","found":true}
or {"user_id":"...","found":false} for an unknown id. Runs until it has
answered COUNT requests (when given) or until SIGINT/SIGTERM, then stops
and drains.

  NATS_URL=nats://127.0.0.1:4222 python aio_responder.py [COUNT]

It is the service "users" 1.0.0 of the NATS micro API, as responder.py,
with a coroutine handler that answers with `await req.respond(...)`.
"""
import asyncio

import jetwire.aio

import common


async def main():
    limit = common.arguments(__doc__, ("count", "exit after COUNT requests")
                             ).count
    stop = common.stop_event()
    answered = 0
    enough = asyncio.Event()

    async def on_request(req):
        nonlocal answered
        line, reply, problem = common.answer_user_request(req.data)
        print(line)
        if reply is not None:
            # The reply goes to the request's reply subject (its inbox).
            await req.respond(reply)
            print("Sent response: %s" % reply.decode())
        else:
            await req.respond_error(400, problem)
            print("Sent response: error 400")
        answered += 1
        if limit is not None and answered >= limit:
            enough.set()

    nc = await jetwire.aio.connect(common.server_url(), name="aio_responder")
    try:
        svc = await nc.add_service("users", "1.0.0",
                                   description="the tutorial's user service")
        await svc.add_endpoint("get", on_request, subject="user.get")
        await nc.flush(timeout=2)  # the server knows us from now on
        print("User service listening on 'user.get'... (service id %s)"
              % svc.id)

        await common.wait_until_stopped(stop, enough)

        # Stop: discovery ends, the endpoint drains and the requests on
        # the way are answered; then the connection drains and closes.
        await svc.stop(timeout=5)
        await nc.drain(timeout=5)
        print("User service stopped after %d request(s)" % answered)
    finally:
        await nc.close()


if __name__ == "__main__":
    common.run(main)
