"""The Lua module's own tests (tests/lua/test_lua.lua: API, bad input,
closed handles, garbage collection, <close>, coroutines on the readable
fd; tests/lua/test_sweep.lua: every call with bad arguments), run by
lua5.4 against a fresh nats-server.

Collected when lua5.4 is installed; a missing build of the module is a
failure, not a skip."""
import os
import shutil
import subprocess

import pytest

from harness import build_dir
from harness.drivers import REPO

LUA = shutil.which("lua5.4")
SCRIPT = REPO / "tests" / "lua" / "test_lua.lua"
SWEEP = REPO / "tests" / "lua" / "test_sweep.lua"

if LUA is None:
    pytest.skip("lua5.4 is not installed (scripts/setup.sh installs it)",
                allow_module_level=True)


def run_lua(script, url):
    module = build_dir() / "lua" / "jetwire.so"
    assert module.exists(), (
        f"the Lua module is not built at {module}: cmake -S . -B build && "
        "cmake --build build (JW_BUILD_DIR selects the build directory)")
    env = dict(os.environ, JW_BUILD_DIR=str(build_dir()))
    proc = subprocess.run([LUA, str(script), url], cwd=str(REPO),
                          env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (
        f"{script.name} exited {proc.returncode}\n--- stdout ---\n"
        f"{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    return proc.stdout


def test_lua_module(nats_server):
    out = run_lua(SCRIPT, nats_server.url)
    assert " 0 failed" in out, out


def test_lua_bad_input_sweep(nats_server):
    """tests/lua/test_sweep.lua: every call with bad arguments, live and
    closed; it exits non-zero on any problem."""
    out = run_lua(SWEEP, nats_server.url)
    calls = int(out.split(" calls,")[0].split()[-1])
    assert calls > 1000 and ", 0 problems" in out, out
