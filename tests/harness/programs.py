"""Running jetwire's programs from tests: the examples in each language
(as scripts/demo.sh runs them) and the Key-Value peers of tests/interop/,
each printing JSON lines or text that tests check."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from .drivers import REPO, build_dir

RUN_TIMEOUT = 60


def parse_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, (
        f"{' '.join(argv)} exited {proc.returncode}\n--- stdout ---\n"
        f"{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    return proc


def kv_peer_argv(lang: str) -> list[str]:
    """jetwire's Key-Value peer in `lang`: `get BUCKET KEY [REVISION]`,
    `put BUCKET KEY VALUE` and `update BUCKET KEY REVISION VALUE`, one JSON
    line out (tests/interop/c/kv_peer.c says which)."""
    if lang == "c":
        return [str(build_dir() / "tests" / "interop" / "jw_interop_kv_peer")]
    if lang == "python":
        return [sys.executable,
                str(REPO / "tests" / "interop" / "python" / "kv_peer.py")]
    if lang == "lua":
        lua = shutil.which("lua5.4")
        assert lua, "lua5.4 is not installed (scripts/setup.sh installs it)"
        return [lua, str(REPO / "tests" / "interop" / "lua" / "kv_peer.lua")]
    raise ValueError(lang)


# The languages with a Key-Value peer (the same arguments and output in
# each) and a kv_config example.
KV_LANGS = ["c", "python", "lua"]


def kv_peer(lang: str, url: str, *args) -> dict:
    """Run the Key-Value peer in `lang` once; its JSON line."""
    env = dict(os.environ, NATS_URL=url, JW_BUILD_DIR=str(build_dir()))
    (line,) = parse_lines(run(kv_peer_argv(lang) + [str(a) for a in args],
                              env).stdout)
    return line


def run_example(lang: str, name: str, url: str, *args) -> str:
    """Run jetwire's example `name` in `lang` the way scripts/demo.sh does;
    its stdout."""
    if lang == "c":
        argv = [str(build_dir() / "examples" / "c" / f"example_{name}")]
    elif lang == "python":
        argv = [sys.executable, str(REPO / "examples" / "python" / f"{name}.py")]
    elif lang == "lua":
        lua = shutil.which("lua5.4")
        assert lua, "lua5.4 is not installed (scripts/setup.sh installs it)"
        argv = [lua, str(REPO / "examples" / "lua" / f"{name}.lua")]
    else:
        raise ValueError(lang)
    env = dict(os.environ, NATS_URL=url, JW_BUILD_DIR=str(build_dir()))
    return run(argv + [str(a) for a in args], env).stdout
