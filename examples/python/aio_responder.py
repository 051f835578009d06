"""aio_responder: the tutorial's "Service (Responder)", with asyncio.

A user service on user.get. A request is {"user_id":"user-1"}; the reply is
the user from a small in-memory table,
  {"user_id":"user-1","name":"Alice Smith","email":"...","found":true}
or {"user_id":"...","found":false} for an unknown id. Runs until it has
answered COUNT requests (when given) or until SIGINT/SIGTERM, then drains.

  NATS_URL=nats://127.0.0.1:4222 python aio_responder.py [COUNT]

Requests are handled by a coroutine callback, which answers with
`await msg.respond(...)`.
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

    async def on_request(msg):
        nonlocal answered
        line, reply = common.answer_user_request(msg.data)
        print(line)
        # The reply goes to the request's reply subject (its inbox).
        await msg.respond(reply)
        print("Sent response: %s" % reply.decode())
        answered += 1
        if limit is not None and answered >= limit:
            enough.set()

    nc = await jetwire.aio.connect(common.server_url(), name="aio_responder")
    try:
        await nc.subscribe("user.get", cb=on_request)
        await nc.flush(timeout=2)  # the server knows us from now on
        print("User service listening on 'user.get'...")

        await common.wait_until_stopped(stop, enough)

        # Drain: stop taking requests, answer those in flight, flush, close.
        await nc.drain(timeout=5)
        print("User service stopped after %d request(s)" % answered)
    finally:
        await nc.close()


if __name__ == "__main__":
    common.run(main)
