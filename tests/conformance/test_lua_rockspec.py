"""The rockspec builds the Lua module on its own (LuaRocks' builtin
backend, offline), and its list of engine sources is the engine's."""
import re
import shutil
import subprocess

from harness.drivers import REPO

# The one rockspec; its name carries the version (tests/python/test_version.py).
(ROCKSPEC,) = (REPO / "bindings" / "lua").glob("jetwire-*.rockspec")
LUAROCKS = shutil.which("luarocks")
LUA = shutil.which("lua5.4")


def test_rockspec_lists_every_core_source():
    text = ROCKSPEC.read_text()
    listed = set(re.findall(r'"(core/[a-z_/]+\.c)"', text))
    on_disk = {p.relative_to(REPO).as_posix()
               for p in (REPO / "core").rglob("*.c")}
    assert listed == on_disk
    # Every folder of the engine is an include directory.
    folders = {p.relative_to(REPO).as_posix()
               for p in (REPO / "core").iterdir() if p.is_dir()}
    assert folders <= set(re.findall(r'"(core/[a-z_]+)"', text))


def test_luarocks_make_builds_a_loadable_module(tmp_path):
    assert LUAROCKS and LUA, "scripts/setup.sh installs luarocks and lua5.4"
    # Build from a copy: the builtin backend leaves objects beside sources.
    src = tmp_path / "src"
    for part in ("core", "include", "bindings/lua"):
        shutil.copytree(REPO / part, src / part,
                        ignore=shutil.ignore_patterns("*.o", "*.so"))
    tree = tmp_path / "tree"
    proc = subprocess.run(
        [LUAROCKS, "--lua-version", "5.4", "--tree", str(tree), "make",
         f"bindings/lua/{ROCKSPEC.name}"],
        cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = list(tree.glob("lib/lua/5.4/jetwire.so"))
    assert built, proc.stdout
    probe = subprocess.run(
        [LUA, "-e", f'package.cpath = "{tree}/lib/lua/5.4/?.so"; '
         'local jw = require "jetwire"; '
         'assert(jw.unpack(jw.pack({1, 2.5, "x"}))[2] == 2.5); '
         'io.write(jw.version)'],
        capture_output=True, text=True, timeout=30)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip()
