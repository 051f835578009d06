"""aio_production_connection: the tutorial's "Production-Ready Connection"
and "Graceful Shutdown", with asyncio.

Connects with the options a service sets in production (a name for
monitoring, unlimited reconnection with a wait between rounds and a 5 MiB
buffer for the outage, timeouts, keepalive pings, a drain timeout) and the
connection event handlers, subscribes to "heartbeat" and publishes a
heartbeat every second (the tutorial: every 5 s). Runs until it has
received COUNT heartbeats (when given) or until SIGINT/SIGTERM, then shuts
down gracefully with a drain. When the server goes away the handlers report
it, heartbeats published meanwhile are buffered, and the subscription
resumes once a server is back. NATS_URL may list several servers; the other
members of a cluster are learned from the server anyway.

  NATS_URL=nats://127.0.0.1:4222 python aio_production_connection.py [COUNT]

Handlers may be plain functions or coroutines; they run on the event loop.
The heartbeats come from a task of their own, the tutorial's goroutine.
"""
import asyncio
from datetime import datetime

import jetwire.aio

import common

HEARTBEAT_SECONDS = 1.0


async def main():
    limit = common.arguments(
        __doc__, ("count", "exit after COUNT heartbeats received")).count
    stop = common.stop_event()
    nc = None
    # Set when COUNT heartbeats came, or when the connection closed for good.
    done = asyncio.Event()

    # Event handlers: the server went away, came back, the connection is
    # closed for good, or the server reported an error (a permissions
    # violation, a slow consumer, ...).
    async def on_disconnected(err):
        if err is not None:
            print("Disconnected due to error: %s (%s)" % (err.message,
                                                          err.code))
        else:
            print("Disconnected from NATS")

    async def on_lame_duck():
        print("Server entering lame duck mode: moving on")

    async def on_reconnected():
        print("Reconnected to %s" % nc.connected_url)

    async def on_closed():
        print("Connection closed")
        done.set()

    async def on_error(err):
        if err is None:
            print("Error reported without details")
        else:
            print("Error: %s (%s)" % (err.message, err.code))

    nc = await jetwire.aio.connect(
        common.server_url(),
        name="order-service",         # connection name, for monitoring
        max_reconnect_attempts=-1,    # reconnect forever
        reconnect_time_wait=2,        # seconds between rounds of attempts
        reconnect_buf_size=5 * 1024 * 1024,  # kept while disconnected
        connect_timeout=5,            # seconds to connect
        ping_interval=20,             # seconds between keepalive pings
        max_outstanding_pings=3,      # unanswered pings before giving up
        drain_timeout=30,             # the default for drain()
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        closed_cb=on_closed,
        error_cb=on_error,
        lame_duck_cb=on_lame_duck,
    )
    heartbeats = None
    try:
        print("Connected to NATS, server: %s" % nc.connected_url)
        if nc.is_connected:
            print("Connection is active")

        heard = 0

        async def on_heartbeat(msg):
            nonlocal heard
            print("Received heartbeat: %s" % msg.data.decode())
            heard += 1
            if limit is not None and heard >= limit:
                done.set()

        # Subscribe to show that the connection stays active.
        await nc.subscribe("heartbeat", cb=on_heartbeat)
        await nc.flush(timeout=2)
        print("Service running. Press Ctrl+C for graceful shutdown.")

        async def publish_heartbeats():
            while True:  # until cancelled
                now = datetime.now().astimezone().isoformat("T", "seconds")
                try:
                    # Buffered while reconnecting, up to reconnect_buf_size.
                    await nc.publish("heartbeat", now.encode())
                except jetwire.NotConnectedError as e:
                    print("Heartbeat not sent: %s" % e.message)
                await asyncio.sleep(HEARTBEAT_SECONDS)

        heartbeats = asyncio.create_task(publish_heartbeats())
        await common.wait_until_stopped(stop, done)
        if nc.is_closed:
            # Closed by something else than us (say reconnection turned
            # off, or a pool that ran out): leave, for a supervisor.
            print("Connection lost for good: exiting")
            return 1

        # Graceful shutdown with drain: stop publishing and the
        # subscription, let what is on its way reach the callback, write
        # what is unsent, then close.
        print("Initiating graceful shutdown...")
        heartbeats.cancel()
        try:
            await nc.drain()  # bounded by drain_timeout
        except jetwire.Error as e:
            print("Error during drain: %s (%s)" % (e.message, e.code))
            return 1
        print("Shutdown complete")
        return 0
    finally:
        if heartbeats is not None:
            heartbeats.cancel()
        await nc.close()


if __name__ == "__main__":
    common.run(main)
