#!/usr/bin/env bash
# Run the Lua module's benchmarks against a private nats-server, with the C
# engine's bench_jetwire in the same run on the same server, and print
# medians and Lua / C ratios against the targets; the same text goes to
# bench/results/lua-latest.md. See bench/lua/README.md.
#
# Environment (all optional):
#   ROUNDS=5                  rounds per (mode, size); the median is reported
#   SIZES="16 128"            payload bytes
#   N_PUB=2000000 N_PUBSUB=500000 N_REQREP=5000     both clients, the same n
#   BENCH_CLIENTS="lua lua-proc lua-driven c c-pull"   which clients (lua: one Lua
#                  state; lua-proc: the publisher or the responder in a
#                  second Lua process; c-pull: reqrep with C's pulling
#                  responder thread; lua-driven: reqrep with both Lua
#                  processes on loop = "driven")
#   LUA=lua5.4
#   BUILD_DIR=<repo>/build-bench, BENCH_JETWIRE_BIN   as for bench/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
ROUNDS=${ROUNDS:-5}
SIZES=${SIZES:-16 128}
N_PUB=${N_PUB:-2000000}
N_PUBSUB=${N_PUBSUB:-500000}
N_REQREP=${N_REQREP:-5000}
BENCH_CLIENTS=${BENCH_CLIENTS:-lua lua-proc lua-driven c c-pull}
LUA=${LUA:-lua5.4}
LUA_BENCH=$ROOT/bench/lua/bench_jetwire_lua.lua
OUT_DIR=$ROOT/bench/results
OUT=$OUT_DIR/lua-latest.md

. "$ROOT/bench/lib.sh"
bench_init

# --- build: the C program and the Lua module, both Release, as run.sh ------
targets=(jetwire_lua)
[ -n "${BENCH_JETWIRE_BIN:-}" ] || targets+=(bench_jetwire)
bench_build "${targets[@]}"
JW_BIN=${BENCH_JETWIRE_BIN:-$BUILD_DIR/bench/bench_jetwire}
[ -f "$BUILD_DIR/lua/jetwire.so" ] || {
    echo "the Lua module was not built (Lua 5.4 headers missing?)" >&2
    exit 2
}
export JW_BUILD_DIR=$BUILD_DIR
lua_version=$("$LUA" -v 2>&1 | head -1 | cut -d" " -f1-2)

# --- server ----------------------------------------------------------------
bench_start_server

# --- runs ------------------------------------------------------------------
run_one() { # client mode size
    local n cmd
    case $2 in
    pub) n=$N_PUB ;; pubsub) n=$N_PUBSUB ;; reqrep) n=$N_REQREP ;;
    esac
    case $1 in
    lua) cmd=("$LUA" "$LUA_BENCH") ;;
    lua-proc)
        [ "$2" != pub ] || return 0
        cmd=("$LUA" "$LUA_BENCH" --variant proc)
        ;;
    lua-driven)
        [ "$2" = reqrep ] || return 0
        cmd=("$LUA" "$LUA_BENCH" --variant driven)
        ;;
    c) cmd=("$JW_BIN") ;;
    c-pull)
        [ "$2" = reqrep ] || return 0
        cmd=("$JW_BIN" --variant pull)
        ;;
    *) echo "unknown client $1" >&2; exit 2 ;;
    esac
    bench_run "$1 $2 ${3} B" "${cmd[@]}" --url "$URL" --mode "$2" \
        --size "$3" --n "$n"
}

read -r -a clients <<<"$BENCH_CLIENTS"
bench_rotate run_one "${clients[@]}"

# --- report ----------------------------------------------------------------
elapsed=$(($(date +%s) - started))
"$LUA" "$ROOT/bench/lua/report.lua" "$raw" \
    "# jetwire Lua module vs the C engine" \
    "" \
    "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_commit), $(nproc) CPUs, $server_version on 127.0.0.1; $lua_version." \
    "Median of $ROUNDS rounds, both clients with the same n: pub $N_PUB, pubsub $N_PUBSUB, reqrep $N_REQREP (after 200 unmeasured requests). Run took ${elapsed}s." \
    >"$work/table.md"
bench_finish "$work/table.md" "$OUT"
