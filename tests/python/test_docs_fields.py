"""docs/jetstream.md and docs/kv.md list the configuration fields from the
engine's table (scripts/config_fields_doc.py writes them): a field added
to the engine fails this until the docs say so too."""
import subprocess
import sys
from pathlib import Path

import pytest

# No nats-server: runs once, against the current server (tests/conftest.py).
pytestmark = pytest.mark.server_independent

REPO = Path(__file__).resolve().parents[2]


def test_docs_list_the_engines_fields():
    r = subprocess.run([sys.executable, "scripts/config_fields_doc.py",
                        "--check"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_docs_list_every_connection_option():
    """Each connection option of the engine's table (jw_opts_fields) is in
    the C, Python and Lua references: the bindings take them all without a
    list of their own, so the docs are where a new one must show up."""
    import json
    import re

    from jetwire._jetwire import ffi, lib
    p = ffi.new("char **")
    assert lib.jw_opts_fields(p) == lib.JW_OK
    try:
        fields = json.loads(ffi.string(p[0]).decode())
    finally:
        lib.jw_free(p[0])
    names = {f["name"] for f in fields if not f["binding"]}
    assert {"connect_timeout", "no_echo", "reconnect_buf_size"} <= names
    for doc in ("docs/c-api.md", "docs/python.md", "docs/lua.md"):
        text = (REPO / doc).read_text()
        missing = sorted(n for n in names
                         if not re.search(r"`%s`" % re.escape(n), text))
        assert not missing, "%s does not name %s" % (doc, missing)
