"""A feature-flag endpoint for the demo, shaped like Flagsmith's flags API (a JSON list of feature states)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FlagServer:
    def __init__(self, flags: dict[str, tuple[bool, Any]]) -> None:
        self.flags = dict(flags)
        self._server: ThreadingHTTPServer | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/v1/flags/"

    def set(self, name: str, enabled: bool, value: Any = None) -> None:
        self.flags[name] = (enabled, value if value is not None else self.flags.get(name, (None, None))[1])

    def start(self) -> "FlagServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body = json.dumps([
                    {"feature": {"name": name, "type": "STANDARD"}, "enabled": enabled, "feature_state_value": value}
                    for name, (enabled, value) in sorted(owner.flags.items())
                ]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                         name="demo-flags").start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
