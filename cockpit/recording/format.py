"""The recording file format: one SQLite file per session, its schema, its event payloads and its codecs.

Why SQLite (from the standard library, like Dolphie's replay files): one file, appends that are durable as they
happen, a reader that can open the file while the recorder is still writing it, and B-tree indexes so a one-hour
recording opens and seeks without being read whole.

The file
========
``meta``   key/value rows, each value JSON: ``schema_version``, ``cockpit_version``, ``contexts``, ``targets``,
           ``started_at``, ``ended_at`` (written by a clean close only), ``is_drill``, ``runbook``,
           ``non_production``.  ``PRAGMA application_id`` is :data:`APPLICATION_ID`: another SQLite file is told apart.
``events`` ``id INTEGER PRIMARY KEY`` (append order), ``ts REAL`` (unix seconds, the recorded wall-clock time),
           ``kind TEXT`` (:data:`EVENT_KINDS`), ``context TEXT``, ``pane TEXT`` (snapshots only), ``payload BLOB``
           (zlib-compressed JSON, see :func:`encode_payload`), ``kf INTEGER`` (snapshots only: the id of the keyframe
           their delta chain starts at, their own id for a keyframe; schema 2).  Indexes: on ``ts`` (seek,
           timeline), on ``(kind, ts)`` (markers, next/previous action), on ``(kind, context, pane, ts)`` (the
           latest snapshot of one pane at a time, in O(log n)) and on ``(kf, id)`` (a snapshot's chain).

Snapshots are written as **keyframes and deltas** (schema 2, see :mod:`cockpit.recording.codec`): the recorder
keeps the last snapshot of each (context, pane) and writes what changed -- one Velero backup added to 10 000 is a
few hundred bytes -- with a keyframe (the whole pane) at least every ``KEYFRAME_EVERY`` changes, so rebuilding a
pane at any moment is one keyframe and a bounded number of deltas.

Schema versions
===============
1  every snapshot whole; datetimes written by ``isoformat()`` (``+00:00``).  Read as is: each snapshot is a
   keyframe (a schema-1 snapshot payload is a keyframe without the ``frame`` key), and there is no ``kf`` column
   (the player reads ``id`` in its place).
2  keyframes and deltas, the ``kf`` column; datetimes as RFC 3339 with ``Z``; non-finite floats in models as the
   strings ``"Infinity"``/``"-Infinity"``/``"NaN"``.
A file from a newer cockpit is refused with one clear line.

Durability: ``journal_mode=WAL`` + ``synchronous=FULL``.  In WAL mode every commit appends to the ``-wal`` file and
FULL makes SQLite fsync it before the commit returns, so an event is on disk when ``record`` returns.  A SIGKILL or
a dropped SSH session (SIGHUP) loses nothing that was committed -- the OS already holds the pages, which NORMAL would
also survive -- and FULL additionally survives a power cut or kernel crash of the bastion, where NORMAL may lose the
last few commits.  The price is one fsync per event; at a few events per second during an incident that is noise, and
:meth:`Recorder.batch` groups the events of one refresh into one commit when it matters.  On a clean close the WAL is
checkpointed and the file switched back to ``journal_mode=DELETE`` so the finished recording is one self-contained
file (it can be copied, attached to a ticket, or opened from a read-only directory).

Secrets never reach the file: every payload (and the meta) goes through :func:`redact` first.

Event payloads
==============
The lead emits these from the UI; the builders below make each shape in one place and :func:`describe` turns any
of them into the one-line label the timeline, the drill report and the postmortem show.  Times inside payloads are
ISO 8601 strings (UTC); the event's own time is the row's ``ts``.

``snapshot``  a keyframe ``{"pane", "context", "frame": "key", "data", "status"}`` (``to_dict(PaneSnapshot)`` plus
              ``frame``; see :func:`snapshot_from_dict`) or a delta on the stream's previous event (see
              :mod:`cockpit.recording.codec`).  The player's :meth:`Event.snapshot` rebuilds either.
``decision``  ``{"leaf": {"id", "title", "layer", "runbook"} | None, "path": [node ids], "ask": str, "chosen": bool}``
              -- one evaluation of the decision tree; ``chosen`` is True when the person opened the leaf's runbook.
              (``to_dict(decide.Evaluation)`` fits: extra keys are kept.)
``answer``    ``{"question": node id, "text": question, "state": "asked" | "answered", "answer": "yes" | "no" | ...}``
              -- a question put to the person, and their answer (or override).
``step``      ``{"runbook", "step": step id, "index": int, "title", "type": "check" | "action" | "wait" | "manual",
              "state": "started" | "asked" | "confirmed" | "cancelled" | "done" | "failed" | "skipped", "detail"}``
              -- ``asked`` when the confirmation modal or the manual instruction is shown, ``confirmed`` /
              ``cancelled`` when the person answers it, ``done`` when the step finished (a manual step: when the
              person marked it done).
``gateway``   ``{"action", "context", "target", "method", "path", "dry_run": bool, "outcome": "ok" | "refused" |
              "error" | "conflict" | "dry-run", "status": int | None, "message"}`` -- one request through the write
              gateway (or one refusal).
``audit``     the audit log record exactly as appended to the JSON Lines file (after redaction).
``marker``    ``{"name": one of MARKER_NAMES, "at": ISO time or "", "text": str, ...}`` -- a moment that matters to the
              drill and the postmortem: ``drill-start``, ``alert`` (``at`` = when the alert fired), ``runbook-chosen``
              (``runbook``), ``bad-mutation`` (``at`` = when the bad write happened), ``recovery-target`` (``at`` = the
              time the data layer was restored to, ``tool``), ``symptom-ok`` (the metric is back under the SLO, for
              sessions without a latency pane), ``drill-end``, ``note``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypedDict

from cockpit import models
from cockpit.models import FeedStatus, PaneSnapshot
from cockpit.recording import codec
from cockpit.recording.codec import MAX_ANY_DEPTH, PANE_TYPES, CodecError

SCHEMA_VERSION = 2
"""Bumped when a reader of the previous version could misread a new file; older files stay readable."""

APPLICATION_ID = 0x636B7074  # "ckpt": PRAGMA application_id of every recording

EVENT_KINDS: tuple[str, ...] = ("snapshot", "decision", "answer", "step", "gateway", "audit", "marker")
ACTION_KINDS: tuple[str, ...] = ("answer", "step", "gateway", "marker")
"""What the timeline marks and ``[``/``]`` jump between: the person's moves, the writes and the named moments."""

STEP_STATES = ("started", "asked", "confirmed", "cancelled", "done", "failed", "skipped", "overridden")
STEP_TYPES = ("check", "action", "wait", "manual")
ANSWER_STATES = ("asked", "answered")
GATEWAY_OUTCOMES = ("ok", "refused", "error", "conflict", "dry-run")
MARKER_NAMES = (
    "drill-start",
    "alert",
    "runbook-chosen",
    "bad-mutation",
    "recovery-target",
    "symptom-ok",
    "drill-end",
    "note",
    "action-done",  # a write the cockpit sent was answered ok
    "data-rolled-back",  # a PITR run completed: the data layer is back before the migration
    "verifying",  # after a mitigating write: watching p99 (and the Rollout) for the verification window
    "mitigated",
    "not-mitigated",
    "resumed",  # this session continues a run recorded by an earlier one
    "run-inputs",  # a run's inputs as they stand (after the cockpit filled one, or the person typed one)
)

SUFFIX = ".cockpit"
META_MAX_CHARS = 1 << 20  # one metadata value (the targets are the largest: a few hundred bytes)
from cockpit.redact import REDACTED  # noqa: E402 (one marker for every redacted value)

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id      INTEGER PRIMARY KEY,
    ts      REAL NOT NULL,
    kind    TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '',
    pane    TEXT NOT NULL DEFAULT '',
    payload BLOB NOT NULL,
    kf      INTEGER
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, ts);
CREATE INDEX IF NOT EXISTS events_stream ON events (kind, context, pane, ts);
CREATE INDEX IF NOT EXISTS events_chain ON events (kf, id);
"""


class RecordingError(Exception):
    """A recording cannot be written or read; ``str(err)`` is one line a person can act on."""


# --------------------------------------------------------------------------- meta


@dataclass(frozen=True)
class RecordingMeta:
    """What a recording is about, written once when it starts (``ended_at`` at a clean close)."""

    contexts: tuple[str, ...] = ()
    targets: dict[str, Any] = field(default_factory=dict)  # app, rollout, namespace, cnpg cluster, prometheus ...
    started_at: datetime | None = None
    is_drill: bool = False
    runbook: str = ""  # the drilled runbook ("" for an incident session)
    non_production: bool = False  # every recorded context is non-production (a drill must be)
    cockpit_version: str = ""  # filled in by the recorder
    schema_version: int = SCHEMA_VERSION
    ended_at: datetime | None = None  # None: still being written, or the recorder died

    def to_rows(self) -> dict[str, str]:
        """The ``meta`` table rows: every field as its own key, the value as JSON."""
        return {name: json.dumps(value, sort_keys=True) for name, value in models.to_dict(self).items()}

    @classmethod
    def from_rows(cls, rows: Mapping[str, str]) -> RecordingMeta:
        """Rebuild from ``meta`` rows; unknown keys (a newer minor writer) are ignored, missing ones default."""
        raw: dict[str, Any] = {}
        for key, text in rows.items():
            if not isinstance(key, str):
                continue
            try:
                if not isinstance(text, str) or len(text) > META_MAX_CHARS:
                    raise ValueError("not a short JSON text")
                raw[key] = json.loads(text)
            except (TypeError, ValueError, RecursionError) as err:
                reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:120]
                raise RecordingError(f"the recording's metadata is unreadable ({key[:40]}): {reason}") from None
        return decode(cls, raw, "meta")


def default_path(start: datetime, contexts: str | tuple[str, ...] | list[str]) -> Path:
    """``<user data dir>/cockpit/recordings/<start>-<context>.cockpit``; context names are made file-safe.

    EKS context names are ARNs (``arn:aws:eks:...:cluster/name``): slashes and colons never reach the file name.
    """
    from platformdirs import user_data_path

    names = [contexts] if isinstance(contexts, str) else list(contexts)
    label = "+".join(_file_safe(name) for name in names if name) or "local"
    stamp = start.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return user_data_path("cockpit") / "recordings" / f"{stamp}-{label[:80]}{SUFFIX}"


def _file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "context"


# --------------------------------------------------------------------------- payload codec


def encode_payload(payload: Any) -> bytes:
    """Compact JSON, zlib-compressed: a rollout snapshot shrinks to about a quarter."""
    return zlib.compress(to_json(payload).encode("utf-8", "surrogatepass"), 6)


def to_json(payload: Any) -> str:
    """The canonical text of an event payload (sorted keys).

    Event payloads (not snapshots) keep the standard library's JSON: ``NaN`` and ``Infinity`` survive as they did
    in schema 1, and they are small.
    """
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def decode_payload(blob: Any, limit: int | None = None) -> Any:
    """The payload back from the file; :class:`RecordingError` when the bytes are damaged.

    Inflated to at most ``limit`` bytes (a zlib bomb is damage, never memory), parsed, and refused when nested
    deeper than ``MAX_ANY_DEPTH``.  Plain JSON text is accepted too, so a hand-made fixture may skip compression.
    """
    try:
        data = codec.inflate(blob, limit)
        return codec.check_depth(json.loads(data.decode("utf-8", "surrogatepass")), MAX_ANY_DEPTH)
    except CodecError as err:
        raise RecordingError(f"damaged payload: {err}") from None
    except (UnicodeDecodeError, ValueError, TypeError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:200]
        raise RecordingError(f"damaged payload: {reason}") from None


# --------------------------------------------------------------------------- redaction: the one redactor

from cockpit.redact import is_secret_key, redact_text, redact_value as redact  # noqa: E402,F401 (re-exported)


# --------------------------------------------------------------------------- models back from JSON


def snapshot_to_dict(snap: PaneSnapshot) -> dict[str, Any]:
    """The JSON-friendly form of a whole snapshot (a keyframe's content, without ``frame``)."""
    return models.to_dict(snap)


def snapshot_from_dict(raw: Any) -> PaneSnapshot:
    """The exact :class:`PaneSnapshot` back from :func:`snapshot_to_dict` (schema 1 and 2 alike).

    A recording is a file someone handed us: every field is type-checked and a wrong one raises
    :class:`RecordingError` instead of putting a surprising value in front of a widget.
    """
    if not isinstance(raw, Mapping):
        raise RecordingError(f"snapshot: expected an object, got {type(raw).__name__}")
    if raw.get("frame", "key") != "key":
        raise RecordingError("snapshot: a delta needs the recording to be rebuilt (use Event.snapshot())")
    pane = raw.get("pane")
    if not isinstance(pane, str):
        raise RecordingError("snapshot: no pane name")
    context = raw.get("context", "")
    if not isinstance(context, str):
        raise RecordingError("snapshot: context is not text")
    status = decode(FeedStatus, raw.get("status", {}), f"{pane}.status")
    return PaneSnapshot(pane=pane, context=context, data=from_dict(pane, raw.get("data")), status=status)


def from_dict(pane: str, data: Any) -> Any:
    """The pane's model back from ``to_dict(model)``; None stays None; an unknown pane keeps its JSON as is."""
    if data is None:
        return None
    kind = PANE_TYPES.get(pane)
    if kind is None:
        return decode(Any, data, pane)
    return decode(kind, data, pane)


def feed_status_from_dict(raw: Any) -> FeedStatus:
    """A :class:`FeedStatus` (with its :class:`FeedState`) back from its dict."""
    return decode(FeedStatus, raw, "status")


def decode(kind: Any, raw: Any, where: str) -> Any:
    """``raw`` (decoded JSON) as a value of type ``kind``, type-checked by msgspec.

    Handles what the models use: dataclasses (unknown keys ignored, missing fields with defaults filled in),
    ``X | None``, tuples, ``dict[str, X]``, ``datetime`` (always back in UTC; a time without an offset is UTC),
    ``Enum``, ``int``/``float``/``str``/``bool`` (no coercion between them) and ``Any`` (kept as JSON, depth-bounded).
    """
    try:
        return codec.convert(kind, raw, where)
    except CodecError as err:
        raise RecordingError(str(err)) from None


def _decode_datetime(raw: Any, where: str) -> datetime:
    if not isinstance(raw, str) or len(raw) > 64:
        raise RecordingError(f"{where}: expected a time, got {type(raw).__name__}")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise RecordingError(f"{where}: {raw[:40]!r} is not a time") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


# --------------------------------------------------------------------------- time helpers


def to_ts(value: datetime | float | int) -> float:
    """Unix seconds from a tz-aware datetime (naive = UTC) or a number."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a time is a datetime or unix seconds, not {type(value).__name__}")
    return float(value)


def from_ts(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def iso(value: datetime | float | None) -> str:
    """ISO 8601 UTC text for payloads ("" for None)."""
    if value is None:
        return ""
    return from_ts(to_ts(value)).isoformat()


# --------------------------------------------------------------------------- payload builders


class StepPayload(TypedDict, total=False):
    runbook: str
    step: str
    index: int
    title: str
    type: str
    state: str
    detail: str


def step_payload(
    runbook: str, step: str, state: str, *, index: int = 0, title: str = "", type: str = "action", detail: str = ""
) -> dict[str, Any]:
    """A ``step`` event: one state change of one runbook step (see the module docstring)."""
    if state not in STEP_STATES:
        raise ValueError(f"step state {state!r} is not one of {STEP_STATES}")
    if type not in STEP_TYPES:
        raise ValueError(f"step type {type!r} is not one of {STEP_TYPES}")
    return {
        "runbook": runbook,
        "step": step,
        "index": index,
        "title": title,
        "type": type,
        "state": state,
        "detail": detail,
    }


def answer_payload(question: str, state: str, *, text: str = "", answer: str = "") -> dict[str, Any]:
    """An ``answer`` event: a decision-tree question put to the person (``asked``) or answered (``answered``)."""
    if state not in ANSWER_STATES:
        raise ValueError(f"answer state {state!r} is not one of {ANSWER_STATES}")
    return {"question": question, "text": text, "state": state, "answer": answer}


def decision_payload(
    *, leaf_id: str = "", title: str = "", layer: str = "", runbook: str = "", path: tuple[str, ...] = (),
    ask: str = "", chosen: bool = False,
) -> dict[str, Any]:
    """A ``decision`` event: one evaluation of the tree (``chosen`` when the person opened the runbook)."""
    leaf = {"id": leaf_id, "title": title, "layer": layer, "runbook": runbook} if leaf_id or runbook else None
    return {"leaf": leaf, "path": list(path), "ask": ask, "chosen": chosen}


def gateway_payload(
    action: str, target: str, outcome: str, *, context: str = "", method: str = "", path: str = "",
    dry_run: bool = False, status: int | None = None, message: str = "",
) -> dict[str, Any]:
    """A ``gateway`` event: one request through the write gateway, or its refusal."""
    if outcome not in GATEWAY_OUTCOMES:
        raise ValueError(f"gateway outcome {outcome!r} is not one of {GATEWAY_OUTCOMES}")
    return {
        "action": action,
        "context": context,
        "target": target,
        "method": method,
        "path": path,
        "dry_run": dry_run,
        "outcome": outcome,
        "status": status,
        "message": message,
    }


def marker_payload(name: str, *, at: datetime | float | None = None, text: str = "", **extra: Any) -> dict[str, Any]:
    """A ``marker`` event: a named moment (``alert``, ``bad-mutation``, ``recovery-target`` ...)."""
    if name not in MARKER_NAMES:
        raise ValueError(f"marker {name!r} is not one of {MARKER_NAMES}")
    return {"name": name, "at": iso(at), "text": text, **extra}


def payload_time(payload: Mapping[str, Any], key: str = "at") -> datetime | None:
    """The ISO time a payload carries (``at``), or None when absent or unreadable."""
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        return None
    try:
        return _decode_datetime(value, key)
    except RecordingError:
        return None


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else "" if value is None else str(value)


def describe(kind: str, payload: Any) -> str:
    """One line saying what an event was, for the timeline, the drill report and the postmortem.

    The text contains untrusted parts (targets, messages): render it with markup off.
    """
    if not isinstance(payload, Mapping):
        return kind
    if kind == "step":
        index = payload.get("index")
        number = f"{index}. " if isinstance(index, int) and index else ""
        title = _text(payload, "title") or _text(payload, "step")
        detail = _text(payload, "detail")
        line = f"{_text(payload, 'runbook')} {number}{title}: {_text(payload, 'state')}"
        return f"{line} ({detail})" if detail else line
    if kind == "answer":
        question = _text(payload, "text") or _text(payload, "question")
        if payload.get("state") == "asked":
            return f"asked: {question}"
        return f"answered {_text(payload, 'answer') or '?'}: {question}"
    if kind == "gateway":
        verb = "dry-run " if payload.get("dry_run") else ""
        line = f"{verb}{_text(payload, 'action')} {_text(payload, 'target')}: {_text(payload, 'outcome')}"
        message = _text(payload, "message")
        return f"{line} ({message})" if message else line
    if kind == "decision":
        leaf = payload.get("leaf")
        if isinstance(leaf, Mapping) and (leaf.get("title") or leaf.get("runbook")):
            what = _text(leaf, "title") or _text(leaf, "runbook")
            layer = _text(leaf, "layer")
            chosen = "chosen: " if payload.get("chosen") else "recommends "
            return f"decision {chosen}{what}" + (f" ({layer} layer)" if layer else "")
        return f"decision blocked: {_text(payload, 'ask')}"
    if kind == "marker":
        name = _text(payload, "name")
        text = _text(payload, "text")
        at = _text(payload, "at")
        line = name.replace("-", " ")
        runbook = _text(payload, "runbook")
        if runbook:
            line += f": {runbook}"
        if at:
            line += f" at {at}"
        return f"{line}: {text}" if text else line
    if kind == "audit":
        action = _text(payload, "action")
        outcome = _text(payload, "outcome") or _text(payload, "phase")
        return f"audit {action} {outcome}".strip()
    if kind == "snapshot":
        return f"{_text(payload, 'context')} {_text(payload, 'pane')} snapshot"
    return kind
