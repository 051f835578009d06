#!/usr/bin/env bash
# The tutorial's tour, end to end, against a private nats-server:
# pub/sub, wildcards, request/reply and queue groups, first with the C
# examples (examples/c/), later also through the Python and Lua bindings.
#
#   BUILD_DIR=build bash scripts/demo.sh
#
# `make demo` runs the setup and the build first, then this script. It exits
# 0 only if every step succeeded; every program and every wait is bounded by
# DEMO_TIMEOUT seconds (default 20), so it never hangs.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
STEP_TIMEOUT=${DEMO_TIMEOUT:-20}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jetwire-demo.XXXXXX")
SERVER_PID=""
BG_PIDS=()          # background programs still running, stopped on exit
declare -A PID_OF   # background program name -> pid

# ---------------------------------------------------------------------------
# Output and failure

section() { printf '\n=== %s ===\n' "$*"; }
say() { printf '%s\n' "$*"; }
fail() {
  printf 'demo: FAILED: %s\n' "$*" >&2
  exit 1
}
trap 'fail "line $LINENO: unexpected failure of: $BASH_COMMAND"' ERR

# Print a program's output, indented under its name.
show_log() {
  say "  [$1]"
  sed 's/^/    /' "$WORK/$1.log"
}

# ---------------------------------------------------------------------------
# Processes: every one runs under `timeout`, and whatever still runs when the
# script ends (normally or not) is stopped by the EXIT trap.

# Stop one process we started: TERM, a grace period, then KILL.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

forget_pid() {
  local pid=$1 p keep=()
  for p in "${BG_PIDS[@]}"; do
    [[ $p == "$pid" ]] || keep+=("$p")
  done
  BG_PIDS=("${keep[@]}")
}

cleanup() {
  local rc=$? pid
  trap - ERR
  for pid in "${BG_PIDS[@]}"; do
    stop_pid "$pid"
  done
  if [[ -n $SERVER_PID ]]; then
    stop_pid "$SERVER_PID"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run NAME CMD...: run a program in the foreground; its output goes to
# $WORK/NAME.log and is shown. Fails the demo unless it exits 0.
run() {
  local name=$1 rc=0
  shift
  say "\$ $(basename "$1")${2:+ ${*:2}}"
  timeout "$STEP_TIMEOUT" "$@" >"$WORK/$name.log" 2>&1 || rc=$?
  sed 's/^/    /' "$WORK/$name.log"
  ((rc == 0)) || fail "$name exited with status $rc$( ((rc == 124)) && echo ' (timed out)')"
}

# run_failing NAME CMD...: like run, for a step that must fail.
run_failing() {
  local name=$1 rc=0
  shift
  say "\$ $(basename "$1")${2:+ ${*:2}}"
  timeout "$STEP_TIMEOUT" "$@" >"$WORK/$name.log" 2>&1 || rc=$?
  sed 's/^/    /' "$WORK/$name.log"
  ((rc != 0)) || fail "$name succeeded where it should have failed"
  ((rc != 124)) || fail "$name timed out"
}

# start_bg NAME CMD...: start a program in the background, output into
# $WORK/NAME.log.
start_bg() {
  local name=$1
  shift
  say "\$ $(basename "$1")${2:+ ${*:2}} &"
  timeout "$STEP_TIMEOUT" "$@" >"$WORK/$name.log" 2>&1 &
  PID_OF[$name]=$!
  BG_PIDS+=("$!")
}

# wait_for_line NAME PATTERN: wait until the background program NAME printed
# a line matching PATTERN (its "ready" line).
wait_for_line() {
  local name=$1 pattern=$2 deadline=$((SECONDS + STEP_TIMEOUT))
  until grep -qs -- "$pattern" "$WORK/$name.log"; do
    if ! kill -0 "${PID_OF[$name]}" 2>/dev/null; then
      show_log "$name"
      fail "$name exited before printing '$pattern'"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$name"
      fail "timed out waiting for $name to print '$pattern'"
    fi
    sleep 0.05
  done
}

# finish_bg NAME: wait for a background program to end by itself, show its
# output, and fail the demo unless it exited 0.
finish_bg() {
  local name=$1 pid=${PID_OF[$1]} rc=0
  wait "$pid" || rc=$?
  forget_pid "$pid"
  show_log "$name"
  ((rc == 0)) || fail "$name exited with status $rc$( ((rc == 124)) && echo ' (timed out)')"
}

# stop_bg NAME: ask a background program to shut down (SIGTERM), then as
# finish_bg. `timeout` passes the signal on to the program.
stop_bg() {
  kill -TERM "${PID_OF[$1]}" 2>/dev/null || true
  finish_bg "$1"
}

# count PATTERN FILE...: number of matching lines (0 when none).
count() {
  cat "${@:2}" | grep -c -- "$1" || true
}

# expect NAME PATTERN: the output of NAME has a line matching PATTERN.
expect() {
  grep -q -- "$2" "$WORK/$1.log" || fail "$1 did not print '$2'"
}

# ---------------------------------------------------------------------------
# The private server

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_server() {
  local attempt port deadline
  command -v nats-server >/dev/null || fail "nats-server not found (run scripts/setup.sh)"
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    port_open "$port" && continue # taken
    rm -rf "$WORK/jetstream"
    nats-server -a 127.0.0.1 -p "$port" -js -sd "$WORK/jetstream" \
      >"$WORK/nats-server.log" 2>&1 &
    SERVER_PID=$!
    deadline=$((SECONDS + 10))
    while kill -0 "$SERVER_PID" 2>/dev/null && ((SECONDS < deadline)); do
      if grep -qs 'Server is ready' "$WORK/nats-server.log" && port_open "$port"; then
        export NATS_URL="nats://127.0.0.1:$port"
        say "nats-server $(nats-server --version | sed 's/.*v//') listening on $NATS_URL (attempt $attempt)"
        return 0
      fi
      sleep 0.05
    done
    stop_pid "$SERVER_PID" # it died (port raced away?) or never got ready
    SERVER_PID=""
  done
  sed 's/^/    /' "$WORK/nats-server.log" >&2 || true
  fail "could not start nats-server"
}

# ---------------------------------------------------------------------------
# The tour in C

C_BIN=$BUILD_DIR/examples/c

check_c() {
  local name
  for name in publisher subscriber wildcard_subscriber responder requester \
    queue_worker task_publisher; do
    [[ -x $C_BIN/example_$name ]] ||
      fail "$C_BIN/example_$name missing: build first (make build, or set BUILD_DIR)"
  done
}

tour_c() {
  local bin=$C_BIN

  section "C: Pub/Sub"
  start_bg subscriber "$bin/example_subscriber" 1
  wait_for_line subscriber "Listening for orders"
  run publisher "$bin/example_publisher"
  finish_bg subscriber
  expect subscriber "Received order: ID=ORD-12345, Customer=CUST-789, Amount=\$99.99"

  section "C: Wildcards"
  # orders.created matches orders.* and orders.>; orders.eu.created only
  # orders.>. Three deliveries in all.
  start_bg wildcards "$bin/example_wildcard_subscriber" 3
  wait_for_line wildcards "Listening with wildcard"
  run publisher "$bin/example_publisher" orders.created
  run publisher "$bin/example_publisher" orders.eu.created
  finish_bg wildcards
  expect wildcards '^\[orders\.\*\] Subject: orders\.created,'
  expect wildcards '^\[orders\.>\] Subject: orders\.created,'
  expect wildcards '^\[orders\.>\] Subject: orders\.eu\.created,'
  if grep -q '^\[orders\.\*\] Subject: orders\.eu\.' "$WORK/wildcards.log"; then
    fail "orders.* matched a subject with two tokens after orders"
  fi

  section "C: Request/Reply"
  start_bg responder "$bin/example_responder" 3
  wait_for_line responder "listening on 'user.get'"
  run requester "$bin/example_requester"
  finish_bg responder
  expect requester "User found: Alice Smith <alice@example.com>"
  expect requester "User found: Bob Johnson <bob@example.com>"
  expect requester "User not found: user-42"
  say "With the service stopped, the server answers 'no responders' at once:"
  run_failing requester "$bin/example_requester"
  expect requester "NO_RESPONDERS"

  section "C: Queue groups"
  local i logs=()
  for i in 1 2 3; do
    start_bg "worker-$i" "$bin/example_queue_worker" "worker-$i"
    logs+=("$WORK/worker-$i.log")
  done
  for i in 1 2 3; do
    wait_for_line "worker-$i" "Ready to process"
  done
  run task_publisher "$bin/example_task_publisher"
  local deadline=$((SECONDS + STEP_TIMEOUT))
  until (($(count "Completed task" "${logs[@]}") >= 10)); do
    ((SECONDS < deadline)) || fail "the workers did not complete 10 tasks"
    sleep 0.05
  done
  # Graceful shutdown: each worker drains on SIGTERM and exits 0.
  for i in 1 2 3; do
    stop_bg "worker-$i"
  done
  local total unique
  total=$(count "Completed task" "${logs[@]}")
  unique=$( (cat "${logs[@]}" | grep -o 'Completed task: task-[0-9]*' || true) | sort -u | wc -l)
  say "How the group split the tasks:"
  for i in 1 2 3; do
    say "    worker-$i: $(count "Completed task" "$WORK/worker-$i.log") task(s)"
  done
  ((total == 10 && unique == 10)) ||
    fail "expected each of the 10 tasks done once, got $total completions of $unique tasks"
  say "All 10 tasks done, each by exactly one worker."
}

# ---------------------------------------------------------------------------

main() {
  check_c
  start_server
  tour_c
  # The Python and Lua tours join here as the bindings arrive.
  section "Done"
  say "demo: every step passed"
}

main "$@"
