"""The apiserver's rules for reads and writes, on top of :class:`~cockpit.demo.kubeapi_store.Store`.

What is reproduced (standard CRD/apiserver behaviour; see ../shared/crds/FIELDS.md section 1):

* server-managed metadata: ``uid``, ``creationTimestamp``, ``generation``, ``resourceVersion``;
* optimistic concurrency: a stale ``metadata.resourceVersion`` in a PUT body or patch is 409, a PUT
  of a custom resource without one is 422 (custom resources allow no unconditional update);
* the status subresource: for kinds that have it, main-resource writes keep the stored ``.status``
  and ``.../status`` writes change nothing but ``.status``; ``generation`` then bumps only when
  something outside metadata and status changes (for other kinds: outside metadata);
* finalizers: DELETE of an object with finalizers only sets ``deletionTimestamp``; removing the
  last finalizer afterwards deletes it;
* ``dryRun=All``: everything is checked and the would-be object returned, nothing is stored;
* CRD schema: pruning, defaulting, validation (422 ``Invalid`` naming the field).

Every failure is an :class:`ApiError`, which carries the ``Status`` body the server sends.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from cockpit.demo.kubeapi_kinds import ResourceType
from cockpit.demo.kubeapi_patch import PatchError, json_patch, merge_patch
from cockpit.demo.kubeapi_schema import Cause, builtin_module, load_schema, validate_metadata
from cockpit.demo.kubeapi_store import Entry, Store

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Metadata a client cannot set; the server keeps its own values on update.
_SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")
_GENERATED_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's alphabet for generateName


class ApiError(Exception):
    """A request the apiserver would refuse; ``status()`` is the ``Status`` body to send."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        causes: list[Cause] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = dict(details or {})
        if causes:
            self.details["causes"] = [cause.to_dict() for cause in causes]

    def status(self) -> dict[str, Any]:
        return status_body(self.code, self.reason, self.message, self.details)


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rt.qualified} "{name}" not found',
                    details={"name": name, "group": rt.group, "kind": rt.plural})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def conflict(rt: ResourceType, name: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        details={"name": name, "group": rt.group, "kind": rt.plural},
    )


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def jsonable(value: Any) -> Any:
    """Plain JSON values only: YAML-loaded timestamps become RFC 3339 strings, as on the wire."""

    def convert(item: Any) -> Any:
        if isinstance(item, datetime):
            if item.tzinfo is None:
                item = item.replace(tzinfo=timezone.utc)
            return item.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        return str(item)

    return json.loads(json.dumps(value, default=convert))


def _name_of(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _content(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The part of an object whose change bumps ``metadata.generation``."""
    skip = ("metadata", "status") if rt.status_subresource else ("metadata",)
    return {key: value for key, value in obj.items() if key not in skip}


class Api:
    """Reads and writes with apiserver semantics.  Thread-safe: every method holds the store lock."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.clock = clock

    # ------------------------------------------------------------------ shared checks

    def _prepare(self, rt: ResourceType, obj: dict[str, Any], *, creating: bool,
                 field_validation: str = "Warn") -> tuple[dict[str, Any], list[str]]:
        """Prune, default and validate; return the object to store and the warnings to send."""
        builtin = builtin_module(rt)
        if builtin is not None:  # a built-in kind is decoded into its Go type first: a bad type is a 400
            problem = builtin.decode_error(obj)
            if problem:
                raise bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {problem}')
        causes = validate_metadata(rt, obj, creating=creating)
        warnings: list[str] = []
        schema = load_schema(rt)
        if schema is not None:
            obj, unknown = schema.prune(obj)
            if unknown and field_validation == "Strict":
                raise bad_request("strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in unknown))
            if field_validation != "Ignore":
                warnings = [f'unknown field "{path}"' for path in unknown]
            causes += schema.errors(obj)
        if builtin is not None:
            causes += builtin.validate(obj)
        if causes:
            shown = [f"{c.field}: {c.message}" for c in causes]
            detail = shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"
            name = _name_of(obj) or (obj.get("metadata") or {}).get("generateName", "")
            qualified_kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
            raise ApiError(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {detail}',
                           details={"name": name, "group": rt.group, "kind": rt.kind}, causes=causes)
        return obj, warnings

    @staticmethod
    def _check_type(rt: ResourceType, obj: Any) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be a JSON object")
        if obj.setdefault("apiVersion", rt.api_version) != rt.api_version or obj.setdefault("kind", rt.kind) != rt.kind:
            raise bad_request(
                f"the API version in the data ({obj['apiVersion']}) and kind ({obj['kind']}) do not match "
                f"the expected {rt.api_version} {rt.kind}"
            )
        if not isinstance(obj.setdefault("metadata", {}), dict):
            raise bad_request("metadata must be an object")
        return obj

    @staticmethod
    def _check_namespace(rt: ResourceType, obj: dict[str, Any], namespace: str | None) -> None:
        meta = obj["metadata"]
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        given = meta.setdefault("namespace", namespace)
        if given != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")

    def _current(self, rt: ResourceType, namespace: str | None, name: str) -> Entry:
        entry = self.store.get(rt, namespace or "", name)
        if entry is None:
            raise not_found(rt, name)
        return entry

    def _updated(
        self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any], subresource: str | None
    ) -> dict[str, Any]:
        """Apply the update rules (server metadata, status subresource, generation) to *new*."""
        if subresource == "status":
            result = copy.deepcopy(old)
            result.pop("status", None)
            if "status" in new:
                result["status"] = new["status"]
        else:
            result = new
            meta = result["metadata"]
            for key in _SERVER_META:
                if key in old["metadata"]:
                    meta[key] = old["metadata"][key]
                else:
                    meta.pop(key, None)
            meta.pop("selfLink", None)
            if rt.status_subresource:
                result.pop("status", None)
                if "status" in old:
                    result["status"] = copy.deepcopy(old["status"])
        if rt.has_generation and _content(rt, result) != _content(rt, old):
            result["metadata"]["generation"] = int(old["metadata"].get("generation") or 0) + 1
        return result

    def _store_update(
        self, rt: ResourceType, old: Entry, result: dict[str, Any], *, dry_run: bool
    ) -> tuple[str, dict[str, Any]]:
        """Commit an update (or the delete it completes); a no-op update keeps the resourceVersion."""
        result["metadata"]["resourceVersion"] = old.obj["metadata"]["resourceVersion"]
        meta = result["metadata"]
        event = "DELETED" if meta.get("deletionTimestamp") and not meta.get("finalizers") else "MODIFIED"
        if dry_run or (event == "MODIFIED" and result == old.obj):
            return event, result
        return event, self.store.commit(rt, event, result).obj

    # ------------------------------------------------------------------ client requests

    def create(self, rt: ResourceType, namespace: str | None, body: Any, *, dry_run: bool = False,
               field_validation: str = "Warn") -> tuple[dict[str, Any], list[str]]:
        obj = self._check_type(rt, body)
        self._check_namespace(rt, obj, namespace)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(_GENERATED_NAME_CHARS, k=5))
        for key in (*_SERVER_META, "resourceVersion", "selfLink", "managedFields"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.clock())
        if rt.has_generation:
            meta["generation"] = 1
        if rt.status_subresource:
            obj.pop("status", None)
        with self.store.lock:
            obj, warnings = self._prepare(rt, obj, creating=True, field_validation=field_validation)
            if self.store.get(rt, namespace or "", meta["name"]) is not None:
                raise ApiError(409, "AlreadyExists", f'{rt.qualified} "{meta["name"]}" already exists',
                               details={"name": meta["name"], "group": rt.group, "kind": rt.plural})
            if dry_run:
                return obj, warnings
            return self.store.commit(rt, "ADDED", obj).obj, warnings

    def replace(self, rt: ResourceType, namespace: str | None, name: str, body: Any, *, subresource: str | None = None,
                dry_run: bool = False, field_validation: str = "Warn") -> tuple[str, dict[str, Any], list[str]]:
        obj = self._check_type(rt, body)
        if _name_of(obj) != name:
            raise bad_request(f"the name of the object ({_name_of(obj)}) does not match the name on the URL ({name})")
        self._check_namespace(rt, obj, namespace)
        with self.store.lock:
            old = self._current(rt, namespace, name)
            given = obj["metadata"].get("resourceVersion")
            if given:
                if str(given) != old.obj["metadata"]["resourceVersion"]:
                    raise conflict(rt, name)
            elif rt.crd_path is not None:
                raise ApiError(422, "Invalid", f'{rt.kind}.{rt.group} "{name}" is invalid: metadata.resourceVersion: '
                               "Invalid value: 0x0: must be specified for an update",
                               causes=[Cause("metadata.resourceVersion", "must be specified for an update")])
            result = self._updated(rt, old.obj, obj, subresource)
            result, warnings = self._prepare(rt, result, creating=False, field_validation=field_validation)
            event, stored = self._store_update(rt, old, result, dry_run=dry_run)
            return event, stored, warnings

    def patch(self, rt: ResourceType, namespace: str | None, name: str, content_type: str, raw: bytes, *,
              subresource: str | None = None, dry_run: bool = False,
              field_validation: str = "Warn") -> tuple[str, dict[str, Any], list[str]]:
        media = content_type.split(";")[0].strip().lower()
        if media == APPLY_PATCH:
            raise ApiError(415, "UnsupportedMediaType", "server-side apply is not supported by the emulator")
        if media not in (MERGE_PATCH, STRATEGIC_PATCH, JSON_PATCH):
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format ({media})")
        try:
            patch = json.loads(raw or b"null")
        except ValueError as err:
            raise bad_request(f"error decoding patch: {err}") from None
        with self.store.lock:
            old = self._current(rt, namespace, name)
            try:
                if media == JSON_PATCH:
                    patched = json_patch(old.obj, patch)
                elif isinstance(patch, dict):
                    patched = merge_patch(old.obj, patch)
                else:
                    raise bad_request("a merge patch must be a JSON object")
            except PatchError as err:
                message = f"the server rejected our request due to an error in our request: {err}"
                raise ApiError(422, "Invalid", message) from None
            if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
                raise ApiError(422, "Invalid", "the patch produced something that is not an object")
            if media != JSON_PATCH:  # merge_patch shares untouched subtrees with the stored object
                patched = copy.deepcopy(patched)
            wanted = patched["metadata"].get("resourceVersion")
            if wanted is not None and str(wanted) != old.obj["metadata"]["resourceVersion"]:
                raise conflict(rt, name)  # the patch carried a stale resourceVersion
            if _name_of(patched) != name or (patched["metadata"].get("namespace") or None) != (namespace or None):
                raise bad_request("a patch cannot change metadata.name or metadata.namespace")
            if patched.get("apiVersion") != rt.api_version or patched.get("kind") != rt.kind:
                raise bad_request("a patch cannot change apiVersion or kind")
            result = self._updated(rt, old.obj, patched, subresource)
            result, warnings = self._prepare(rt, result, creating=False, field_validation=field_validation)
            event, stored = self._store_update(rt, old, result, dry_run=dry_run)
            return event, stored, warnings

    def delete(self, rt: ResourceType, namespace: str | None, name: str, *, dry_run: bool = False,
               preconditions: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        with self.store.lock:
            old = self._current(rt, namespace, name)
            meta = old.obj["metadata"]
            for key in ("uid", "resourceVersion"):
                wanted = (preconditions or {}).get(key)
                if wanted is not None and str(wanted) != str(meta.get(key)):
                    raise ApiError(409, "Conflict", f"Precondition failed: {key} in precondition: {wanted}, "
                                   f"{key} in object meta: {meta.get(key)}",
                                   details={"name": name, "group": rt.group, "kind": rt.plural})
            final = copy.deepcopy(old.obj)
            if meta.get("finalizers"):
                if meta.get("deletionTimestamp"):
                    return "MODIFIED", old.obj
                final["metadata"]["deletionTimestamp"] = rfc3339(self.clock())
                final["metadata"]["deletionGracePeriodSeconds"] = 0
                if dry_run:
                    return "MODIFIED", final
                return "MODIFIED", self.store.commit(rt, "MODIFIED", final).obj
            if dry_run:
                return "DELETED", final
            return "DELETED", self.store.commit(rt, "DELETED", final).obj

    # ------------------------------------------------------------------ scenario helpers (no client)

    def seed(self, rt: ResourceType, obj: dict[str, Any], *, validate: bool = True) -> Entry:
        """Create or replace *obj* including ``.status``; keeps given uid/creationTimestamp/generation."""
        obj = self._check_type(rt, obj)
        meta = obj["metadata"]
        if rt.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        meta.pop("resourceVersion", None)
        with self.store.lock:
            old = self.store.get(rt, meta.get("namespace") or "", _name_of(obj))
            old_meta = old.obj["metadata"] if old else {}
            meta.setdefault("uid", old_meta.get("uid") or str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", old_meta.get("creationTimestamp") or rfc3339(self.clock()))
            if rt.has_generation and "generation" not in meta:
                generation = int(old_meta.get("generation") or 0)
                changed = old is None or _content(rt, obj) != _content(rt, old.obj)
                meta["generation"] = generation + 1 if changed else generation
            if validate:
                obj, _ = self._prepare(rt, obj, creating=True, field_validation="Ignore")
            return self.store.commit(rt, "MODIFIED" if old else "ADDED", obj)

    def remove(self, rt: ResourceType, namespace: str | None, name: str) -> Entry | None:
        """Delete at once, ignoring finalizers (a scenario step, not a client request)."""
        with self.store.lock:
            old = self.store.get(rt, namespace or "", name)
            if old is None:
                return None
            return self.store.commit(rt, "DELETED", copy.deepcopy(old.obj))

    def merge_into(self, rt: ResourceType, namespace: str | None, name: str, patch: dict[str, Any]) -> Entry:
        """Merge-patch the stored object directly (status included), bypassing subresource rules."""
        with self.store.lock:
            old = self._current(rt, namespace, name)
            result = copy.deepcopy(merge_patch(old.obj, jsonable(patch)))
            meta = result["metadata"]
            for key in ("name", "namespace", "uid", "creationTimestamp"):
                if key in old.obj["metadata"]:
                    meta[key] = old.obj["metadata"][key]
            explicit = "generation" in (patch.get("metadata") or {})
            if rt.has_generation and not explicit and _content(rt, result) != _content(rt, old.obj):
                meta["generation"] = int(old.obj["metadata"].get("generation") or 0) + 1
            result, _ = self._prepare(rt, result, creating=False, field_validation="Ignore")
            return self.store.commit(rt, "MODIFIED", result)
