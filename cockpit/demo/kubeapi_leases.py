"""``coordination.k8s.io/v1`` Lease, as the apiserver serves the built-in kind.

A built-in kind has no CRD: its shape is the Go type (``k8s.io/api/coordination/v1`` ``LeaseSpec``) and its rules
are the registry's validation (``pkg/apis/coordination/validation`` ``ValidateLeaseSpec``).  The emulator
reproduces the three stages a request goes through:

1. **decoding** into the Go type: a field of the wrong JSON type, an ``int32`` out of range, or a ``MicroTime`` that
   is not ``RFC3339Micro`` (``2006-01-02T15:04:05.000000Z07:00``: exactly six fraction digits, as client-go writes
   ``acquireTime``/``renewTime``) fails before anything else -- 400 ``BadRequest``;
2. **pruning** of unknown fields (:data:`LEASE_SCHEMA`, the structural form of the OpenAPI document the apiserver
   publishes for the kind; ``fieldValidation`` decides between a warning and a 400);
3. **validation**: ``leaseDurationSeconds`` > 0, ``leaseTransitions`` >= 0, ``strategy`` a known or qualified
   name, ``preferredHolder`` only with a ``strategy`` -- 422 ``Invalid`` naming the field.

There is no status subresource and no ``metadata.generation``; an update without ``resourceVersion`` is an
unconditional update (allowed for built-in kinds, unlike custom resources).
"""

from __future__ import annotations

import re
from typing import Any

from cockpit.demo.kubeapi_schema import Cause

MICRO_TIME_LAYOUT = "2006-01-02T15:04:05.000000Z07:00"
_MICRO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$")
_INT32 = (-(2**31), 2**31 - 1)
_KNOWN_STRATEGIES = ("OldestEmulationVersion",)
_QUALIFIED_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                             r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")

_MICRO = {"type": "string", "format": "date-time"}
LEASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "acquireTime": _MICRO,
                "holderIdentity": {"type": "string"},
                "leaseDurationSeconds": {"type": "integer", "format": "int32"},
                "leaseTransitions": {"type": "integer", "format": "int32"},
                "preferredHolder": {"type": "string"},
                "renewTime": _MICRO,
                "strategy": {"type": "string"},
            },
        },
    },
}
_SPEC_FIELDS = LEASE_SCHEMA["properties"]["spec"]["properties"]


def decode_error(obj: dict[str, Any]) -> str | None:
    """Why the body would not decode into a ``coordination/v1.Lease`` (None: it decodes)."""
    spec = obj.get("spec")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        return _cannot_unmarshal(spec, "Lease.spec", "v1.LeaseSpec")
    for key, value in spec.items():
        schema = _SPEC_FIELDS.get(key)
        if schema is None or value is None:
            continue  # unknown fields are pruned (or refused by strict field validation) later
        where = f"LeaseSpec.spec.{key}"
        if schema["type"] == "string":
            if not isinstance(value, str):
                return _cannot_unmarshal(value, where, "string")
            if schema.get("format") == "date-time" and not _MICRO_TIME.match(value):
                return f'parsing time "{value}" as "{MICRO_TIME_LAYOUT}": cannot parse as RFC3339Micro'
        elif schema["type"] == "integer":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return _cannot_unmarshal(value, where, "int32")
            if isinstance(value, float) and not value.is_integer():
                return f"json: cannot unmarshal number {value} into Go struct field {where} of type int32"
            if not _INT32[0] <= value <= _INT32[1]:
                return f"json: cannot unmarshal number {int(value)} into Go struct field {where} of type int32"
    return None


def _cannot_unmarshal(value: Any, where: str, go_type: str) -> str:
    json_type = {bool: "bool", str: "string", list: "array", dict: "object"}.get(type(value), "number")
    return f"json: cannot unmarshal {json_type} into Go struct field {where} of type {go_type}"


def validate(obj: dict[str, Any]) -> list[Cause]:
    """``ValidateLeaseSpec``: the rules beyond the types."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    causes: list[Cause] = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        causes.append(Cause("spec.leaseDurationSeconds", f"Invalid value: {duration}: must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        causes.append(Cause("spec.leaseTransitions",
                            f"Invalid value: {transitions}: must be greater than or equal to 0"))
    strategy = spec.get("strategy")
    if isinstance(strategy, str) and strategy:
        if "/" not in strategy and strategy not in _KNOWN_STRATEGIES:
            supported = ", ".join(f'"{name}"' for name in _KNOWN_STRATEGIES)
            causes.append(Cause("spec.strategy.strategy", f'Unsupported value: "{strategy}": supported values: '
                                f"{supported}", "FieldValueNotSupported"))
        elif "/" in strategy and (len(strategy) > 316 or not _QUALIFIED_NAME.match(strategy)):
            causes.append(Cause("spec.strategy.strategy", f'Invalid value: "{strategy}": must be a qualified name'))
    preferred = spec.get("preferredHolder")
    if isinstance(preferred, str) and preferred and not strategy:
        causes.append(Cause("spec.preferredHolder", "Forbidden: may only be specified if `strategy` is defined",
                            "FieldValueForbidden"))
    return causes
