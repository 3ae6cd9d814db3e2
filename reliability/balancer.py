"""A small TCP load balancer on loopback: each accepted connection goes to the next
backend in turn; a backend that refuses the connection is skipped (as a health-checking
balancer would take a dead node out), so killing one node costs only the requests it was
serving.  Enough for a cluster of two on one machine; nginx or HAProxy do the same job in
production (docs/reliability.md)."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading


class Balancer:
    def __init__(self, backends: list[int], port: int) -> None:
        self.backends = backends
        self.port = port
        self._turn = itertools.count()
        self._listener = socket.create_server(("127.0.0.1", port), backlog=256)
        self._stopped = threading.Event()
        self.connections = [0] * len(backends)  # accepted per backend

    def start(self) -> Balancer:
        threading.Thread(target=self._accept, daemon=True, name="balancer").start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        start = next(self._turn)
        for step in range(len(self.backends)):
            index = (start + step) % len(self.backends)
            try:
                upstream = socket.create_connection(("127.0.0.1", self.backends[index]), 3)
            except OSError:
                continue  # that node is down: the next one
            upstream.settimeout(None)  # the 3 s were for connecting; a slow answer is the node's
            self.connections[index] += 1
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
            _pipe(client, upstream)
            return
        client.close()  # no node up: the client sees the connection closed


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
