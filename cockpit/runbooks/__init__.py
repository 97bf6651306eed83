"""Runbooks as data: one YAML file per runbook in this directory, loaded and validated here.

A runbook is what the on-call follows at 3 a.m.; keeping it as data (not code) means it can be read and reviewed
like any document, drilled, and kept current without a release.  Each file has::

    id: code-rollback-rollouts           # = the file name
    title: ...                           # one line
    layer: code | data | config | mitigation
    summary: ...                         # when to use it, in two or three sentences
    rto: 30s-2m                          # what the seed expects this layer to take
    inputs:                              # what the run needs; {name} placeholders refer to them
      - {name: namespace, description: ...}
      - {name: target_time, description: ..., ask: true}   # asked from the person during the run
    steps:
      - {id: ..., kind: check,  title: ..., explain: ..., when: <condition>, on_fail: stop | warn, fail_message: ...}
      - {id: ..., kind: action, title: ..., explain: ..., action: rollouts.abort, with: {name: "{rollout}"}}
      - {id: ..., kind: wait,   title: ..., explain: ..., until: <condition>, timeout: 300}
      - {id: ..., kind: manual, title: ..., instruction: ...}

Any step may carry ``only_if: <condition>``: when the condition is false the step is skipped as not needed (abort
only while a canary is in flight, undo only once it is promoted); when it cannot be told, the step runs.

A condition is ``{fact: rollout.aborted, op: "true"}``, ``{fact: latency.p99, op: lt, value_fact: latency.slo}``,
``{fact: argocd.health, op: eq, value: Healthy}``, or ``{all: [...]}`` / ``{any: [...]}`` / ``{not: ...}`` of them;
facts are the vocabulary of :mod:`cockpit.runbooks.facts`.  Loading checks the file against a JSON schema, then
what a schema cannot: facts exist, actions exist and get their required parameters, placeholders name inputs,
step ids are unique, and every code-rollback runbook starts with the migration pre-flight check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUNBOOK_DIR = Path(__file__).parent
STEP_KINDS = ("check", "action", "wait", "manual")
# how an input is checked when entered (cockpit.session.runs.validate_input)
INPUT_TYPES = ("text", "name", "time", "history_id", "commit", "backup", "cluster", "namespace", "release", "revision")
LAYERS = ("code", "data", "config", "mitigation")
PREFLIGHT_FACT = "preflight.verdict"
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "true", "false", "present")
_MAX_FILE_BYTES = 256 * 1024


class RunbookError(ValueError):
    """A runbook file that cannot be used; the message names the file and the problem."""


# --------------------------------------------------------------------------- schema

_CONDITION: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "required": ["fact", "op"],
            "additionalProperties": False,
            "properties": {
                "fact": {"type": "string"},
                "op": {"enum": list(_OPS)},
                "value": {},
                "value_fact": {"type": "string"},
            },
        },
        {"type": "object", "required": ["all"], "additionalProperties": False,
         "properties": {"all": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/condition"}}}},
        {"type": "object", "required": ["any"], "additionalProperties": False,
         "properties": {"any": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/condition"}}}},
        {"type": "object", "required": ["not"], "additionalProperties": False,
         "properties": {"not": {"$ref": "#/$defs/condition"}}},
    ]
}

_TEXT = {"type": "string", "minLength": 1}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"condition": _CONDITION},
    "type": "object",
    "required": ["id", "title", "layer", "summary", "steps"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
        "title": _TEXT,
        "layer": {"enum": list(LAYERS)},
        "summary": _TEXT,
        "rto": {"type": "string"},
        "inputs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "description"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
                    "description": _TEXT,
                    "ask": {"type": "boolean"},
                    "default": {"type": ["string", "number", "boolean"]},
                    "type": {"enum": list(INPUT_TYPES)},
                },
            },
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "kind", "title"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
                    "kind": {"enum": list(STEP_KINDS)},
                    "title": _TEXT,
                    "explain": {"type": "string"},
                    "when": {"$ref": "#/$defs/condition"},
                    "until": {"$ref": "#/$defs/condition"},
                    "only_if": {"$ref": "#/$defs/condition"},
                    "on_fail": {"enum": ["stop", "warn"]},
                    "fail_message": {"type": "string"},
                    "next_runbook": {"type": "string"},
                    "action": {"type": "string"},
                    "with": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                    "instruction": {"type": "string"},
                    "timeout": {"type": "number", "exclusiveMinimum": 0},
                    "safety": {"type": "boolean"},
                },
                "allOf": [
                    {"if": {"properties": {"kind": {"const": "check"}}}, "then": {"required": ["when"]}},
                    {"if": {"properties": {"kind": {"const": "wait"}}}, "then": {"required": ["until"]}},
                    {"if": {"properties": {"kind": {"const": "action"}}}, "then": {"required": ["action"]}},
                    {"if": {"properties": {"kind": {"const": "manual"}}}, "then": {"required": ["instruction"]}},
                ],
            },
        },
    },
}


# --------------------------------------------------------------------------- model


def fill(text: str, inputs: Mapping[str, Any], *, missing: str = "{{{name}}}") -> str:
    """``{name}`` placeholders replaced by inputs; unknown names are left as they are (shown, not guessed), or
    written as ``missing`` (e.g. ``"‹{name}?›"`` for a title on screen)."""
    return _PLACEHOLDER.sub(lambda m: str(inputs[m.group(1)]) if inputs.get(m.group(1)) not in (None, "")
                            else missing.format(name=m.group(1)), text)


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


@dataclass(frozen=True)
class Condition:
    """A test on live facts.  ``evaluate`` answers True, False, or None ("cannot tell"), with the reason."""

    raw: Mapping[str, Any]

    def facts(self) -> set[str]:
        raw = self.raw
        if "all" in raw or "any" in raw:
            return set().union(*(Condition(c).facts() for c in raw.get("all") or raw.get("any")))
        if "not" in raw:
            return Condition(raw["not"]).facts()
        return {raw["fact"], *([raw["value_fact"]] if "value_fact" in raw else [])}

    def describe(self, inputs: Mapping[str, Any] | None = None) -> str:
        raw = self.raw
        if "all" in raw:
            return " and ".join(Condition(c).describe(inputs) for c in raw["all"])
        if "any" in raw:
            return "(" + " or ".join(Condition(c).describe(inputs) for c in raw["any"]) + ")"
        if "not" in raw:
            return f"not ({Condition(raw['not']).describe(inputs)})"
        op = raw["op"]
        if op in ("true", "false"):
            return f"{raw['fact']} is {op}"
        if op == "present":
            return f"{raw['fact']} is known"
        symbol = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "in",
                  "not_in": "not in"}
        other = raw["value_fact"] if "value_fact" in raw else repr(_value(raw.get("value"), inputs or {}))
        return f"{raw['fact']} {symbol[op]} {other}"

    def evaluate(self, facts: Mapping[str, Any], inputs: Mapping[str, Any] | None = None) -> tuple[bool | None, str]:
        raw, inputs = self.raw, inputs or {}
        if "all" in raw or "any" in raw:
            results = [Condition(c).evaluate(facts, inputs) for c in raw.get("all") or raw.get("any")]
            want_all = "all" in raw
            decisive = next((r for r in results if r[0] is (not want_all)), None)
            if decisive is not None:
                return decisive
            unknown = next((r for r in results if r[0] is None), None)
            if unknown is not None:
                return unknown
            return want_all, "; ".join(r[1] for r in results)
        if "not" in raw:
            answer, why = Condition(raw["not"]).evaluate(facts, inputs)
            return (None if answer is None else not answer), why
        name, op = raw["fact"], raw["op"]
        actual = facts.get(name)
        if op == "present":
            return actual is not None, f"{name} {'is' if actual is not None else 'is not'} known"
        if actual is None:
            return None, _unknown_words(facts, name)
        if op in ("true", "false"):
            return (actual is True) if op == "true" else (actual is False), f"{name} = {_shown(actual)}"
        if "value_fact" in raw:
            expected = facts.get(raw["value_fact"])
            if expected is None:
                return None, _unknown_words(facts, raw["value_fact"])
        else:
            expected = _value(raw.get("value"), inputs)
        try:
            result = _compare(op, actual, expected)
        except TypeError:
            return None, f"cannot compare {name} = {_shown(actual)} with {_shown(expected)}"
        return result, f"{name} = {_shown(actual)} (wanted {self.describe(inputs)})"


def _unknown_words(facts: Mapping[str, Any], name: str) -> str:
    why = getattr(facts, "why_unknown", None)
    if why is None:
        return f"cannot tell: {name} is not known"
    kind, reason = why(name)
    if kind == "pending":
        return f"waiting for {name}: {reason}"
    return f"cannot tell {name}: {reason}"


def unknown_facts(condition: "Condition", facts: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(name, pending | unavailable | unknown, reason) for each fact of ``condition`` without a value."""
    out = []
    for name in sorted(condition.facts()):
        if facts.get(name) is None:
            why = getattr(facts, "why_unknown", None)
            kind, reason = why(name) if why is not None else ("unknown", f"{name} is not known")
            out.append((name, kind, reason))
    return out


def _value(value: Any, inputs: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return fill(value, inputs)
    if isinstance(value, list):
        return [_value(item, inputs) for item in value]
    return value


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op in ("in", "not_in"):
        options = expected if isinstance(expected, list) else [expected]
        found = any(_equal(actual, option) for option in options)
        return found if op == "in" else not found
    if op == "eq":
        return _equal(actual, expected)
    if op == "ne":
        return not _equal(actual, expected)
    left, right = _number(actual), _number(expected)
    if left is None or right is None:
        raise TypeError("not numbers")
    return {"lt": left < right, "le": left <= right, "gt": left > right, "ge": left >= right}[op]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or str(actual).lower() == str(expected).lower()
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None and not isinstance(actual, str):
        return left == right
    return str(actual) == str(expected)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    ask: bool = False  # the person enters it during the run (a PITR target time)
    default: str | None = None
    type: str = "text"  # see INPUT_TYPES: how a value is checked when entered


@dataclass(frozen=True)
class Step:
    id: str
    kind: str  # check | action | wait | manual
    title: str
    explain: str = ""
    condition: Condition | None = None  # check: ``when``; wait: ``until``
    on_fail: str = "stop"  # check: stop the run, or warn and go on
    fail_message: str = ""
    next_runbook: str = ""
    action: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    instruction: str = ""
    timeout: float = 600.0  # wait: seconds before the person is asked what to do
    only_if: Condition | None = None  # false: the step is not needed and is skipped
    safety: bool = False  # a safety check: unknown waits, failing stops, only an override with a reason passes

    def needs(self) -> set[str]:
        """Inputs this step's action parameters and texts refer to."""
        found: set[str] = set()
        for value in self.params.values():
            found |= placeholders(str(value))
        for text in (self.title, self.instruction):
            found |= placeholders(text)
        return found


@dataclass(frozen=True)
class Runbook:
    id: str
    title: str
    layer: str
    summary: str
    steps: tuple[Step, ...]
    inputs: tuple[Input, ...] = ()
    rto: str = ""
    path: str = ""

    def input(self, name: str) -> Input | None:
        return next((item for item in self.inputs if item.name == name), None)

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


# --------------------------------------------------------------------------- loading


def _validate_schema(data: Any, where: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        at = "/".join(str(part) for part in error.absolute_path) or "(top)"
        raise RunbookError(f"{where}: {at}: {error.message}")


def parse_runbook(data: Any, where: str = "<runbook>") -> Runbook:
    """A validated :class:`Runbook` from the YAML document; RunbookError naming the first problem."""
    from cockpit.actions.registry import ACTIONS
    from cockpit.runbooks.facts import FACTS

    _validate_schema(data, where)
    inputs = tuple(
        Input(item["name"], item["description"], bool(item.get("ask", False)),
              None if item.get("default") is None else str(item["default"]), str(item.get("type", "text")))
        for item in data.get("inputs") or ()
    )
    declared = {item.name for item in inputs}
    if len(declared) != len(inputs):
        raise RunbookError(f"{where}: an input is declared twice")
    steps: list[Step] = []
    seen: set[str] = set()
    for raw in data["steps"]:
        sid = raw["id"]
        if sid in seen:
            raise RunbookError(f"{where}: step id {sid!r} is used twice")
        seen.add(sid)
        condition_raw = raw.get("when") if raw["kind"] == "check" else raw.get("until")
        condition = Condition(condition_raw) if condition_raw is not None else None
        step = Step(
            id=sid, kind=raw["kind"], title=raw["title"].strip(), explain=raw.get("explain", "").strip(),
            condition=condition, on_fail=raw.get("on_fail", "stop"), fail_message=raw.get("fail_message", "").strip(),
            next_runbook=raw.get("next_runbook", ""), action=raw.get("action", ""),
            params={key: str(value).lower() if isinstance(value, bool) else str(value)
                    for key, value in (raw.get("with") or {}).items()},
            instruction=raw.get("instruction", "").strip(), timeout=float(raw.get("timeout", 600)),
            only_if=Condition(raw["only_if"]) if raw.get("only_if") is not None else None,
            safety=bool(raw.get("safety", False)),
        )
        for tested in (condition, step.only_if):
            unknown = sorted(tested.facts() - set(FACTS)) if tested is not None else []
            if unknown:
                raise RunbookError(f"{where}: step {sid}: unknown fact(s) {', '.join(unknown)}")
        if step.kind == "action":
            spec = ACTIONS.get(step.action)
            if spec is None:
                raise RunbookError(f"{where}: step {sid}: unknown action {step.action!r}")
            missing = [name for name in spec.required if name not in step.params]
            extra = sorted(set(step.params) - set(spec.params))
            if missing or extra:
                what = (f"needs {', '.join(missing)}" if missing else "") + \
                       (f"{'; ' if missing else ''}takes no {', '.join(extra)}" if extra else "")
                raise RunbookError(f"{where}: step {sid}: {step.action} {what}")
        undeclared = sorted(step.needs() - declared)
        if undeclared:
            raise RunbookError(f"{where}: step {sid}: placeholder(s) {', '.join(undeclared)} are not inputs")
        steps.append(step)
    runbook = Runbook(data["id"], data["title"], data["layer"], data["summary"].strip(), tuple(steps), inputs,
                      str(data.get("rto", "")), where)
    if runbook.id.startswith("code-rollback-"):
        first = runbook.steps[0]
        if first.kind != "check" or first.condition is None or PREFLIGHT_FACT not in first.condition.facts():
            raise RunbookError(f"{where}: a code rollback must start with the migration pre-flight check "
                               f"(a check on {PREFLIGHT_FACT})")
    return runbook


def load(path: Path | str) -> Runbook:
    import yaml

    path = Path(path)
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise RunbookError(f"{path}: too large to be a runbook")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise RunbookError(f"{path}: cannot read: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise RunbookError(f"{path}: not valid YAML: {str(err).splitlines()[0]}") from None
    runbook = parse_runbook(data, str(path))
    if runbook.id != path.stem:
        raise RunbookError(f"{path}: id {runbook.id!r} does not match the file name")
    return runbook


def load_all(directory: Path | str = RUNBOOK_DIR) -> dict[str, Runbook]:
    """Every runbook in ``directory`` by id (RunbookError on the first bad file)."""
    found = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        runbook = load(path)
        found[runbook.id] = runbook
    for runbook in found.values():
        for step in runbook.steps:
            if step.next_runbook and step.next_runbook not in found:
                raise RunbookError(f"{runbook.path}: step {step.id}: next_runbook {step.next_runbook!r} does not exist")
    return found


def get(runbook_id: str, directory: Path | str = RUNBOOK_DIR) -> Runbook:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", runbook_id or ""):
        raise RunbookError(f"{runbook_id!r} is not a runbook id")
    path = Path(directory) / f"{runbook_id}.yaml"
    if not path.exists():
        raise RunbookError(f"no runbook {runbook_id!r} in {directory}")
    return load(path)
