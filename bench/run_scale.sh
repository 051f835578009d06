#!/usr/bin/env bash
# Scale (issue 23, point 4): P publisher connections into S handler
# subscriptions on ONE subscriber connection, by the C engine
# (bench_scale, variants default and pool) and by nats.go v1.56.0
# (bench_natsgo --mode scale), on one private nats-server 2.15.3, the
# order rotated each round. Three parts:
#   routing     16 B, 1 publisher, 1 / 100 / 10,000 subscriptions
#   publishers  16 B, 100 subscriptions, 1 / 10 / 100 publishers
#   payloads    1 publisher, 100 subscriptions, 16 B to 64 KiB, n scaled
#               to min(N, max(N_MIN, MB_MAX MiB / size))
# Prints a table of medians per part (msg/s, MB/s, client CPU s per
# million messages, the subscriptions' setup time, ratios to nats.go); the
# same text goes to bench/results/scale-latest.md. A client that fails
# (the pool variant before the engine has the option delivery_threads) is
# listed under the tables, its cells left empty; the other runs go on.
#
# Environment (all optional):
#   ROUNDS=3  CLIENTS="jetwire jetwire-pool natsgo"
#   N=200000  N_MIN=20000  MB_MAX=200
#   SUBS="1 100 10000"  PUBS="1 10 100"  SIZES="16 256 4096 65536"
#   TIMEOUT_MS=10000         stall limit of one run
#   NATS_SERVER=<repo>/.tools/bin/nats-server, else nats-server on PATH
#   BUILD_DIR=<repo>/build-bench  GO=go (bench/go needs Go >= 1.26)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-jetwire jetwire-pool natsgo}
N=${N:-200000}
N_MIN=${N_MIN:-20000}
MB_MAX=${MB_MAX:-200}
SUBS=${SUBS:-1 100 10000}
PUBS=${PUBS:-1 10 100}
SIZES=${SIZES:-16 256 4096 65536}
TIMEOUT_MS=${TIMEOUT_MS:-10000}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
OUT=$ROOT/bench/results/scale-latest.md

. "$ROOT/bench/lib.sh"
bench_init

# --- build -----------------------------------------------------------------
bench_build bench_scale
(cd "$ROOT/bench/go" &&
    quiet "$GO" build -buildvcs=false -o "$work/bench_natsgo" .) ||
    { echo "building bench/go failed" >&2; exit 1; }
natsgo_version=$(awk '$1 == "require" && $2 == "github.com/nats-io/nats.go" \
    { print $3 }' "$ROOT/bench/go/go.mod")

bench_start_server

# --- the cells: part pubs subs size n ---------------------------------------
cells=$work/cells.txt
: >"$cells"
for s in $SUBS; do echo "routing 1 $s 16 $N" >>"$cells"; done
for p in $PUBS; do echo "publishers $p 100 16 $N" >>"$cells"; done
for b in $SIZES; do
    n=$((MB_MAX * 1048576 / (b > 0 ? b : 1)))
    n=$((n < N_MIN ? N_MIN : n))
    n=$((n > N ? N : n))
    echo "payloads 1 100 $b $n" >>"$cells"
done

failed=$work/failed.txt
: >"$failed"
run_one() { # client pubs subs size n
    local label="$1 pubs=$2 subs=$3 size=$4 n=$5" cmd out
    local args=(--url "$URL" --pubs "$2" --subs "$3" --size "$4" --n "$5"
        --timeout-ms "$TIMEOUT_MS")
    case $1 in
    jetwire) cmd=("$BUILD_DIR/bench/bench_scale" "${args[@]}" --variant default) ;;
    jetwire-pool) cmd=("$BUILD_DIR/bench/bench_scale" "${args[@]}" --variant pool) ;;
    natsgo) cmd=("$work/bench_natsgo" --mode scale "${args[@]}") ;;
    *) echo "unknown client $1" >&2; exit 2 ;;
    esac
    if out=$("${cmd[@]}" </dev/null 2>"$work/stderr"); then
        grep '^RESULT ' <<<"$out" | sed "s/\$/ client=$1/" >>"$raw"
        printf '  %-50s %s\n' "$label" "$(grep -o 'rate=[0-9]*' <<<"$out") \
$(grep -o 'mb_per_s=[0-9.]*' <<<"$out") $(grep -o 'sub_setup_s=[0-9.]*' <<<"$out")" >&2
    else
        failures=$((failures + 1))
        echo "FAILED: $label" >&2
        cat "$work/stderr" >&2
        printf '%s\t%s\n' "$1" "$(head -1 "$work/stderr")" >>"$failed"
    fi
}

# --- runs: each distinct cell once (parts share the 1 x 100 x 16 B one) ------
read -r -a clients <<<"$CLIENTS"
while read -r pubs subs size n; do
    for round in $(seq "$ROUNDS"); do
        # Rotate the order each round so that no client always meets the
        # server warm (or cold).
        k=$(((round - 1) % ${#clients[@]}))
        for c in "${clients[@]:k}" "${clients[@]:0:k}"; do
            run_one "$c" "$pubs" "$subs" "$size" "$n"
        done
    done
done < <(cut -d' ' -f2- "$cells" | awk '!seen[$0]++')

# --- tables ----------------------------------------------------------------
python3 - "$raw" "$cells" "$work/table.md" "$CLIENTS" <<'PY'
import re, statistics, sys
raw, cells, out_path, clients = sys.argv[1:5]
clients = clients.split()
names = {"jetwire": "jetwire", "jetwire-pool": "jetwire pool",
         "natsgo": "nats.go"}
runs = {}
for line in open(raw):
    f = dict(re.findall(r"(\w+)=(\S+)", line))
    key = (f["client"], f["pubs"], f["subs"], f["size"], f["n"])
    runs.setdefault(key, []).append(f)

def med(key, field):
    v = [float(r[field]) for r in runs.get(key, [])]
    return statistics.median(v) if v else None

def num(v, fmt):
    return fmt % v if v is not None else "-"

def ratio(a, b):
    return "**%.2f**" % (a / b) if a and b else "-"

parts = {}
for line in open(cells):
    part, *cell = line.split()
    parts.setdefault(part, []).append(tuple(cell))
titles = {
    "routing": ("Routing: 1 publisher, 16 B, S subscriptions on one "
                "connection", "subs", 1),
    "publishers": ("Publishers: P publisher connections, 100 "
                   "subscriptions, 16 B", "pubs", 0),
    "payloads": ("Payloads: 1 publisher, 100 subscriptions", "size B", 2),
}
peers = [c for c in clients if c != "natsgo"]
with open(out_path, "w") as out:
    for part, cell_list in parts.items():
        title, param, at = titles[part]
        out.write("### %s\n\n" % title)
        cols = [param, "n"]
        cols += ["%s msg/s" % names[c] for c in clients]
        if "natsgo" in clients:
            cols += ["%s / nats.go" % names[c] for c in peers]
        cols += ["%s MB/s" % names[c] for c in clients]
        cols += ["%s CPU s/M" % names[c] for c in clients]
        if "natsgo" in clients:
            cols += ["CPU %s / nats.go" % names[c] for c in peers]
        cols += ["%s setup s" % names[c] for c in clients]
        out.write("| " + " | ".join(cols) + " |\n")
        out.write("|" + "---|" + "---:|" * (len(cols) - 1) + "\n")
        for cell in cell_list:
            keys = {c: (c,) + cell for c in clients}
            go = keys.get("natsgo")
            row = [cell[at], cell[3]]
            row += [num(med(keys[c], "rate"), "%.0f") for c in clients]
            if go:
                row += [ratio(med(keys[c], "rate"), med(go, "rate"))
                        for c in peers]
            row += [num(med(keys[c], "mb_per_s"), "%.1f") for c in clients]
            row += [num(med(keys[c], "cpu_s_per_m"), "%.3f")
                    for c in clients]
            if go:
                row += [ratio(med(keys[c], "cpu_s_per_m"),
                              med(go, "cpu_s_per_m")) for c in peers]
            row += [num(med(keys[c], "sub_setup_s"), "%.3f")
                    for c in clients]
            out.write("| " + " | ".join(row) + " |\n")
        out.write("\n")
PY
elapsed=$(($(date +%s) - started))
{
    echo "# Scale: publishers, subscriptions, payloads"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_commit), $(nproc) CPUs," \
        "$server_version on 127.0.0.1, nats.go ${natsgo_version:-?}" \
        "($("$GO" env GOVERSION 2>/dev/null || echo 'go ?'))."
    echo "Median of $ROUNDS rounds, the clients' order rotated each round; run took ${elapsed}s."
    echo "Every subscription is a handler subscription on ONE subscriber connection (every"
    echo "tenth a wildcard), pending limits lifted; each publisher has a connection and a"
    echo "thread (goroutine) of its own; message k goes to subscription k % S. The window"
    echo "runs from the publishers' start to the last message handled; CPU is user+sys of"
    echo "the whole client process per million messages; MB/s counts payload, 1 MB = 2^20"
    echo "bytes; setup s is subscribing S times plus a flush, outside the window. Ratios"
    echo "are to nats.go: msg/s above 1 and CPU below 1 are better. \"jetwire pool\" sets"
    echo "delivery_threads = 2 on the subscriber connection."
    echo
    cat "$work/table.md"
    if [ -s "$failed" ]; then
        echo "Failed runs (left out of the medians; a client with none shows -):"
        echo
        sort "$failed" | uniq -c |
            awk -F'\t' '{ split($1, c, " "); printf "- %s, %d run(s): %s\n", c[2], c[1], $2 }'
        echo
    fi
} >"$work/report.md"
bench_finish "$work/report.md" "$OUT"
