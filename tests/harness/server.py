"""Real nats-server processes for the conformance tests.

Each server listens on a free loopback port with a temporary JetStream store
and is killed at teardown. A server can be restarted on the same port with
the same store (for reconnect scenarios).
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

READY_TIMEOUT = 10.0
START_ATTEMPTS = 3


def free_port() -> int:
    """A port the kernel reports free on 127.0.0.1 (it may be taken again
    before use; start() retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_server_binary() -> str:
    """The nats-server every test starts: $JW_NATS_SERVER (the variable the
    C harness reads too; scripts/servers.sh builds 2.15.3 into
    .tools/bin/nats-server), $NATS_SERVER (the older name, still honoured),
    else nats-server on PATH, else Debian's /usr/sbin/nats-server (2.9.10,
    the oldest supported)."""
    found = (os.environ.get("JW_NATS_SERVER") or os.environ.get("NATS_SERVER")
             or shutil.which("nats-server"))
    if not found and os.path.exists("/usr/sbin/nats-server"):
        found = "/usr/sbin/nats-server"
    if not found:
        raise RuntimeError(
            "nats-server not found (install the Debian package with "
            "scripts/setup.sh, or set JW_NATS_SERVER)")
    return found


def parse_version(text: str) -> tuple[int, ...]:
    """"2.15.3" (or "v2.15.3", "2.10") -> (2, 15, 3): comparable tuples,
    missing parts 0."""
    m = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    if not m:
        raise ValueError(f"not a version: {text!r}")
    parts = tuple(int(p) for p in m.group(1).split("."))
    return (parts + (0, 0, 0))[:3]


@functools.lru_cache(maxsize=None)
def _binary_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=30,
                         check=False).stdout.decode(errors="replace")
    # "nats-server: v2.15.3"
    m = re.search(r"v(\d+\.\d+\.\d+)", out)
    if not m:
        raise RuntimeError(f"{binary} --version said {out!r}")
    return m.group(1)


def nats_server_version(binary: str | None = None) -> str:
    """The version ("2.15.3") of `binary` (default: the one the tests
    start), from its --version, asked once per binary."""
    return _binary_version(binary or nats_server_binary())


class ServerError(RuntimeError):
    pass


class NatsServer:
    """One nats-server: `-a 127.0.0.1 -p PORT -js -sd STORE` plus extra
    arguments. Not started until start()."""

    def __init__(self, workdir: Path, port: int | None = None,
                 extra_args: list[str] | tuple[str, ...] = (),
                 jetstream: bool = True, binary: str | None = None):
        self.jetstream = jetstream
        self.binary = binary  # None: nats_server_binary()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.store_dir = self.workdir / "store"
        self.log_path = self.workdir / "server.log"
        self.extra_args = list(extra_args)
        self.fixed_port = port is not None
        self.port = port if port is not None else 0
        self.route_port = 0  # cluster nodes: where routes connect
        self.proc: subprocess.Popen | None = None
        self.spawned_binary = ""  # the binary of the last start

    @property
    def version(self) -> str:
        """The server's version, "2.15.3" (its binary's --version)."""
        return nats_server_version(self.binary)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "NatsServer":
        if self.running:
            raise ServerError(f"server on port {self.port} already running")
        last = ""
        for _ in range(START_ATTEMPTS):
            if not self.fixed_port:
                self.port = free_port()
            try:
                self._spawn_and_wait()
                # Later starts (restart) reuse this port.
                self.fixed_port = True
                return self
            except ServerError as e:
                last = str(e)
                self._kill()
        raise ServerError(f"nats-server did not start: {last}\n{self.log_tail()}")

    def _spawn_and_wait(self) -> None:
        self._spawn()
        self._wait_ready()

    def _spawn(self) -> None:
        """Start the process (on self.port); _wait_ready() waits for it."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        js = ["-js", "-sd", str(self.store_dir)] if self.jetstream else []
        self.spawned_binary = self.binary or nats_server_binary()
        argv = [self.spawned_binary, "-a", "127.0.0.1",
                "-p", str(self.port),
                *js, *self.extra_args]
        log = open(self.log_path, "ab")
        try:
            log.write(("$ " + " ".join(argv) + "\n").encode())
            log.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(
                    f"exited with status {self.proc.returncode}")
            if self._answers_info():
                return
            time.sleep(0.02)
        raise ServerError(f"no INFO on port {self.port} within "
                          f"{READY_TIMEOUT:.0f} s")

    def _answers_info(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=1.0) as s:
                s.settimeout(1.0)
                data = b""
                while b"\r\n" not in data and len(data) < 65536:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return data.startswith(b"INFO ")
        except OSError:
            return False

    def info_line(self) -> str:
        """The INFO line a new client gets ("" when none)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=1.0) as s:
                s.settimeout(1.0)
                data = b""
                while b"\r\n" not in data and len(data) < 65536:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return data.split(b"\r\n")[0].decode(errors="replace")
        except OSError:
            return ""

    def lame_duck(self) -> None:
        """Put the server in lame duck mode the way an operator does
        (`nats-server --signal ldm=<pid>`)."""
        subprocess.run([nats_server_binary(), "--signal",
                        f"ldm={self.proc.pid}"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        self.proc = None

    def stop(self) -> None:
        """Kill the server and wait for it (the store is kept)."""
        self._kill()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing is
        answered. resume() or stop() ends it."""
        if self.running:
            self.proc.send_signal(signal.SIGSTOP)
            self._wait_stopped()

    def _wait_stopped(self, timeout: float = 5.0) -> None:
        """Until every thread of the server is stopped: SIGSTOP returns
        before a thread running on another core has stopped, and such a
        thread may still answer a PING sent just after."""
        deadline = time.monotonic() + timeout
        tasks = Path(f"/proc/{self.proc.pid}/task")
        while time.monotonic() < deadline:
            states = []
            for task in tasks.iterdir():
                try:
                    stat = (task / "stat").read_text()
                except OSError:
                    continue  # the thread ended meanwhile
                states.append(stat.rsplit(")", 1)[1].split()[0])
            if states and all(st in ("T", "t") for st in states):
                return
            time.sleep(0.005)

    def resume(self) -> None:
        if self.running:
            self.proc.send_signal(signal.SIGCONT)

    def restart(self, extra_args: list[str] | None = None) -> "NatsServer":
        """Stop, then start again on the same port with the same store."""
        self.stop()
        if extra_args is not None:
            self.extra_args = list(extra_args)
        return self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join(text[-lines:])

    def __repr__(self) -> str:
        return f"NatsServer({self.url}, running={self.running})"


class ServerSpares:
    """A plain server (no extra arguments, JetStream on, any port) started
    ahead of the test that asks for one, so that the test does not wait for
    it to come up: prepare() spawns it (without waiting), take() hands it
    over once it answers. Each spare serves one test, like a server started
    on demand: fresh process, empty store. The conftest keeps one per
    session; close() kills what is left."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.started = 0
        self.spare: NatsServer | None = None

    def prepare(self) -> None:
        if self.spare is not None:
            return
        self.started += 1
        server = NatsServer(self.root / f"spare{self.started}")
        server.port = free_port()
        try:
            server._spawn()
        except OSError:
            server._kill()
            return
        self.spare = server

    def take(self) -> NatsServer | None:
        """The spare, ready, or None (none prepared, the server binary
        changed since, or it did not come up: the caller starts one)."""
        server, self.spare = self.spare, None
        if server is None:
            return None
        if server.spawned_binary != nats_server_binary():
            server._kill()
            return None
        try:
            server._wait_ready()
        except ServerError:
            server._kill()
            return None
        server.fixed_port = True  # restart() reuses the port, as start() does
        return server

    def close(self) -> None:
        if self.spare is not None:
            self.spare._kill()
            self.spare = None


class ServerFactory:
    """Starts servers under one temporary directory; stop_all() at
    teardown. With spares, a plain start() takes the spare server and
    stop_all() prepares the next one."""

    def __init__(self, root: Path, spares: ServerSpares | None = None):
        self.root = Path(root)
        self.servers: list[NatsServer] = []
        self.spares = spares

    def start(self, extra_args: list[str] | tuple[str, ...] = (),
              port: int | None = None) -> NatsServer:
        if self.spares is not None and not extra_args and port is None:
            server = self.spares.take()
            if server is not None:
                self.servers.append(server)
                return server
        workdir = self.root / f"server{len(self.servers)}"
        server = NatsServer(workdir, port=port, extra_args=extra_args)
        self.servers.append(server)
        return server.start()

    def start_cluster(self, size: int = 3, timeout: float = 10.0,
                      jetstream: bool = False) -> list[NatsServer]:
        """Start `size` servers routed into one cluster on loopback: each
        gets a config file (server_name, cluster listen port, routes to the
        others) in its directory, and with jetstream=True a store of its
        own (a JetStream cluster elects its meta leader a few seconds after
        it forms: callers retry their first JetStream call). Returns once
        every node announces the others' client URLs in its INFO."""
        nodes: list[NatsServer] = []
        for _ in range(size):
            nodes.append(self._cluster_node(jetstream))
        for node in nodes:
            self._write_node_conf(node, nodes)
            node.start()
        self._wait_cluster(nodes, timeout)
        return nodes

    def grow_cluster(self, nodes: list[NatsServer],
                     timeout: float = 10.0) -> NatsServer:
        """Add a node routed to the cluster `nodes`; returns it once every
        node announces every other."""
        node = self._cluster_node()
        self._write_node_conf(node, nodes + [node])
        node.start()
        nodes.append(node)
        self._wait_cluster(nodes, timeout)
        return node

    def _cluster_node(self, jetstream: bool = False) -> NatsServer:
        workdir = self.root / f"server{len(self.servers)}"
        workdir.mkdir(parents=True, exist_ok=True)
        server = NatsServer(workdir, extra_args=["-c",
                                                 str(workdir / "node.conf")],
                            jetstream=jetstream)
        server.route_port = free_port()
        self.servers.append(server)
        return server

    @staticmethod
    def _write_node_conf(node: NatsServer, nodes: list[NatsServer]) -> None:
        index = nodes.index(node)
        routes = "\n".join(f"    nats-route://127.0.0.1:{n.route_port}"
                           for n in nodes if n is not node)
        (node.workdir / "node.conf").write_text(
            f"server_name: node{index}\n"
            f"cluster {{\n  name: jwtest\n"
            f"  listen: 127.0.0.1:{node.route_port}\n"
            f"  routes: [\n{routes}\n  ]\n}}\n")

    @staticmethod
    def _wait_cluster(nodes: list[NatsServer], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for node in nodes:
            others = [f":{n.port}\"" for n in nodes if n is not node]
            while not all(o in node.info_line() for o in others):
                if time.monotonic() > deadline:
                    raise ServerError(f"cluster did not form\n"
                                      f"{node.log_tail()}")
                time.sleep(0.05)

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()
        if self.spares is not None:
            self.spares.prepare()
