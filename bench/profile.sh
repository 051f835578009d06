#!/usr/bin/env bash
# Where the time goes (issue 23, point 3): one bench mode run by jetwire,
# nats.c and nats.go under `perf stat` (Debian's linux-perf), against one
# private nats-server 2.15.3, and per message: the client's CPU, its
# system calls by kind, context switches and the wake-ups its threads
# issued, with the bytes each socket write and read moved on average (the
# protocol bytes of a message divided by the calls). The server's CPU for
# the same run is read from /proc. Prints a markdown table; the same text
# goes to bench/results/profile-latest.md.
#
#   bench/profile.sh [MODE] [SIZE] [N]      (default: pubsub 16 1000000)
#
# Environment (all optional):
#   CLIENTS="jetwire natsc natsgo"  ROUNDS=1  BUILD_DIR=<repo>/build-bench
#   GO=go  PERF=perf
# perf needs the syscalls and sched tracepoints: root, or
# kernel.perf_event_paranoid <= -1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-pubsub}
SIZE=${2:-16}
N=${3:-1000000}
CLIENTS=${CLIENTS:-jetwire natsc natsgo}
ROUNDS=${ROUNDS:-1}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
PERF=${PERF:-perf}
OUT=$ROOT/bench/results/profile-latest.md
export PATH="$ROOT/.tools/bin:$PATH"

. "$ROOT/bench/lib.sh"
bench_init

command -v "$PERF" >/dev/null || {
    echo "profile.sh: $PERF not found (Debian: apt-get install linux-perf)" >&2
    exit 2
}
bench_build bench_jetwire bench_natsc
(cd "$ROOT/bench/go" && quiet "$GO" build -buildvcs=false -o "$work/bench_natsgo" .)

bench_start_server
spid=$server_pid

events=task-clock,context-switches,sched:sched_wakeup
for sc in sendto write writev sendmsg recvfrom read recvmsg futex \
    epoll_wait epoll_pwait poll ppoll nanosleep sched_yield; do
    events="$events,syscalls:sys_enter_$sc"
done

server_ticks() { # utime + stime of the server, in clock ticks
    [ -n "$spid" ] && awk '{print $14 + $15}' "/proc/$spid/stat" || echo 0
}

raw=$work/profile.raw
: >"$raw"
for round in $(seq "$ROUNDS"); do
    for lib in $CLIENTS; do
        case $lib in
        jetwire) bin=$BUILD_DIR/bench/bench_jetwire ;;
        natsc) bin=$BUILD_DIR/bench/bench_natsc ;;
        natsgo) bin=$work/bench_natsgo ;;
        *) echo "unknown client $lib" >&2; exit 2 ;;
        esac
        t0=$(server_ticks)
        if ! "$PERF" stat -x, -e "$events" -o "$work/perf.$lib" -- \
            "$bin" --url "$URL" --mode "$MODE" --size "$SIZE" --n "$N" \
            >"$work/out.$lib" 2>"$work/err.$lib"; then
            echo "FAILED: $lib" >&2
            cat "$work/err.$lib" >&2
            continue
        fi
        t1=$(server_ticks)
        {
            printf 'lib=%s server_ticks=%s ' "$lib" "$((t1 - t0))"
            grep -o 'rate=[0-9.]*' "$work/out.$lib" | head -1 | tr '\n' ' '
            awk -F, '$1 ~ /^[0-9.]+$/ { n = $3; sub(/^syscalls:sys_enter_/, "", n);
                sub(/^sched:/, "", n); printf "%s=%s ", n, $1 }' "$work/perf.$lib"
            echo
        } >>"$raw"
        printf '  %-8s %s\n' "$lib" "$(grep -o 'rate=[0-9]*' "$work/out.$lib" | head -1)" >&2
    done
done

python3 - "$raw" "$MODE" "$SIZE" "$N" "$(getconf CLK_TCK)" >"$work/table.md" <<'PY'
import re, statistics, sys
raw, mode, size, n, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
runs = {}
for line in open(raw):
    f = dict(re.findall(r"(\w[\w-]*)=([0-9.]+|\w+)", line))
    runs.setdefault(f["lib"], []).append(f)
def med(lib, key):
    vals = [float(r.get(key, 0) or 0) for r in runs[lib]]
    return statistics.median(vals) if vals else 0.0
# Protocol bytes of one message, as the bench programs send it: PUB
# <subject> <size>\r\n<payload>\r\n out, MSG <subject> <sid> <size>\r\n
# ... in (the subject is bench.<pid>.<mode>: about 20 bytes).
subj = 20
out_b = len("PUB ") + subj + 1 + len(str(size)) + 2 + size + 2
in_b = len("MSG ") + subj + 3 + len(str(size)) + 2 + size + 2
rows = [
    ("msg/s", lambda l: med(l, "rate"), "%.0f"),
    ("client CPU us/msg", lambda l: med(l, "task-clock") * 1e3 / n, "%.3f"),
    ("server CPU us/msg", lambda l: med(l, "server_ticks") / hz * 1e6 / n, "%.3f"),
    ("writes/msg (send*, write*)", lambda l: sum(med(l, k) for k in ("sendto", "write", "writev", "sendmsg")) / n, "%.5f"),
    ("reads/msg (recv*, read)", lambda l: sum(med(l, k) for k in ("recvfrom", "read", "recvmsg")) / n, "%.5f"),
    ("futex/msg", lambda l: med(l, "futex") / n, "%.5f"),
    ("epoll+poll/msg", lambda l: sum(med(l, k) for k in ("epoll_wait", "epoll_pwait", "poll", "ppoll")) / n, "%.5f"),
    ("context switches/msg", lambda l: med(l, "context-switches") / n, "%.5f"),
    ("wake-ups issued/msg", lambda l: med(l, "sched_wakeup") / n, "%.5f"),
]
libs = [l for l in ("jetwire", "natsc", "natsgo") if l in runs]
print("| %s %d B x %d | %s |" % (mode, size, n, " | ".join(libs)))
print("|---|" + "---:|" * len(libs))
for name, fn, fmt in rows:
    print("| %s | %s |" % (name, " | ".join(fmt % fn(l) for l in libs)))
if mode in ("pub", "pubsub"):
    def per_call(l, keys, b):
        calls = sum(med(l, k) for k in keys)
        return "%.0f" % (n * b / calls) if calls else "-"
    print("| bytes per write (PUB side, estimated) | %s |" % " | ".join(
        per_call(l, ("sendto", "write", "writev", "sendmsg"), out_b) for l in libs))
    if mode == "pubsub":
        print("| bytes per read (MSG side, estimated) | %s |" % " | ".join(
            per_call(l, ("recvfrom", "read", "recvmsg"), in_b) for l in libs))
PY
{
    echo "# Profile: $MODE, $SIZE B, $N messages"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_commit), $(nproc) CPUs, $server_version on 127.0.0.1."
    echo "perf stat of each client process (all its threads); median of $ROUNDS round(s)."
    echo
    cat "$work/table.md"
} >"$work/report.md"
bench_finish "$work/report.md" "$OUT"
