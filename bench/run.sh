#!/usr/bin/env bash
# Run jetwire against nats.c and nats.go on a private nats-server and print
# a table of medians with jetwire's ratios to the better peer and to
# nats.go; the same table goes to bench/results/latest.md. See
# bench/README.md.
#
# Environment (all optional):
#   ROUNDS=3                 rounds per (mode, size); the median is reported
#   SIZES="16 128"           payload sizes in bytes
#   N_PUB=5000000 N_PUBSUB=1000000 N_REQREP=10000
#   MODES="pub pubsub reqrep jspub jsasync jsfetch jsconsume kvput kvget kvwatch"
#   JS_SIZES="128"           payload sizes of the JetStream modes
#   N_JSPUB=20000 N_JSASYNC=500000 N_JSFETCH=500000 (also jsconsume's)
#   N_KVPUT=20000 N_KVGET=50000 N_KVWATCH=20000   (modes kvput kvget kvwatch,
#                            at the JetStream sizes)
#   BENCH_LIBS="jetwire natsc natsgo"   which programs to build and run
#   NATS_SERVER=<repo>/.tools/bin/nats-server (2.15.3, scripts/servers.sh)
#                            else nats-server on PATH; e.g.
#                            NATS_SERVER=/usr/sbin/nats-server for Debian's
#   BUILD_DIR=<repo>/build-bench   GO=go (bench/go needs Go >= 1.26)
#   BENCH_JETWIRE_BIN, BENCH_NATSC_BIN, BENCH_NATSGO_BIN   use these
#                            binaries, skip their build
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
BENCH_LIBS=${BENCH_LIBS:-jetwire natsc natsgo}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
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
GO_BIN=${BENCH_NATSGO_BIN:-$work/bench_natsgo}
if has_lib natsgo && [ -z "${BENCH_NATSGO_BIN:-}" ]; then
    (cd "$ROOT/bench/go" &&
        quiet "$GO" build -buildvcs=false -o "$GO_BIN" .) ||
        { echo "building bench/go failed" >&2; exit 1; }
fi
natsgo_version=$(awk '$1 == "require" && $2 == "github.com/nats-io/nats.go" \
    { print $3 }' "$ROOT/bench/go/go.mod")

# --- server ----------------------------------------------------------------
bench_start_server

# --- runs ------------------------------------------------------------------
libs=()
for lib in jetwire natsc natsgo; do has_lib "$lib" && libs+=("$lib"); done
[ ${#libs[@]} -gt 0 ] || { echo "BENCH_LIBS names no known library" >&2; exit 1; }

run_one() { # lib variant mode size n
    local bin=$JW_BIN
    [ "$1" = natsc ] && bin=$NC_BIN
    [ "$1" = natsgo ] && bin=$GO_BIN
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
            # Rotate which library goes first so that none always meets
            # the server warm (or cold).
            k=$(((round - 1) % ${#libs[@]}))
            for lib in "${libs[@]:k}" "${libs[@]:0:k}"; do
                run_one "$lib" default "$mode" "$size" "$n"
            done
            # The tuned nats.c ceiling where it matters: replies written at
            # once instead of after the flusher's ~1 ms batching wait.
            if [ "$mode" = reqrep ] && has_lib natsc; then
                run_one natsc sendasap "$mode" "$size" "$n"
            fi
            # Continuous consumption of a push consumer, nats.c's only
            # kind (its default row): jetwire's and nats.go's too.
            if [ "$mode" = jsconsume ]; then
                for lib in jetwire natsgo; do
                    has_lib "$lib" && run_one "$lib" push "$mode" "$size" "$n"
                done
            fi
        done
    done
done

# --- table -----------------------------------------------------------------
table=$work/table.md
awk '
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
# jetwire against the better of the two peers: the higher rate (more = 1)
# or the lower CPU / p50 (more = 0), named after the ratio.
function vs_best(j, c, g, more,   b, who) {
    if (c == "" && g == "") return "-"
    if (g == "" || (c != "" && (more ? c + 0 >= g + 0 : c + 0 <= g + 0))) {
        b = c; who = "c"
    } else {
        b = g; who = "go"
    }
    return ratio(j, b) == "-" ? "-" : "**" ratio(j, b) "** " who
}
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
# One row: jetwire, nats.c and nats.go in the variants named (jv, cv, gv).
function row(mode, size, jv, cv, gv, label,   jk, ck, gk, jr, cr, gr, jc, cc, gc, jp, cp, gp) {
    jk = "jetwire" SUBSEP jv SUBSEP mode SUBSEP size
    ck = "natsc" SUBSEP cv SUBSEP mode SUBSEP size
    gk = "natsgo" SUBSEP gv SUBSEP mode SUBSEP size
    if (cnt[jk] == 0 && cnt[ck] == 0 && cnt[gk] == 0) return
    if (cnt[ck] == 0 && cv != "default") return
    jr = median(jk, "rate"); cr = median(ck, "rate"); gr = median(gk, "rate")
    jc = median(jk, "cpu"); cc = median(ck, "cpu"); gc = median(gk, "cpu")
    if (mode == "reqrep") {
        jp = median(jk, "p50"); cp = median(ck, "p50"); gp = median(gk, "p50")
    } else {
        jp = cp = gp = ""
    }
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
        label, size, num(jr, "%.0f"), num(cr, "%.0f"), num(gr, "%.0f"), \
        vs_best(jr, cr, gr, 1), ratio(jr, gr), \
        num(jc, "%.3f"), num(cc, "%.3f"), num(gc, "%.3f"), \
        vs_best(jc, cc, gc, 0), ratio(jc, gc), \
        num(jp, "%.1f"), num(cp, "%.1f"), num(gp, "%.1f"), \
        mode == "reqrep" ? vs_best(jp, cp, gp, 0) : "-", ratio(jp, gp)
}
function lat(lib, variant, label, size,   k) {
    k = lib SUBSEP variant SUBSEP "reqrep" SUBSEP size
    if (cnt[k] == 0) return
    printf "| %s | %s | %s | %s | %s | %s |\n", label, size, \
        num(median(k, "p50"), "%.1f"), num(median(k, "p99"), "%.1f"), \
        num(median(k, "mean"), "%.1f"), num(median(k, "rate"), "%.0f")
}
END {
    print "| mode | size B | jetwire msg/s | nats.c msg/s | nats.go msg/s | rate / best peer | rate / nats.go | jetwire CPU s/M | nats.c CPU s/M | nats.go CPU s/M | CPU / best peer | CPU / nats.go | jetwire p50 us | nats.c p50 us | nats.go p50 us | p50 / best peer | p50 / nats.go |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (r = 1; r <= nrows; r++) {
        split(rows[r], ms, SUBSEP)
        row(ms[1], ms[2], "default", "default", "default", ms[1])
        if (ms[1] == "reqrep")
            row(ms[1], ms[2], "default", "sendasap", "default",
                "reqrep, nats.c SendAsap")
        if (ms[1] == "jsconsume")
            row(ms[1], ms[2], "push", "default", "push",
                "jsconsume, push consumers")
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
        lat("natsgo", "default", "nats.go", ms[2])
    }
}' "$raw" >"$table"

elapsed=$(($(date +%s) - started))
commit=$(bench_commit)
{
    echo "# jetwire vs nats.c and nats.go"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) CPUs," \
        "$server_version on 127.0.0.1, nats.c $(pkg-config --modversion libnats 2>/dev/null || echo '?')," \
        "nats.go ${natsgo_version:-?} ($("$GO" env GOVERSION 2>/dev/null || echo 'go ?'))."
    echo "Median of $ROUNDS rounds, the libraries' order rotated each round; modes: $MODES;" \
        "n: pub $N_PUB, pubsub $N_PUBSUB," \
        "reqrep $N_REQREP (after 200 unmeasured requests), jspub $N_JSPUB," \
        "jsasync $N_JSASYNC, jsfetch and jsconsume $N_JSFETCH (memory stream, batches of 256)," \
        "kvput $N_KVPUT and kvget $N_KVGET over 1,000 keys, kvwatch $N_KVWATCH keys (memory bucket)." \
        "Run took ${elapsed}s."
    echo "Ratios are jetwire's: \"best peer\" is the faster of nats.c and nats.go for the rate" \
        "(the one with less CPU, the lower p50, for those columns), named after the ratio (c, go);" \
        "\"nats.go\" is against nats.go alone. Rate above 1 is better, CPU and p50 below 1 are better."
    echo "CPU is user+sys of the whole client process per million messages (requests for reqrep)."
    echo "The \"nats.c SendAsap\" row puts nats.c with natsOptions_SetSendAsap in the nats.c columns;" \
        "\"jsconsume, push consumers\" has jetwire and nats.go consuming a push consumer, as nats.c always does."
    echo
    cat "$table"
} >"$work/report.md"
bench_finish "$work/report.md" "$OUT"
