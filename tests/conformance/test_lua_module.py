"""The Lua module's own tests (tests/lua/test_lua.lua: API, bad input,
closed handles, garbage collection, <close>, coroutines on the readable
fd), run by lua5.4 against a fresh nats-server.

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

if LUA is None:
    pytest.skip("lua5.4 is not installed (scripts/setup.sh installs it)",
                allow_module_level=True)


def test_lua_module(nats_server):
    module = build_dir() / "lua" / "jetwire.so"
    assert module.exists(), (
        f"the Lua module is not built at {module}: cmake -S . -B build && "
        "cmake --build build (JW_BUILD_DIR selects the build directory)")
    env = dict(os.environ, JW_BUILD_DIR=str(build_dir()))
    proc = subprocess.run([LUA, str(SCRIPT), nats_server.url], cwd=str(REPO),
                          env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (
        f"test_lua.lua exited {proc.returncode}\n--- stdout ---\n"
        f"{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    assert " 0 failed" in proc.stdout, proc.stdout
