"""requester: the tutorial's "Client (Requester)".

Asks the user service on user.get for user-1, user-2 and an unknown user,
waiting up to two seconds for each reply, and prints what it learns. A
timeout or "no responders" (nobody subscribed to user.get) is an error.

  NATS_URL=nats://127.0.0.1:4222 python requester.py
"""
import sys

import jetwire

import common

USER_IDS = ("user-1", "user-2", "user-42")


def get_user(nc, user_id):
    """One request/reply round trip. Returns 0 on success."""
    try:
        reply = nc.request("user.get", common.user_request(user_id),
                           timeout=2)
    except jetwire.TimeoutError as e:
        print("requester: %s (%s)" % (e.message, e.code), file=sys.stderr)
        print("Request timed out - is the user service busy?",
              file=sys.stderr)
        return 1
    except jetwire.NoRespondersError as e:
        # The server says at once that nobody listens: no need to wait.
        print("requester: %s (%s)" % (e.message, e.code), file=sys.stderr)
        print("No user service on 'user.get' - start responder.py first",
              file=sys.stderr)
        return 1
    try:
        print(common.describe_user_reply(user_id, reply.data))
    except ValueError as e:
        print("requester: %s" % e, file=sys.stderr)
        return 1
    return 0


def main():
    common.arguments(__doc__)
    with jetwire.connect(common.server_url(), name="requester") as nc:
        for user_id in USER_IDS:
            if get_user(nc, user_id) != 0:
                return 1
    return 0


if __name__ == "__main__":
    common.run(main)
