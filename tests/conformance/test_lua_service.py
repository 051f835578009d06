"""Services in Lua (nc:add_service, the micro API):
tests/lua/test_service.lua run by lua5.4 with warnings on against a fresh
nats-server (a handler's Lua error must show as a warning), and a Lua
service given 2,000 requests from another process, at once (the C
driver's request_many, as test_burst.py's responder test) or one after
another (natscli's `nats request --count`), in thread and driven mode:
every one answered, and the statistics agree, read by the service
itself and by natscli's `nats service stats`."""
import json
import os
import subprocess

import pytest

from harness import ServerFactory, build_dir
from test_lua_module import LUA, REPO

SCRIPT = REPO / "tests" / "lua" / "test_service.lua"
LOAD = REPO / "tests" / "lua" / "service_load.lua"
NATS = REPO / ".tools" / "bin" / "nats"
COUNT = 2_000
SUBJECT = "lua.load.echo"


@pytest.fixture(scope="module")
def service_script(tmp_path_factory):
    """tests/lua/test_service.lua run once, by lua5.4 -W (warnings on),
    against a fresh nats-server: the two tests below read what it did."""
    factory = ServerFactory(tmp_path_factory.mktemp("servers"))
    try:
        server = factory.start()
        env = dict(os.environ, JW_BUILD_DIR=str(build_dir()))
        return subprocess.run([LUA, "-W", str(SCRIPT), server.url],
                              cwd=str(REPO), env=env, capture_output=True,
                              text=True, timeout=120)
    finally:
        factory.stop_all()


def test_lua_services(service_script):
    proc = service_script
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert " 0 failed" in out and "FAIL" not in out, out


def test_lua_handler_errors_are_warnings(service_script):
    """lua5.4 -W prints the warnings: a handler's error names the
    endpoint and the error, and so does a stats handler's."""
    proc = service_script
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("Lua warning: jetwire: handler of endpoint 'raise' failed: "
            in proc.stderr and "it blew up" in proc.stderr), proc.stderr
    assert ("Lua warning: jetwire: stats_handler of endpoint 'counted' "
            "failed: " in proc.stderr), proc.stderr


class LuaService:
    """tests/lua/service_load.lua as a child process."""

    def __init__(self, url, mode):
        env = dict(os.environ, JW_BUILD_DIR=str(build_dir()))
        self.proc = subprocess.Popen(
            [LUA, str(LOAD), url, mode, SUBJECT, str(COUNT)], cwd=str(REPO),
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)

    def expect(self, prefix):
        line = self.proc.stdout.readline().strip()
        if not line.startswith(prefix):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise AssertionError(f"service printed {line!r}, not "
                                 f"{prefix}...\n{err}")
        return line

    def finish(self):
        """Stop it; the endpoint's statistics it printed."""
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        stats = json.loads(self.expect("{"))
        assert self.proc.wait(timeout=10) == 0, self.proc.stderr.read()
        return stats

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def natscli(url, *args):
    assert NATS.exists(), f"{NATS} is missing: scripts/servers.sh builds it"
    r = subprocess.run([str(NATS), "--server", url, *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"nats {' '.join(args)}: {r.stdout}{r.stderr}"
    return r.stdout


@pytest.mark.parametrize("mode", ["thread", "driven"])
@pytest.mark.parametrize("peer", ["c-at-once", "natscli-sequential"])
def test_lua_service_under_load(drivers, nats_server, mode, peer):
    service = LuaService(nats_server.url, mode)
    try:
        service.expect("ready")
        if peer == "c-at-once":
            c = drivers.start("c", label="c-requester")
            r = c.call("request_many", url=nats_server.url, subject=SUBJECT,
                       count=COUNT, size=32, timeout=30)
            assert r["answered"] == COUNT and r["errors"] == {}, r
        else:
            out = natscli(nats_server.url, "request", SUBJECT,
                          "request {{Count}}", "--count", str(COUNT))
            assert "done!" in out, out
        assert service.expect("served") == f"served {COUNT}"
        # natscli's view of the running service: the engine's answers.
        (remote,) = json.loads(natscli(nats_server.url, "service", "stats",
                                       "lua-load", "--json"))
        (endpoint,) = remote["endpoints"]
        assert endpoint["subject"] == SUBJECT, remote
        assert endpoint["num_requests"] == COUNT, remote
        assert endpoint["num_errors"] == 0, remote
        assert endpoint["data"] == {"handled": COUNT}, remote
        stats = service.finish()
    finally:
        service.kill()
    assert stats["handled"] == COUNT, stats
    assert stats["num_requests"] == COUNT and stats["num_errors"] == 0, stats
    assert stats["last_error"] == "" and stats["processing_time"] > 0, stats
    # The stats handler ran when the endpoint was added and after each
    # request.
    assert stats["stats_calls"] == COUNT + 1, stats
    assert stats["data"] == {"handled": COUNT}, stats
