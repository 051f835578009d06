#!/usr/bin/env bash
# The tutorial's tour, end to end, against a private nats-server:
# pub/sub, wildcards, request/reply and queue groups, with the C examples
# (examples/c/), then the same with the Python ones (examples/python/),
# blocking and asyncio, then with the Lua ones (examples/lua/), then the
# order service across languages (Python publishes, Lua processes, C
# audits), then the production-ready connection: its graceful shutdown,
# and its handlers and reconnection when the server restarts (C, Python
# blocking and asyncio, Lua).
#
#   BUILD_DIR=build PYTHON=.venv/bin/python LUA=lua5.4 bash scripts/demo.sh
#
# `make demo` runs the setup, the build and the install of the Python
# package (`make python`) first, then this script. It exits
# 0 only if every step succeeded; every program and every wait is bounded by
# DEMO_TIMEOUT seconds (default 20), so it never hangs.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
STEP_TIMEOUT=${DEMO_TIMEOUT:-20}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
LUA=${LUA:-lua5.4}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jetwire-demo.XXXXXX")
declare -A SERVER_PID_OF # nats-server name -> pid
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
  for pid in "${SERVER_PID_OF[@]}"; do
    stop_pid "$pid"
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# cmdline CMD...: the command as shown: files by their name only
# ("python subscriber.py 1", "example_subscriber 1").
cmdline() {
  local arg shown=()
  for arg; do
    [[ $arg == */* && -e $arg ]] && arg=$(basename "$arg")
    shown+=("$arg")
  done
  printf '%s' "${shown[*]}"
}

# run NAME CMD...: run a program in the foreground; its output goes to
# $WORK/NAME.log and is shown. Fails the demo unless it exits 0.
run() {
  local name=$1 rc=0
  shift
  say "\$ $(cmdline "$@")"
  timeout "$STEP_TIMEOUT" "$@" >"$WORK/$name.log" 2>&1 || rc=$?
  sed 's/^/    /' "$WORK/$name.log"
  ((rc == 0)) || fail "$name exited with status $rc$( ((rc == 124)) && echo ' (timed out)')"
}

# run_failing NAME CMD...: like run, for a step that must fail.
run_failing() {
  local name=$1 rc=0
  shift
  say "\$ $(cmdline "$@")"
  timeout "$STEP_TIMEOUT" "$@" >"$WORK/$name.log" 2>&1 || rc=$?
  sed 's/^/    /' "$WORK/$name.log"
  ((rc != 0)) || fail "$name succeeded where it should have failed"
  ((rc != 124)) || fail "$name timed out"
}

# start_bg NAME CMD...: start a program in the background, output into
# $WORK/NAME.log. The log is emptied first, here: the background shell's
# redirection may come late, and wait_for_line must not find the lines of
# an earlier program of that name.
start_bg() {
  local name=$1
  shift
  say "\$ $(cmdline "$@") &"
  : >"$WORK/$name.log"
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

# finish_bg NAME [failing]: wait for a background program to end by itself,
# show its output, and fail the demo unless it exited 0 (with "failing":
# unless it failed, by itself rather than by the timeout).
finish_bg() {
  local name=$1 pid=${PID_OF[$1]} rc=0
  wait "$pid" || rc=$?
  forget_pid "$pid"
  show_log "$name"
  ((rc != 124)) || fail "$name timed out"
  if [[ ${2:-} == failing ]]; then
    ((rc != 0)) || fail "$name succeeded where it should have failed"
  else
    ((rc == 0)) || fail "$name exited with status $rc"
  fi
}

# stop_bg NAME [SIGNAL]: ask a background program to shut down (SIGTERM,
# or SIGNAL), then as finish_bg. `timeout` passes SIGTERM on to the
# program. SIGINT goes to the program itself: `timeout` would pass it on
# twice (to the program, then to its process group), and lua5.4 dies of a
# second SIGINT.
stop_bg() {
  local sig=${2:-TERM} target=${PID_OF[$1]}
  if [[ $sig == INT ]]; then
    target=$(pgrep -P "$target" | head -n 1 || true)
    [[ -n $target ]] || target=${PID_OF[$1]}
  fi
  kill "-$sig" "$target" 2>/dev/null || true
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

# expect_last NAME TEXT: the last line NAME printed is TEXT.
expect_last() {
  [[ $(tail -n 1 "$WORK/$1.log") == "$2" ]] ||
    fail "$1 did not end with '$2'"
}

# ---------------------------------------------------------------------------
# The private servers

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_server NAME [PORT]: start a private nats-server on a free loopback
# port (or on PORT, to bring a stopped server back where its clients look);
# its URL goes into SERVER_URL. The first one, "main", is the one the tour
# uses ($NATS_URL); others are spares a step may stop.
start_server() {
  local name=$1 attempt port pid deadline
  command -v nats-server >/dev/null || fail "nats-server not found (run scripts/setup.sh)"
  for attempt in 1 2 3 4 5; do
    port=${2:-$((20000 + RANDOM % 40000))}
    port_open "$port" && { [[ -z ${2:-} ]] && continue; sleep 0.1; continue; }
    rm -rf "$WORK/jetstream-$name"
    nats-server -a 127.0.0.1 -p "$port" -js -sd "$WORK/jetstream-$name" \
      >"$WORK/nats-server-$name.log" 2>&1 &
    pid=$!
    SERVER_PID_OF[$name]=$pid
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      if grep -qs 'Server is ready' "$WORK/nats-server-$name.log" && port_open "$port"; then
        SERVER_URL="nats://127.0.0.1:$port"
        say "nats-server $(nats-server --version | sed 's/.*v//') ($name) listening on $SERVER_URL (attempt $attempt)"
        return 0
      fi
      sleep 0.05
    done
    stop_server "$name" # it died (port raced away?) or never got ready
  done
  sed 's/^/    /' "$WORK/nats-server-$name.log" >&2 || true
  fail "could not start nats-server ($name)"
}

# stop_server NAME: stop a server start_server started.
stop_server() {
  stop_pid "${SERVER_PID_OF[$1]}"
  unset "SERVER_PID_OF[$1]"
}

# ---------------------------------------------------------------------------
# The examples: the same programs, with the same arguments and output, in C,
# in Python (blocking and asyncio) and in Lua.

C_BIN=$BUILD_DIR/examples/c
PY_DIR=$ROOT/examples/python
LUA_DIR=$ROOT/examples/lua
EXAMPLES=(publisher subscriber wildcard_subscriber responder requester
  queue_worker task_publisher)

# example KIND NAME: the command line of example NAME into the array EX.
# KIND: c (build/examples/c/example_NAME), python (examples/python/NAME.py),
# asyncio (examples/python/aio_NAME.py) or lua (examples/lua/NAME.lua).
example() {
  case $1 in
  c) EX=("$C_BIN/example_$2") ;;
  python) EX=("$PYTHON" "$PY_DIR/$2.py") ;;
  asyncio) EX=("$PYTHON" "$PY_DIR/aio_$2.py") ;;
  lua) EX=(env JW_BUILD_DIR="$BUILD_DIR" "$LUA" "$LUA_DIR/$2.lua") ;;
  *) fail "unknown kind of example: $1" ;;
  esac
}

check_c() {
  local name
  for name in "${EXAMPLES[@]}" order_service order_worker order_audit; do
    [[ -x $C_BIN/example_$name ]] ||
      fail "$C_BIN/example_$name missing: build first (make build, or set BUILD_DIR)"
  done
}

check_python() {
  local name
  [[ -x $PYTHON ]] || fail "$PYTHON missing: run make python (or set PYTHON)"
  timeout "$STEP_TIMEOUT" "$PYTHON" -c 'import jetwire, jetwire.aio' \
    >"$WORK/python-check.log" 2>&1 || {
    sed 's/^/    /' "$WORK/python-check.log" >&2
    fail "the jetwire package does not import in $PYTHON: run make python"
  }
  for name in "${EXAMPLES[@]}" production_connection js_setup js_durable \
    kv_config order_service; do
    [[ -f $PY_DIR/$name.py && -f $PY_DIR/aio_$name.py ]] ||
      fail "$PY_DIR/$name.py or aio_$name.py missing"
  done
  [[ -f $PY_DIR/order_worker.py ]] || fail "$PY_DIR/order_worker.py missing"
}

# The Lua examples find the module in the build tree by themselves
# (examples/lua/common.lua); JW_BUILD_DIR points them at this BUILD_DIR.
check_lua() {
  local name
  command -v "$LUA" >/dev/null || fail "$LUA not found (run scripts/setup.sh, or set LUA)"
  [[ -f $BUILD_DIR/lua/jetwire.so ]] ||
    fail "$BUILD_DIR/lua/jetwire.so missing: build first (make build, or set BUILD_DIR)"
  for name in "${EXAMPLES[@]}" js_setup js_durable kv_config order_service \
    order_worker; do
    [[ -f $LUA_DIR/$name.lua ]] || fail "$LUA_DIR/$name.lua missing"
  done
  export JW_BUILD_DIR=$BUILD_DIR
}

# tour KIND LABEL: the tutorial's patterns with the examples of one kind.
tour() {
  local kind=$1 label=$2
  # Every language's services leave gracefully on SIGTERM (Lua through
  # jetwire.signals).
  local stop_signal=TERM

  section "$label: Pub/Sub"
  example "$kind" subscriber
  start_bg subscriber "${EX[@]}" 1
  wait_for_line subscriber "Listening for orders"
  example "$kind" publisher
  run publisher "${EX[@]}"
  finish_bg subscriber
  expect subscriber "Received order: ID=ORD-12345, Customer=CUST-789, Amount=\$99.99"
  expect_last subscriber "Graceful shutdown complete: 1 order(s) received"

  section "$label: Wildcards"
  # orders.created matches orders.* and orders.>; orders.eu.created only
  # orders.>. Three deliveries in all.
  example "$kind" wildcard_subscriber
  start_bg wildcards "${EX[@]}" 3
  wait_for_line wildcards "Listening with wildcard"
  example "$kind" publisher
  run publisher "${EX[@]}" orders.created
  run publisher "${EX[@]}" orders.eu.created
  finish_bg wildcards
  expect wildcards '^\[orders\.\*\] Subject: orders\.created,'
  expect wildcards '^\[orders\.>\] Subject: orders\.created,'
  expect wildcards '^\[orders\.>\] Subject: orders\.eu\.created,'
  if grep -q '^\[orders\.\*\] Subject: orders\.eu\.' "$WORK/wildcards.log"; then
    fail "orders.* matched a subject with two tokens after orders"
  fi
  expect_last wildcards "Done: 3 message(s) delivered"

  section "$label: Request/Reply"
  example "$kind" responder
  start_bg responder "${EX[@]}"
  wait_for_line responder "listening on 'user.get'"
  example "$kind" requester
  run requester "${EX[@]}"
  say "The user service is a service of the NATS micro API: natscli finds it"
  say "and reads the statistics the engine keeps for it:"
  run micro_stats "$ROOT/.tools/bin/nats" --server "$NATS_URL" micro stats users
  expect micro_stats "get .* 3 .* q .* 0 "
  stop_bg responder "$stop_signal"
  expect_last responder "User service stopped after 3 request(s)"
  expect requester "User found: Alice Smith <alice@example.com>"
  expect requester "User found: Bob Johnson <bob@example.com>"
  expect requester "User not found: user-42"
  say "With the service stopped, the server answers 'no responders' at once:"
  run_failing requester "${EX[@]}"
  expect requester "NO_RESPONDERS"

  section "$label: Queue groups"
  local i logs=()
  example "$kind" queue_worker
  for i in 1 2 3; do
    start_bg "worker-$i" "${EX[@]}" "worker-$i"
    logs+=("$WORK/worker-$i.log")
  done
  for i in 1 2 3; do
    wait_for_line "worker-$i" "Ready to process"
  done
  example "$kind" task_publisher
  run task_publisher "${EX[@]}"
  local deadline=$((SECONDS + STEP_TIMEOUT))
  until (($(count "Completed task" "${logs[@]}") >= 10)); do
    ((SECONDS < deadline)) || fail "the workers did not complete 10 tasks"
    sleep 0.05
  done
  # Graceful shutdown: each worker drains on the signal and exits 0.
  for i in 1 2 3; do
    stop_bg "worker-$i" "$stop_signal"
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

# tour_jetstream KIND LABEL: streams, acknowledged publishes and a durable
# consumer that resumes where it left off (the tutorial's JetStream part).
# C, Python (blocking and asyncio) and Lua. Each kind gets a server of its
# own, so that each starts from no stream.
tour_jetstream() {
  local kind=$1 label=$2 url
  start_server "js_$kind"
  url=$SERVER_URL

  section "$label: JetStream streams and consumers"
  example "$kind" js_setup
  run js_setup env NATS_URL="$url" "${EX[@]}"
  expect js_setup "Stream created: ORDERS"
  expect js_setup "Published order ORD-5, sequence: 5"

  section "$label: JetStream durable consumer"
  say "The processor takes 3 orders and stops; the next run resumes at ORD-4."
  example "$kind" js_durable
  run js_durable env NATS_URL="$url" "${EX[@]}" 3
  expect js_durable "Order ORD-3 processed successfully"
  run js_durable_again env NATS_URL="$url" "${EX[@]}" 2
  expect js_durable_again "Processing order: ORD-4, Amount: \$102.00"
  expect js_durable_again "Order ORD-5 processed successfully"
  if grep -q "ORD-[123]," "$WORK/js_durable_again.log"; then
    fail "the durable consumer redelivered orders it had acked"
  fi
  stop_server "js_$kind"
}

# tour_kv KIND LABEL: the tutorial's Key-Value store: put, get, an update
# guarded by the revision, keys, and a watch that sees another writer; then
# the object store (not for asyncio).
# C and Python (blocking and asyncio), on the main server: each run updates
# the same bucket.
tour_kv() {
  local kind=$1 label=$2

  section "$label: Key-Value store"
  example "$kind" kv_config
  run kv_config "${EX[@]}"
  expect kv_config "Created KV bucket: service-config"
  expect kv_config "Retrieved config: endpoint=https://api.example.com, timeout=5000ms"
  expect kv_config "Updated config to revision:"
  expect kv_config 'Keys in bucket: ."payment-service".'
  expect kv_config "Config updated: key=payment-service"

  # The object store (docs/objects.md); its example has no asyncio twin.
  [[ $kind == asyncio ]] && return 0
  section "$label: Object store"
  example "$kind" obs_files
  run obs_files "${EX[@]}"
  expect obs_files "Stored data.bin: 1048576 bytes in 8 chunks"
  expect obs_files "Read data.bin back: 1048576 bytes, digest checked"
  expect obs_files "latest -> report.txt: 180000 bytes"
}

# expect_orders NAME FIRST LAST: NAME (an order service) printed the JSON of
# orders FIRST to LAST, each followed by its "created and published" line.
# Order n is made the same way in every language: ORD-n, a customer and two
# items picked by n, the total their prices (in cents here) added up.
expect_orders() {
  local name=$1 n a b cents_total
  local customers=(alice bob carol) items=(keyboard mouse monitor cable)
  local cents=(4999 1999 18999 999)
  for ((n = $2; n <= $3; n++)); do
    a=$(((n - 1) % 4)) b=$((n % 4))
    cents_total=$((cents[a] + cents[b]))
    grep -qF "$(printf '{"id":"ORD-%d","customer":"%s","items":["%s","%s"],"total":%d.%02d,"status":"pending","created_at":"20' \
      "$n" "${customers[(n - 1) % 3]}" "${items[a]}" "${items[b]}" \
      $((cents_total / 100)) $((cents_total % 100)))" "$WORK/$name.log" ||
      fail "$name did not print the JSON of ORD-$n"
    expect "$name" "^Order ORD-$n created and published\$"
  done
  [[ $(count "created and published" "$WORK/$name.log") == $(($3 - $2 + 1)) ]] ||
    fail "$name published other orders than ORD-$2 to ORD-$3"
}

# expect_processed FIRST LAST LOG...: the workers' logs show each of the
# orders FIRST to LAST processed exactly once, and no other order.
expect_processed() {
  local first=$1 last=$2 n logs=()
  shift 2
  for n in "$@"; do logs+=("$WORK/$n.log"); done
  for ((n = first; n <= last; n++)); do
    [[ $(count "^Processing order ORD-$n for " "${logs[@]}") == 1 ]] ||
      fail "ORD-$n was not processed exactly once"
  done
  [[ $(count "^Processing order " "${logs[@]}") == $((last - first + 1)) ]] ||
    fail "the workers processed other orders than ORD-$first to ORD-$last"
}

# tour_orders: the tutorial's order service, and its orders processed
# across languages. A server of its own: there ORDERS is a work queue
# (each order kept until a worker acks it), while js_setup makes ORDERS
# with limits retention, and a stream's retention cannot change.
tour_orders() {
  local url
  start_server orders
  url=$SERVER_URL

  section "Order service across languages: Python publishes, Lua processes, C audits"
  example python order_service
  run order_service env NATS_URL="$url" "${EX[@]}" 5
  expect order_service "^Order service ready: stream ORDERS"
  expect_orders order_service 1 5
  say "The Lua worker takes every order and stops once the queue is idle:"
  example lua order_worker
  run order_worker env NATS_URL="$url" "${EX[@]}"
  expect_processed 1 5 order_worker
  expect_last order_worker "Done: 5 order(s) processed"
  example c order_audit
  run order_audit env NATS_URL="$url" "${EX[@]}"
  expect order_audit "^published 5, processed 5, pending 0\$"

  section "Order service in C, Python asyncio and Lua; workers in C and Python"
  example c order_service
  run order_service_c env NATS_URL="$url" "${EX[@]}" 2 6
  expect_orders order_service_c 6 7
  example asyncio order_service
  run order_service_asyncio env NATS_URL="$url" "${EX[@]}" 2 8
  expect_orders order_service_asyncio 8 9
  example lua order_service
  run order_service_lua env NATS_URL="$url" "${EX[@]}" 2 10
  expect_orders order_service_lua 10 11
  say "Six orders wait for a worker: the audit fails."
  example c order_audit
  run_failing order_audit env NATS_URL="$url" "${EX[@]}"
  expect order_audit "^published 11, processed 5, pending 6\$"
  say "A C worker takes three orders, a Python worker the rest:"
  example c order_worker
  run order_worker_c env NATS_URL="$url" "${EX[@]}" 3
  expect_last order_worker_c "Done: 3 order(s) processed"
  example python order_worker
  run order_worker_python env NATS_URL="$url" "${EX[@]}"
  expect_last order_worker_python "Done: 3 order(s) processed"
  expect_processed 6 11 order_worker_c order_worker_python
  example c order_audit
  run order_audit env NATS_URL="$url" "${EX[@]}"
  expect order_audit "^published 11, processed 11, pending 0\$"

  section "The order service as a micro service: orders taken on order.create"
  local kind n=12 nats=$ROOT/.tools/bin/nats
  for kind in c python asyncio lua; do
    example "$kind" order_service
    start_bg "order_service_$kind" env NATS_URL="$url" "${EX[@]}" serve 1 "$n"
    wait_for_line "order_service_$kind" "service orders on order.create"
    if [[ $kind == c ]]; then
      say "A request with an unknown item gets an error reply (400):"
      run bad_order "$nats" --server "$url" request order.create \
        '{"customer":"dave","items":["sofa"]}'
      expect bad_order "Nats-Service-Error-Code: 400"
      run micro_stats_orders "$nats" --server "$url" micro stats orders
      expect micro_stats_orders "create .* 1 .* q .* 1 "
    fi
    run "order_$kind" "$nats" --server "$url" request order.create \
      '{"customer":"alice","items":["keyboard","mouse"]}'
    expect "order_$kind" "\"id\":\"ORD-$n\",\"customer\":\"alice\""
    finish_bg "order_service_$kind"
    expect_last "order_service_$kind" "Order service stopped after 1 order(s)"
    n=$((n + 1))
  done
  say "The four orders wait for a worker:"
  example python order_worker
  run order_worker_served env NATS_URL="$url" "${EX[@]}"
  expect_processed 12 15 order_worker_served
  stop_server orders
}

# The production-ready connection, blocking and asyncio: a graceful shutdown
# (on SIGTERM, or by itself after COUNT heartbeats), then the handlers at
# work when the server goes away.
tour_production() {
  local kind label

  section "Python: Production-ready connection"
  example python production_connection
  start_bg production "${EX[@]}"
  wait_for_line production "Received heartbeat"
  say "SIGTERM: a graceful shutdown with a drain"
  stop_bg production
  expect production "Connected to NATS, server: $NATS_URL"
  expect production "Initiating graceful shutdown"
  expect production "Connection closed"
  expect_last production "Shutdown complete"

  section "Python asyncio: Production-ready connection"
  example asyncio production_connection
  run production "${EX[@]}" 2
  expect production "Connected to NATS, server: $NATS_URL"
  [[ $(count "Received heartbeat" "$WORK/production.log") == 2 ]] ||
    fail "production did not receive exactly 2 heartbeats"
  expect production "Connection closed"
  expect_last production "Shutdown complete"

  # The server restarts under a running service: the handlers report the
  # loss and the return, and the heartbeats resume on the same
  # subscription. In C, Python (blocking and asyncio) and Lua.
  local port
  for kind in c python asyncio lua; do
    case $kind in
    c) label=C ;;
    python) label=Python ;;
    asyncio) label="Python asyncio" ;;
    lua) label=Lua ;;
    esac
    if [[ $kind == lua ]] && ! command -v lua5.4 >/dev/null; then
      fail "lua5.4 not found (run scripts/setup.sh)"
    fi
    section "$label: Production-ready connection, the server restarts"
    start_server spare
    port=${SERVER_URL##*:}
    example "$kind" production_connection
    start_bg restart env NATS_URL="$SERVER_URL" "${EX[@]}" 4
    wait_for_line restart "Received heartbeat"
    say "Stopping its server, then starting it again on port $port:"
    stop_server spare
    wait_for_line restart "Disconnected"
    start_server spare "$port"
    wait_for_line restart "Reconnected to"
    finish_bg restart
    expect restart "Disconnected due to error"
    expect restart "Reconnected to nats://127.0.0.1:$port"
    expect restart "Connection closed"
    expect_last restart "Shutdown complete"
    stop_server spare
  done
}

# ---------------------------------------------------------------------------

main() {
  check_c
  check_python
  check_lua
  # natscli (scripts/servers.sh builds it) looks at the services.
  [[ -x $ROOT/.tools/bin/nats ]] ||
    fail "$ROOT/.tools/bin/nats missing (run scripts/setup.sh)"
  start_server main
  export NATS_URL=$SERVER_URL
  tour c C
  tour_jetstream c C
  tour_kv c C
  tour python Python
  tour_jetstream python Python
  tour_kv python Python
  tour asyncio "Python asyncio"
  tour_jetstream asyncio "Python asyncio"
  tour_kv asyncio "Python asyncio"
  tour lua Lua
  tour_jetstream lua Lua
  tour_kv lua Lua
  tour_orders
  tour_production
  section "Done"
  say "demo: every step passed"
}

main "$@"
