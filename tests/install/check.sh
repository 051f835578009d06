#!/usr/bin/env bash
# Install the build into a temporary prefix, then build two consumers of
# the installed copy: one with find_package(jetwire), one with pkg-config.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build_dir" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/ | head -n1)
test -f "$tmp/prefix/include/jetwire.h"
ls "$libdir/$(bash "$src_dir/soname.sh")" "$libdir"/libjetwire.a >/dev/null

cmake -S "$src_dir" -B "$tmp/cmake-consumer" \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-consumer" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/cmake-consumer/consumer"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -o "$tmp/pc-consumer" "$src_dir/consumer.c" $(pkg-config --cflags --libs jetwire)
LD_LIBRARY_PATH="$libdir" "$tmp/pc-consumer"
echo "install check: ok"
