"""Validation, pruning and defaulting of objects the way the apiserver treats a CRD's schema.

The CRD's ``openAPIV3Schema`` is a *structural* OpenAPI 3.0 schema.  To check it with ``jsonschema``
(Draft 4 semantics, which OpenAPI 3.0 follows) we translate the Kubernetes extensions:
``nullable`` adds ``null`` to the type, ``x-kubernetes-int-or-string`` allows integer or string,
``format`` is dropped (``date-time`` fields are plain strings here; int32/int64 are just
``integer``).  CEL rules (``x-kubernetes-validations``) are not evaluated.

Before validating, the object is pruned and defaulted like the apiserver does: unknown fields
are dropped (except below ``x-kubernetes-preserve-unknown-fields``), ``null`` on a non-nullable
field is dropped, missing fields with a ``default`` get it.  Pruned paths are reported so the
server can warn (``fieldValidation=Warn``) or refuse (``Strict``).

Parsed schemas are cached per process (the vendored CRDs are big; parse them once).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from cockpit.demo.kubeapi_kinds import ResourceType

if TYPE_CHECKING:  # jsonschema costs ~40 ms to import; only load it when a schema is first used
    import jsonschema

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)

# Keywords passed through to jsonschema unchanged; everything else (description, format, default,
# example, x-kubernetes-*) only matters to the apiserver's other stages or to humans.
_PASS_THROUGH = frozenset(
    {
        "type",
        "enum",
        "required",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
        "minProperties",
        "maxProperties",
    }
)

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Cause:
    """One validation failure, shaped like ``Status.details.causes[]``."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


def to_jsonschema(node: Any) -> Any:
    """Translate one structural-schema node (recursively) into a Draft 4 JSON Schema."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {key: value for key, value in node.items() if key in _PASS_THROUGH}
    if "properties" in node:
        out["properties"] = {name: to_jsonschema(sub) for name, sub in node["properties"].items()}
    if "additionalProperties" in node:
        extra = node["additionalProperties"]
        out["additionalProperties"] = extra if isinstance(extra, bool) else to_jsonschema(extra)
    if "items" in node:
        items = node["items"]
        out["items"] = [to_jsonschema(i) for i in items] if isinstance(items, list) else to_jsonschema(items)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            out[key] = [to_jsonschema(sub) for sub in node[key]]
    if "not" in node:
        out["not"] = to_jsonschema(node["not"])
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        if "anyOf" not in out:
            out["type"] = ["integer", "string"]
    if node.get("nullable"):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out


class CompiledSchema:
    """One CRD version's schema: the raw structural tree (for pruning) plus a jsonschema validator."""

    def __init__(self, raw: dict[str, Any]) -> None:
        import jsonschema

        self.raw = raw
        self.validator = jsonschema.Draft4Validator(to_jsonschema(raw))

    def prune(self, obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """A pruned and defaulted copy of *obj* plus the paths of the dropped unknown fields."""
        unknown: list[str] = []
        out = _prune_object(obj, self.raw, "", unknown, root=True)
        return out, unknown

    def errors(self, obj: dict[str, Any]) -> list[Cause]:
        return [_cause(error) for error in _sorted_errors(self.validator.iter_errors(obj))]


def _sorted_errors(errors: Iterator[jsonschema.ValidationError]) -> list[jsonschema.ValidationError]:
    return sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])


def _prune_meta(meta: Any) -> Any:
    if not isinstance(meta, dict):
        return meta
    return {key: value for key, value in meta.items() if key in OBJECT_META_FIELDS}


def _prune_object(
    value: dict[str, Any], schema: dict[str, Any], path: str, unknown: list[str], *, root: bool = False
) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    embedded = root or bool(schema.get("x-kubernetes-embedded-resource"))
    out: dict[str, Any] = {}
    for key, item in value.items():
        child_path = f"{path}.{key}" if path else key
        if embedded and key == "metadata":
            out[key] = _prune_meta(item)
            continue
        sub = props.get(key)
        if sub is None and isinstance(extra, dict):
            sub = extra
        if sub is None:
            if preserve or extra is True or (embedded and key in ("apiVersion", "kind")):
                out[key] = item
            else:
                unknown.append(child_path)
            continue
        if item is None and not sub.get("nullable"):
            continue  # the apiserver drops null on non-nullable fields before validating
        out[key] = _prune_value(item, sub, child_path, unknown)
    for key, sub in props.items():
        if key not in out and "default" in sub and not (embedded and key == "metadata"):
            child_path = f"{path}.{key}" if path else key
            out[key] = _prune_value(copy.deepcopy(sub["default"]), sub, child_path, unknown)
    return out


def _prune_value(value: Any, schema: dict[str, Any], path: str, unknown: list[str]) -> Any:
    if isinstance(value, dict):
        declares_fields = "properties" in schema or "additionalProperties" in schema
        if not declares_fields and (schema.get("x-kubernetes-preserve-unknown-fields") or "type" not in schema):
            return value  # a free-form node: keep it whole
        return _prune_object(value, schema, path, unknown)
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            return [_prune_value(v, items, f"{path}[{i}]", unknown) if v is not None else None
                    for i, v in enumerate(value)]
    return value


def _field_path(parts: Iterator[Any] | Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _cause(error: jsonschema.ValidationError) -> Cause:
    field = _field_path(error.absolute_path)
    if error.validator == "required":
        missing = next((p for p in error.validator_value if repr(p) in error.message), "")
        return Cause(f"{field}.{missing}" if field else missing, "Required value", "FieldValueRequired")
    where = field or "<root>"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        message = f"Invalid value: {_show(error.instance)}: {where} in body must be of type {expected}"
    elif error.validator == "enum":
        supported = ", ".join(_show(v) for v in error.validator_value)
        message = f"Unsupported value: {_show(error.instance)}: supported values: {supported}"
        return Cause(where, message, "FieldValueNotSupported")
    elif error.validator == "pattern":
        message = f"Invalid value: {_show(error.instance)}: {where} in body should match '{error.validator_value}'"
    else:
        message = f"Invalid value: {_show(error.instance)}: {where} in body: {error.message}"
    return Cause(where, message)


def validate_metadata(rt: ResourceType, obj: dict[str, Any], *, creating: bool) -> list[Cause]:
    """ObjectMeta checks every kind gets: name present and DNS-shaped, labels/annotations strings."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [Cause("metadata", "Required value: metadata must be an object", "FieldValueRequired")]
    causes: list[Cause] = []
    name = meta.get("name")
    if not name:
        if not (creating and meta.get("generateName")):
            causes.append(Cause("metadata.name", "Required value: name or generateName is required",
                                "FieldValueRequired"))
    elif not isinstance(name, str):
        causes.append(Cause("metadata.name", f"Invalid value: {_show(name)}: must be a string"))
    else:
        pattern, limit = (_DNS1123_LABEL, 63) if rt.plural == "namespaces" else (_DNS1123_SUBDOMAIN, 253)
        if len(name) > limit or not pattern.match(name):
            causes.append(Cause("metadata.name", f"Invalid value: {_show(name)}: a lowercase RFC 1123 "
                                f"{'label' if limit == 63 else 'subdomain'} must consist of lower case "
                                "alphanumeric characters, '-' or '.'"))
    for key in ("labels", "annotations"):
        mapping = meta.get(key)
        if mapping is None:
            continue
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            causes.append(Cause(f"metadata.{key}", f"Invalid value: {_show(mapping)}: must map strings to strings"))
    return causes


_schema_cache: dict[tuple[str, int, int, int], CompiledSchema] = {}
_by_type: dict[ResourceType, CompiledSchema] = {}  # fast path: no stat() per write
_schema_lock = threading.Lock()


def load_schema(rt: ResourceType) -> CompiledSchema | None:
    """The compiled schema of a CRD-backed type, or of a built-in with ``builtin_schema`` (parsed on first use,
    cached per process)."""
    if rt.builtin_schema:
        return _builtin_schema(rt)
    if rt.crd_path is None:
        return None
    compiled = _by_type.get(rt)
    if compiled is not None:
        return compiled
    stat = rt.crd_path.stat()
    key = (str(rt.crd_path.resolve()), stat.st_size, stat.st_mtime_ns, rt.crd_version_index)
    with _schema_lock:
        cached = _schema_cache.get(key)
        if cached is not None:
            _by_type[rt] = cached
            return cached
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with rt.crd_path.open(encoding="utf-8") as handle:
            docs = [d for d in yaml.load_all(handle, Loader=loader) if isinstance(d, dict)]
        for doc in docs:
            spec = doc.get("spec") or {}
            if doc.get("kind") == "CustomResourceDefinition" and (spec.get("names") or {}).get("plural") == rt.plural:
                version = spec["versions"][rt.crd_version_index]
                raw = ((version.get("schema") or {}).get("openAPIV3Schema")) or {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                }
                compiled = CompiledSchema(raw)
                _schema_cache[key] = _by_type[rt] = compiled
                return compiled
        raise LookupError(f"{rt.crd_path} no longer defines {rt.qualified}")


def _builtin_schema(rt: ResourceType) -> CompiledSchema | None:
    compiled = _by_type.get(rt)
    if compiled is not None:
        return compiled
    module = builtin_module(rt)
    if module is None:
        return None
    with _schema_lock:
        compiled = _by_type.get(rt) or CompiledSchema(module.LEASE_SCHEMA)
        _by_type[rt] = compiled
    return compiled


def builtin_module(rt: ResourceType) -> Any:
    """The module describing a built-in kind's decoding and validation (None for kinds checked on metadata only)."""
    if rt.builtin_schema and (rt.group, rt.plural) == ("coordination.k8s.io", "leases"):
        from cockpit.demo import kubeapi_leases

        return kubeapi_leases
    return None
