#!/usr/bin/env bash
# The Python distributions as users install them (`make test-wheel`):
#
# 1. scripts/dist.sh builds the sdist and, from it, the manylinux wheel
#    (what `make wheel` writes into dist/).
# 2. The sdist holds the engine (core/, include/), the package and the
#    files that build it.
# 3. The wheel installs into a fresh venv; there, the extension's
#    libraries other than glibc's resolve inside the wheel (jetwire.libs/),
#    and part of the pytest suite runs against it: the Python package's
#    own tests (blocking, asyncio, KV, version) and the conformance
#    scenarios for Python of pub/sub, request, TLS and auth (OpenSSL's
#    copy in the wheel does the TLS, NKeys and JWTs).
# 4. The sdist installs into another fresh venv with pip's build isolation
#    (the build requirements of pyproject.toml only), compiled against the
#    system's -dev libraries, and passes the blocking and version tests.
#
# Offline: the fresh venvs install from .tools/wheelhouse (scripts/setup.sh
# fills it), without pip's cache (which keeps the wheel pip builds from an
# sdist and would skip the build the next time). The harness takes the C
# build from BUILD_DIR (default build/) and the server from JW_NATS_SERVER
# (Debian's 2.9.10 when unset). About 45 s on 2 cores.
#
#   tests/install/wheel.sh [BUILD_DIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(realpath "${1:-$repo/build}")
wheelhouse=$repo/.tools/wheelhouse
python=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1

fail() { echo "wheel: $*" >&2; exit 1; }
quiet() {
    if ! "$@" >"$tmp/log" 2>&1; then
        cat "$tmp/log" >&2
        fail "failed: $*"
    fi
}
[ -f "$wheelhouse/complete" ] ||
    fail "$wheelhouse is not filled: run scripts/setup.sh"
[ -x "$build_dir/tests/drivers/jw_c_driver" ] ||
    fail "no C build in $build_dir (make build)"

header=$repo/include/jetwire.h
part() { sed -n "s/^#define JW_VERSION_$1 \([0-9]*\)$/\1/p" "$header"; }
version=$(part MAJOR).$(part MINOR).$(part PATCH)

# 1. The distributions.
bash "$repo/scripts/dist.sh" wheel "$tmp/dist" >/dev/null
sdist=$tmp/dist/jetwire-$version.tar.gz
[ -f "$sdist" ] || fail "no $sdist: $(ls "$tmp/dist")"
wheels=("$tmp"/dist/jetwire-"$version"-*-manylinux_*.whl)
[ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ] ||
    fail "not one manylinux wheel of $version: $(ls "$tmp/dist")"
wheel=${wheels[0]}
echo "wheel: built ${wheel##*/} and ${sdist##*/}"

# 2. What the sdist holds, against the tree.
listing=$(tar -tzf "$sdist" | sed "s|^jetwire-$version/||")
missing=()
while read -r f; do
    grep -qxF "$f" <<<"$listing" || missing+=("$f")
done < <(cd "$repo" && {
    find core -name '*.[ch]'
    find bindings/python/jetwire -name '*.py' -o -name '*.pyi' \
        -o -name py.typed
    printf '%s\n' include/jetwire.h setup.py setup.cfg pyproject.toml \
        MANIFEST.in bindings/python/README.md
})
[ ${#missing[@]} -eq 0 ] || fail "the sdist lacks ${missing[*]}"
# (Each grep -q reads a variable: fed by a pipe, it could end before the
# writer, which pipefail would count as a failure.)
pkg_info=$(tar -xOzf "$sdist" "jetwire-$version/PKG-INFO")
grep -qx "Version: $version" <<<"$pkg_info" ||
    fail "the sdist's PKG-INFO is not $version"

# The path of the extension a venv's python imports, checked to be the
# venv's own.
extension() {
    local venv=$1 site ext
    site=$("$venv/bin/python" -c \
        'import sysconfig; print(sysconfig.get_paths()["platlib"])')
    ext=$(cd "$tmp" && "$venv/bin/python" -c \
        'import jetwire._jetwire as m; print(m.__file__)')
    [[ $ext == "$site/jetwire/"* ]] || fail "$venv imports $ext"
    echo "$ext"
}

# ldd FILE: every library resolves, and each one that is not part of
# glibc (libc, libm, libpthread, libdl, librt, the dynamic loader) resolves
# under DIR. Prints the names resolved under DIR.
libraries_within() {
    local file=$1 dir=$2 line name path outside=()
    while read -r line; do
        case $line in
            *"=> not found"*) outside+=("$line"); continue ;;
            *" => "*)
                name=${line%% =>*}
                path=${line#*=> }
                path=${path%% (*}
                ;;
            *)
                name=${line%% (*}
                path=$name
                ;;
        esac
        case ${name##*/} in
            linux-vdso.so.* | libc.so.* | libm.so.* | libpthread.so.* | \
            libdl.so.* | librt.so.* | ld-linux*.so.*) continue ;;
        esac
        # ldd prints the path as the RPATH made it (jetwire/../jetwire.libs).
        path=$(realpath -m "$path")
        if [[ $path == "$dir"/* ]]; then
            echo "$name"
        else
            outside+=("$line")
        fi
    done < <(ldd "$file")
    if [ ${#outside[@]} -gt 0 ]; then
        printf '  %s\n' "${outside[@]}" >&2
        fail "${file##*/} needs the libraries above from outside $dir"
    fi
}

# The pytest suite with a venv's python, from the repository (the tests
# and harness are there; jetwire comes from the venv).
run_pytest() {
    local venv=$1 imported
    shift
    imported=$(cd "$repo" && "$venv/bin/python" -c \
        'import jetwire; print(jetwire.__file__)')
    [[ $imported == "$venv/"* ]] || fail "the tests would import $imported"
    (cd "$repo" && JW_BUILD_DIR=$build_dir JW_LANGS=python \
        "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@")
}

# 3. The wheel in a fresh venv.
"$python" -m venv "$tmp/wheel-venv"
quiet "$tmp/wheel-venv/bin/pip" install --no-cache-dir --no-index \
    --find-links "$wheelhouse" "$wheel" pytest
ext=$(extension "$tmp/wheel-venv")
libs_dir=$(realpath -m "$(dirname "$ext")/../jetwire.libs")
bundled=$(libraries_within "$ext" "$libs_dir")
for lib in libevent_core libevent_pthreads libmsgpackc libjansson libssl \
           libcrypto; do
    grep -q "^$lib-" <<<"$bundled" ||
        fail "${ext##*/} does not load $lib from the wheel: $bundled"
done
echo "wheel: the extension's libraries come from the wheel:" $bundled
run_pytest "$tmp/wheel-venv" tests/python/test_blocking.py \
    tests/python/test_aio.py tests/python/test_kv.py \
    tests/python/test_version.py tests/conformance/test_pubsub.py \
    tests/conformance/test_request.py tests/conformance/test_tls.py \
    tests/conformance/test_auth.py

# 4. The sdist in a fresh venv, built in isolation.
"$python" -m venv "$tmp/sdist-venv"
quiet "$tmp/sdist-venv/bin/pip" install --no-cache-dir --no-index \
    --find-links "$wheelhouse" "$sdist" pytest
ext=$(extension "$tmp/sdist-venv")
linked=$(ldd "$ext")
grep -q "libevent_core.* => /" <<<"$linked" ||
    fail "the sdist's extension does not load the system's libevent"
run_pytest "$tmp/sdist-venv" tests/python/test_blocking.py \
    tests/python/test_version.py
echo "wheel check: ok (${wheel##*/}, ${sdist##*/})"
