"""One version, the engine's (JW_VERSION_MAJOR/MINOR/PATCH in
include/jetwire.h), wherever a version is written or reported: the C
library CMake builds (its file name, its pkg-config file, jw_version()),
the Python distribution (pyproject.toml takes it from setup.py, which reads
the header) and package, the rockspec (its name and version field) and the
Lua module. A new version is made by editing the header and renaming the
rockspec; this fails until everything agrees (an installed Python package
older than the checkout too: `make python`)."""
import ctypes
import importlib.metadata
import re
import shutil
import subprocess
import tomllib

import jetwire
import pytest

from harness.drivers import REPO, build_dir

# No nats-server: runs once, against the current server (tests/conftest.py).
pytestmark = pytest.mark.server_independent


def header_version() -> str:
    text = (REPO / "include" / "jetwire.h").read_text()
    parts = []
    for part in ("MAJOR", "MINOR", "PATCH"):
        found = re.search(rf"^#define JW_VERSION_{part} ([0-9]+)$", text,
                          re.M)
        assert found, f"include/jetwire.h has no JW_VERSION_{part}"
        parts.append(found.group(1))
    return ".".join(parts)


VERSION = header_version()


def test_c_library():
    # CMake's project version is read from the header: the library's file
    # name and pkg-config file carry it, and the library reports it.
    path = build_dir() / f"libjetwire.so.{VERSION}"
    assert path.exists(), f"{path} not built (JW_BUILD_DIR: {build_dir()})"
    lib = ctypes.CDLL(str(path))
    lib.jw_version.restype = ctypes.c_char_p
    assert lib.jw_version().decode() == VERSION
    pc = (build_dir() / "jetwire.pc").read_text()
    assert re.search(r"^Version: (\S+)$", pc, re.M).group(1) == VERSION


def test_pyproject_version_is_dynamic():
    with open(REPO / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    assert "version" not in project, "pyproject.toml: the version is setup.py's"
    assert "version" in project.get("dynamic", [])


def test_python_distribution_and_package():
    installed = importlib.metadata.version("jetwire")
    assert installed == VERSION, (
        f"the installed jetwire distribution is {installed}, the header "
        f"{VERSION} (make python installs this checkout)")
    assert jetwire.__version__ == VERSION
    assert jetwire.engine_version == VERSION


def test_rockspec():
    rockspecs = sorted(p.name for p in (REPO / "bindings" / "lua").glob(
        "*.rockspec"))
    assert len(rockspecs) == 1, rockspecs
    name = re.fullmatch(r"jetwire-(.+)-([0-9]+)\.rockspec", rockspecs[0])
    assert name, rockspecs[0]
    assert name.group(1) == VERSION, (
        f"{rockspecs[0]}: the engine's version is {VERSION}")
    text = (REPO / "bindings" / "lua" / rockspecs[0]).read_text()
    field = re.search(r'^version = "([^"]*)"$', text, re.M)
    assert field and field.group(1) == f"{VERSION}-{name.group(2)}"


def test_lua_module():
    lua = shutil.which("lua5.4")
    assert lua, "scripts/setup.sh installs lua5.4"
    module = build_dir() / "lua" / "jetwire.so"
    assert module.exists(), f"{module} not built"
    probe = subprocess.run(
        [lua, "-e", f'package.cpath = "{build_dir()}/lua/?.so"; '
         'io.write(require("jetwire").version)'],
        capture_output=True, text=True, timeout=30)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout == VERSION
