"""monitoring: the tutorial's "Monitoring and Observability", seen from
the client and from the server side by side (docs/monitoring.md).

Connects as "monitoring-example", answers three requests it sends itself
(so that the counters move), then prints what the client knows: the
server it is connected to, the connection's counters, the round-trip
time, and, when the server runs JetStream, the account's usage, each
stream and each Key-Value bucket. Given the URL of the server's
monitoring port (nats-server -m PORT), it also reads /varz and /connz
there and prints its own connection as the server sees it, found by the
connection name (and the client id the server gave it).

  NATS_URL=nats://127.0.0.1:4222 python monitoring.py [MONITOR_URL]
  python monitoring.py http://127.0.0.1:8222

Exit status 1 when the monitoring endpoint cannot be read or does not
list this connection.
"""
import json
import sys
import urllib.error
import urllib.request

import jetwire

import common

NAME = "monitoring-example"  # what /connz shows as this connection's name


def show_client(nc):
    """What the client itself knows: the server's INFO, the counters and
    the round-trip time."""
    info = nc.server_info
    print("Server: nats-server %s, name %s, at %s" % (
        info.get("version"), info.get("server_name"), nc.connected_url))
    print("  client id %s, max_payload %d bytes, JetStream %s" % (
        info.get("client_id"), nc.max_payload,
        "on" if info.get("jetstream") else "off"))
    stats = nc.stats
    print("Client counters: out %d msgs / %d bytes, in %d msgs / %d bytes, "
          "%d reconnect(s)" % (stats["out_msgs"], stats["out_bytes"],
                               stats["in_msgs"], stats["in_bytes"],
                               stats["reconnects"]))
    print("Round-trip time: %.3f ms" % (nc.rtt() * 1000))


def show_jetstream(nc):
    """The JetStream account, its streams and its Key-Value buckets."""
    js = nc.jetstream()
    account = js.account_info()
    api = account.get("api", {})
    print("JetStream account: %d stream(s), %d consumer(s), "
          "%d bytes stored on disk, %d in memory; API calls %d, errors %d"
          % (account["streams"], account["consumers"], account["storage"],
             account["memory"], api.get("total", 0), api.get("errors", 0)))
    for info in js.streams():
        state = info["state"]
        print("  stream %s: %d msgs, %d bytes, %d consumer(s), "
              "last seq %d" % (info["config"]["name"], state["messages"],
                               state["bytes"], state["consumer_count"],
                               state["last_seq"]))
    for bucket in js.key_value_names():
        status = js.key_value(bucket).status()
        print("  bucket %s: %d value(s), history %d, ttl %gs, %d bytes"
              % (status.bucket, status.values, status.history, status.ttl,
                 status.bytes))


def fetch(base, path):
    """One monitoring endpoint, decoded from its JSON."""
    with urllib.request.urlopen(base.rstrip("/") + path, timeout=5) as r:
        return json.load(r)


def show_server_side(nc, base):
    """/varz and this connection's line of /connz. 0, or 1 when the
    connection is not listed."""
    varz = fetch(base, "/varz")
    print("Server (/varz): %d connection(s) now, %d in all, "
          "%d slow consumer(s), in %d msgs, out %d msgs" % (
              varz["connections"], varz["total_connections"],
              varz["slow_consumers"], varz["in_msgs"], varz["out_msgs"]))

    stats = nc.stats  # taken just before /connz, to compare with it
    connz = fetch(base, "/connz?subs=1")
    mine = [c for c in connz["connections"] if c.get("name") == NAME]
    # Several copies of this program may run: the client id tells which
    # line is this one (the server put it in its INFO).
    cid = nc.server_info.get("client_id")
    exact = [c for c in mine if c.get("cid") == cid]
    if not exact:
        print("monitoring: /connz lists no connection named %r with cid %s"
              % (NAME, cid), file=sys.stderr)
        return 1
    conn = exact[0]
    print("This connection in /connz: cid %d, name %s, lang %s, version %s"
          % (conn["cid"], conn["name"], conn.get("lang"),
             conn.get("version")))
    print("  rtt %s, uptime %s, %d subscription(s): %s" % (
        conn.get("rtt"), conn.get("uptime"), conn["subscriptions"],
        ", ".join(conn.get("subscriptions_list", []))))
    # The server counts from its side: what it received from us is what
    # we sent.
    print("  server in_msgs %d (client out_msgs %d), "
          "server out_msgs %d (client in_msgs %d)" % (
              conn["in_msgs"], stats["out_msgs"], conn["out_msgs"],
              stats["in_msgs"]))
    return 0


def main():
    args = common.arguments(__doc__, ("monitor_url", "the server's "
                                      "monitoring URL, e.g. "
                                      "http://127.0.0.1:8222"))
    with jetwire.connect(common.server_url(), name=NAME) as nc:
        # A little traffic of our own: three requests to ourselves.
        nc.subscribe("monitoring.echo", cb=lambda m: m.respond(m.data))
        for i in range(3):
            nc.request("monitoring.echo", b"ping %d" % i, timeout=2.0)
        nc.flush()

        show_client(nc)
        if nc.server_info.get("jetstream"):
            show_jetstream(nc)
        status = 0
        if args.monitor_url:
            try:
                status = show_server_side(nc, args.monitor_url)
            except (urllib.error.URLError, OSError, ValueError) as e:
                print("monitoring: cannot read %s: %s"
                      % (args.monitor_url, e), file=sys.stderr)
                status = 1
        nc.drain()
        return status


if __name__ == "__main__":
    common.run(main)
