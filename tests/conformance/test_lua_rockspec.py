"""The rockspec's list of engine sources is the engine's: the same files
as JW_CORE_SOURCES in CMakeLists.txt and as core/ on disk (the Python
extension compiles every core/*/*.c); its module's own sources are the
binding's files. tests/install/rock.sh (ctest package.rock) builds, packs
and installs the rock."""
import re

import pytest

from harness.drivers import REPO

# No nats-server: runs once, against the current server (tests/conftest.py).
pytestmark = pytest.mark.server_independent

# The one rockspec; its name carries the version (tests/python/test_version.py).
(ROCKSPEC,) = (REPO / "bindings" / "lua").glob("jetwire-*.rockspec")


def cmake_core_sources() -> set:
    text = (REPO / "CMakeLists.txt").read_text()
    found = re.search(r"^set\(JW_CORE_SOURCES\b([^)]*)\)", text, re.M)
    assert found, "CMakeLists.txt sets no JW_CORE_SOURCES"
    return set(found.group(1).split())


def test_rockspec_lists_every_core_source():
    text = ROCKSPEC.read_text()
    listed = set(re.findall(r'"(core/[a-z_/]+\.c)"', text))
    cmake = cmake_core_sources()
    on_disk = {p.relative_to(REPO).as_posix()
               for p in (REPO / "core").rglob("*.c")}
    assert cmake == on_disk, (
        f"JW_CORE_SOURCES lacks {sorted(on_disk - cmake)}, "
        f"names missing files {sorted(cmake - on_disk)}")
    assert listed == cmake, (
        f"{ROCKSPEC.name} lacks {sorted(cmake - listed)}, "
        f"has beyond JW_CORE_SOURCES {sorted(listed - cmake)}")
    # Every folder of the engine is an include directory.
    folders = {p.relative_to(REPO).as_posix()
               for p in (REPO / "core").iterdir() if p.is_dir()}
    assert folders <= set(re.findall(r'"(core/[a-z_]+)"', text))


def test_rockspec_lists_every_binding_source():
    listed = set(re.findall(r'"(bindings/lua/[a-z_]+\.c)"',
                            ROCKSPEC.read_text()))
    on_disk = {p.relative_to(REPO).as_posix()
               for p in (REPO / "bindings" / "lua").glob("*.c")}
    assert listed == on_disk, (
        f"{ROCKSPEC.name} lacks {sorted(on_disk - listed)}, "
        f"names missing files {sorted(listed - on_disk)}")
