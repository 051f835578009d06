# What bench/run.sh, run_python.sh and run_lua.sh share; sourced by them.
#
#   bench_init            $work (a temp dir) and $started; on exit the
#                         server is stopped and $work removed
#   quiet CMD...          run CMD, show its output only if it fails
#   bench_start_server    a private nats-server (with JetStream, its store
#                         in the work directory) on a free loopback port:
#                         sets URL and server_version; $NATS_SERVER, when
#                         set, is the binary, else the current release in
#                         .tools/bin (scripts/servers.sh), else nats-server
#                         on PATH
#   bench_run LABEL CMD...    one benchmark program: its RESULT line into
#                         $raw, a progress line; a failure counted
#   bench_rotate FN CLIENT... FN CLIENT MODE SIZE for every mode
#                         ($ROTATE_MODES, default pub pubsub reqrep), size
#                         ($ROTATE_SIZES, default $SIZES) and round
#                         ($ROUNDS), the clients' order rotated each round
#   bench_finish TABLE OUT    TABLE and the raw RESULT lines into OUT,
#                         TABLE printed; exit 1 when a run failed
#   bench_commit          the commit, "(working tree with changes)" added

bench_init() {
    started=$(date +%s)
    work=$(mktemp -d)
    raw=$work/results.txt
    : >"$raw"
    failures=0
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

# Configure $BUILD_DIR (Release, benches on) when it is new, then build
# the CMake targets given.
bench_build() {
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
        quiet cmake -S "$ROOT" -B "$BUILD_DIR" -DJW_BUILD_BENCH=ON \
            -DCMAKE_BUILD_TYPE=Release -DJW_BUILD_TESTS=OFF \
            -DJW_BUILD_EXAMPLES=OFF
    fi
    quiet cmake --build "$BUILD_DIR" --target "$@" -j "$(nproc)"
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
    local server=${NATS_SERVER:-}
    if [ -z "$server" ]; then
        server=nats-server
        [ -x "$ROOT/.tools/bin/nats-server" ] && server=$ROOT/.tools/bin/nats-server
    fi
    port=$(bench_free_port)
    "$server" -a 127.0.0.1 -p "$port" -js -sd "$work/jetstream" \
        >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
        sleep 0.05
    done
    URL=nats://127.0.0.1:$port
    server_version=$("$server" --version 2>&1 | head -1)
}

bench_run() {
    local label=$1 out
    shift
    if out=$("$@" 2>"$work/stderr"); then
        grep '^RESULT ' <<<"$out" >>"$raw"
        printf '  %-30s %s %s\n' "$label" \
            "$(grep -o 'rate=[0-9]*' <<<"$out")" \
            "$(grep -o 'p50_us=[0-9.]*' <<<"$out" || true)" >&2
    else
        failures=$((failures + 1))
        echo "FAILED: $label" >&2
        cat "$work/stderr" >&2
    fi
}

bench_rotate() {
    local fn=$1 mode size round k client
    shift
    local clients=("$@")
    for mode in ${ROTATE_MODES:-pub pubsub reqrep}; do
        for size in ${ROTATE_SIZES:-$SIZES}; do
            for round in $(seq "$ROUNDS"); do
                # Rotate the order each round so that no client always
                # meets the server warm (or cold).
                k=$(((round - 1) % ${#clients[@]}))
                for client in "${clients[@]:k}" "${clients[@]:0:k}"; do
                    "$fn" "$client" "$mode" "$size"
                done
            done
        done
    done
}

bench_finish() {
    local table=$1 out=$2
    {
        cat "$table"
        echo
        echo "<details><summary>raw RESULT lines</summary>"
        echo
        echo '```'
        cat "$raw"
        echo '```'
        echo "</details>"
    } >"$work/latest.md"
    mkdir -p "$(dirname "$out")"
    cp "$work/latest.md" "$out"
    echo >&2
    cat "$table"
    echo >&2
    echo "written to ${out#"$ROOT"/}" >&2
    if [ "$failures" -gt 0 ]; then
        echo "$failures run(s) FAILED" >&2
        exit 1
    fi
}

bench_commit() {
    local commit
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo uncommitted)
    [ -z "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] ||
        commit="$commit (working tree with changes)"
    echo "$commit"
}
