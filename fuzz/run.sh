#!/usr/bin/env bash
# Fuzz every target of a JW_FUZZ build for FUZZ_SECONDS each (default 60);
# see docs/fuzzing.md. (Running the corpora only is `ctest` in BUILD_DIR.)
#
#   fuzz/run.sh BUILD_DIR
#
# FUZZ_TARGETS picks targets (default: all five). Fuzzing reads the
# checked-in corpus and writes what it finds to BUILD_DIR/work/<target>
# (the working corpus, kept between runs, never checked in) and crashes to
# BUILD_DIR/work/artifacts/. One process at a time, niced: the machine is
# shared. Exits non-zero on the first finding.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: fuzz/run.sh BUILD_DIR}" && pwd)"
seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-parser headers codec info session}"

for t in $targets; do
    bin="$build/fuzz/fuzz_$t"
    corpus="$here/corpus/$t"
    [ -x "$bin" ] || { echo "fuzz: $bin is not built" >&2; exit 2; }
    dict=()
    [ "$t" = session ] && dict=(-dict="$here/parser.dict")
    [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
    work="$build/work/$t"
    mkdir -p "$work" "$build/work/artifacts"
    log="$build/work/$t.log"
    echo "fuzz: $t for ${seconds}s (log: $log)"
    status=0
    nice -n 10 "$bin" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$build/work/artifacts/$t-" "${dict[@]}" \
        "$work" "$corpus" >"$log" 2>&1 || status=$?
    grep -E '^stat::number_of_executed_units' "$log" |
        sed "s/^/fuzz: $t: /" || true
    if [ "$status" -ne 0 ]; then
        grep -E 'invariant failed|ERROR:|SUMMARY|Test unit written' \
            "$log" >&2 || tail -20 "$log" >&2
        exit 1
    fi
done
