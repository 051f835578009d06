#!/usr/bin/env bash
# JetStream publishing with batches (issue 21, point 7), on one private
# nats-server 2.15.3 (memory streams, 128 B by default), every client in
# the same run, rotated each round:
#
#   c-fast       jetwire C, fast-ingest batch (jw_js_fast_*), default flow
#                (500 for these small messages)
#   c-fast-100   the same with flow 100 (orbit.go's default)
#   c-async      jetwire C, jw_js_publish_async
#   natsc        nats.c (Debian libnats-dev), js_PublishAsync
#   natsgo       nats.go v1.56.0, PublishAsync (it has no batch publish)
#   python-fast  the jetwire Python package, js.publish_batch (when built)
#   lua-fast     the jetwire Lua module, js:publish_batch (when built)
#   c-atomic     atomic batches of 100 and of 1,000: rate and commit p50/p99
#
# Prints medians: messages per second, client CPU and server CPU (us per
# message), the ratio to the faster of nats.c and nats.go, and Python and
# Lua against the C fast path; the same text goes to
# bench/results/js-batch-latest.md.
#
# Environment (all optional):
#   ROUNDS=3  N=1000000  N_ATOMIC=100000  SIZE=128
#   CLIENTS="c-fast c-fast-100 c-async natsc natsgo python-fast lua-fast"
#   ATOMIC="100 1000"  (empty: no atomic runs)
#   BUILD_DIR=<repo>/build-bench  GO=go  PYTHON=<repo>/.venv/bin/python
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
ROUNDS=${ROUNDS:-3}
N=${N:-1000000}
N_ATOMIC=${N_ATOMIC:-100000}
SIZE=${SIZE:-128}
CLIENTS=${CLIENTS:-c-fast c-fast-100 c-async natsc natsgo python-fast lua-fast}
ATOMIC=${ATOMIC-100 1000}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
OUT=$ROOT/bench/results/js-batch-latest.md
# Fast-ingest batches need nats-server 2.14+: the one set-up builds.
export PATH="$ROOT/.tools/bin:$PATH"

. "$ROOT/bench/lib.sh"
bench_init

# --- build -----------------------------------------------------------------
bench_build bench_js_fast bench_natsc jetwire_lua
FAST=$BUILD_DIR/bench/bench_js_fast
NATSC=$BUILD_DIR/bench/bench_natsc
if [[ " $CLIENTS " == *" natsgo "* ]]; then
    (cd "$ROOT/tests/interop/go" &&
        quiet "$GO" build -buildvcs=false -o "$work/gointerop" .)
fi
LUA_CPATH_DIR=$(dirname "$(find "$BUILD_DIR" -name 'jetwire.so' -path '*lua*' | head -1)")

bench_start_server

# --- one run -----------------------------------------------------------------
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_one() { # client [batch]
    local cmd
    case $1 in
    c-fast) cmd=("$FAST" --url "$URL" --mode fast --n "$N" --size "$SIZE") ;;
    c-fast-100) cmd=("$FAST" --url "$URL" --mode fast --flow 100 --n "$N" --size "$SIZE") ;;
    c-async) cmd=("$FAST" --url "$URL" --mode async --n "$N" --size "$SIZE") ;;
    natsc) cmd=("$NATSC" --url "$URL" --mode jsasync --n "$N" --size "$SIZE") ;;
    natsgo) cmd=("$work/gointerop" -server "$URL" -timeout 300s bench-js-async -n "$N" -size "$SIZE") ;;
    python-fast) cmd=("$PYTHON" "$ROOT/bench/python/bench_js_batch_py.py" "$URL" "$N" "$SIZE") ;;
    lua-fast) cmd=(env "LUA_CPATH=$LUA_CPATH_DIR/?.so;;" lua5.4 "$ROOT/bench/lua/bench_js_batch.lua" "$URL" "$N" "$SIZE") ;;
    c-atomic) cmd=("$FAST" --url "$URL" --mode atomic --batch "$2" --n "$N_ATOMIC" --size "$SIZE") ;;
    *) echo "unknown client $1" >&2; exit 2 ;;
    esac
    local before after out
    before=$(cpu_ticks "$server_pid")
    if out=$("${cmd[@]}" 2>"$work/stderr"); then
        after=$(cpu_ticks "$server_pid")
        out=$(grep '^RESULT ' <<<"$out")
        echo "$out client=$1 server_cpu_ticks=$((after - before)) ticks_per_s=$(getconf CLK_TCK)" >>"$raw"
        printf '  %-12s %s %s\n' "$1${2:+ $2}" "$(grep -o 'rate=[0-9]*' <<<"$out")" \
            "$(grep -o 'p99_us=[0-9.]*' <<<"$out" || true)" >&2
    else
        failures=$((failures + 1))
        echo "FAILED: $1 $*" >&2
        cat "$work/stderr" >&2
    fi
}

read -r -a clients <<<"$CLIENTS"
for round in $(seq "$ROUNDS"); do
    k=$(((round - 1) % ${#clients[@]}))
    for c in "${clients[@]:k}" "${clients[@]:0:k}"; do
        case $c in # the bindings' programs, when they exist
        python-fast) [ -f "$ROOT/bench/python/bench_js_batch_py.py" ] || continue ;;
        lua-fast) [ -f "$ROOT/bench/lua/bench_js_batch.lua" ] || continue ;;
        esac
        run_one "$c"
    done
    for b in $ATOMIC; do run_one c-atomic "$b"; done
done

# --- report ----------------------------------------------------------------
python3 - "$raw" "$work/table.md" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = dict(re.findall(r"(\w+)=(\S+)", line))
    key = f["client"] + ("" if f["client"] != "c-atomic" else " " + f["variant"][5:])
    n = float(f["n"])
    server_us = float(f["server_cpu_ticks"]) / float(f["ticks_per_s"]) / n * 1e6
    runs.setdefault(key, []).append((float(f["rate"]),
                                     float(f["cpu_s_per_m"]),  # = us/msg
                                     server_us,
                                     float(f.get("p50_us", "nan")),
                                     float(f.get("p99_us", "nan"))))
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in runs.items()}
peer = max((med[p][0] for p in ("natsc", "natsgo") if p in med), default=None)
c_fast = med.get("c-fast", [None])[0]
order = ["c-fast", "c-fast-100", "c-async", "natsc", "natsgo",
         "python-fast", "lua-fast"]
with open(sys.argv[2], "w") as out:
    out.write("| client | msg/s | client CPU us/msg | server CPU us/msg "
              "| rate / faster peer | rate / C fast |\n"
              "|---|---:|---:|---:|---:|---:|\n")
    for k in order:
        if k not in med:
            continue
        r, ccpu, scpu = med[k][:3]
        vs_peer = "**%.2f**" % (r / peer) if peer else "-"
        vs_c = "**%.2f**" % (r / c_fast) if c_fast and k.endswith("-fast") \
            and not k.startswith("c-") else "-"
        out.write(f"| {k} | {r:.0f} | {ccpu:.2f} | {scpu:.2f} | {vs_peer} "
                  f"| {vs_c} |\n")
    atomic = sorted((k for k in med if k.startswith("c-atomic")),
                    key=lambda k: int(k.split()[1]))
    if atomic:
        out.write("\nAtomic batches (jetwire C), commit latency = the commit "
                  "call (last message and PubAck):\n\n"
                  "| batch | msg/s | commit p50 us | commit p99 us "
                  "| client CPU us/msg | server CPU us/msg |\n"
                  "|---:|---:|---:|---:|---:|---:|\n")
        for k in atomic:
            r, ccpu, scpu, p50, p99 = med[k]
            out.write(f"| {k.split()[1]} | {r:.0f} | {p50:.0f} | {p99:.0f} "
                      f"| {ccpu:.2f} | {scpu:.2f} |\n")
PY
{
    echo "# JetStream publishing with batches"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_commit), $(nproc) CPUs, $server_version on 127.0.0.1."
    echo "Median of $ROUNDS rounds; $N messages of $SIZE B per run into a fresh memory"
    echo "stream, the clock stopped when the last ack is in; atomic: $N_ATOMIC messages"
    echo "in batches. CPU is user+sys per message: the client process, and the"
    echo "server's over the same run. Targets (issue 21): C fast >= 2x the faster"
    echo "peer; Python and Lua >= 0.5x C fast."
    echo
    cat "$work/table.md"
} >"$work/report.md"
bench_finish "$work/report.md" "$OUT"
