"""aio_publisher: the tutorial's "Simple Publisher", with asyncio.

Publishes one order, as JSON, to orders.created (or to the subject given as
the only argument) and flushes, so that the message has reached the server
before the program exits.

  NATS_URL=nats://127.0.0.1:4222 python aio_publisher.py [SUBJECT]
"""
import jetwire.aio

import common


async def main():
    args = common.arguments(__doc__, ("subject", "default: orders.created"))
    subject = args.subject or "orders.created"
    order = common.new_order()

    async with await jetwire.aio.connect(common.server_url(),
                                         name="aio_publisher") as nc:
        await nc.publish(subject, common.to_json(order))
        await nc.flush(timeout=2)  # it has reached the server

    print("Published order %s to %s" % (order["id"], subject))


if __name__ == "__main__":
    common.run(main)
