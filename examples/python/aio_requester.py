"""aio_requester: the tutorial's "Client (Requester)", with asyncio.

Asks the user service on user.get for user-1, user-2 and an unknown user,
waiting up to two seconds for each reply, and prints what it learns. A
timeout or "no responders" (nobody subscribed to user.get) is an error.

  NATS_URL=nats://127.0.0.1:4222 python aio_requester.py

The three requests are in flight together (asyncio.gather); the answers are
printed in the order asked.
"""
import asyncio
import sys

import jetwire.aio

import common

USER_IDS = ("user-1", "user-2", "user-42")


async def get_user(nc, user_id):
    """One request/reply round trip: the line to print, or an exception."""
    return common.describe_user_reply(
        user_id,
        (await nc.request("user.get", common.user_request(user_id),
                          timeout=2)).data)


async def main():
    common.arguments(__doc__)
    async with await jetwire.aio.connect(common.server_url(),
                                         name="aio_requester") as nc:
        results = await asyncio.gather(
            *(get_user(nc, user_id) for user_id in USER_IDS),
            return_exceptions=True)

    status, hints = 0, set()
    for user_id, result in zip(USER_IDS, results):
        if isinstance(result, jetwire.Error):
            print("aio_requester: %s: %s (%s)"
                  % (user_id, result.message, result.code), file=sys.stderr)
            status = 1
            if isinstance(result, jetwire.NoRespondersError):
                # The server says at once that nobody listens.
                hints.add("No user service on 'user.get' - "
                          "start aio_responder.py first")
            elif isinstance(result, jetwire.TimeoutError):
                hints.add("Request timed out - is the user service busy?")
        elif isinstance(result, Exception):  # describe_user_reply's
            print("aio_requester: %s: %s" % (user_id, result),
                  file=sys.stderr)
            status = 1
        else:
            print(result)
    for hint in sorted(hints):
        print(hint, file=sys.stderr)
    return status


if __name__ == "__main__":
    common.run(main)
