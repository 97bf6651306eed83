"""Label and field selectors for the Kubernetes API emulator.

The grammar follows ``k8s.io/apimachinery/pkg/labels`` (``=``, ``==``, ``!=``, ``in``, ``notin``,
``key``, ``!key``, plus the numeric ``>``/``<``) and ``pkg/fields`` (``=``, ``==``, ``!=``).
A bad selector raises :class:`SelectorError`, which the server answers with 400 like the apiserver.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_SET_RE = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\((.*)\)\s*$")
_CMP_RE = re.compile(rf"^\s*({_KEY})\s*(==|!=|=|>|<)\s*(.*?)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


class SelectorError(ValueError):
    """The selector string does not parse; the message names the bad part."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, Any]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        try:  # ">" and "<" compare integers; a non-integer label never matches
            number, bound = int(str(value)), int(self.values[0])
        except (TypeError, ValueError):
            return False
        return present and (number > bound if self.op == ">" else number < bound)


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unbalanced parenthesis in selector {text!r}")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise SelectorError(f"unbalanced parenthesis in selector {text!r}")
    parts.append("".join(current))
    return [part for part in (p.strip() for p in parts) if part]


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    """Parse ``labelSelector``; an empty or missing selector matches everything."""
    if not text or not text.strip():
        return ()
    requirements = []
    for part in _split_top_level(text):
        if match := _SET_RE.match(part):
            values = tuple(v.strip() for v in match.group(3).split(",") if v.strip())
            requirements.append(Requirement(match.group(1), match.group(2), values))
        elif match := _CMP_RE.match(part):
            op = "=" if match.group(2) == "==" else match.group(2)
            requirements.append(Requirement(match.group(1), op, (match.group(3),)))
        elif match := _EXISTS_RE.match(part):
            requirements.append(Requirement(match.group(2), "!" if match.group(1) else "exists", ()))
        else:
            raise SelectorError(f"unable to parse requirement: {part!r}")
    return tuple(requirements)


def labels_match(requirements: tuple[Requirement, ...], obj: Mapping[str, Any]) -> bool:
    if not requirements:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(req.matches(labels) for req in requirements)


# Field labels the real apiserver accepts per resource, beyond metadata.name / metadata.namespace.
EXTRA_FIELD_LABELS: dict[str, frozenset[str]] = {
    "pods": frozenset({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "status.phase", "status.podIP"}),
    "events": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "secrets": frozenset({"type"}),
    "namespaces": frozenset({"status.phase"}),
    "replicasets": frozenset({"status.replicas"}),
}


@dataclass(frozen=True)
class FieldRequirement:
    path: tuple[str, ...]
    negate: bool
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        current: Any = obj
        for part in self.path:
            current = current.get(part) if isinstance(current, Mapping) else None
        actual = "" if current is None else str(current)
        return (actual != self.value) if self.negate else (actual == self.value)


def parse_field_selector(text: str | None, plural: str) -> tuple[FieldRequirement, ...]:
    """Parse ``fieldSelector``; unsupported field labels are refused as the apiserver does."""
    if not text or not text.strip():
        return ()
    allowed = {"metadata.name", "metadata.namespace"} | EXTRA_FIELD_LABELS.get(plural, frozenset())
    requirements = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        for op in ("!=", "==", "="):
            if op in part:
                field_name, value = (s.strip() for s in part.split(op, 1))
                break
        else:
            raise SelectorError(f"invalid field selector: {part!r}")
        if field_name not in allowed:
            raise SelectorError(f'field label not supported: {field_name}')
        requirements.append(FieldRequirement(tuple(field_name.split(".")), op == "!=", value))
    return tuple(requirements)


def fields_match(requirements: tuple[FieldRequirement, ...], obj: Mapping[str, Any]) -> bool:
    return all(req.matches(obj) for req in requirements)


def make_matcher(
    labels: tuple[Requirement, ...], fields: tuple[FieldRequirement, ...]
) -> Callable[[Mapping[str, Any]], bool]:
    """One predicate for both selectors (the common case, no selector, is a constant)."""
    if not labels and not fields:
        return lambda obj: True
    return lambda obj: labels_match(labels, obj) and fields_match(fields, obj)
