#!/usr/bin/env python3
"""Write the seed corpus of every fuzz target into fuzz/corpus/<target>/.

The seeds are small real inputs: protocol frames as nats-server 2.9 sends
them, header blocks, MessagePack values, INFO documents. Run it again after
changing a seed; files are named after what they hold, and stale seeds are
removed, so the checked-in corpus is exactly what this script writes.
Inputs libFuzzer finds later belong in a private working corpus, not here
(see docs/fuzzing.md).

    python3 fuzz/make_corpus.py
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# A real INFO from nats-server 2.9.10 (trailing blank included).
INFO = (
    b'{"server_id":"NAMU4WRYBE4JZ45IBAFUKCPES7T3TZV5PW2HJ42JCYI6AFXU6VZ5ZEOO",'
    b'"server_name":"NAMU4WRYBE4JZ45IBAFUKCPES7T3TZV5PW2HJ42JCYI6AFXU6VZ5ZEOO",'
    b'"version":"2.9.10","proto":1,"go":"go1.19.8","host":"0.0.0.0",'
    b'"port":4222,"headers":true,"max_payload":1048576,"jetstream":true,'
    b'"client_id":4,"client_ip":"127.0.0.1"} '
)

# ---- header blocks -------------------------------------------------------

HEADERS = {
    "empty": b"NATS/1.0\r\n\r\n",
    "one": b"NATS/1.0\r\nFoo: bar\r\n\r\n",
    "many": b"NATS/1.0\r\nA: 1\r\nB: two words\r\nA: 3\r\nEmpty:\r\n\r\n",
    "no_space": b"NATS/1.0\r\nX-Key:value\r\n\r\n",
    "tab": b"NATS/1.0\r\nK:\t v \r\n\r\n",
    "no_responders": b"NATS/1.0 503\r\n\r\n",
    "timeout": b"NATS/1.0 408 Request Timeout\r\n\r\n",
    "heartbeat": (b"NATS/1.0 100 Idle Heartbeat\r\n"
                  b"Nats-Last-Consumer: 12\r\nNats-Last-Stream: 40\r\n\r\n"),
    "flow_control": (b"NATS/1.0 100 FlowControl Request\r\n\r\n"),
    "js_msg": (b"NATS/1.0\r\nNats-Msg-Id: abc-1\r\n"
               b"Nats-Expected-Last-Sequence: 7\r\n\r\n"),
    "kv_delete": (b"NATS/1.0\r\nKV-Operation: DEL\r\n"
                  b"Nats-Rollup: sub\r\n\r\n"),
    "status_409": b"NATS/1.0 409 Consumer Deleted\r\n\r\n",
    # Malformed on purpose: the reader must refuse these cleanly.
    "bad_bare_lf": b"NATS/1.0\r\nA: b\n\r\n",
    "bad_no_colon": b"NATS/1.0\r\nnocolon\r\n\r\n",
    "bad_trailing": b"NATS/1.0\r\nA: b\r\n\r\nXYZ",
    "bad_status": b"NATS/1.0 5x3\r\n\r\n",
    "bad_prefix": b"NATS/2.0\r\n\r\n",
    "truncated": b"NATS/1.0\r\nA: b\r\n",
}

# ---- protocol frames -----------------------------------------------------


def hmsg(subject, sid, block, payload, reply=None):
    args = [subject, sid] + ([reply] if reply else [])
    args += [str(len(block)), str(len(block) + len(payload))]
    return b"HMSG " + " ".join(args).encode() + b"\r\n" + block + payload + \
        b"\r\n"


def msg(subject, sid, payload, reply=None):
    args = [subject, sid] + ([reply] if reply else []) + [str(len(payload))]
    return b"MSG " + " ".join(args).encode() + b"\r\n" + payload + b"\r\n"


FRAMES = {
    "info": b"INFO " + INFO + b"\r\n",
    "ping": b"PING\r\n",
    "pong": b"PONG\r\n",
    "ok": b"+OK\r\n",
    "err": b"-ERR 'Authorization Violation'\r\n",
    "err_perm": (b"-ERR 'Permissions Violation for Publish to \"a.b\"'\r\n"),
    "msg": msg("foo", "1", b"hello"),
    "msg_reply": msg("svc.echo", "7", b"hi", reply="_INBOX.abc.1"),
    "msg_empty": msg("a", "2", b""),
    "msg_crlf_payload": msg("a", "3", b"x\r\ny\r\n"),
    "msg_double_space": b"MSG  foo  1   5\r\nhello\r\n",
    "msg_lower": b"msg foo 1 2\r\nhi\r\n",
    "msg_leading_zeros": b"MSG foo 0001 005\r\nhello\r\n",
    "msg_bare_lf": b"MSG foo 1 2\nhi\r\n",
    "hmsg": hmsg("h", "3", HEADERS["one"], b"body"),
    "hmsg_reply": hmsg("h", "4", HEADERS["many"], b"", reply="r.1"),
    "hmsg_503": hmsg("_INBOX.x.1", "1", HEADERS["no_responders"], b""),
    "hmsg_heartbeat": hmsg("hb", "9", HEADERS["heartbeat"], b""),
    "session": (b"INFO " + INFO + b"\r\nPONG\r\nPING\r\n+OK\r\n" +
                msg("foo", "1", b"one") +
                hmsg("foo", "1", HEADERS["js_msg"], b"two") +
                msg("foo", "1", b"three", reply="r") + b"PING\r\n"),
    # Malformed on purpose.
    "bad_op": b"HELLO world\r\n",
    "bad_size": b"MSG foo 1 x\r\nhello\r\n",
    "bad_short": b"MSG foo 1 5\r\nhel\r\nPING\r\n",
    "bad_hdr_size": b"HMSG foo 1 20 10\r\n0123456789\r\n",
    "bad_ping_args": b"PING now\r\n",
    "bad_control": b"INFO {\"a\":\x01}\r\n",
    "partial": b"MSG foo 1 10\r\nhel",
}

# The parser target's first byte picks limits and the split pattern (see
# fuzz_parser.c): each frame goes in whole-ish, bytewise, and in odd cuts
# with small limits.
SPLITS = {
    "": bytes([0x00]),                       # default limits, bytewise
    ".cut": bytes([0x30, 0x02, 0x06, 0x0f]),  # chunks of 3, 7, 16
    ".small": bytes([0x1d, 0x04]),            # line 32, payload 256, by 5
    ".big": bytes([0x10, 0xff]),              # chunks of 256
}

# ---- MessagePack ---------------------------------------------------------


def mp_str(s):
    b = s.encode()
    if len(b) < 32:
        return bytes([0xa0 | len(b)]) + b
    return b"\xd9" + bytes([len(b)]) + b


CODEC = {
    "nil": b"\xc0",
    "true": b"\xc3",
    "false": b"\xc2",
    "fixint": b"\x05",
    "neg_fixint": b"\xe0",
    "uint8": b"\xcc\xff",
    "uint16": b"\xcd\x01\x00",
    "uint32": b"\xce\x00\x01\x00\x00",
    "uint64": b"\xcf" + struct.pack(">Q", 2**64 - 1),
    "int8": b"\xd0\x80",
    "int16": b"\xd1\x80\x00",
    "int32": b"\xd2\x80\x00\x00\x00",
    "int64": b"\xd3" + struct.pack(">q", -2**63),
    "int64_positive": b"\xd3" + struct.pack(">q", 7),
    "float32": b"\xca" + struct.pack(">f", 1.5),
    "float64": b"\xcb" + struct.pack(">d", -0.25),
    "fixstr": mp_str("hello"),
    "str8": mp_str("x" * 40),
    "str16": b"\xda\x00\x03abc",
    "str32": b"\xdb\x00\x00\x00\x02hi",
    "bin8": b"\xc4\x03\x00\x01\x02",
    "bin16": b"\xc5\x00\x01\xff",
    "bin32": b"\xc6\x00\x00\x00\x00",
    "fixext1": b"\xd4\x01\x02",
    "fixext16": b"\xd8\x05" + bytes(range(16)),
    "ext8": b"\xc7\x02\x7f\xaa\xbb",
    "timestamp": b"\xd6\xff" + struct.pack(">I", 1700000000),
    "fixarray": b"\x93\x01\xc0" + mp_str("a"),
    "array16": b"\xdc\x00\x02\xc2\xc3",
    "fixmap": b"\x82" + mp_str("id") + b"\x2a" + mp_str("tags") + b"\x92" +
              mp_str("x") + mp_str("y"),
    "map16": b"\xde\x00\x01" + mp_str("k") + b"\xc0",
    "nested": b"\x91" * 31 + b"\x80",
    "order": (b"\x83" + mp_str("sku") + mp_str("A-1") + mp_str("qty") +
              b"\x03" + mp_str("price") + b"\xcb" + struct.pack(">d", 9.99)),
    # Malformed on purpose.
    "bad_c1": b"\xc1",
    "bad_truncated_str": b"\xa5abc",
    "bad_huge_array": b"\xdd\xff\xff\xff\xff",
    "bad_trailing": b"\xc0\xc0",
    "bad_too_deep": b"\x91" * 40 + b"\xc0",
}

# ---- INFO documents ------------------------------------------------------

INFOS = {
    "real": INFO,
    "minimal": b"{}",
    "ldm": INFO[:-2] + b',"ldm":true}',
    "cluster": (b'{"server_id":"N1","version":"2.9.10","proto":1,'
                b'"headers":true,"max_payload":1048576,'
                b'"connect_urls":["10.0.0.1:4222","10.0.0.2:4222"]}'),
    "auth": (b'{"server_id":"N2","version":"2.9.10","auth_required":true,'
             b'"nonce":"abc-123","tls_required":false,"max_payload":64}'),
    "negative_max_payload": b'{"max_payload":-1}',
    "float_max_payload": b'{"max_payload":1e6,"headers":1}',
    "long_version": b'{"version":"' + b"9" * 64 + b'"}',
    "escaped": b'{"version":"2.\\u0039\\"x","headers":false}',
    "not_object": b'[1,2,3]',
    "bad_json": b'{"max_payload":',
    "trailing": b'{"jetstream":true} x',
}

# ---- a session after the handshake ---------------------------------------
# fuzz_session subscribes sid 1 to foo.> (pulled, 4 pending at most), sid 2
# to bar (a handler, 3 messages then unsubscribed) and starts requests 1
# and 2 on the inbox _INBOX.fz.* (sid 3).

SESSIONS = {
    "pull": msg("foo.a", "1", b"one") + msg("foo.b", "1", b"two"),
    "pull_over_limit": b"".join(msg("foo.x", "1", b"%d" % i)
                                for i in range(6)),
    "handler": b"".join(msg("bar", "2", b"m%d" % i, reply="r.%d" % i)
                        for i in range(5)),
    "handler_headers": hmsg("bar", "2", HEADERS["many"], b"body"),
    "reply": msg("_INBOX.fz.1", "3", b"pong") +
             hmsg("_INBOX.fz.2", "3", HEADERS["one"], b"hi"),
    "no_responders": hmsg("_INBOX.fz.1", "3", HEADERS["no_responders"], b""),
    "late_reply": msg("_INBOX.fz.7", "3", b"late") +
                  msg("_INBOX.fz.1", "3", b"a") + msg("_INBOX.fz.1", "3", b"b"),
    "unknown_sid": msg("foo.a", "9", b"gone"),
    "pings": b"PING\r\nPONG\r\nPING\r\n+OK\r\n",
    "info_update": b"INFO " + INFOS["ldm"] + b"\r\n" + msg("foo.a", "1", b"x"),
    "err_permissions": FRAMES["err_perm"] + msg("foo.a", "1", b"x"),
    "err_auth": b"-ERR 'Authorization Violation'\r\nPING\r\n",
    "mixed": (b"PING\r\n" + msg("foo.a", "1", b"1") +
              hmsg("bar", "2", HEADERS["heartbeat"], b"") +
              msg("_INBOX.fz.2", "3", b"r") + b"PONG\r\n"),
}

CORPORA = {
    "parser": {name + suffix: split + frame
               for name, frame in FRAMES.items()
               for suffix, split in SPLITS.items()},
    "headers": HEADERS,
    "codec": CODEC,
    "info": INFOS,
    "session": SESSIONS,
}


def main():
    for target, seeds in CORPORA.items():
        out = os.path.join(HERE, "corpus", target)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        for name, data in sorted(seeds.items()):
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seeds)} seeds in {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
