#!/usr/bin/env bash
# The Lua rock, as a user makes and installs it: `luarocks make` builds the
# module from the rockspec into a private tree, `luarocks pack` packs what
# it installed into a binary rock, and that rock installs into a second
# tree. With the second tree's `luarocks path`, lua5.4 loads the module
# from there; it reports the engine's version (include/jetwire.h) and
# makes a round trip through a nats-server ($JW_NATS_SERVER, else
# Debian's 2.9.10, as for every harness). About 10 s, most of it the build.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
server=${JW_NATS_SERVER:-/usr/sbin/nats-server}
tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# Debian's luarocks defaults to Lua 5.1.
rocks() { luarocks --lua-version 5.4 "$@"; }
# Runs a command quietly; shows its output when it fails.
quiet() {
    if ! "$@" >"$tmp/out" 2>&1; then
        cat "$tmp/out" >&2
        echo "rock: failed: $*" >&2
        exit 1
    fi
}
fail() { echo "rock: $*" >&2; exit 1; }

header=$repo/include/jetwire.h
part() { sed -n "s/^#define JW_VERSION_$1 \([0-9]*\)$/\1/p" "$header"; }
version=$(part MAJOR).$(part MINOR).$(part PATCH)

rockspecs=("$repo"/bindings/lua/jetwire-*.rockspec)
[ ${#rockspecs[@]} -eq 1 ] || fail "not one rockspec: ${rockspecs[*]}"
rockspec=$(basename "${rockspecs[0]}")

# Build from a copy of what the rockspec names: the builtin backend leaves
# its objects beside the sources, and a missing file fails here.
src=$tmp/src
mkdir -p "$src/bindings/lua"
cp -R "$repo/core" "$repo/include" "$src/"
cp "$repo"/bindings/lua/*.[ch] "${rockspecs[0]}" "$src/bindings/lua/"
find "$src" -name '*.o' -delete
(cd "$src" && quiet rocks --tree "$tmp/built" make "bindings/lua/$rockspec")
[ -f "$tmp/built/lib/lua/5.4/jetwire.so" ] ||
    fail "luarocks make installed no lib/lua/5.4/jetwire.so"

(cd "$tmp" && quiet rocks --tree "$tmp/built" pack jetwire)
rocks_made=("$tmp"/jetwire-*.rock)
[ ${#rocks_made[@]} -eq 1 ] && [ -f "${rocks_made[0]}" ] ||
    fail "luarocks pack made no rock"
case $(basename "${rocks_made[0]}") in
    "jetwire-$version-"*) ;;
    *) fail "packed ${rocks_made[0]}, not version $version" ;;
esac

quiet rocks --tree "$tmp/installed" install "${rocks_made[0]}"
listed=$(rocks --tree "$tmp/installed" list --porcelain)
grep -q "^jetwire"$'\t'"$version-" <<<"$listed" ||
    fail "jetwire $version is not listed in the second tree: $listed"

# A server on a port of its choosing, which it writes into a ports file.
mkdir "$tmp/ports"
"$server" -a 127.0.0.1 -p -1 --ports_file_dir "$tmp/ports" \
    >"$tmp/server.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 100); do
    url=$(grep -ho 'nats://127\.0\.0\.1:[0-9]*' "$tmp"/ports/*.ports \
          2>/dev/null || true)
    [ -n "$url" ] && break
    sleep 0.05
done
[ -n "$url" ] || { cat "$tmp/server.log" >&2; fail "$server did not start"; }

eval "$(rocks --tree "$tmp/installed" path)"
cd "$tmp"
got=$(lua5.4 - "$tmp/installed" "$url" <<'EOF'
local tree, url = ...
local jetwire = require "jetwire"
local from = package.searchpath("jetwire", package.cpath)
assert(from == tree .. "/lib/lua/5.4/jetwire.so",
       "jetwire loaded from " .. tostring(from))
local nc <close> = assert(jetwire.connect{ servers = url })
local sub = assert(nc:subscribe("rock.check"))
assert(nc:publish("rock.check", "from the rock"))
assert(assert(sub:next_msg(5.0)).data == "from the rock")
io.write(jetwire.version)
EOF
) || fail "lua5.4 could not use the rock's module (above)"
[ "$got" = "$version" ] || fail "the rock's module reports '$got', not $version"
echo "rock check: ok (jetwire $version from ${rocks_made[0]##*/})"
