#!/usr/bin/env bash
# Run the jetwire vs nats.c benchmarks against a private nats-server and
# print a table of medians and jetwire/nats.c ratios; the same table goes
# to bench/results/latest.md. See bench/README.md.
#
# Environment (all optional):
#   ROUNDS=3                 rounds per (mode, size); the median is reported
#   SIZES="16 128"           payload sizes in bytes
#   N_PUB=5000000 N_PUBSUB=1000000 N_REQREP=10000
#   MODES="pub pubsub reqrep jspub jsasync jsfetch jsconsume"   which modes
#   JS_SIZES="128"           payload sizes of the JetStream modes
#   N_JSPUB=20000 N_JSASYNC=500000 N_JSFETCH=500000 (also jsconsume's)
#   N_KVPUT=20000 N_KVGET=50000 N_KVWATCH=20000   (modes kvput kvget kvwatch,
#                            at the JetStream sizes)
#   BENCH_LIBS="jetwire natsc"   which programs to build and run
#   BUILD_DIR=<repo>/build-bench
#   BENCH_JETWIRE_BIN, BENCH_NATSC_BIN   use these binaries, skip the build
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-16 128}
N_PUB=${N_PUB:-5000000}
N_PUBSUB=${N_PUBSUB:-1000000}
N_REQREP=${N_REQREP:-10000}
JS_SIZES=${JS_SIZES:-128}
MODES=${MODES:-pub pubsub reqrep jspub jsasync jsfetch jsconsume kvput kvget kvwatch}
N_JSPUB=${N_JSPUB:-20000}
N_JSASYNC=${N_JSASYNC:-500000}
N_JSFETCH=${N_JSFETCH:-500000}
N_KVPUT=${N_KVPUT:-20000}
N_KVGET=${N_KVGET:-50000}
N_KVWATCH=${N_KVWATCH:-20000}
BENCH_LIBS=${BENCH_LIBS:-jetwire natsc}
OUT_DIR=$ROOT/bench/results
OUT=$OUT_DIR/latest.md

. "$ROOT/bench/lib.sh"
bench_init

has_lib() { case " $BENCH_LIBS " in *" $1 "*) return 0 ;; esac; return 1; }

# --- build -----------------------------------------------------------------
targets=()
has_lib jetwire && [ -z "${BENCH_JETWIRE_BIN:-}" ] && targets+=(bench_jetwire)
has_lib natsc && [ -z "${BENCH_NATSC_BIN:-}" ] && targets+=(bench_natsc)
if [ ${#targets[@]} -gt 0 ]; then
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD_DIR" -DJW_BUILD_BENCH=ON \
            -DCMAKE_BUILD_TYPE=Release -DJW_BUILD_TESTS=OFF \
            -DJW_BUILD_EXAMPLES=OFF >"$work/cmake.log" 2>&1 ||
            { cat "$work/cmake.log" >&2; exit 1; }
    fi
    cmake --build "$BUILD_DIR" --target "${targets[@]}" -j "$(nproc)" \
        >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
fi
JW_BIN=${BENCH_JETWIRE_BIN:-$BUILD_DIR/bench/bench_jetwire}
NC_BIN=${BENCH_NATSC_BIN:-$BUILD_DIR/bench/bench_natsc}

# --- server ----------------------------------------------------------------
bench_start_server

# --- runs ------------------------------------------------------------------
run_one() { # lib variant mode size n
    local bin=$JW_BIN
    [ "$1" = natsc ] && bin=$NC_BIN
    bench_run "$1 $2 $3 $4 B" "$bin" --url "$URL" --mode "$3" \
        --size "$4" --n "$5" --variant "$2"
}

for mode in $MODES; do
    sizes=$SIZES
    case $mode in
    pub) n=$N_PUB ;; pubsub) n=$N_PUBSUB ;; reqrep) n=$N_REQREP ;;
    jspub) n=$N_JSPUB sizes=$JS_SIZES ;;
    jsasync) n=$N_JSASYNC sizes=$JS_SIZES ;;
    jsfetch | jsconsume) n=$N_JSFETCH sizes=$JS_SIZES ;;
    kvput) n=$N_KVPUT sizes=$JS_SIZES ;;
    kvget) n=$N_KVGET sizes=$JS_SIZES ;;
    kvwatch) n=$N_KVWATCH sizes=$JS_SIZES ;;
    esac
    for size in $sizes; do
        for round in $(seq "$ROUNDS"); do
            # Alternate which library goes first so that neither always
            # meets the server warm (or cold).
            if [ $((round % 2)) -eq 1 ]; then order="jetwire natsc"
            else order="natsc jetwire"; fi
            for lib in $order; do
                has_lib "$lib" && run_one "$lib" default "$mode" "$size" "$n"
            done
            # The tuned nats.c ceiling where it matters: replies written at
            # once instead of after the flusher's ~1 ms batching wait.
            if [ "$mode" = reqrep ] && has_lib natsc; then
                run_one natsc sendasap "$mode" "$size" "$n"
            fi
        done
    done
done

# --- table -----------------------------------------------------------------
table=$work/table.md
awk -v rounds="$ROUNDS" '
function field(name,   i, kv) {
    for (i = 2; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == name) return kv[2]
    }
    return ""
}
function median(key, what,   n, i, j, t, v) {
    n = cnt[key]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) v[i] = val[key, what, i] + 0
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
            t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
        }
    if (n % 2) return v[(n + 1) / 2]
    return (v[n / 2] + v[n / 2 + 1]) / 2
}
function num(x, fmt) { return x == "" ? "-" : sprintf(fmt, x) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
$1 == "RESULT" {
    key = field("lib") SUBSEP field("variant") SUBSEP field("mode") SUBSEP field("size")
    c = ++cnt[key]
    val[key, "rate", c] = field("rate")
    val[key, "cpu", c] = field("cpu_s_per_m")
    val[key, "p50", c] = field("p50_us")
    val[key, "p99", c] = field("p99_us")
    val[key, "mean", c] = field("mean_us")
    if (!seen[field("mode"), field("size")]++) {
        rows[++nrows] = field("mode") SUBSEP field("size")
    }
}
function row(mode, size, nvariant, label,   jk, nk, jr, nr, jc, nc, jp, np) {
    jk = "jetwire" SUBSEP "default" SUBSEP mode SUBSEP size
    nk = "natsc" SUBSEP nvariant SUBSEP mode SUBSEP size
    if (cnt[jk] == 0 && cnt[nk] == 0) return
    jr = median(jk, "rate"); nr = median(nk, "rate")
    jc = median(jk, "cpu"); nc = median(nk, "cpu")
    jp = mode == "reqrep" ? median(jk, "p50") : ""
    np = mode == "reqrep" ? median(nk, "p50") : ""
    printf "| %s | %s | %s | %s | **%s** | %s | %s | **%s** | %s | %s | **%s** |\n", \
        label, size, num(jr, "%.0f"), num(nr, "%.0f"), ratio(jr, nr), \
        num(jc, "%.3f"), num(nc, "%.3f"), ratio(jc, nc), \
        num(jp, "%.1f"), num(np, "%.1f"), ratio(jp, np)
}
function lat(lib, variant, label, size,   k) {
    k = lib SUBSEP variant SUBSEP "reqrep" SUBSEP size
    if (cnt[k] == 0) return
    printf "| %s | %s | %s | %s | %s | %s |\n", label, size, \
        num(median(k, "p50"), "%.1f"), num(median(k, "p99"), "%.1f"), \
        num(median(k, "mean"), "%.1f"), num(median(k, "rate"), "%.0f")
}
END {
    print "| mode | size B | jetwire msg/s | nats.c msg/s | rate ratio | jetwire CPU s/M | nats.c CPU s/M | CPU ratio | jetwire p50 us | nats.c p50 us | p50 ratio |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (r = 1; r <= nrows; r++) {
        split(rows[r], ms, SUBSEP)
        row(ms[1], ms[2], "default", ms[1])
        if (ms[1] == "reqrep") row(ms[1], ms[2], "sendasap", "reqrep vs nats.c SendAsap")
    }
    print ""
    print "Request/reply latency (medians over rounds, microseconds):"
    print ""
    print "| client | size B | p50 | p99 | mean | req/s |"
    print "|---|---:|---:|---:|---:|---:|"
    for (r = 1; r <= nrows; r++) {
        split(rows[r], ms, SUBSEP)
        if (ms[1] != "reqrep") continue
        lat("jetwire", "default", "jetwire", ms[2])
        lat("natsc", "default", "nats.c defaults", ms[2])
        lat("natsc", "sendasap", "nats.c SendAsap", ms[2])
    }
}' "$raw" >"$table"

elapsed=$(($(date +%s) - started))
commit=$(bench_commit)
{
    echo "# jetwire vs nats.c"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) CPUs," \
        "$server_version on 127.0.0.1, nats.c $(pkg-config --modversion libnats 2>/dev/null || echo '?')."
    echo "Median of $ROUNDS rounds; modes: $MODES; n: pub $N_PUB, pubsub $N_PUBSUB," \
        "reqrep $N_REQREP (after 200 unmeasured requests), jspub $N_JSPUB," \
        "jsasync $N_JSASYNC, jsfetch and jsconsume $N_JSFETCH (memory stream, batches of 256)," \
        "kvput $N_KVPUT and kvget $N_KVGET over 1,000 keys, kvwatch $N_KVWATCH keys (memory bucket)." \
        "Run took ${elapsed}s."
    echo "Ratios are jetwire / nats.c: rate above 1 is better, CPU and p50 below 1 are better."
    echo "CPU is user+sys of the whole client process per million messages (requests for reqrep)."
    echo
    cat "$table"
} >"$work/report.md"
bench_finish "$work/report.md" "$OUT"
