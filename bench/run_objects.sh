#!/usr/bin/env bash
# The object store (issue 22, point 7): one object of 256 MiB put and read
# back, into a fresh file-backed bucket of one private nats-server 2.15.3,
# by the C engine (bench_objects: a streamed put, a reader into 64 KiB,
# every byte checked) and by nats.go v1.56.0 (tests/interop/go, bench-obj:
# Put from a reader, Get copied out and checked), in the same run, the
# order rotated each round. Prints the medians in MB/s and client CPU
# seconds, with C / nats.go; the same text goes to
# bench/results/objects-latest.md.
#
# Environment (all optional):
#   ROUNDS=3  MIB=256  CLIENTS="c go"
#   BUILD_DIR=<repo>/build-bench  GO=go
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
ROUNDS=${ROUNDS:-3}
MIB=${MIB:-256}
CLIENTS=${CLIENTS:-c go}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
OUT=$ROOT/bench/results/objects-latest.md
export PATH="$ROOT/.tools/bin:$PATH"

. "$ROOT/bench/lib.sh"
bench_init

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    quiet cmake -S "$ROOT" -B "$BUILD_DIR" -DJW_BUILD_BENCH=ON \
        -DCMAKE_BUILD_TYPE=Release -DJW_BUILD_TESTS=OFF \
        -DJW_BUILD_EXAMPLES=OFF
fi
quiet cmake --build "$BUILD_DIR" --target bench_objects -j "$(nproc)"
(cd "$ROOT/tests/interop/go" &&
    quiet "$GO" build -buildvcs=false -o "$work/gointerop" .)

bench_start_server

run_one() { # client
    local cmd out
    case $1 in
    c) cmd=("$BUILD_DIR/bench/bench_objects" --url "$URL" --mib "$MIB") ;;
    go) cmd=("$work/gointerop" -server "$URL" -timeout 600s bench-obj -mib "$MIB") ;;
    *) echo "unknown client $1" >&2; exit 2 ;;
    esac
    if out=$("${cmd[@]}" 2>"$work/stderr"); then
        grep '^RESULT ' <<<"$out" | sed "s/\$/ client=$1/" >>"$raw"
        printf '  %-4s %s\n' "$1" "$(grep -o 'mode=[a-z]* .*mb_per_s=[0-9.]*' <<<"$out" |
            sed 's/ size.*mb_per_s=/ /' | tr '\n' ' ')" >&2
    else
        failures=$((failures + 1))
        echo "FAILED: $1" >&2
        cat "$work/stderr" >&2
    fi
}

read -r -a clients <<<"$CLIENTS"
for round in $(seq "$ROUNDS"); do
    k=$(((round - 1) % ${#clients[@]}))
    for c in "${clients[@]:k}" "${clients[@]:0:k}"; do
        run_one "$c"
    done
done

python3 - "$raw" "$work/table.md" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = dict(re.findall(r"(\w+)=(\S+)", line))
    runs.setdefault((f["client"], f["mode"]), []).append(
        (float(f["mb_per_s"]), float(f["cpu_s"])))
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in runs.items()}
with open(sys.argv[2], "w") as out:
    out.write("| direction | C MB/s | nats.go MB/s | C / nats.go "
              "| C CPU s | nats.go CPU s |\n|---|---:|---:|---:|---:|---:|\n")
    for mode in ("put", "get"):
        c, g = med.get(("c", mode)), med.get(("go", mode))
        ratio = "**%.2f**" % (c[0] / g[0]) if c and g else "-"
        out.write("| %s | %s | %s | %s | %s | %s |\n" % (
            mode, "%.1f" % c[0] if c else "-", "%.1f" % g[0] if g else "-",
            ratio, "%.2f" % c[1] if c else "-", "%.2f" % g[1] if g else "-"))
PY
{
    echo "# Object store: one object of $MIB MiB"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_commit), $(nproc) CPUs, $server_version on 127.0.0.1."
    echo "Median of $ROUNDS rounds; a file-backed bucket; chunks of 128 KiB (both"
    echo "clients' default). Target (issue 22): C >= nats.go both ways."
    echo
    cat "$work/table.md"
} >"$work/report.md"
bench_finish "$work/report.md" "$OUT"
