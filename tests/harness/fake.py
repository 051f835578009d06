"""A scripted stand-in for nats-server, for what a real server never sends:
malformed frames, oversized lines, lies in size fields, stalls.

FakeServer(script) listens on a free 127.0.0.1 port; each accepted client
runs script(peer) on its own thread, where peer offers the few steps a
script needs: handshake() (INFO, then CONNECT and PING answered with PONG),
expect(b"SUB ") (read until the client has sent that), send(bytes),
stall() (keep the socket open, answer nothing, until the server stops) and
close(). Everything is torn down by stop(); a script's exception is kept
and re-raised by stop(), so a broken script fails its test.
"""
from __future__ import annotations

import json
import socket
import threading
from typing import Callable

DEFAULT_INFO = {
    "server_id": "FAKE", "server_name": "fake", "version": "2.9.10",
    "proto": 1, "host": "127.0.0.1", "headers": True,
    "max_payload": 1048576,
}


class Peer:
    def __init__(self, sock: socket.socket, port: int,
                 stopping: threading.Event):
        self.sock = sock
        self.port = port
        self.stopping = stopping
        self.received = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def info(self, **fields) -> bytes:
        body = dict(DEFAULT_INFO, port=self.port, **fields)
        return b"INFO " + json.dumps(body).encode() + b"\r\n"

    def expect(self, marker: bytes, timeout: float = 10.0) -> None:
        """Read what the client sends until marker has been seen."""
        self.sock.settimeout(timeout)
        while marker not in self.received:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"client left before sending {marker!r}")
            self.received += chunk

    def handshake(self, **info) -> None:
        self.send(self.info(**info))
        self.expect(b"PING\r\n")
        self.send(b"PONG\r\n")

    def stall(self) -> None:
        """Hold the connection open and answer nothing."""
        self.stopping.wait()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class FakeServer:
    def __init__(self, script: Callable[[Peer], None]):
        self.script = script
        self.stopping = threading.Event()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.errors: list[BaseException] = []
        self.peers: list[Peer] = []
        self.threads: list[threading.Thread] = []
        self.accepter = threading.Thread(target=self._accept, daemon=True)
        self.accepter.start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        return len(self.peers)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(None)
            peer = Peer(sock, self.port, self.stopping)
            self.peers.append(peer)
            t = threading.Thread(target=self._run, args=(peer,), daemon=True)
            self.threads.append(t)
            t.start()

    def _run(self, peer: Peer) -> None:
        try:
            self.script(peer)
        except (ConnectionError, socket.timeout, OSError) as e:
            # The client hanging up is an outcome tests look at, not a
            # script failure; other timeouts are.
            if not self.stopping.is_set() and not isinstance(
                    e, (ConnectionResetError, BrokenPipeError,
                        ConnectionError)):
                self.errors.append(e)
        except BaseException as e:  # noqa: BLE001 - re-raised in stop()
            self.errors.append(e)
        finally:
            if self.stopping.is_set():
                peer.close()

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        for p in self.peers:
            p.close()
        self.accepter.join(timeout=5)
        for t in self.threads:
            t.join(timeout=5)
        if self.errors:
            raise self.errors[0]
