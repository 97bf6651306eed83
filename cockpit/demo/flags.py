"""A feature-flag service for the demo, shaped like Flagsmith: the SDK read and the admin API's feature-state write.

Two APIs on one loopback port, as Flagsmith serves them (api/features/views.py, api/environments/urls.py):

* the **SDK read** ``GET /api/v1/flags/`` -- the environment's flags as a JSON list of feature states
  (``SDKFeatureStateSerializer``: ``id``, ``feature {id, name, type, ...}``, ``feature_state_value``,
  ``environment``, ``identity``, ``feature_segment``, ``enabled``).  Flagsmith authenticates it with the header
  ``X-Environment-Key``; a wrong key is refused with 401 here.  A request *without* the header is answered too
  unless ``require_environment_key`` is set (the cockpit's evidence read does not send the key yet);
* the **admin API** under ``/api/v1/environments/{environment_key}/featurestates/``: ``GET`` lists the
  environment's default feature states (``?feature_name=`` / ``?feature=`` filter them), paginated as
  ``{"count", "next", "previous", "results"}``; ``PATCH`` (or ``PUT``: Flagsmith treats every update as partial)
  of ``.../featurestates/{id}/`` with ``{"enabled": false}`` flips one, answered with the feature state
  (``FeatureStateSerializerBasic``).  Both need ``Authorization: Token <key>`` (a user token) or
  ``Authorization: Api-Key <key>`` (an organisation key); without it 401, with a wrong one 401 "Invalid token.".

Every change calls ``on_change(name, enabled)`` so the demo's p99 can react.  Bodies are size-capped; stdlib only.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ENVIRONMENT_KEY = "8KzETdDeMY7xkqkSkY3Gsg"  # Flagsmith environment keys are public client-side keys
ENVIRONMENT_ID = 17
ADMIN_TOKEN = "demo-flagsmith-admin-token"  # the demo's secret; run_demo puts it in the environment, never on screen
_MAX_BODY = 64 * 1024

ChangeFn = Callable[[str, bool], None]


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FlagServer:
    """``FlagServer({name: (enabled, value)}).start()``; ``url`` is the SDK flags URL, ``admin_url`` the API base."""

    def __init__(
        self,
        flags: dict[str, tuple[bool, Any]],
        *,
        environment_key: str = ENVIRONMENT_KEY,
        admin_token: str = ADMIN_TOKEN,
        require_environment_key: bool = False,
        updated: dict[str, datetime] | None = None,
        on_change: ChangeFn | None = None,
    ) -> None:
        self.environment_key = environment_key
        self.admin_token = admin_token
        self.require_environment_key = require_environment_key
        self.on_change = on_change
        self._lock = threading.Lock()
        self._states: dict[str, dict[str, Any]] = {}
        created = datetime(2026, 1, 12, 9, 30, tzinfo=timezone.utc)
        for index, (name, (enabled, value)) in enumerate(sorted(flags.items()), start=1):
            when = (updated or {}).get(name, created)
            self._states[name] = {
                "id": 4100 + index, "feature_id": 310 + index, "enabled": bool(enabled), "value": value,
                "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cockpit-demo/{name}")),
                "created_at": created, "updated_at": when,
            }
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self._server: ThreadingHTTPServer | None = None
        self._port = 0

    # ------------------------------------------------------------------ state

    @property
    def flags(self) -> dict[str, tuple[bool, Any]]:
        with self._lock:
            return {name: (state["enabled"], state["value"]) for name, state in self._states.items()}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/v1/flags/"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def set(self, name: str, enabled: bool, value: Any = None) -> None:
        """Change a flag from the demo's side (a person in the Flagsmith UI)."""
        self._update(name, enabled, value)

    def state(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            state = self._states.get(name)
            return dict(state) if state else None

    def _update(self, name: str, enabled: bool | None, value: Any = None) -> dict[str, Any]:
        with self._lock:
            state = self._states.get(name)
            if state is None:
                state = {"id": 4100 + len(self._states) + 1, "feature_id": 310 + len(self._states) + 1,
                         "enabled": False, "value": None, "uuid": str(uuid.uuid4()),
                         "created_at": datetime.now(timezone.utc), "updated_at": datetime.now(timezone.utc)}
                self._states[name] = state
            changed = enabled is not None and state["enabled"] != enabled
            if enabled is not None:
                state["enabled"] = bool(enabled)
            if value is not None:
                state["value"] = value
            state["updated_at"] = datetime.now(timezone.utc)
            snapshot = dict(state)
        if changed and self.on_change is not None:
            try:
                self.on_change(name, bool(enabled))
            except Exception:  # noqa: BLE001 - the demo's reaction must not break the API answer
                pass
        return snapshot

    # ------------------------------------------------------------------ shapes

    def _sdk_item(self, name: str, state: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": state["id"],
            "feature": {"id": state["feature_id"], "name": name, "created_date": _iso(state["created_at"]),
                        "description": None, "initial_value": None, "default_enabled": False, "type": "STANDARD"},
            "feature_state_value": state["value"],
            "environment": ENVIRONMENT_ID,
            "identity": None,
            "feature_segment": None,
            "enabled": state["enabled"],
        }

    def _admin_item(self, name: str, state: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": state["id"],
            "feature_state_value": state["value"],
            "multivariate_feature_state_values": [],
            "identity_identifier": None,
            "uuid": state["uuid"],
            "enabled": state["enabled"],
            "created_at": _iso(state["created_at"]),
            "updated_at": _iso(state["updated_at"]),
            "live_from": _iso(state["created_at"]),
            "version": 1,
            "feature": state["feature_id"],
            "environment": ENVIRONMENT_ID,
            "identity": None,
            "feature_segment": None,
            "change_request": None,
            "environment_feature_version": None,
        }

    def sdk_flags(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._sdk_item(name, dict(state)) for name, state in sorted(self._states.items())]

    def admin_list(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            items = [(name, dict(state)) for name, state in sorted(self._states.items())]
        if query.get("feature_name"):
            items = [(name, state) for name, state in items if name == query["feature_name"]]
        if query.get("feature"):
            items = [(name, state) for name, state in items if str(state["feature_id"]) == query["feature"]]
        results = [self._admin_item(name, state) for name, state in items]
        return {"count": len(results), "next": None, "previous": None, "results": results}

    def admin_update(self, state_id: int, body: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            name = next((name for name, state in self._states.items() if state["id"] == state_id), None)
        if name is None:
            return None
        enabled = body.get("enabled")
        snapshot = self._update(name, enabled if isinstance(enabled, bool) else None,
                                body.get("feature_state_value"))
        return self._admin_item(name, snapshot)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FlagServer":
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        server.daemon_threads = True
        server.flags = self  # type: ignore[attr-defined]
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


class _Handler(BaseHTTPRequestHandler):
    server_version = "cockpit-demo-flagsmith"
    timeout = 10

    @property
    def owner(self) -> FlagServer:
        return self.server.flags  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._route("GET")

    def do_PATCH(self) -> None:  # noqa: N802
        self._route("PATCH")

    def do_PUT(self) -> None:  # noqa: N802
        self._route("PUT")

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        owner = self.owner
        owner.requests.append((method, parts.path))
        segments = [part for part in parts.path.split("/") if part]
        if parts.path in ("/api/v1/flags/", "/api/v1/flags") and method == "GET":
            key = self.headers.get("X-Environment-Key")
            if (key is None and owner.require_environment_key) or (key is not None and key != owner.environment_key):
                self._json(401, {"detail": "Invalid or missing Environment Key"})
                return
            self._json(200, owner.sdk_flags())
            return
        if segments[:3] == ["api", "v1", "environments"] and len(segments) >= 5 and segments[4] == "featurestates":
            self._admin(method, segments, query)
            return
        self._json(404, {"detail": "Not found."})

    def _admin(self, method: str, segments: list[str], query: dict[str, str]) -> None:
        owner = self.owner
        auth = (self.headers.get("Authorization") or "").strip()
        scheme, _, token = auth.partition(" ")
        if not auth or scheme not in ("Token", "Api-Key"):
            self._json(401, {"detail": "Authentication credentials were not provided."})
            return
        if token.strip() != owner.admin_token:
            self._json(401, {"detail": "Invalid token."})
            return
        if segments[3] != owner.environment_key:
            self._json(404, {"detail": "Environment not found."})
            return
        if len(segments) == 5:
            if method != "GET":
                self._json(405, {"detail": f'Method "{method}" not allowed.'})
                return
            self._json(200, owner.admin_list(query))
            return
        if len(segments) != 6 or not segments[5].isdigit():
            self._json(404, {"detail": "Not found."})
            return
        if method == "GET":
            listed = [item for item in owner.admin_list({})["results"] if str(item["id"]) == segments[5]]
            self._json(200 if listed else 404, listed[0] if listed else {"detail": "Not found."})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._json(413, {"detail": "Request body too large."})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"detail": "JSON parse error"})
            return
        if not isinstance(body, dict):
            self._json(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
            return
        if "enabled" in body and not isinstance(body["enabled"], bool):
            self._json(400, {"enabled": ["Must be a valid boolean."]})
            return
        answer = owner.admin_update(int(segments[5]), body)
        if answer is None:
            self._json(404, {"detail": "Not found."})
            return
        self._json(200, answer)

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass
