"""Fast-ingest batches (ADR-50, nats-server 2.14), over the engine's
jw_js_fast_* calls: the JetStream methods (through FastCalls, a base of
jetwire.JetStream) and FastBatch.

The hot path is one engine call per message: a message without headers
or options goes to jw_js_fast_publish with its bytes as they are (no
engine message is made), and its subject's bytes are kept in the cache
the common publish keeps them in (_client._PUB_SUBJECTS).
"""
from __future__ import annotations

import json
import weakref

from ._args import _build_msg, _payload, _subject
from ._client import _PUB_SUBJECTS, _pub_subject
from ._errors import error_for
from . import _jetstream as _js  # a cycle: its names are read at call time
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Optional, Tuple

    from ._client import HeadersIn, Payload
    from ._jetstream import JetStream, PubAck

__all__ = ["FastBatch"]

_NULL = ffi.NULL
_jw_fast_publish = lib.jw_js_fast_publish


def _message(subject: Any, payload: Any, headers: Any) -> Any:
    return _build_msg(_subject(subject), None, payload, headers or {})


def _add(handle: Any, subject: Any, payload: Any, headers: Any, opts: Any,
         seq_p: Any) -> int:
    """One message by the general path: any payload type, headers,
    publish options; the engine's status."""
    if not headers and opts is _NULL and type(subject) is str:
        subj = _pub_subject(subject)
        if subj is not None:
            data = _payload(payload)
            return int(_jw_fast_publish(handle, subj, data, len(data),
                                        _NULL, seq_p))
    msg = _message(subject, payload, headers)
    return int(lib.jw_js_fast_add(handle, msg, opts, seq_p))


def _item(item: Any) -> Tuple[Any, Any, Any]:
    """A (subject, payload[, headers]) tuple of publish_batch, checked,
    as (subject, payload, headers)."""
    if not isinstance(item, tuple) or len(item) not in (2, 3):
        raise TypeError("each message must be a (subject, payload"
                        "[, headers]) tuple, not %r" % (item,))
    return item if len(item) == 3 else (item[0], item[1], None)


class FastBatch:
    """A fast-ingest batch (``js.fast_batch()``; ADR-50, nats-server 2.14,
    a stream with allow_batched): ``add`` publishes a message at once
    while the server's acks keep up (it waits only when max_outstanding_acks
    acks behind) and returns its batch sequence (from 1); ``commit`` ends
    the batch and returns the PubAck (``batch``, and ``count``: how many
    messages the batch stored). Not atomic: every message is stored as it
    comes. With gap "fail" (the default) the first message lost or refused
    ends the batch (an add raises why; commit then gives the PubAck of
    what was stored); with gap "ok" it is reported by ``take_errors`` and
    the batch goes on. As a context manager, leaving the ``with`` block
    without a commit abandons the batch (what was sent stays stored). One
    thread at a time adds and commits; ``acked`` and ``take_errors`` may
    be read from any thread."""

    def __init__(self, js: "JetStream", handle: Any) -> None:
        self._conn = js._conn  # kept alive: see _jetstream._Child
        self._handle = handle
        self._finalizer = weakref.finalize(self, lib.jw_js_fast_free,
                                           handle)
        self._seq_p = ffi.new("uint64_t *")
        self._sent = 0
        self._acked = 0

    def _h(self) -> Any:
        if not self._finalizer.alive:
            raise error_for("INVALID_ARG", "fast batch was closed")
        return self._handle

    @property
    def sent(self) -> int:
        """The batch sequence of the last message added."""
        return self._sent

    @property
    def acked(self) -> int:
        """The highest batch sequence the server acknowledged (with gap
        "fail": every message up to it is stored); the last value seen,
        once closed."""
        if self._finalizer.alive:
            self._acked = int(lib.jw_js_fast_acked(self._handle))
        return self._acked

    def add(self, subject: str, payload: Payload = b"",
            headers: HeadersIn = None, **options: Any) -> int:
        """Publish one message of the batch and return its batch sequence.
        options are the engine's publish options that become headers
        (msg_id, expected_last_seq, expected_last_subject_seq, ttl, ...;
        their timeout and retries do not apply: the batch's timeout does).
        The first add waits for the server's first answer: JetStreamError
        10205 for a stream without allow_batched, NoRespondersError when no
        stream captures subject. TimeoutError when no ack opened the window
        in time (the message was not sent); with gap "fail", once the
        server refused a message or lost one, add raises that error
        (WrongLastSequenceError, JetStreamError) and sends nothing more."""
        seq_p = self._seq_p
        if not headers and not options and type(payload) is bytes:
            try:
                subj = _PUB_SUBJECTS[subject]
            except (KeyError, TypeError):
                subj = None
            if subj is not None:
                st = _jw_fast_publish(self._h(), subj, payload, len(payload),
                                      _NULL, seq_p)
                if st:
                    _js._js_check(st)
                self._sent = seq = int(seq_p[0])
                return seq
        opts = _js._call_opts("publish", options, "add")
        _js._js_check(_add(self._h(), subject, payload, headers, opts,
                           seq_p))
        self._sent = seq = int(seq_p[0])
        return seq

    def commit(self, subject: Optional[str] = None, payload: Payload = b"",
               headers: HeadersIn = None) -> PubAck:
        """End the batch and wait for its PubAck: with subject, one last
        message is stored; with None, none (after at least one add). The
        PubAck's count is how many messages the batch stored (with gap
        "ok": the highest sequence the server saw). After a gap "fail"
        stop the last message is not sent and the PubAck of what was stored
        comes back. An error PubAck raises (JetStreamError with its
        err_code). Add and commit after a commit raise InvalidArgError."""
        if subject is None:
            if payload or headers:
                raise ValueError("commit without a subject takes no payload "
                                 "or headers")
            msg = _NULL
        else:
            msg = _message(subject, payload, headers)
        p = ffi.new("jw_js_pub_ack **")
        _js._js_check(lib.jw_js_fast_commit(self._h(), msg, p))
        if subject is not None:
            self._sent += 1
        return _js._take_ack(p)

    def take_errors(self) -> List[Dict[str, Any]]:
        """The errors and gaps the server reported since the last call, as
        the engine gives them: {"type": "err", "seq", "code", "err_code",
        "description"}, {"type": "gap", "last_seq", "seq"} (messages
        last_seq to seq - 1 were lost), and past 10,000 kept a last
        {"type": "dropped", "count"}."""
        p = ffi.new("char **")
        _js._js_check(lib.jw_js_fast_take_errors(self._h(), p))
        errors: List[Dict[str, Any]] = json.loads(_js._text(p))
        return errors

    def close(self) -> None:
        """Release the batch; an uncommitted one is abandoned (what was
        sent stays stored; the server forgets the batch after 10 s).
        Closing twice is harmless."""
        self.acked  # noqa: B018 - remembered for after the close
        self._finalizer()

    def __enter__(self) -> "FastBatch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<jetwire.FastBatch sent=%d acked=%d%s>" % (
            self._sent, self.acked,
            "" if self._finalizer.alive else " closed")


class FastCalls:
    """The JetStream methods of fast-ingest batches (a base of
    jetwire.JetStream, whose _call and _conn they use)."""

    if TYPE_CHECKING:
        _conn: Any

        def _call(self, fn: Any, *args: Any) -> Any: ...

    def _fast_new(self, options: Dict[str, Any], fn: str) -> Any:
        opts = _js._call_opts("fast", options, fn)
        p = ffi.new("jw_js_fast **")
        _js._js_check(self._call(lib.jw_js_fast_new, opts, p))
        return p[0]

    def fast_batch(self, **options: Any) -> FastBatch:
        """A new fast-ingest batch (nothing is sent yet). options are the
        engine's "fast" options (option_fields("fast")): flow (most
        messages per ack), gap ("fail" or "ok"),
        max_outstanding_acks (1 to 3, default 2), timeout (seconds, for
        each wait). NotSupportedError before nats-server 2.14."""
        handle = self._fast_new(options, "fast_batch")
        return FastBatch(self, handle)  # type: ignore[arg-type]

    def publish_batch(self, messages: Iterable[Any],
                      **options: Any) -> PubAck:
        """Publish messages, an iterable of (subject, payload) or (subject,
        payload, headers) tuples, as one fast-ingest batch (the last one
        as its commit) and return the PubAck once all are acknowledged
        (its count: how many were stored). options as for fast_batch. The
        first failure raises (and ends the batch: what was sent before it
        stays stored). Messages are read from the iterable as they are
        sent: a generator is not held in memory."""
        if isinstance(messages, (str, bytes)):
            raise TypeError("messages must be an iterable of (subject, "
                            "payload[, headers]) tuples")
        it = iter(messages)
        prev = next(it, None)
        if prev is None:
            raise ValueError("publish_batch needs at least one message")
        _item(prev)
        handle = self._fast_new(options, "publish_batch")
        try:
            subjects = _PUB_SUBJECTS
            publish = _jw_fast_publish
            null = _NULL
            check = _js._js_check
            # One message behind the iterable: the last is the commit.
            for item in it:
                try:
                    subject, payload = prev
                    subj = subjects[subject]
                except (ValueError, KeyError, TypeError):
                    st = _add(handle, *_item(prev), null, null)
                else:
                    if type(payload) is bytes and type(prev) is tuple:
                        st = publish(handle, subj, payload, len(payload),
                                     null, null)
                    else:
                        st = _add(handle, *_item(prev), null, null)
                if st:
                    check(st)
                prev = item
            msg = _message(*_item(prev))
            p = ffi.new("jw_js_pub_ack **")
            check(lib.jw_js_fast_commit(handle, msg, p))
            return _js._take_ack(p)
        finally:
            lib.jw_js_fast_free(handle)
