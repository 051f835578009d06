"""Turn the RESULT lines of a run_python.sh run into the Markdown report:
medians over rounds, jetwire-py / nats-py and jetwire-py / C ratios, CPU
per million, request/reply latency, startup, and the issue's targets as
met / not met (reported, never asserted).

    report.py RAW_RESULTS [--rounds N] [--header TEXT ...]

Reads the RESULT lines (any other line is ignored), prints Markdown.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

# (lib, variant) of each column, in order.
SYNC = ("jetwire-py", "sync")
AIO = ("jetwire-py", "aio")
NATSPY = ("nats-py", "default")
C = ("jetwire", "default")
NAMES = {SYNC: "jetwire-py sync", AIO: "jetwire-py aio", NATSPY: "nats-py",
         C: "jetwire C", ("python", "bare"): "bare python"}

# The targets from the issue: (label, mode, metric, bound, better).
TARGETS = [
    ("publish >= 4x nats-py", "pub", "rate", 4.0, "high"),
    ("pub->sub >= 6x nats-py", "pubsub", "rate", 6.0, "high"),
    ("request/reply p50 <= 0.6x nats-py", "reqrep", "p50_us", 0.6, "low"),
]
STARTUP_TARGET_MS = 50.0
# JetStream (issue 6) and KV (issue 7): Python at least this share of the
# C engine's rate, per mode.
JS_MODES = ("jspub", "jsasync", "jsfetch", "jsconsume")
JS_TARGET = 0.4
KV_MODES = ("kvput", "kvget", "kvwatch")
KV_TARGET = 0.5

Key = Tuple[str, str, str, int]  # lib, variant, mode, size


def parse(path: str) -> Dict[Key, List[Dict[str, float]]]:
    runs: Dict[Key, List[Dict[str, float]]] = defaultdict(list)
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
            key = (fields.pop("lib"), fields.pop("variant"),
                   fields.pop("mode"), int(fields.pop("size")))
            runs[key].append({k: float(v) for k, v in fields.items()})
    return runs


class Medians:
    def __init__(self, runs: Dict[Key, List[Dict[str, float]]]) -> None:
        self.runs = runs

    def get(self, who: Tuple[str, str], mode: str, size: int,
            metric: str) -> Optional[float]:
        vals = [r[metric] for r in self.runs.get((who[0], who[1], mode, size),
                                                 []) if metric in r]
        return statistics.median(vals) if vals else None


def num(x: Optional[float], fmt: str) -> str:
    return "-" if x is None else fmt % x


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None or b == 0 else a / b


def bold_ratio(a: Optional[float], b: Optional[float]) -> str:
    r = ratio(a, b)
    return "-" if r is None else "**%.2f**" % r


def main() -> int:
    p = argparse.ArgumentParser(prog="report.py")
    p.add_argument("raw")
    p.add_argument("--header", action="append", default=[])
    a = p.parse_args()
    runs = parse(a.raw)
    m = Medians(runs)
    modes = ("pub", "pubsub", "reqrep")
    sizes = sorted({k[3] for k in runs if k[2] in modes})
    out: List[str] = []
    w = out.append

    for h in a.header:
        w(h)
    w("")
    w("Ratios: rate above 1 is better; CPU and p50 below 1 are better. "
      "Rates are messages/s (reqrep: requests/s).")
    w("")
    w("| mode | size B | jetwire-py sync | jetwire-py aio | nats-py | "
      "jetwire C | sync / nats-py | aio / nats-py | sync / C | aio / C |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode in modes:
        for size in sizes:
            r = {who: m.get(who, mode, size, "rate")
                 for who in (SYNC, AIO, NATSPY, C)}
            if all(v is None for v in r.values()):
                continue
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                mode, size, *(num(r[x], "%.0f") for x in (SYNC, AIO, NATSPY,
                                                          C)),
                bold_ratio(r[SYNC], r[NATSPY]), bold_ratio(r[AIO], r[NATSPY]),
                bold_ratio(r[SYNC], r[C]), bold_ratio(r[AIO], r[C])))
    w("")
    w("Client CPU (user+sys of the whole process, every thread) in seconds "
      "per million messages (reqrep: requests):")
    w("")
    w("| mode | size B | jetwire-py sync | jetwire-py aio | nats-py | "
      "jetwire C | sync / nats-py | aio / nats-py | sync / C | aio / C |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode in modes:
        for size in sizes:
            cpu = {who: m.get(who, mode, size, "cpu_s_per_m")
                   for who in (SYNC, AIO, NATSPY, C)}
            if all(v is None for v in cpu.values()):
                continue
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                mode, size, *(num(cpu[x], "%.3f") for x in (SYNC, AIO,
                                                             NATSPY, C)),
                bold_ratio(cpu[SYNC], cpu[NATSPY]),
                bold_ratio(cpu[AIO], cpu[NATSPY]),
                bold_ratio(cpu[SYNC], cpu[C]), bold_ratio(cpu[AIO], cpu[C])))
    w("")
    w("Request/reply latency, microseconds (median over rounds of each "
      "round's percentile):")
    w("")
    w("| client | size B | p50 | p99 | mean | req/s | p50 / nats-py | "
      "p99 / nats-py |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        for who in (SYNC, AIO, NATSPY, C):
            p50 = m.get(who, "reqrep", size, "p50_us")
            if p50 is None:
                continue
            p99 = m.get(who, "reqrep", size, "p99_us")
            w("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                NAMES[who], size, num(p50, "%.1f"), num(p99, "%.1f"),
                num(m.get(who, "reqrep", size, "mean_us"), "%.1f"),
                num(m.get(who, "reqrep", size, "rate"), "%.0f"),
                bold_ratio(p50, m.get(NATSPY, "reqrep", size, "p50_us")),
                bold_ratio(p99, m.get(NATSPY, "reqrep", size, "p99_us"))))

    startup = [(lib, var) for (lib, var, mode, _s) in runs
               if mode == "startup"]
    if startup:
        w("")
        w("Startup: fresh interpreter to `import; connect; publish one; "
          "flush` done, milliseconds (median of the runs):")
        w("")
        w("| client | median ms | min ms | max ms | runs | / nats-py |")
        w("|---|---:|---:|---:|---:|---:|")
        nats_ms = m.get(NATSPY, "startup", 1, "startup_ms")
        for who in (("python", "bare"), SYNC, AIO, NATSPY):
            ms = m.get(who, "startup", 1, "startup_ms")
            if ms is None:
                continue
            w("| %s | %.1f | %s | %s | %s | %s |" % (
                NAMES[who], ms, num(m.get(who, "startup", 1, "min_ms"),
                                    "%.1f"),
                num(m.get(who, "startup", 1, "max_ms"), "%.1f"),
                num(m.get(who, "startup", 1, "n"), "%.0f"),
                bold_ratio(ms, nats_ms) if who != ("python", "bare")
                else "-"))

    w("")
    w("Targets from the issue (reported, not asserted; each size must "
      "meet it):")
    w("")
    w("| target | size B | jetwire-py sync | jetwire-py aio |")
    w("|---|---:|---|---|")
    for label, mode, metric, bound, better in TARGETS:
        for size in sizes:
            cells = []
            for who in (SYNC, AIO):
                r = ratio(m.get(who, mode, size, metric),
                          m.get(NATSPY, mode, size, metric))
                if r is None:
                    cells.append("-")
                    continue
                ok = r >= bound if better == "high" else r <= bound
                cells.append("%.2fx %s" % (r, "met" if ok else "NOT met"))
            w("| %s | %d | %s | %s |" % (label, size, *cells))
    if startup:
        cells = []
        for who in (SYNC, AIO):
            ms = m.get(who, "startup", 1, "startup_ms")
            cells.append("-" if ms is None else "%.1f ms %s" % (
                ms, "met" if ms < STARTUP_TARGET_MS else "NOT met"))
        w("| startup < %.0f ms | - | %s | %s |" % (STARTUP_TARGET_MS,
                                                  *cells))
    for modes, bound, what in ((JS_MODES, JS_TARGET, "JetStream"),
                               (KV_MODES, KV_TARGET, "Key-Value")):
        rows = [(mode, size) for mode in modes
                for size in sorted({k[3] for k in runs if k[2] == mode})]
        if not rows:
            continue
        w("")
        w("%s, Python beside the C engine (rate: messages/s; CPU: s per "
          "million; target: Python >= %.1fx C, reported, not asserted):"
          % (what, bound))
        w("")
        w("| mode | size B | sync | aio | C | sync / C | aio / C | "
          "sync CPU | aio CPU | C CPU | target |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for mode, size in rows:
            r = {who: m.get(who, mode, size, "rate") for who in (SYNC, AIO,
                                                                 C)}
            cpu = {who: m.get(who, mode, size, "cpu_s_per_m")
                   for who in (SYNC, AIO, C)}
            verdict = []
            for who, name in ((SYNC, "sync"), (AIO, "aio")):
                x = ratio(r[who], r[C])
                if x is not None:
                    verdict.append("%s %s" % (name, "met" if x >= bound
                                              else "NOT met"))
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                mode, size, *(num(r[x], "%.0f") for x in (SYNC, AIO, C)),
                bold_ratio(r[SYNC], r[C]), bold_ratio(r[AIO], r[C]),
                *(num(cpu[x], "%.3f") for x in (SYNC, AIO, C)),
                ", ".join(verdict) or "-"))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
