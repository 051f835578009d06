#!/usr/bin/env bash
# The soname the library must have, from the version in include/jetwire.h:
# libjetwire.so.MAJOR, or libjetwire.so.0.MINOR while MAJOR is 0.
set -euo pipefail
header=$(dirname "$0")/../../include/jetwire.h
part() { sed -n "s/^#define JW_VERSION_$1 \([0-9]*\)$/\1/p" "$header"; }
major=$(part MAJOR)
if [ "$major" = 0 ]; then
    echo "libjetwire.so.0.$(part MINOR)"
else
    echo "libjetwire.so.$major"
fi
