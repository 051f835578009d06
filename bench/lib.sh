# What bench/run.sh, run_python.sh and run_lua.sh share; sourced by them.
#
#   bench_init            $work (a temp dir) and $started; on exit the
#                         server is stopped and $work removed
#   quiet CMD...          run CMD, show its output only if it fails
#   bench_start_server    a private nats-server on a free loopback port:
#                         sets URL and server_version

bench_init() {
    started=$(date +%s)
    work=$(mktemp -d)
    server_pid=
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}

quiet() {
    "$@" >"$work/step.log" 2>&1 || { cat "$work/step.log" >&2; return 1; }
}

bench_free_port() {
    python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null && return
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

bench_start_server() {
    local port
    port=$(bench_free_port)
    nats-server -a 127.0.0.1 -p "$port" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
        sleep 0.05
    done
    URL=nats://127.0.0.1:$port
    server_version=$(nats-server --version 2>&1 | head -1)
}
