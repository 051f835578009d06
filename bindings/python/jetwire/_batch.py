"""Atomic batch publishes and counters (nats-server 2.12), over the
engine's jw_js_batch_* and jw_js_counter_* calls: the JetStream methods
(through BatchCalls, a base of jetwire.JetStream), AtomicBatch and
CounterEntry.

A counter's values are decimal text of any length in the engine; here they
are Python ints, of any size as well.
"""
from __future__ import annotations

import json
import weakref

from ._args import _build_msg, _ms, _subject
from ._errors import error_for
from . import _jetstream as _js  # a cycle: its names are read at call time
from ._jetwire import ffi, lib

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Optional, Union

    from ._client import HeadersIn, Payload
    from ._jetstream import JetStream, PubAck

__all__ = ["AtomicBatch", "CounterEntry"]


def _delta_text(delta: Any) -> bytes:
    """A counter's delta (an int of any size) as the engine's decimal
    text."""
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise TypeError("delta must be int, not %s" % type(delta).__name__)
    return str(delta).encode()


def _message(subject: Any, payload: Any, headers: Any) -> Any:
    return _build_msg(_subject(subject), None, payload, headers or {})


class CounterEntry:
    """A counter as a stream holds it (``js.counter_get``): its subject,
    value (the total), incr (the last delta added; None when the message
    has none) and sources ({stream: {subject: total}}: the last totals seen
    from the counters a sourcing stream aggregates; empty otherwise)."""

    __slots__ = ("subject", "value", "incr", "sources")

    def __init__(self, subject: str, value: int, incr: Optional[int] = None,
                 sources: Optional[Dict[str, Dict[str, int]]] = None
                 ) -> None:
        self.subject = subject
        self.value = value
        self.incr = incr
        self.sources: Dict[str, Dict[str, int]] = sources or {}

    @classmethod
    def _from_json(cls, text: str) -> "CounterEntry":
        """The engine's entry: {"subject", "val", "incr", "sources"}, with
        every number as decimal text."""
        e = json.loads(text)
        incr = e.get("incr")
        return cls(e["subject"], int(e["val"]),
                   int(incr) if incr is not None else None,
                   {stream: {subject: int(v) for subject, v in sub.items()}
                    for stream, sub in (e.get("sources") or {}).items()})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CounterEntry):
            return NotImplemented
        return (self.subject, self.value, self.incr, self.sources) == (
            other.subject, other.value, other.incr, other.sources)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        text = "CounterEntry(subject=%r, value=%d" % (self.subject,
                                                       self.value)
        if self.incr is not None:
            text += ", incr=%d" % self.incr
        if self.sources:
            text += ", sources=%r" % (self.sources,)
        return text + ")"


def _entry(p: Any) -> CounterEntry:
    return CounterEntry._from_json(_js._text(p))


class AtomicBatch:
    """Messages stored in a stream together or not at all
    (``js.atomic_batch()``; ADR-50, nats-server 2.12, a stream with
    allow_atomic). ``add`` sends a message (the first waits for the stream
    to take it: a stream refusing batches is heard of there), ``commit``
    sends the last one and returns the PubAck (its ``batch`` and ``count``
    say which batch and how many messages were stored). As a context
    manager, leaving the ``with`` block without a commit abandons the
    batch: nothing of it is stored. One thread at a time."""

    def __init__(self, js: "JetStream", handle: Any) -> None:
        self._conn = js._conn  # kept alive: see _jetstream._Child
        self._handle = handle
        self._finalizer = weakref.finalize(self, lib.jw_js_batch_free,
                                           handle)
        self._id: str = ffi.string(lib.jw_js_batch_id(handle)).decode()
        self._count = 0

    def _h(self) -> Any:
        if not self._finalizer.alive:
            raise error_for("INVALID_ARG", "atomic batch %s was closed"
                            % self._id)
        return self._handle

    @property
    def id(self) -> str:
        """The batch's unique id (its Nats-Batch-Id)."""
        return self._id

    @property
    def count(self) -> int:
        """The messages sent so far, the commit's included (the last
        count seen, once closed)."""
        if self._finalizer.alive:
            self._count = int(lib.jw_js_batch_count(self._handle))
        return self._count

    def add(self, subject: str, payload: Payload = b"",
            headers: HeadersIn = None, **options: Any) -> None:
        """Send one message of the batch. options are the engine's publish
        options (option_fields("publish")) for it: msg_id,
        expected_last_seq (first message only),
        expected_last_subject_seq, ttl, timeout. The first message's
        refusal (JetStreamError 10174: the stream has no allow_atomic;
        NoRespondersError) ends the batch; a later add that failed sent
        nothing and the batch goes on."""
        msg = _message(subject, payload, headers)
        opts = _js._call_opts("publish", options, "add")
        _js._js_check(lib.jw_js_batch_add(self._h(), msg, opts))

    def commit(self, subject: Optional[str] = None, payload: Payload = b"",
               headers: HeadersIn = None, **options: Any) -> PubAck:
        """Send the last message and wait for the stream's PubAck: seq is
        the last message's, batch the id, count the messages stored.
        subject None commits the messages added without one more
        (nats-server 2.14; NotSupportedError before). The stream's
        refusals raise as for publish (WrongLastSequenceError,
        JetStreamError with its err_code), and nothing of the batch is
        stored. After a commit, or a failed one, the batch takes nothing
        more."""
        if subject is None:
            if payload or headers:
                raise ValueError("commit without a subject takes no payload "
                                 "or headers")
            msg = ffi.NULL
        else:
            msg = _message(subject, payload, headers)
        opts = _js._call_opts("publish", options, "commit")
        p = ffi.new("jw_js_pub_ack **")
        _js._js_check(lib.jw_js_batch_commit(self._h(), msg, opts, p))
        return _js._take_ack(p)

    def close(self) -> None:
        """Release the batch; an uncommitted one is abandoned (the server
        drops it, storing none of it). Closing twice is harmless."""
        self.count  # noqa: B018 - remembered for after the close
        self._finalizer()

    def __enter__(self) -> "AtomicBatch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<jetwire.AtomicBatch %s count=%d%s>" % (
            self._id, self.count,
            "" if self._finalizer.alive else " closed")


class BatchCalls:
    """The JetStream methods of atomic batches and counters (a base of
    jetwire.JetStream, whose _call, _conn and timeout they use)."""

    if TYPE_CHECKING:
        _conn: Any
        timeout: Optional[float]

        def _call(self, fn: Any, *args: Any) -> Any: ...

        def direct_get_batch(self, stream: str, multi_last: Any = None,
                             timeout: Optional[float] = 5.0,
                             **options: Any) -> Any: ...

    def atomic_batch(self) -> AtomicBatch:
        """A new atomic batch (nothing is sent yet); NotSupportedError
        before nats-server 2.12."""
        p = ffi.new("jw_js_batch **")
        _js._js_check(self._call(lib.jw_js_batch_new, p))
        return AtomicBatch(self, p[0])  # type: ignore[arg-type]

    def publish_atomic(self, messages: Iterable[Any],
                       **options: Any) -> PubAck:
        """Publish messages, (subject, payload) or (subject, payload,
        headers) tuples, as one atomic batch: all are stored or none.
        options are publish options of the first message (its expectations
        hold for the batch); its timeout bounds the commit as well.
        Returns the commit's PubAck."""
        if isinstance(messages, (str, bytes)):
            raise TypeError("messages must be an iterable of (subject, "
                            "payload[, headers]) tuples")
        items = list(messages)
        if not items:
            raise ValueError("publish_atomic needs at least one message")
        for item in items:
            if not isinstance(item, tuple) or len(item) not in (2, 3):
                raise TypeError("each message must be a (subject, payload"
                                "[, headers]) tuple, not %r" % (item,))
        timeout = {"timeout": options["timeout"]} if "timeout" in options \
            else {}
        with self.atomic_batch() as batch:
            for i, item in enumerate(items[:-1]):
                batch.add(*item, **(options if i == 0 else {}))
            return batch.commit(*items[-1],
                                **(options if len(items) == 1 else timeout))

    def counter_add(self, subject: str, delta: int, **options: Any) -> int:
        """Add delta (an int of any size, negative to subtract) to the
        counter on subject, in a stream with allow_msg_counter (nats-server
        2.12), and return its new total. options: publish's timeout,
        retry_attempts, retry_wait."""
        text = _delta_text(delta)
        opts = _js._call_opts("publish", options, "counter_add")
        p = ffi.new("char **")
        _js._js_check(self._call(lib.jw_js_counter_add, _subject(subject),
                                 text, opts, p))
        return int(_js._text(p))

    def counter_get(self, stream: str, subject: str) -> CounterEntry:
        """The counter on subject in stream; KeyNotFoundError when the
        subject has no message."""
        p = ffi.new("char **")
        _js._js_check(self._call(lib.jw_js_counter_get,
                                 _js._name(stream, "stream"),
                                 _subject(subject), p))
        return _entry(p)

    def counter_get_many(self, stream: str,
                         subjects: Union[str, List[str]]
                         ) -> List[CounterEntry]:
        """The counters of every subject matching subjects (a subject or a
        list, wildcards allowed), in stream order, read at once through a
        direct get batch (the stream needs allow_direct; nats-server
        2.11)."""
        if not isinstance(subjects, (str, list, tuple)):
            raise TypeError("subjects must be a str or a list of str, not %s"
                            % type(subjects).__name__)
        ms = _ms(self.timeout)
        entries: List[CounterEntry] = []
        with self.direct_get_batch(stream, subjects, self.timeout) as batch:
            h = batch._h()
            msg_p = ffi.new("jw_msg **")
            text_p = ffi.new("char **")
            while True:
                _js._js_check(lib.jw_direct_batch_next(h, ms, msg_p))
                if msg_p[0] == ffi.NULL:
                    return entries
                try:
                    _js._js_check(lib.jw_js_counter_entry(msg_p[0], text_p))
                finally:
                    lib.jw_msg_free(msg_p[0])
                entries.append(_entry(text_p))
