"""docs/jetstream.md and docs/kv.md list the configuration fields from the
engine's table (scripts/config_fields_doc.py writes them): a field added
to the engine fails this until the docs say so too."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_docs_list_the_engines_fields():
    r = subprocess.run([sys.executable, "scripts/config_fields_doc.py",
                        "--check"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
