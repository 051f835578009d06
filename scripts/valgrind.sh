#!/usr/bin/env bash
# The C integration tests under valgrind memcheck, each test its own
# process (and its own nats-server), JOBS at a time, then the unit tests
# in one process (when no test is named). A test fails when it
# fails on its own, when memcheck reports an error, or when any memory is
# definitely, indirectly or possibly lost at exit. Logs go to
# BUILD_DIR/valgrind/<test>.log.
#
#   scripts/valgrind.sh BUILD_DIR [TEST...]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:?usage: scripts/valgrind.sh BUILD_DIR [TEST...]}"
shift
runner="$build/tests/integration/jw_integration"
units="$build/tests/jw_unit"
[ -x "$runner" ] || { echo "valgrind: $runner is not built" >&2; exit 2; }
logs="$build/valgrind"
rm -rf "$logs"
mkdir -p "$logs"

if [ $# -gt 0 ]; then
    tests=("$@")
else
    mapfile -t tests < <(sed -n 's/^JW_TEST(\([A-Za-z0-9_]*\)).*/\1/p' \
        tests/integration/list_integration.h)
    with_units=1
fi

export runner logs
# one NAME [PROGRAM]: run PROGRAM NAME (default: an integration test).
one() {
    local name="$1" log="$logs/$1.log" program="${2:-$runner}"
    local args=("$name")
    [ "$program" = "$runner" ] || args=()
    if valgrind --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible \
        --track-origins=yes --num-callers=30 \
        "$program" "${args[@]}" >"$log" 2>&1; then
        echo "ok   $name"
    else
        echo "FAIL $name (rc $?, see $log)"
        return 1
    fi
}
export -f one

status=0
printf '%s\n' "${tests[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c 'one {}' ||
    status=1
if [ -n "${with_units:-}" ]; then
    one unit-tests "$units" || status=1
fi
failed=$(grep -L "ERROR SUMMARY: 0 errors" "$logs"/*.log || true)
echo "valgrind: ${#tests[@]} tests, logs in $logs"
if [ "$status" -ne 0 ] || [ -n "$failed" ]; then
    echo "valgrind: failures in:" $failed >&2
    exit 1
fi
