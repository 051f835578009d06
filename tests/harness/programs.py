"""Running jetwire's programs from tests: the examples in each language
(as scripts/demo.sh runs them) and the Key-Value peers of tests/interop/,
each printing JSON lines or text that tests check, to their end or left
running in the background."""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time

from .drivers import REPO, build_dir

RUN_TIMEOUT = 60


def parse_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run(argv: list[str], env: dict[str, str],
        status: int = 0) -> subprocess.CompletedProcess:
    """Run a program to its end; it must exit with `status`."""
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == status, (
        f"{' '.join(argv)} exited {proc.returncode}, not {status}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
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


def example_argv(kind: str, name: str) -> list[str]:
    """The command line of example `name` of `kind` (c, python, asyncio or
    lua), as scripts/demo.sh builds it."""
    if kind == "c":
        return [str(build_dir() / "examples" / "c" / f"example_{name}")]
    if kind in ("python", "asyncio"):
        prefix = "aio_" if kind == "asyncio" else ""
        return [sys.executable,
                str(REPO / "examples" / "python" / f"{prefix}{name}.py")]
    if kind == "lua":
        lua = shutil.which("lua5.4")
        assert lua, "lua5.4 is not installed (scripts/setup.sh installs it)"
        return [lua, str(REPO / "examples" / "lua" / f"{name}.lua")]
    raise ValueError(kind)


def example_env(url: str) -> dict[str, str]:
    return dict(os.environ, NATS_URL=url, JW_BUILD_DIR=str(build_dir()))


def run_example(kind: str, name: str, url: str, *args,
                status: int = 0) -> str:
    """Run jetwire's example `name` of `kind` to its end, the way
    scripts/demo.sh does; its stdout. It must exit with `status`."""
    return run(example_argv(kind, name) + [str(a) for a in args],
               example_env(url), status).stdout


class Background:
    """A program left running: a thread collects its stdout's lines, so
    that a test can wait for one while doing other things. Lines are JSON
    objects, waited for by their "op"; with text=True they are text,
    waited for by how they start. stdin=True gives it a pipe of its own
    (programs that serve until their stdin closes)."""

    def __init__(self, argv: list[str], env: dict[str, str],
                 stdin: bool = False, text: bool = False):
        self.argv = argv
        self.text = text
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env, text=True,
                                     stdin=subprocess.PIPE if stdin else None,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.lines: list = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if self.text:
                self._queue.put(line.rstrip("\n"))
            elif line.strip():
                self._queue.put(json.loads(line))
        self._queue.put(None)

    def _is(self, line, key: str) -> bool:
        return line.startswith(key) if self.text else line.get("op") == key

    def wait_for(self, key: str, timeout: float = 20.0):
        """The next line whose op is key (text: that starts with key); the
        lines before it are kept in .lines."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(
                    timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {key!r} line from {self.argv} in "
                                     f"{timeout} s; got {self.lines}")
            if line is None:
                raise AssertionError(f"{self.argv} ended before a {key!r} "
                                     f"line: {self.lines}\n{self.stderr()}")
            self.lines.append(line)
            if self._is(line, key):
                return line

    def finish(self, timeout: float = 30.0) -> list:
        """Wait for the program to exit 0 by itself; every line it
        printed."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.argv} still running after "
                                 f"{timeout} s; printed {self.lines}")
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        assert rc == 0, (f"{self.argv} exited {rc}\n{self.lines}\n"
                         f"{self.stderr()}")
        return self.lines

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.poll() is not None else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
