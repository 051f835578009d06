#!/usr/bin/env bash
# Every function the public header declares is called with NULL (or its
# equivalent) in the null_handles test of tests/integration/test_errors.c,
# so a new call cannot land without its bad-input check.
set -euo pipefail
header=$1
tests=$2
declared=$(grep -A3 '^JW_EXTERN' "$header" | grep -o 'jw_[a-z0-9_]*(' |
           tr -d '(' | sort -u)
body=$(awk '/^TEST\(null_handles\)/ {on = 1} on {print} on && /^}/ {exit}' \
       "$tests")
missing=""
for fn in $declared; do
  grep -q "\b$fn(" <<<"$body" || missing="$missing $fn"
done
if [ -n "$missing" ]; then
  echo "not called in null_handles (tests/integration/test_errors.c):$missing"
  exit 1
fi
echo "null_handles calls all $(wc -w <<<"$declared") public functions"
