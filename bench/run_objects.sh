#!/usr/bin/env bash
# The object store (issue 22, point 7): one object of 256 MiB put and read
# back, into a fresh file-backed bucket of one private nats-server 2.15.3,
# by the C engine (bench_objects: a streamed put, a reader into 64 KiB,
# every byte checked), by the Python package (bench/python/
# bench_objects_py.py: the same, from an iterator of pieces and readinto)
# and by nats.go v1.56.0 (tests/interop/go, bench-obj: Put from a reader,
# Get copied out and checked), in the same run, the order rotated each
# round. Prints the medians in MB/s and client CPU seconds, with C /
# nats.go and Python / C; the same text goes to
# bench/results/objects-latest.md.
#
# Environment (all optional):
#   ROUNDS=3  MIB=256  CLIENTS="c go py"
#   BUILD_DIR=<repo>/build-bench  GO=go  PYTHON=<repo>/.venv/bin/python
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
ROUNDS=${ROUNDS:-3}
MIB=${MIB:-256}
CLIENTS=${CLIENTS:-c go py}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
OUT=$ROOT/bench/results/objects-latest.md
export PATH="$ROOT/.tools/bin:$PATH"

. "$ROOT/bench/lib.sh"
bench_init

bench_build bench_objects
(cd "$ROOT/tests/interop/go" &&
    quiet "$GO" build -buildvcs=false -o "$work/gointerop" .)

bench_start_server

run_one() { # client
    local cmd out
    case $1 in
    c) cmd=("$BUILD_DIR/bench/bench_objects" --url "$URL" --mib "$MIB") ;;
    go) cmd=("$work/gointerop" -server "$URL" -timeout 600s bench-obj -mib "$MIB") ;;
    py) cmd=("$PYTHON" "$ROOT/bench/python/bench_objects_py.py" --url "$URL" --mib "$MIB") ;;
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
    out.write("| direction | C MB/s | nats.go MB/s | Python MB/s "
              "| C / nats.go | Python / C | C CPU s | nats.go CPU s "
              "| Python CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    def cell(v, fmt="%.1f"):
        return fmt % v if v is not None else "-"
    for mode in ("put", "get"):
        c, g, p = (med.get((k, mode)) or [None, None]
                   for k in ("c", "go", "py"))
        ratio = lambda a, b: "**%.2f**" % (a / b) if a and b else "-"
        out.write("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" % (
            mode, cell(c[0]), cell(g[0]), cell(p[0]), ratio(c[0], g[0]),
            ratio(p[0], c[0]), cell(c[1], "%.2f"), cell(g[1], "%.2f"),
            cell(p[1], "%.2f")))
PY
{
    echo "# Object store: one object of $MIB MiB"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_commit), $(nproc) CPUs, $server_version on 127.0.0.1."
    echo "Median of $ROUNDS rounds; a file-backed bucket; chunks of 128 KiB (both"
    echo "clients' default). Targets (issue 22): C >= nats.go both ways, Python"
    echo ">= 0.8x C."
    echo
    cat "$work/table.md"
} >"$work/report.md"
bench_finish "$work/report.md" "$OUT"
