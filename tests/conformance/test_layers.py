"""The engine's folders are its layers (docs/contributing.md): base,
protocol, connection, jetstream, kv, objstore, service. A file includes
headers of its own layer and of the layers below, never above, so data
flows one way (socket to caller) as STYLE.md asks. This reads the
sources; no build, no server."""
import re

import pytest

from harness.drivers import REPO

# No nats-server: runs once, against the current server (tests/conftest.py).
pytestmark = pytest.mark.server_independent

LAYERS = ["base", "protocol", "connection", "jetstream", "kv", "objstore",
          "service"]
CORE = REPO / "core"


def test_every_engine_file_is_in_a_layer():
    loose = [p.name for p in CORE.iterdir() if p.is_file()]
    assert not loose, f"files outside the layers: {loose}"
    assert sorted(p.name for p in CORE.iterdir()) == sorted(LAYERS)
    cmake = (REPO / "CMakeLists.txt").read_text()
    listed = re.search(r"set\(JW_CORE_DIRS ([a-z ]+)\)", cmake)
    assert listed and listed.group(1).split() == LAYERS


def test_includes_point_down():
    home = {p.name: p.parent.name for p in CORE.rglob("*.h")}
    wrong = []
    for path in sorted(CORE.rglob("*.[ch]")):
        mine = LAYERS.index(path.parent.name)
        for header in re.findall(r'^#include "([^"]+)"', path.read_text(),
                                 re.M):
            if header == "jetwire.h":
                continue
            assert header in home, f"{path}: {header} is no engine header"
            if LAYERS.index(home[header]) > mine:
                wrong.append(f"{path.relative_to(REPO)} includes "
                             f"{header} ({home[header]})")
    assert not wrong, "a lower layer reaches up:\n" + "\n".join(wrong)
