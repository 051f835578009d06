"""Soak of every delivery path of every language at mixed rates.

For each (language, path) that the drivers report with `burst_paths`
(tests/drivers/PROTOCOL.md, "Delivery paths under load"), the soak starts
a fresh nats-server, a receiver driver running `burst_receive` on that path
and the C driver as publisher. The publisher follows a seeded random schedule for
SOAK_SECONDS: bursts of 1 to 50,000 messages of 16 B to 64 KiB at full
speed (`publish_many`, the sequence continued with `start`), slow trickles
of single publishes, and idle gaps. The receiver must account for every
message, in order: received + dropped == published, and drops only with
slow consumer events. Not part of `make test`; run with `make soak`.

Environment:
  SOAK_SECONDS  seconds of schedule per path (default 120)
  SOAK_PATHS    a subset, e.g. "python:aio_callback,c:handler"
  SOAK_SEED     the seed of the schedules (default: random, printed)
  JW_BUILD_DIR  the CMake build directory with the C driver (the Makefile
                sets it)

Exit status 0 when every path passed, 1 otherwise, 2 for bad arguments.
"""
from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import (DriverError, DriverFailure, DriverPool,  # noqa: E402
                     ServerError, ServerFactory, available_languages)

SUBJECT, READY = "soak.data", "soak.ready"
SIZES = (16, 128, 1024, 16 * 1024, 64 * 1024)
MAX_BURST = 50_000
MAX_GAP = 3.0            # seconds of idle time after a step, at most
TRICKLE_CHANCE = 0.15    # a step is a trickle instead of a burst
TRICKLE_SECONDS = (1.0, 5.0)
TRICKLE_INTERVAL = (0.010, 0.050)
DRAIN = 15               # receiver timeout beyond the schedule
COUNT = 2 ** 62          # never reached: the receiver ends on its timeout


class Usage(Exception):
    """A bad setting in the environment (exit status 2)."""


@dataclass
class Outcome:
    lang: str
    path: str
    bursts: int = 0
    trickles: int = 0
    published: int = 0
    published_bytes: int = 0
    result: dict = field(default_factory=dict)
    rss_kib: int | None = None
    publishing: float = 0.0  # seconds from the first step to the last flush
    seconds: float = 0.0     # the whole path, server start to result
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.lang}:{self.path}"

    @property
    def passed(self) -> bool:
        return not self.problems


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Usage(f"{name} must be an integer, not {raw!r}") from None
    if value < 0:
        raise Usage(f"{name} must not be negative")
    return value


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM of a live process, in KiB (None when unreadable)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def all_paths(work: Path) -> list[tuple[str, str]]:
    """(language, path) for every path of every available driver, as the
    drivers themselves list them."""
    pool = DriverPool(work / "paths")
    cases = []
    try:
        for lang in available_languages():
            d = pool.start(lang)
            cases += [(lang, p) for p in d.call("burst_paths")["paths"]]
    finally:
        problems = pool.close_all()
    if problems:
        raise DriverFailure("\n".join(problems))
    return cases


def select(cases: list[tuple[str, str]], wanted: str) -> list[tuple[str, str]]:
    if not wanted.strip():
        return cases
    chosen = []
    for item in wanted.split(","):
        item = item.strip()
        if not item:
            continue
        lang, _, path = item.partition(":")
        if (lang, path) not in cases:
            known = ", ".join(f"{a}:{b}" for a, b in cases)
            raise Usage(f"SOAK_PATHS names {item!r}, not one of: {known}")
        if (lang, path) not in chosen:
            chosen.append((lang, path))
    return chosen


def trickle(peer, conn, rng: random.Random, out: Outcome,
            end: float) -> None:
    """Single publishes 10-50 ms apart for a few seconds (not beyond
    `end`), each payload the next sequence number padded to one size."""
    size = rng.choice(SIZES)
    interval = rng.uniform(*TRICKLE_INTERVAL)
    stop = min(time.monotonic() + rng.uniform(*TRICKLE_SECONDS), end)
    pad = bytes(size - 8)
    out.trickles += 1
    while True:
        peer.publish(conn, SUBJECT,
                     data=out.published.to_bytes(8, "big") + pad)
        out.published += 1
        out.published_bytes += size
        if time.monotonic() + interval >= stop:
            break
        time.sleep(interval)


def burst(peer, conn, rng: random.Random, out: Outcome) -> None:
    count = rng.randint(1, MAX_BURST)
    size = rng.choice(SIZES)
    peer.publish_many(conn, SUBJECT, count, size, start=out.published,
                      wait=300.0)
    out.published += count
    out.published_bytes += count * size
    out.bursts += 1


def soak_path(lang: str, path: str, seconds: int, seed: int,
              work: Path) -> Outcome:
    out = Outcome(lang, path)
    rng = random.Random(f"{seed}/{lang}/{path}")
    factory = ServerFactory(work / "servers")
    pool = DriverPool(work / "drivers")
    began = time.monotonic()
    clean = False
    pending = None
    try:
        server = factory.start()
        peer = pool.start("c", label="c-peer")
        conn = peer.connect(server.url)
        ready = peer.subscribe(conn, READY)
        peer.flush(conn)
        receiver = pool.start(lang, label=f"{lang}-{path}")
        pending = receiver.send(
            "burst_receive", url=server.url, subject=SUBJECT, path=path,
            ready=READY, count=COUNT, timeout=seconds + DRAIN,
            _wait=seconds + DRAIN + 300)
        peer.next_msg(ready, timeout=30)

        first = time.monotonic()
        end = first + seconds
        while time.monotonic() < end:
            if rng.random() < TRICKLE_CHANCE:
                trickle(peer, conn, rng, out, end)
            else:
                burst(peer, conn, rng, out)
            peer.flush(conn, timeout=120)
            gap = rng.uniform(0.0, MAX_GAP)
            time.sleep(max(0.0, min(gap, end - time.monotonic())))
        peer.flush(conn, timeout=120)
        out.publishing = time.monotonic() - first
        if time.monotonic() > end + DRAIN / 2:
            out.notes.append(
                f"the last step ended {time.monotonic() - end:.1f} s after "
                f"the schedule: the receiver had little time to drain")

        r = pending.result()
        out.rss_kib = peak_rss_kib(receiver.proc.pid)
        out.result = r
        out.problems += check(r, out.published)
        clean = True
    except (DriverError, DriverFailure, ServerError, OSError) as e:
        out.problems.append(f"{type(e).__name__}: {e}")
        out.problems += receiver_answer(pending)
    except Exception as e:  # noqa: BLE001 - reported, the soak goes on
        out.problems.append("".join(traceback.format_exception(e)).strip())
        out.problems += receiver_answer(pending)
    finally:
        out.seconds = time.monotonic() - began
        if clean:
            trouble = pool.close_all()
            out.problems += trouble
        else:
            for d in pool.drivers:
                d.kill()
        for srv in factory.servers:
            slow = [ln for ln in srv.log_tail(10 ** 6).splitlines()
                    if "Slow Consumer" in ln]
            if slow:
                out.notes.append(f"server: {len(slow)} slow consumer "
                                 f"lines, first: {slow[0]}")
        if out.problems:
            for d in pool.drivers:
                tail = d.stderr_tail(2000).strip()
                if tail:
                    out.problems.append(f"--- {d.label} stderr ---\n{tail}")
            for srv in factory.servers:
                out.problems.append(f"--- server log tail ---\n"
                                    f"{srv.log_tail(20)}")
        else:
            for d in pool.drivers:
                tail = d.stderr_tail(1000).strip()
                if tail:
                    out.notes.append(f"{d.label} stderr: {tail}")
        factory.stop_all()
    return out


def receiver_answer(pending) -> list[str]:
    """What the receiver answered, if it did, once something else failed
    (it may have failed first, e.g. before it sent `ready`)."""
    if pending is None or pending.driver._dead:
        return []
    try:
        return [f"receiver: {pending.response(wait=1.0)}"]
    except DriverFailure:
        return ["receiver: no answer yet"]


def check(r: dict, published: int) -> list[str]:
    problems = []
    if r.get("reason") != "TIMEOUT":
        problems.append(f"reason {r.get('reason')!r}, expected 'TIMEOUT' "
                        f"(the receiver waits until its timeout)")
    if r["received"] + r["dropped"] != published:
        problems.append(f"received {r['received']} + dropped {r['dropped']}"
                        f" != published {published} (difference "
                        f"{published - r['received'] - r['dropped']})")
    if r["in_order"] is not True:
        problems.append("messages out of order")
    if (r["slow_events"] > 0) != (r["dropped"] > 0):
        problems.append(f"{r['dropped']} dropped but {r['slow_events']} "
                        f"slow consumer events")
    return problems


def line(o: Outcome) -> str:
    r = o.result
    rss = f"{o.rss_kib / 1024:.1f} MiB" if o.rss_kib is not None else "?"
    return (f"{o.name:28} {'PASS' if o.passed else 'FAIL'}  "
            f"bursts={o.bursts} trickles={o.trickles} "
            f"published={o.published} ({o.published_bytes / 1e6:.0f} MB) "
            f"received={r.get('received', '?')} "
            f"dropped={r.get('dropped', '?')} "
            f"slow_events={r.get('slow_events', '?')} "
            f"in_order={r.get('in_order', '?')} "
            f"reason={r.get('reason', '?')} peak_rss={rss} "
            f"publishing={o.publishing:.1f} s time={o.seconds:.0f} s")


def table(outcomes: list[Outcome]) -> str:
    rows = ["| language | path | bursts | trickles | published | MB | "
            "received | dropped | slow events | in order | peak RSS (MiB) | "
            "publishing (s) | time (s) | result |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|---|"]
    for o in outcomes:
        r = o.result
        rss = f"{o.rss_kib / 1024:.1f}" if o.rss_kib is not None else "?"
        if r:
            in_order = "yes" if r["in_order"] is True else "no"
            got = (f"{r['received']:,} | {r['dropped']:,} | "
                   f"{r['slow_events']} | {in_order}")
        else:
            got = "? | ? | ? | ?"
        rows.append(f"| {o.lang} | {o.path} | {o.bursts} | {o.trickles} | "
                    f"{o.published:,} | {o.published_bytes / 1e6:,.0f} | "
                    f"{got} | {rss} | {o.publishing:.1f} | "
                    f"{o.seconds:.0f} | "
                    f"{'pass' if o.passed else 'FAIL'} |")
    return "\n".join(rows)


def main() -> int:
    try:
        seconds = env_int("SOAK_SECONDS", 120)
        seed = env_int("SOAK_SEED",
                       random.SystemRandom().randrange(2 ** 32))
    except Usage as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="jw-soak-"))
    try:
        cases = select(all_paths(work), os.environ.get("SOAK_PATHS", ""))
    except Usage as e:
        print(f"soak: {e}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
        return 2
    print(f"soak: {len(cases)} paths x {seconds} s, seed {seed} "
          f"(SOAK_SEED={seed} repeats the schedules), logs in {work}",
          flush=True)
    outcomes = []
    started = time.monotonic()
    try:
        for lang, path in cases:
            o = soak_path(lang, path, seconds, seed,
                          work / f"{lang}-{path}")
            outcomes.append(o)
            print(line(o), flush=True)
            for p in o.notes + o.problems:
                print("    " + p.replace("\n", "\n    "), flush=True)
    except KeyboardInterrupt:
        print("soak: interrupted", flush=True)
        return 130
    failed = [o for o in outcomes if not o.passed]
    print()
    print(table(outcomes))
    print()
    print(f"soak: {len(outcomes) - len(failed)} of {len(outcomes)} paths "
          f"passed in {time.monotonic() - started:.0f} s, seed {seed}")
    if failed:
        print(f"soak: logs kept in {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
