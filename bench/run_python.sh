#!/usr/bin/env bash
# Run the Python benchmarks against a private nats-server: jetwire's Python
# package (blocking and asyncio APIs) against nats-py, with the C engine's
# bench_jetwire in the same run for reference, plus start-up time. Prints
# medians and ratios; the same text goes to bench/results/python-latest.md.
# See bench/python/README.md for what each program measures.
#
# Environment (all optional):
#   ROUNDS=3                  rounds per (mode, size); the median is reported
#   SIZES="16 128"            payload bytes
#   N_PUB=500000 N_PUBSUB=200000 N_REQREP=5000        the Python programs
#   N_C_PUB=5000000 N_C_PUBSUB=1000000 N_C_REQREP=$N_REQREP   bench_jetwire
#   JS_MODES="jspub jsasync jsfetch jsconsume"   JetStream modes ("" for
#                             none), Python (sync, aio) beside C only
#   JS_SIZES="128"            their payload bytes
#   N_JSPUB=5000 N_JSASYNC=100000 N_JSFETCH=100000   (jsconsume as jsfetch;
#                             the same n for Python and C)
#   KV_MODES="kvput kvget kvwatch"   Key-Value modes, like JS_MODES
#   N_KVPUT=5000 N_KVGET=10000 N_KVWATCH=10000
#   STARTUP_RUNS=7            fresh interpreters per client for startup
#   BENCH_CLIENTS="jw-sync jw-aio natspy c"   which clients to run
#   BENCH_VENV=<repo>/bench/.venv-py    the venv with nats-py and jetwire
#   BUILD_DIR=<repo>/build-bench, BENCH_JETWIRE_BIN   as for bench/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
VENV=${BENCH_VENV:-$ROOT/bench/.venv-py}
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-16 128}
N_PUB=${N_PUB:-500000}
N_PUBSUB=${N_PUBSUB:-200000}
N_REQREP=${N_REQREP:-5000}
N_C_PUB=${N_C_PUB:-5000000}
N_C_PUBSUB=${N_C_PUBSUB:-1000000}
N_C_REQREP=${N_C_REQREP:-$N_REQREP}
JS_MODES=${JS_MODES-jspub jsasync jsfetch jsconsume}
JS_SIZES=${JS_SIZES:-128}
N_JSPUB=${N_JSPUB:-5000}
N_JSASYNC=${N_JSASYNC:-100000}
N_JSFETCH=${N_JSFETCH:-100000}
KV_MODES=${KV_MODES-kvput kvget kvwatch}
N_KVPUT=${N_KVPUT:-5000}
N_KVGET=${N_KVGET:-10000}
N_KVWATCH=${N_KVWATCH:-10000}
STARTUP_RUNS=${STARTUP_RUNS:-7}
BENCH_CLIENTS=${BENCH_CLIENTS:-jw-sync jw-aio natspy c}
PYDIR=$ROOT/bench/python
OUT_DIR=$ROOT/bench/results
OUT=$OUT_DIR/python-latest.md

. "$ROOT/bench/lib.sh"
bench_init

has_client() { case " $BENCH_CLIENTS " in *" $1 "*) return 0 ;; esac; return 1; }

# --- the bench venv: nats-py from PyPI, jetwire from this tree ------------
# The project venv (make setup) builds jetwire without network access; its
# interpreter also makes the bench venv, so the wheel's tag fits.
PROJECT_PY=$ROOT/.venv/bin/python
base_py=python3
[ -x "$PROJECT_PY" ] && base_py=$PROJECT_PY
if [ ! -x "$VENV/bin/python" ]; then
    echo "creating ${VENV#"$ROOT"/}" >&2
    quiet "$base_py" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import nats, cffi' 2>/dev/null; then
    # cffi is jetwire's runtime dependency; the same version as the one that
    # builds the extension.
    cffi_pin=cffi
    if [ -x "$PROJECT_PY" ] && v=$("$PROJECT_PY" -c \
        'import cffi; print(cffi.__version__)' 2>/dev/null); then
        cffi_pin="cffi==$v"
    fi
    echo "installing nats-py and $cffi_pin into ${VENV#"$ROOT"/}" >&2
    quiet "$VENV/bin/pip" install -q nats-py "$cffi_pin"
fi
# A clean copy of what the package is built from (as MANIFEST.in lists it),
# so the build neither reuses stale objects nor collides with a `make
# python` building in the tree's build-python/ at the same time.
src=$work/src
mkdir -p "$src/bindings/python"
cp "$ROOT"/setup.py "$ROOT"/setup.cfg "$ROOT"/pyproject.toml \
    "$ROOT"/MANIFEST.in "$src/"
cp -R "$ROOT/include" "$ROOT/core" "$src/"
cp "$ROOT/bindings/python/README.md" "$src/bindings/python/"
tar -C "$ROOT/bindings/python" --exclude=__pycache__ --exclude='*.so' \
    --exclude='*.egg-info' -cf - jetwire | tar -C "$src/bindings/python" -xf -
echo "building jetwire from the working tree" >&2
if [ -x "$PROJECT_PY" ] && "$PROJECT_PY" -c 'import cffi, setuptools, wheel' \
    2>/dev/null; then
    quiet "$PROJECT_PY" -m pip wheel -q --no-build-isolation --no-deps \
        -w "$work/wheel" "$src"
    quiet "$VENV/bin/pip" install -q --no-deps --force-reinstall \
        "$work"/wheel/jetwire-*.whl
else
    quiet "$VENV/bin/pip" install -q --force-reinstall "$src"
fi
PY=$VENV/bin/python
natspy_version=$("$PY" -c 'import importlib.metadata as m; print(m.version("nats-py"))')
jetwire_version=$("$PY" -c 'import jetwire; print(jetwire.__version__, "engine", jetwire.engine_version)')
python_version=$("$PY" -c 'import sys; print(sys.version.split()[0])')

# --- the C engine's program, as bench/run.sh builds it ---------------------
JW_BIN=${BENCH_JETWIRE_BIN:-$BUILD_DIR/bench/bench_jetwire}
if has_client c && [ -z "${BENCH_JETWIRE_BIN:-}" ]; then
    bench_build bench_jetwire
fi

# --- server ----------------------------------------------------------------
bench_start_server

# --- runs ------------------------------------------------------------------
run_one() { # client mode size
    local n cmd
    local prog=bench_jetwire_py.py
    case $2 in
    pub) n=$N_PUB ;; pubsub) n=$N_PUBSUB ;; reqrep) n=$N_REQREP ;;
    jspub) n=$N_JSPUB ;; jsasync) n=$N_JSASYNC ;;
    jsfetch | jsconsume) n=$N_JSFETCH ;;
    kvput) n=$N_KVPUT ;; kvget) n=$N_KVGET ;; kvwatch) n=$N_KVWATCH ;;
    esac
    case $2 in js* | kv*) prog=bench_jetwire_py_js.py ;; esac
    case $1 in
    jw-sync) cmd=("$PY" "$PYDIR/$prog" --api sync) ;;
    jw-aio) cmd=("$PY" "$PYDIR/$prog" --api aio) ;;
    natspy) cmd=("$PY" "$PYDIR/bench_natspy.py") ;;
    c)
        cmd=("$JW_BIN")
        case $2 in
        pub) n=$N_C_PUB ;; pubsub) n=$N_C_PUBSUB ;; reqrep) n=$N_C_REQREP ;;
        esac
        ;;
    esac
    bench_run "$1 $2 ${3} B" "${cmd[@]}" --url "$URL" --mode "$2" \
        --size "$3" --n "$n"
}

read -r -a clients <<<"$BENCH_CLIENTS"
bench_rotate run_one "${clients[@]}"
# JetStream: the Python APIs beside the C engine (nats-py is not the peer
# here: the targets are ratios to C).
js_clients=()
for client in "${clients[@]}"; do
    [ "$client" = natspy ] || js_clients+=("$client")
done
if [ -n "$JS_MODES$KV_MODES" ] && [ ${#js_clients[@]} -gt 0 ]; then
    ROTATE_MODES="$JS_MODES $KV_MODES" ROTATE_SIZES=$JS_SIZES \
        bench_rotate run_one "${js_clients[@]}"
fi

echo "  startup: $STARTUP_RUNS fresh interpreters per client" >&2
if ! "$PY" "$PYDIR/startup.py" --url "$URL" --runs "$STARTUP_RUNS" \
    >>"$raw" 2>"$work/stderr"; then
    failures=$((failures + 1))
    echo "FAILED: startup" >&2
    cat "$work/stderr" >&2
fi

# --- report ----------------------------------------------------------------
elapsed=$(($(date +%s) - started))
"$PY" "$PYDIR/report.py" "$raw" \
    --header "# jetwire Python package vs nats-py" \
    --header "" \
    --header "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_commit), $(nproc) CPUs, $server_version on 127.0.0.1; Python $python_version, jetwire $jetwire_version, nats-py $natspy_version (asyncio, default event loop)." \
    --header "Median of $ROUNDS rounds. n: Python pub $N_PUB, pubsub $N_PUBSUB, reqrep $N_REQREP; C bench_jetwire pub $N_C_PUB, pubsub $N_C_PUBSUB, reqrep $N_C_REQREP (reqrep after 200 unmeasured requests); JetStream (memory stream, Python and C alike) jspub $N_JSPUB, jsasync $N_JSASYNC, jsfetch and jsconsume $N_JSFETCH; KV (memory bucket) kvput $N_KVPUT and kvget $N_KVGET over 1,000 keys, kvwatch $N_KVWATCH keys. Run took ${elapsed}s." \
    >"$work/table.md"
bench_finish "$work/table.md" "$OUT"
