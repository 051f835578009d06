#!/usr/bin/env bash
# The shared library exports jw_ symbols only, and has a versioned soname.
set -euo pipefail
lib=$1
others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^jw_' || true)
if [ -n "$others" ]; then
  echo "exported symbols without the jw_ prefix:"; echo "$others"; exit 1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' jw_')
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
want=$(bash "$(dirname "$0")/soname.sh")
[ "$soname" = "$want" ] || { echo "soname $soname, expected $want"; exit 1; }
echo "exports: $count jw_ symbols, soname $soname"
