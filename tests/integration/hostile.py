"""A hostile HTTP server on 127.0.0.1: each test scripts what it sends, byte by byte if it wants.

``HostileServer(route)`` calls ``route(request, wire)`` for every request on its own thread; ``wire`` writes raw
bytes (a head, chunks, a slow drip) and counts what the client took before it hung up.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Wire:
    sock: socket.socket
    sent: int = 0
    closed_by_client: bool = False
    stop: threading.Event = field(default_factory=threading.Event)

    def write(self, data: bytes) -> bool:
        """False once the client is gone (or the server stops)."""
        if self.stop.is_set():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed_by_client = True
            return False
        self.sent += len(data)
        return True

    def head(self, status: int = 200, headers: dict[str, str] | None = None, *, chunked: bool = True,
             length: int | None = None) -> bool:
        lines = [f"HTTP/1.1 {status} X"]
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if length is not None:
            all_headers["Content-Length"] = str(length)
        elif chunked:
            all_headers["Transfer-Encoding"] = "chunked"
        all_headers.setdefault("Connection", "close")
        lines += [f"{k}: {v}" for k, v in all_headers.items()]
        return self.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def chunk(self, data: bytes) -> bool:
        return self.write(b"%x\r\n%s\r\n" % (len(data), data)) if data else True

    def end(self) -> bool:
        return self.write(b"0\r\n\r\n")

    def json(self, doc: Any, status: int = 200) -> bool:
        body = json.dumps(doc).encode()
        return self.head(status, length=len(body)) and self.write(body)

    def drip(self, data: bytes, every: float, *, chunked: bool = False, give_up_after: float = 15.0) -> bool:
        """``data`` one byte at a time, ``every`` seconds apart (gives up after ``give_up_after`` seconds so a
        client without a deadline still finishes, late)."""
        started = time.monotonic()
        for index in range(len(data)):
            if time.monotonic() - started > give_up_after:
                return self.write(data[index:] if not chunked else self._chunked(data[index:]))
            byte = data[index:index + 1]
            if not self.write(self._chunked(byte) if chunked else byte):
                return False
            if self.stop.wait(every):
                return False
        return True

    @staticmethod
    def _chunked(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data)


Route = Callable[[Request, Wire], None]


class HostileServer:
    def __init__(self, route: Route) -> None:
        self.route = route
        self.requests: list[Request] = []
        self.wires: list[Wire] = []
        self.stop_event = threading.Event()
        self.seen = threading.Event()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                file = self.request.makefile("rb")
                line = file.readline(65536).decode("latin-1").strip()
                if not line:
                    return
                method, target, _ = (line.split(" ", 2) + ["", ""])[:3]
                headers: dict[str, str] = {}
                while True:
                    header = file.readline(65536).decode("latin-1")
                    if header in ("\r\n", "\n", ""):
                        break
                    name, _, value = header.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = file.read(int(headers.get("content-length", "0") or 0))
                parts = urlsplit(target)
                request = Request(method, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)), headers,
                                  body)
                wire = Wire(self.request, stop=server.stop_event)
                server.requests.append(request)
                server.wires.append(wire)
                server.seen.set()
                try:
                    server.route(request, wire)
                except OSError:
                    wire.closed_by_client = True

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.allow_reuse_address = True
        self.server.daemon_threads = True
        self.server.server_bind()
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def endless(wire: Wire, piece: bytes, *, cap: int) -> None:
    """Chunks of ``piece`` until the client hangs up or ``cap`` bytes went out (then the stream just ends)."""
    while wire.sent < cap:
        if not wire.chunk(piece):
            return
    wire.end()
