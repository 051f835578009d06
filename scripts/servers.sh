#!/usr/bin/env bash
# The servers of the test matrix, next to Debian's nats-server 2.9.10
# (/usr/sbin/nats-server, the oldest supported): nats-server v2.15.3 and
# natscli v0.5.0, built with Go modules into .tools/bin/ (git-ignored).
# Each is built only when .tools/bin/ lacks it at that version, so a
# second run costs nothing; the Go module and build caches are Go's own
# (GOMODCACHE, GOCACHE: about 95 s cold on 2 cores, 4 s warm). Called by
# scripts/setup.sh and `make servers` / `make test`; safe to run alone.
#
#   .tools/bin/nats-server   JW_NATS_SERVER=$PWD/.tools/bin/nats-server
#   .tools/bin/nats          natscli
set -euo pipefail
cd "$(dirname "$0")/.."

NATS_SERVER_VERSION=2.15.3
NATSCLI_VERSION=0.5.0

bin_dir=$PWD/.tools/bin
mkdir -p "$bin_dir"

go_cmd=$(command -v go || echo /usr/local/go/bin/go)
if ! [ -x "$go_cmd" ] && ! command -v "$go_cmd" >/dev/null; then
  echo "servers: Go not found: cannot build nats-server $NATS_SERVER_VERSION" \
       "and natscli $NATSCLI_VERSION (install Go >= 1.26 into /usr/local/go)" >&2
  exit 1
fi

# The Go installed here, whatever go.mod asks for (no toolchain download);
# no VCS stamping (module builds have no work tree).
export GOTOOLCHAIN=local
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0
# Go keeps its module and build caches under $HOME; without one (some CI
# runners), under .tools.
if [ -z "${HOME:-}" ]; then
  export GOPATH=${GOPATH:-$PWD/.tools/go} GOCACHE=${GOCACHE:-$PWD/.tools/go-build}
fi

# build NAME WANT PACKAGE@VERSION VERSION-COMMAND...: go install unless
# the binary is there and its version output contains WANT.
build() {
  local name=$1 want=$2 pkg=$3
  shift 3
  if [ -x "$bin_dir/$name" ] &&
     "$bin_dir/$name" "$@" 2>&1 | grep -qF -- "$want"; then
    return 0
  fi
  echo "servers: building $pkg into .tools/bin (one time, a few minutes)"
  rm -f "$bin_dir/$name"
  GOBIN=$bin_dir "$go_cmd" install "$pkg"
  local got
  got=$("$bin_dir/$name" "$@" 2>&1 | head -1)
  if ! grep -qF -- "$want" <<<"$got"; then
    echo "servers: $bin_dir/$name reports '$got', not $want" >&2
    exit 1
  fi
  echo "servers: $name: $got"
}

build nats-server "v$NATS_SERVER_VERSION" \
  "github.com/nats-io/nats-server/v2@v$NATS_SERVER_VERSION" --version
build nats "$NATSCLI_VERSION" \
  "github.com/nats-io/natscli/nats@v$NATSCLI_VERSION" --version
