#!/usr/bin/env bash
# Services under load (issue 20, point 7): one echo endpoint served by the
# jetwire C engine, the jetwire Python package and nats.go's micro package,
# in turn on one private nats-server, each driven by the same load client
# (bench_service load: one connection, 8 requesters). Prints the medians
# of the rate, p50 and p99, and the service process's CPU per request,
# with ratios against nats.go and Python / C; the same text goes to
# bench/results/services-latest.md.
#
# Environment (all optional):
#   ROUNDS=3  N=20000  SIZE=16  CONCURRENCY=8
#   SERVICES="c python go"
#   BUILD_DIR=<repo>/build-bench   GO=go (Go >= 1.26, as for the interop tests)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
ROUNDS=${ROUNDS:-3}
N=${N:-20000}
SIZE=${SIZE:-16}
CONCURRENCY=${CONCURRENCY:-8}
SERVICES=${SERVICES:-c python go}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
OUT=$ROOT/bench/results/services-latest.md

. "$ROOT/bench/lib.sh"
bench_init

# --- build -----------------------------------------------------------------
bench_build bench_service
BIN=$BUILD_DIR/bench/bench_service
if [[ " $SERVICES " == *" go "* ]]; then
    (cd "$ROOT/tests/interop/go" &&
        quiet "$GO" build -buildvcs=false -o "$work/gointerop" .)
fi

bench_start_server

# --- one run: start the service, load it, stop it --------------------------
# The service's user+sys CPU in clock ticks, from /proc.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_one() { # service
    local subject cmd
    case $1 in
    c) subject=bench.c; cmd=("$BIN" serve "$URL" "$subject") ;;
    python)
        subject=bench.py
        cmd=("$PYTHON" "$ROOT/bench/python/bench_service_py.py" "$URL" "$subject")
        ;;
    go)
        subject=go.echo
        cmd=("$work/gointerop" -server "$URL" micro-serve -name bench)
        ;;
    *) echo "unknown service $1" >&2; exit 2 ;;
    esac
    # The service serves until its stdin closes: a FIFO held open here.
    rm -f "$work/stdin"
    mkfifo "$work/stdin"
    "${cmd[@]}" <"$work/stdin" >"$work/service.out" 2>"$work/service.err" &
    local pid=$!
    exec 4>"$work/stdin"
    for _ in $(seq 200); do
        grep -q ready "$work/service.out" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    local before after out
    before=$(cpu_ticks "$pid")
    if out=$("$BIN" load "$URL" "$subject" "$N" "$SIZE" "$CONCURRENCY" "$1" \
        2>"$work/stderr"); then
        after=$(cpu_ticks "$pid")
        echo "$out service_cpu_ticks=$((after - before)) ticks_per_s=$(getconf CLK_TCK)" >>"$raw"
        printf '  %-8s %s %s\n' "$1" "$(grep -o 'rate=[0-9]*' <<<"$out")" \
            "$(grep -o 'p50_us=[0-9.]*' <<<"$out")" >&2
    else
        failures=$((failures + 1))
        echo "FAILED: $1" >&2
        cat "$work/stderr" "$work/service.err" >&2
    fi
    exec 4>&-
    wait "$pid" || true
}

read -r -a services <<<"$SERVICES"
for round in $(seq "$ROUNDS"); do
    k=$(((round - 1) % ${#services[@]}))
    for s in "${services[@]:k}" "${services[@]:0:k}"; do
        run_one "$s"
    done
done

# --- report ----------------------------------------------------------------
"$PYTHON" - "$raw" "$work/table.md" <<'EOF'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = dict(re.findall(r"(\w+)=(\S+)", line))
    cpu_us = (float(f["service_cpu_ticks"]) / float(f["ticks_per_s"])
              / float(f["n"]) * 1e6)
    rows.setdefault(f["lib"], []).append(
        (float(f["rate"]), float(f["p50_us"]), float(f["p99_us"]), cpu_us))
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
def ratio(a, b, i):
    return "-" if a not in med or b not in med else "**%.2f**" % (med[a][i] / med[b][i])
with open(sys.argv[2], "w") as out:
    out.write("| service | req/s | p50 us | p99 us | service CPU us/req "
              "| rate / nats.go | rate / C |\n|---|---:|---:|---:|---:|---:|---:|\n")
    for k in ("c", "python", "go"):
        if k in med:
            r, p50, p99, cpu = med[k]
            out.write(f"| {k} | {r:.0f} | {p50:.1f} | {p99:.1f} | {cpu:.1f} "
                      f"| {ratio(k, 'go', 0)} | {ratio(k, 'c', 0)} |\n")
EOF
{
    echo "# Services: one echo endpoint, one client with $CONCURRENCY requesters"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_commit), $(nproc) CPUs, $server_version on 127.0.0.1."
    echo "Median of $ROUNDS rounds, $N requests of $SIZE B each (after 200 unmeasured);"
    echo "the load client is bench_service in C for every service. Targets (issue 20):"
    echo "the C service's rate >= nats.go's, Python >= 0.5x C."
    echo
    cat "$work/table.md"
} >"$work/report.md"
bench_finish "$work/report.md" "$OUT"
