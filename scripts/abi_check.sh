#!/usr/bin/env bash
# The ABI guard: compare the built libjetwire with the checked-in baseline
# (abi/libjetwire.abi, written by abidw from libabigail). An incompatible
# change (a function removed, a signature or an enum value changed) fails
# unless the soname moved with it; additions pass, with a note that the
# baseline can take them.
#
#   scripts/abi_check.sh BUILD_DIR            check
#   scripts/abi_check.sh BUILD_DIR --update   write the baseline anew
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/abi_check.sh BUILD_DIR [--update]}
lib=$build/libjetwire.so
baseline=abi/libjetwire.abi
[ -f "$lib" ] || { echo "abi: no $lib (build first)" >&2; exit 2; }

dump() { # library output: public types only, no source locations
    abidw --no-corpus-path --no-show-locs --headers-dir include \
        --drop-private-types --out-file "$2" "$1"
}

if [ "${2:-}" = --update ]; then
    mkdir -p abi
    dump "$lib" "$baseline"
    echo "abi: baseline written: $baseline"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dump "$lib" "$work/current.abi"
soname() { sed -n "s/.*soname='\([^']*\)'.*/\1/p;q" "$1"; }
old=$(soname "$baseline")
new=$(soname "$work/current.abi")

set +e
abidiff "$baseline" "$work/current.abi" >"$work/report" 2>&1
status=$?
set -e
# abidiff's status is a bit field: 1 error, 2 usage, 4 an ABI change,
# 8 an incompatible one.
if (( status & 3 )); then
    cat "$work/report" >&2
    echo "abi: abidiff failed ($status)" >&2
    exit 2
fi
if (( status & 8 )); then
    cat "$work/report"
    if [ "$old" != "$new" ]; then
        echo "abi: incompatible with the baseline, and the soname moved" \
             "($old -> $new): refresh it with scripts/abi_check.sh" \
             "$build --update"
        exit 0
    fi
    echo "abi: INCOMPATIBLE change with the same soname ($new): move the" \
         "soname (the version in include/jetwire.h) or keep the ABI" >&2
    exit 1
fi
if (( status & 4 )); then
    cat "$work/report"
    echo "abi: compatible additions; scripts/abi_check.sh $build --update" \
         "records them in the baseline"
else
    echo "abi: the same as the baseline ($new)"
fi
