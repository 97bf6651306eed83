"""The recording codec: models to JSON bytes and back with msgspec, snapshot deltas, and bounded inflation.

Models are the frozen dataclasses of :mod:`cockpit.models` (and ``decide.Evaluation``); msgspec encodes and decodes
them natively (dataclasses, tuples, tz-aware datetimes, enums) in C, type-checking every field on the way in, so a
recording someone handed us cannot put a surprising value in front of a widget.  What msgspec leaves to us:

* **UTC.**  Every datetime in a model is tz-aware UTC.  msgspec keeps the offset a timestamp was written with (and
  reads one without an offset as naive), so each decoded value goes through a *fixer* generated once per type that
  turns any other offset into UTC and a naive time into UTC, in place, and checks the depth of ``Any`` fields.
* **Depth.**  ``Any`` fields (a pod template, an application source, an unknown pane's data) are free JSON: they
  are refused deeper than :data:`MAX_ANY_DEPTH` levels, so nothing downstream recurses into a hostile structure.
* **Infinities.**  JSON has no ``Infinity``; msgspec writes ``null``.  A p99 of ``+Inf`` (histogram_quantile in the
  ``+Inf`` bucket) must not replay as "no data", so types with float fields have their non-finite floats written as
  the strings ``"Infinity"``/``"-Infinity"``/``"NaN"``; a typed decode that fails on one retries through a slow path
  that turns those strings back into floats where the type says float.
* **Lone surrogates.**  A Python string from a cluster may hold one (``json.loads`` of ``"\\ud800"``); UTF-8 cannot.
  Such a string is recorded with U+FFFD in its place instead of failing the whole snapshot.

Snapshot frames and deltas
==========================
A ``snapshot`` event's payload is a *frame*.  A **keyframe** holds the whole pane -- ``{"pane", "context",
"frame": "key", "status", "data"}``, the same object schema 1 stored for every snapshot -- and a **delta** holds what
changed since the stream's previous event: ``{"pane", "context", "frame": "delta", "base": <previous event id>,
"status"?: ..., "data": {"set": {field: value}, "rows": {field: [segment, ...]}}}``.

``set`` replaces plain fields.  ``rows`` rebuilds list-shaped fields (a ``tuple`` of dataclasses: Velero backups,
AnalysisRuns, Argo CD history, CNPG clusters, ReplicaSets; ``"."`` when the pane's data is itself such a tuple) as a
sequence of segments, each either ``[a, b]`` -- the previous list's rows ``a`` to ``b - 1``, unchanged -- or a row
object, new or changed.  One backup added in front of 10 000 is ``[{new row}, [0, 10000]]``.

The encoder (:class:`StreamEncoder`, one per recorded (context, pane)) keeps the last snapshot and the JSON of each
of its rows (already redacted), so a change costs the rows that changed, and a keyframe is the cached rows joined.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import types
import typing
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

import msgspec

from cockpit.redact import json_needs_redaction, redact_value

from cockpit.models import (
    AnalysisRunView,
    ArgoApp,
    CnpgPaneData,
    FeedStatus,
    LatencyView,
    PaneSnapshot,
    RolloutView,
    VeleroView,
)

UTC = timezone.utc

MAX_PAYLOAD_BYTES = 64 * 2**20
"""No payload is inflated past this (a zlib bomb stops here, with a damage line, not a memory spike)."""
MAX_STATE_BYTES = 128 * 2**20
"""No pane's state is rebuilt from more unpacked JSON than this (a keyframe and the deltas after it)."""
MAX_ANY_DEPTH = 64
"""Free JSON inside a model (``Any`` fields, event payloads) deeper than this is refused (Kubernetes objects: ~15)."""

KEYFRAME_EVERY = 64
"""A keyframe at least every so many deltas of a stream: a seek decodes one keyframe and at most this many deltas."""
SMALL_FRAME = 16 * 1024
"""A pane whose JSON is smaller than this is always written whole: a delta would save little and chain the rows."""

PANE_TYPES: dict[str, Any] = {
    "argocd": ArgoApp,
    "rollout": RolloutView,
    "analysis": tuple[AnalysisRunView, ...],
    "latency": LatencyView,
    "cnpg": CnpgPaneData,
    "velero": VeleroView,
}
"""What ``PaneSnapshot.data`` holds for each pane (or None)."""

_NONFINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}
_SURROGATE = re.compile("[\ud800-\udfff]")
_ENCODER = msgspec.json.Encoder()


class CodecError(ValueError):
    """A payload that cannot be read as what it claims to be (one line; the player turns it into damage)."""


class TooLarge(CodecError):
    """A payload (or a pane's state) that would unpack past its cap."""


# --------------------------------------------------------------------------- bounded inflation


def inflate(blob: Any, limit: int | None = None) -> bytes:
    """The payload's JSON bytes: zlib-inflated to at most ``limit`` bytes (``MAX_PAYLOAD_BYTES``), or plain JSON.

    Never holds more than ``limit + 1`` unpacked bytes, whatever the blob claims: a bomb raises :class:`TooLarge`.
    """
    if limit is None:
        limit = MAX_PAYLOAD_BYTES
    if isinstance(blob, str):
        data = blob.encode("utf-8", "surrogatepass")
    elif isinstance(blob, (bytes, bytearray, memoryview)):
        data = bytes(blob)
    else:
        raise CodecError(f"payload is {type(blob).__name__}")
    if data[:1] in (b"{", b"["):
        if len(data) > limit:
            raise TooLarge(f"payload is {_mib(len(data))} (over {_mib(limit)})")
        return data
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as err:
        raise CodecError(f"damaged compression: {err}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLarge(f"payload unpacks past {_mib(limit)}")
    if not inflater.eof:
        raise CodecError("damaged compression: the stream is cut short")
    return out


def deflate(data: bytes) -> bytes:
    return zlib.compress(data, 6)


def size_text(size: int) -> str:
    """``64 MiB``, ``12 KiB``, ``900 bytes``."""
    if size >= 2**20:
        return f"{size / 2**20:.0f} MiB"
    if size >= 2**10:
        return f"{size / 2**10:.0f} KiB"
    return f"{size} bytes"


_mib = size_text


# --------------------------------------------------------------------------- types


def _args(kind: Any) -> tuple[Any, ...]:
    return typing.get_args(kind)


def _is_union(kind: Any) -> bool:
    return typing.get_origin(kind) in (typing.Union, types.UnionType)


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(kind)


def _row_type(kind: Any) -> type | None:
    """``X`` when ``kind`` is ``tuple[X, ...]`` of a dataclass ``X``."""
    if typing.get_origin(kind) is tuple:
        args = _args(kind)
        if len(args) == 2 and args[1] is Ellipsis and dataclasses.is_dataclass(args[0]):
            return args[0]
    return None


@functools.cache
def has_float(kind: Any) -> bool:
    """Can a value of this type hold a float (so a non-finite one needs the string form)?"""
    return _has_float(kind, frozenset())


def _has_float(kind: Any, seen: frozenset[Any]) -> bool:
    if kind is float:
        return True
    if kind in seen:
        return False
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        seen = seen | {kind}
        return any(_has_float(hint, seen) for hint in type_hints(kind).values())
    return any(_has_float(arg, seen) for arg in _args(kind) if arg is not Ellipsis)


# --------------------------------------------------------------------------- fixers (UTC, depth)

Fixer = Callable[[Any], Any]


def utc(value: datetime) -> datetime:
    """A datetime in UTC: naive ones are taken as UTC (as CloudNativePG documents), others converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise CodecError(f"time out of range: {value!r}"[:80]) from None


def check_depth(value: Any, limit: int = MAX_ANY_DEPTH) -> Any:
    """``value`` itself, or :class:`CodecError` when its JSON nests deeper than ``limit``."""
    if type(value) not in (dict, list):
        return value
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise CodecError(f"nested deeper than {limit} levels")
        children = item.values() if type(item) is dict else item
        stack.extend((child, depth + 1) for child in children if type(child) in (dict, list))
    return value


@functools.cache
def fixer(kind: Any) -> Fixer | None:
    """A function normalising a freshly decoded value of ``kind`` (in place for dataclasses); None: nothing to do."""
    return _fixer(kind)


def _fixer(kind: Any) -> Fixer | None:
    if kind is Any or kind is object:
        return check_depth
    if kind is datetime:
        return _fix_datetime
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return _dataclass_fixer(kind)[0]
    origin = typing.get_origin(kind)
    args = _args(kind)
    if _is_union(kind):
        options = [(option, fixer(option)) for option in args if option is not type(None)]
        options = [(option, fx) for option, fx in options if fx is not None]
        if not options:
            return None
        if len(options) == 1 and len(args) == 2 and type(None) in args:
            only = options[0][1]
            return lambda value: value if value is None else only(value)
        checks = [(_runtime_class(option), fx) for option, fx in options]

        def union_fix(value: Any) -> Any:
            for cls, fx in checks:
                if cls is None or isinstance(value, cls):
                    return fx(value)
            return value

        return union_fix
    if origin is tuple or origin is list:
        row = _row_type(kind)
        if row is not None:
            many = _dataclass_fixer(row)[1]
            return many
        if len(args) == 2 and args[1] is Ellipsis:
            inner = fixer(args[0])
            if inner is None:
                return None
            return functools.partial(_fix_items, inner)
        fixers = [fixer(arg) for arg in args]
        if not any(fixers):
            return None
        return functools.partial(_fix_positions, fixers)
    if origin is dict:
        inner = fixer(args[1]) if len(args) == 2 else check_depth
        if inner is None:
            return None
        return functools.partial(_fix_values, inner)
    return None


def _runtime_class(kind: Any) -> type | None:
    origin = typing.get_origin(kind)
    if origin is not None:
        return origin if isinstance(origin, type) else None
    return kind if isinstance(kind, type) else None


def _fix_datetime(value: datetime) -> datetime:
    return value if value.tzinfo is UTC else utc(value)


def _fix_items(inner: Fixer, value: Any) -> Any:
    out: list[Any] | None = None
    for index, item in enumerate(value):
        fixed = inner(item)
        if fixed is not item:
            if out is None:
                out = list(value)
            out[index] = fixed
    return value if out is None else type(value)(out)


def _fix_positions(fixers: list[Fixer | None], value: Any) -> Any:
    out = list(value)
    changed = False
    for index, (fx, item) in enumerate(zip(fixers, value)):
        if fx is not None:
            fixed = fx(item)
            if fixed is not item:
                out[index] = fixed
                changed = True
    return type(value)(out) if changed else value


def _fix_values(inner: Fixer, value: dict[Any, Any]) -> dict[Any, Any]:
    for key, item in value.items():
        fixed = inner(item)
        if fixed is not item:
            value[key] = fixed
    return value


@functools.cache
def _dataclass_fixer(cls: type) -> tuple[Fixer | None, Fixer | None]:
    """(fix one, fix a sequence) for a dataclass: generated code, since it runs once per decoded row.

    Only fields that can need it are touched: datetimes (UTC), ``Any`` (depth) and nested types holding those.
    """
    hints = type_hints(cls)
    env: dict[str, Any] = {"_UTC": UTC, "_utc": utc, "_set": object.__setattr__}
    body: list[str] = []
    for index, spec in enumerate(dataclasses.fields(cls)):
        hint = hints.get(spec.name, Any)
        name = spec.name
        if not name.isidentifier():
            continue
        plain_time = hint is datetime or (_is_union(hint) and set(_args(hint)) == {datetime, type(None)})
        if plain_time:
            body.append(f"    v = o.{name}")
            body.append(f"    if v is not None and v.tzinfo is not _UTC: _set(o, {name!r}, _utc(v))")
            continue
        fx = fixer(hint) if hint is not cls else None
        if fx is None:
            continue
        env[f"_f{index}"] = fx
        body.append(f"    v = o.{name}")
        body.append(f"    w = _f{index}(v)")
        body.append(f"    if w is not v: _set(o, {name!r}, w)")
    if not body:
        return None, None
    one = "def fix(o):\n" + "\n".join(body) + "\n    return o\n"
    many = "def fix_many(seq):\n    for o in seq:\n" + "\n".join("    " + line for line in body) + "\n    return seq\n"
    exec(one, env)  # noqa: S102 - generated from the dataclass's own field names
    exec(many, env)  # noqa: S102
    return env["fix"], env["fix_many"]


# --------------------------------------------------------------------------- units: one value of one type


def encode_value(kind: Any, value: Any, redact: Callable[[Any], Any]) -> bytes:
    """``value`` (of type ``kind``) as redacted JSON bytes.

    With the one redactor (:func:`cockpit.redact.redact_value`), data whose JSON holds nothing any rule could touch
    (:func:`cockpit.redact.json_needs_redaction`) skips the walk: the bytes are the same."""
    plain = to_builtins(value, float_strings=has_float(kind))
    if redact is redact_value:
        try:
            text = _ENCODER.encode(plain)
        except UnicodeEncodeError:
            pass  # lone surrogates: encode_builtins replaces them
        else:
            if not json_needs_redaction(text.decode("utf-8")):
                return text
    return encode_builtins(plain, redact)


def to_builtins(value: Any, *, float_strings: bool = False) -> Any:
    """Plain JSON data -- dicts, lists, strings, numbers; datetimes as RFC 3339, enums as values -- the shape the
    redactor is written for (``msgspec.to_builtins`` alone would keep tuples).  Non-finite floats as strings if
    asked (they do not survive JSON otherwise)."""
    if not float_strings:
        try:  # a JSON round trip in C: lists for tuples, and the fastest way there
            return _PLAIN.decode(_HOOKED.encode(value))
        except UnicodeEncodeError:
            return _without_surrogates(msgspec.to_builtins(value, str_keys=True, enc_hook=_enc_hook))
        except (msgspec.EncodeError, msgspec.DecodeError, TypeError, ValueError):
            pass  # e.g. an integer past 64 bits: the Python walk below keeps it
    return _mark_nonfinite(msgspec.to_builtins(value, str_keys=True, enc_hook=_enc_hook))


def encode_builtins(plain: Any, redact: Callable[[Any], Any]) -> bytes:
    clean = redact(plain)
    try:
        return _ENCODER.encode(clean)
    except UnicodeEncodeError:
        return _ENCODER.encode(_without_surrogates(clean))


def _enc_hook(obj: Any) -> Any:
    return str(obj)


_HOOKED = msgspec.json.Encoder(enc_hook=_enc_hook)
_PLAIN = msgspec.json.Decoder()


def _mark_nonfinite(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return value
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if kind is dict:
        return {key: _mark_nonfinite(item) for key, item in value.items()}
    if kind is list or kind is tuple:  # to_builtins keeps tuples
        return [_mark_nonfinite(item) for item in value]
    return value


def _without_surrogates(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return _SURROGATE.sub("\ufffd", value)
    if kind is dict:
        return {_without_surrogates(key): _without_surrogates(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_without_surrogates(item) for item in value]
    return value


def decode_value(kind: Any, data: Any, where: str) -> Any:
    """A value of ``kind`` from its JSON bytes (or a :class:`msgspec.Raw`), type-checked and normalised."""
    if kind is Any:
        try:
            return check_depth(msgspec.json.decode(data))
        except (msgspec.DecodeError, RecursionError) as err:
            raise CodecError(f"{where}: {_reason(err)}") from None
    try:
        value = decoder(kind).decode(data)
    except msgspec.ValidationError as err:
        if not has_float(kind):
            raise CodecError(f"{where}: {_reason(err)}") from None
        try:  # non-finite floats written as strings: the slow path puts them back
            plain = msgspec.json.decode(data)
        except (msgspec.DecodeError, RecursionError):
            raise CodecError(f"{where}: {_reason(err)}") from None
        return convert(kind, plain, where)
    except (msgspec.DecodeError, RecursionError) as err:
        raise CodecError(f"{where}: {_reason(err)}") from None
    fx = fixer(kind)
    return fx(value) if fx is not None else value


def convert(kind: Any, plain: Any, where: str) -> Any:
    """A value of ``kind`` from decoded JSON (dicts, lists, strings), type-checked and normalised."""
    if kind is Any or kind is object:
        return check_depth(plain)
    if has_float(kind):
        plain = _restore_nonfinite(kind, plain)
    try:
        value = msgspec.convert(plain, kind)
    except (msgspec.ValidationError, RecursionError) as err:
        raise CodecError(f"{where}: {_reason(err)}") from None
    fx = fixer(kind)
    return fx(value) if fx is not None else value


def _reason(err: BaseException) -> str:
    if isinstance(err, RecursionError):
        return "nested too deeply"
    text = str(err).replace("`", "")
    return text[:200]


def _restore_nonfinite(kind: Any, plain: Any) -> Any:
    """``"Infinity"`` & co. back to floats wherever ``kind`` says float (used only after a typed decode failed)."""
    if kind is float:
        return _NONFINITE.get(plain, plain) if type(plain) is str else plain
    if not has_float(kind):
        return plain
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        if type(plain) is not dict:
            return plain
        hints = type_hints(kind)
        return {key: _restore_nonfinite(hints[key], item) if key in hints else item for key, item in plain.items()}
    if _is_union(kind):
        for option in _args(kind):
            if option is float and type(plain) is str and plain in _NONFINITE:
                return _NONFINITE[plain]
        for option in _args(kind):
            if option is not float and has_float(option):
                restored = _restore_nonfinite(option, plain)
                if restored is not plain:
                    return restored
        return plain
    origin = typing.get_origin(kind)
    args = _args(kind)
    if origin in (tuple, list) and type(plain) is list:
        if len(args) == 2 and args[1] is Ellipsis:
            return [_restore_nonfinite(args[0], item) for item in plain]
        if origin is list and len(args) == 1:
            return [_restore_nonfinite(args[0], item) for item in plain]
        return [_restore_nonfinite(arg, item) for arg, item in zip(args, plain)] + plain[len(args):]
    if origin is dict and type(plain) is dict and len(args) == 2:
        return {key: _restore_nonfinite(args[1], item) for key, item in plain.items()}
    return plain


# --------------------------------------------------------------------------- pane shapes


@dataclass(frozen=True)
class Shape:
    """How a pane's data is split for deltas: plain fields, and list fields of dataclass rows."""

    kind: Any  # the pane's declared type
    cls: type | None  # the dataclass, or None when the data is itself a tuple of rows
    fields: tuple[str, ...]  # every field, in declaration order (empty when cls is None)
    scalars: tuple[str, ...]  # fields written whole when they change
    rows: dict[str, type]  # list fields -> row dataclass ("." for the data itself)
    keys: dict[str, str]  # row dataclass field used to match rows that moved (the first field: name / id)

    def accepts(self, data: Any) -> bool:
        if self.cls is None:
            return type(data) is tuple
        return type(data) is self.cls


@functools.cache
def shape_of(pane: str) -> Shape | None:
    kind = PANE_TYPES.get(pane)
    if kind is None:
        return None
    row = _row_type(kind)
    if row is not None:
        return Shape(kind, None, (), (), {".": row}, {".": _first_field(row)})
    if not (dataclasses.is_dataclass(kind) and isinstance(kind, type)):
        return None
    hints = type_hints(kind)
    names = tuple(spec.name for spec in dataclasses.fields(kind))
    rows = {name: row for name in names if (row := _row_type(hints[name])) is not None}
    return Shape(
        kind,
        kind,
        names,
        tuple(name for name in names if name not in rows),
        rows,
        {name: _first_field(row) for name, row in rows.items()},
    )


def _first_field(cls: type) -> str:
    return dataclasses.fields(cls)[0].name


# --------------------------------------------------------------------------- frames: reading


class Frame(msgspec.Struct):
    """The envelope of a ``snapshot`` payload (a schema-1 snapshot reads as a keyframe)."""

    pane: str
    context: str = ""
    frame: str = "key"
    base: int = 0
    status: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    data: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


class _Delta(msgspec.Struct):
    set: dict[str, msgspec.Raw] = {}
    rows: dict[str, list[msgspec.Raw]] = {}


_frame_decoder = msgspec.json.Decoder(Frame)
_delta_decoder = msgspec.json.Decoder(_Delta)
_range_decoder = msgspec.json.Decoder(tuple[int, int])


def read_frame(data: bytes) -> Frame:
    """The envelope of a snapshot payload (its data left unread)."""
    try:
        frame = _frame_decoder.decode(data)
    except msgspec.DecodeError as err:
        frame = _legacy_frame(data, err)
    except RecursionError as err:
        raise CodecError(f"snapshot: {_reason(err)}") from None
    if frame.frame not in ("key", "delta"):
        raise CodecError(f"snapshot: unknown frame {frame.frame[:20]!r}")
    return frame


def _legacy_frame(data: bytes, err: Exception) -> Frame:
    """Schema 1 wrote ``NaN``/``Infinity`` literals (the standard library's JSON), which strict JSON refuses: read it
    with the standard library, and write the non-finite floats the way schema 2 does before the typed decode."""
    try:
        plain = json.loads(data)
    except (ValueError, RecursionError):
        raise CodecError(f"snapshot: {_reason(err)}") from None
    try:
        return _frame_decoder.decode(_ENCODER.encode(check_depth(_mark_nonfinite(plain), MAX_ANY_DEPTH + 8)))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeEncodeError) as again:
        raise CodecError(f"snapshot: {_reason(again)}") from None


def decode_status(raw: msgspec.Raw | msgspec.UnsetType, where: str) -> FeedStatus:
    if raw is msgspec.UNSET:
        return FeedStatus()
    return decode_value(FeedStatus, raw, f"{where}.status")


def decode_keyframe(frame: Frame) -> PaneSnapshot:
    """The whole snapshot a keyframe (or a schema-1 snapshot) holds."""
    if frame.frame != "key":
        raise CodecError("snapshot: a delta where a keyframe should be")
    pane = frame.pane
    status = decode_status(frame.status, pane)
    data = None
    if frame.data is not msgspec.UNSET and not _is_null(frame.data):
        kind = PANE_TYPES.get(pane, Any)
        data = decode_value(kind, frame.data, pane)
    return PaneSnapshot(pane=pane, context=frame.context, data=data, status=status)


def _is_null(raw: msgspec.Raw) -> bool:
    return len(raw) == 4 and memoryview(raw).tobytes() == b"null"


def apply_delta(previous: PaneSnapshot, frame: Frame) -> PaneSnapshot:
    """The snapshot after ``frame`` (a delta) is applied to ``previous``; :class:`CodecError` if it does not fit."""
    if frame.frame != "delta":
        raise CodecError("snapshot: a keyframe where a delta should be")
    pane = frame.pane
    if pane != previous.pane or frame.context != previous.context:
        raise CodecError("snapshot: a delta of another pane")
    status = previous.status if frame.status is msgspec.UNSET else decode_status(frame.status, pane)
    if frame.data is msgspec.UNSET:
        return PaneSnapshot(pane, frame.context, previous.data, status)
    shape = shape_of(pane)
    if shape is None or not shape.accepts(previous.data):
        raise CodecError(f"{pane}: a delta on data it does not fit")
    try:
        delta = _delta_decoder.decode(frame.data)
    except (msgspec.DecodeError, RecursionError) as err:
        raise CodecError(f"{pane}: {_reason(err)}") from None
    old = previous.data
    if shape.cls is None:
        if set(delta.rows) - {"."} or delta.set:
            raise CodecError(f"{pane}: a delta naming fields of a list")
        segments = delta.rows.get(".")
        data = old if segments is None else _apply_rows(shape.rows["."], old, segments, pane)
        return PaneSnapshot(pane, frame.context, data, status)
    hints = type_hints(shape.cls)
    changes: dict[str, Any] = {}
    for name, raw in delta.set.items():
        if name not in shape.scalars:
            raise CodecError(f"{pane}: a delta setting unknown field {name[:40]!r}")
        changes[name] = decode_value(hints[name], raw, f"{pane}.{name}")
    for name, segments in delta.rows.items():
        row = shape.rows.get(name)
        if row is None:
            raise CodecError(f"{pane}: a delta of unknown list {name[:40]!r}")
        changes[name] = _apply_rows(row, getattr(old, name), segments, f"{pane}.{name}")
    try:
        data = dataclasses.replace(old, **changes) if changes else old
    except (TypeError, ValueError) as err:
        raise CodecError(f"{pane}: {err}"[:200]) from None
    return PaneSnapshot(pane, frame.context, data, status)


def _apply_rows(row: type, old: tuple[Any, ...], segments: Sequence[msgspec.Raw], where: str) -> tuple[Any, ...]:
    out: list[Any] = []
    size = len(old)
    row_decoder = decoder(row)
    fix = _dataclass_fixer(row)[0]
    for raw in segments:
        head = memoryview(raw)[:1].tobytes()
        try:
            if head == b"[":
                start, stop = _range_decoder.decode(raw)
                if not 0 <= start < stop <= size:
                    raise CodecError(f"{where}: rows {start}..{stop} of {size}")
                out.extend(old[start:stop])
            elif head == b"{":
                value = row_decoder.decode(raw)
                out.append(fix(value) if fix is not None else value)
            else:
                raise CodecError(f"{where}: a segment that is neither rows nor a row")
        except msgspec.ValidationError as err:
            if head == b"{" and has_float(row):
                out.append(convert(row, msgspec.json.decode(raw), where))
                continue
            raise CodecError(f"{where}: {_reason(err)}") from None
        except (msgspec.DecodeError, RecursionError) as err:
            raise CodecError(f"{where}: {_reason(err)}") from None
    return tuple(out)


# --------------------------------------------------------------------------- frames: writing


DEFLATE_CHUNK = 256 * 1024  # a keyframe's JSON is compressed this much at a time (never joined whole)


@dataclass
class Written:
    """One frame ready to store: its JSON, in pieces, and whether it is a keyframe.

    A keyframe of a pane of thousands of rows is megabytes of JSON (4.4 MB for 10 000 backups) made of the rows'
    cached JSON: :meth:`deflate` compresses it a chunk at a time, so the whole text never exists at once (joined,
    it was the largest transient allocation of a long session, at every keyframe)."""

    pieces: list[bytes]
    key: bool
    size: int = dataclasses.field(init=False)  # bytes of JSON

    def __post_init__(self) -> None:
        self.size = sum(map(len, self.pieces))

    @property
    def data(self) -> bytes:
        """The frame's JSON, joined (for a reader that wants it whole)."""
        return self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)

    def deflate(self) -> bytes:
        """What ``deflate(self.data)`` decompresses to (a zlib stream at the same level), made a chunk at a time."""
        if self.size <= DEFLATE_CHUNK:
            return deflate(self.data)
        compressor = zlib.compressobj(6)
        out: list[bytes] = []
        chunk: list[bytes] = []
        held = 0
        for piece in self.pieces:
            chunk.append(piece)
            held += len(piece)
            if held >= DEFLATE_CHUNK:
                out.append(compressor.compress(b"".join(chunk)))
                chunk, held = [], 0
        if chunk:
            out.append(compressor.compress(b"".join(chunk)))
        out.append(compressor.flush())
        return b"".join(out)


class StreamEncoder:
    """Encodes the successive snapshots of one (context, pane) as keyframes and deltas.

    Not thread-safe (the recorder holds its lock).  ``encode`` returns the frame to write; ``commit`` makes it the
    new base once written (a failed write leaves the encoder as it was, so the next frame still fits the file).
    """

    def __init__(self, pane: str, context: str, redact: Callable[[Any], Any]) -> None:
        self.pane = pane
        self.context = context
        self.redact = redact
        self.snap: PaneSnapshot | None = None
        self.last_id = 0  # the event id of the last frame written
        self.kf = 0  # the event id of the keyframe the chain starts at
        self.deltas = 0  # since the last keyframe
        self.delta_bytes = 0
        self._status_json = b""
        self._scalars: dict[str, Any] = {}  # redacted plain values of the scalar fields
        self._rows: dict[str, list[bytes]] = {}  # cached row JSON, aligned with the data's tuples
        self._mean_row: dict[str, float] = {}  # mean row JSON size per list, measured once per chain
        self._pending: tuple[Any, ...] | None = None

    def encode(self, snap: PaneSnapshot, *, force_key: bool = False) -> Written | None:
        """The frame for ``snap`` (None when it equals the last one)."""
        previous = self.snap
        if previous is not None and (previous is snap or previous == snap):
            return None
        shape = shape_of(self.pane)
        redact = self.redact
        status_changed = previous is None or previous.status != snap.status
        status_json = (
            encode_value(FeedStatus, snap.status, redact) if status_changed else self._status_json
        )
        deltable = (
            shape is not None
            and previous is not None
            and snap.data is not None
            and shape.accepts(snap.data)
            and previous.data is not None
            and shape.accepts(previous.data)
        )
        if shape is None or snap.data is None or not shape.accepts(snap.data):
            # Not a shape we split (None, an unknown pane, an unexpected type): written whole, every time.
            kind = PANE_TYPES.get(self.pane, Any) if snap.data is not None else Any
            data_json = b"null" if snap.data is None else encode_value(kind, snap.data, redact)
            frame = _key_frame(self.pane, self.context, status_json, data_json)
            self._pending = (snap, status_json, {}, {}, True, len(frame))
            return Written([frame], True)
        set_plain: dict[str, Any] = {}
        row_segments: dict[str, list[Any]] = {}
        new_rows: dict[str, list[bytes]] = {}
        scalars = self._scalars
        old_data = previous.data if deltable and previous is not None else None
        if shape.cls is not None:
            changed = [
                name
                for name in shape.scalars
                if old_data is None or not _same(getattr(old_data, name), getattr(snap.data, name))
            ]
            if changed:
                plain = {name: getattr(snap.data, name) for name in shape.scalars}
                scalars = _encodable(redact(to_builtins(plain, float_strings=has_float(shape.cls))))
                set_plain = {name: scalars[name] for name in changed}
        for name, row in shape.rows.items():
            new = snap.data if name == "." else getattr(snap.data, name)
            if old_data is None:
                new_rows[name] = [self._encode_row(row, item) for item in new]
                continue
            old = old_data if name == "." else getattr(old_data, name)
            segments, rows = _diff_rows(old, new, self._rows[name], shape.keys[name], row, self._encode_row)
            new_rows[name] = rows
            if segments is not None:
                row_segments[name] = segments
        size = sum(self._rows_size(name, rows) for name, rows in new_rows.items())
        if shape.cls is not None:
            size += len(_ENCODER.encode(scalars))
        key = force_key or not deltable or size < SMALL_FRAME or self.deltas + 1 >= KEYFRAME_EVERY
        if not key:
            delta: dict[str, Any] = {"pane": self.pane, "context": self.context, "frame": "delta",
                                     "base": self.last_id}
            if status_changed:
                delta["status"] = msgspec.Raw(status_json)
            body: dict[str, Any] = {}
            if set_plain:
                body["set"] = set_plain
            if row_segments:
                body["rows"] = row_segments
            if body:
                delta["data"] = body
            frame = _ENCODER.encode(delta)
            if self.delta_bytes + len(frame) > size:
                key = True  # the chain already holds more than the pane: start a new one
            else:
                self._pending = (snap, status_json, scalars, new_rows, False, len(frame))
                return Written([frame], False)
        written = Written(self._key_frame(shape, status_json, scalars, new_rows), True)
        self._pending = (snap, status_json, scalars, new_rows, True, written.size)
        return written

    def commit(self, event_id: int) -> None:
        """The frame from the last ``encode`` is in the file as ``event_id``."""
        if self._pending is None:
            return
        snap, status_json, scalars, rows, key, size = self._pending
        self._pending = None
        self.snap = snap
        self._status_json = status_json
        self._scalars = scalars
        self._rows = rows
        self.last_id = event_id
        if key:
            self.kf, self.deltas, self.delta_bytes = event_id, 0, 0
            self._mean_row = {}  # measured again on the next change
        else:
            self.deltas += 1
            self.delta_bytes += size

    def rollback(self) -> None:
        self._pending = None

    def _rows_size(self, name: str, rows: list[bytes]) -> int:
        """About how many bytes a list's JSON takes: exact while small, else its row count times the mean row
        size measured when the chain's keyframe was written (the keyframe decisions need no more)."""
        mean = self._mean_row.get(name)
        if mean is None or len(rows) < 512:
            total = sum(map(len, rows)) + len(rows)
            if rows:
                self._mean_row[name] = total / len(rows)
            return total
        return int(mean * len(rows))

    def _encode_row(self, row: type, item: Any) -> bytes:
        if not isinstance(item, row):  # would never read back: refused here, loudly, rather than damage later
            raise TypeError(f"a {type(item).__name__} among the {row.__name__} rows")
        return encode_value(row, item, self.redact)

    def _key_frame(self, shape: Shape, status_json: bytes, scalars: dict[str, Any],
                   rows: dict[str, list[bytes]]) -> list[bytes]:
        """The keyframe's pieces: the module's ``_key_frame`` with the pane's data JSON (its scalars, each list of
        rows the cached row JSON), never joined here (see :class:`Written`): a 10 000-row pane's keyframe (4.4 MB
        of JSON) was once copied five times on its way, an RSS spike of 12 MiB at every keyframe of a long
        session."""
        head = _key_frame(self.pane, self.context, status_json, b"null")  # "data" is its last key: ...,"data":null}
        pieces = [head[: -len(b"null}")]]
        if shape.cls is None:
            _join_into(pieces, rows["."])
        else:
            pieces.append(b"{")
            for index, name in enumerate(shape.fields):
                pieces.append(b"," + _ENCODER.encode(name) + b":" if index else _ENCODER.encode(name) + b":")
                if name in rows:
                    _join_into(pieces, rows[name])
                else:
                    pieces.append(_ENCODER.encode(scalars.get(name)))
            pieces.append(b"}")
        pieces.append(b"}")
        return pieces


def _encodable(plain: dict[str, Any]) -> dict[str, Any]:
    """``plain`` as is when it encodes, else with its lone surrogates replaced (see the module docstring)."""
    try:
        _ENCODER.encode(plain)
    except UnicodeEncodeError:
        return _without_surrogates(plain)
    return plain


def _key_frame(pane: str, context: str, status_json: bytes, data_json: bytes) -> bytes:
    return _ENCODER.encode(
        {"pane": pane, "context": context, "frame": "key", "status": msgspec.Raw(status_json),
         "data": msgspec.Raw(data_json)}
    )


def _join(parts: list[bytes]) -> bytes:
    return b"[" + b",".join(parts) + b"]"


def _join_into(pieces: list[bytes], parts: list[bytes]) -> None:
    """What ``_join(parts)`` makes, appended to ``pieces`` (joined later, once)."""
    pieces.append(b"[")
    for index, part in enumerate(parts):
        if index:
            pieces.append(b",")
        pieces.append(part)
    pieces.append(b"]")


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - an odd value that cannot compare is a change
        return False


def _diff_rows(
    old: tuple[Any, ...],
    new: tuple[Any, ...],
    old_json: list[bytes],
    key_field: str,
    row: type,
    encode_row: Callable[[type, Any], bytes],
) -> tuple[list[Any] | None, list[bytes]]:
    """(segments turning ``old`` into ``new`` or None when equal, the row JSON aligned with ``new``).

    Runs of unchanged rows are found with slice comparisons, which run in C and compare kept rows by identity
    (the store keeps parsed rows across refreshes): a backup added in front of 10 000 and the oldest expired is a
    handful of comparisons, not a Python loop over every row.  A row not found by identity is looked up by its key
    (a re-parse) and compared; only rows that are new or changed are encoded (and redacted).
    """
    n, m = len(new), len(old)
    p = _run(new, 0, old, 0, min(n, m))
    if p == n == m:
        return None, old_json
    s = _run_back(new, n, old, m, min(n, m) - p)
    segments: list[Any] = []
    rows: list[bytes] = old_json[:p]
    if p:
        segments.append([0, p])
    lo, hi = p, m - s
    by_id: dict[int, int] | None = None
    by_key: dict[Any, int] | None = None
    misses = 0
    i, end = p, n - s
    expected = lo  # where the next kept row usually is: right after the last run (or one row further)
    while i < end:
        item = new[i]
        if expected < hi and old[expected] is item:
            j: int | None = expected
        elif expected + 1 < hi and old[expected + 1] is item:
            j = expected + 1
        else:
            j = None
            misses += 1
        # A few rows found nowhere near where they were are taken as new (encoding one costs less than indexing
        # 10 000 rows); past that the list was reordered or parsed again, and indexing it saves encoding it all.
        if j is None and hi > lo and misses > _KEY_LOOKUP_AFTER:
            if by_id is None:
                by_id = dict(zip(map(id, old[lo:hi]), range(lo, hi)))
            j = by_id.get(id(item))
        if j is None and hi > lo and misses > _KEY_LOOKUP_AFTER:
            if by_key is None:
                by_key = _keys(old, lo, hi, key_field)
            try:
                j = by_key.get(getattr(item, key_field, None))
            except TypeError:
                j = None
            if j is not None and not _same(old[j], item):
                j = None
        if j is None:
            encoded = encode_row(row, item)
            segments.append(msgspec.Raw(encoded))
            rows.append(encoded)
            i += 1
            continue
        length = max(1, _run(new, i, old, j, min(end - i, m - j)))
        _push_range(segments, j, j + length)
        rows.extend(old_json[j : j + length])
        i += length
        expected = j + length
    if s:
        _push_range(segments, m - s, m)
        rows.extend(old_json[m - s :])
    return segments, rows


_KEY_LOOKUP_AFTER = 16


def _keys(old: tuple[Any, ...], lo: int, hi: int, key_field: str) -> dict[Any, int]:
    keys: dict[Any, int] = {}
    for index in range(lo, hi):
        try:
            keys.setdefault(getattr(old[index], key_field, None), index)
        except TypeError:  # an unhashable key: that row is matched by identity only
            pass
    return keys


def _run(new: tuple[Any, ...], i: int, old: tuple[Any, ...], j: int, limit: int) -> int:
    """The longest ``k <= limit`` with ``new[i:i+k] == old[j:j+k]`` (galloping over C-level slice comparisons)."""
    if limit <= 0 or not _same(new[i], old[j]):
        return 0
    good, probe = 1, 2
    while probe <= limit and new[i + good : i + probe] == old[j + good : j + probe]:
        good, probe = probe, probe * 2
    bad = min(probe, limit + 1)
    while bad - good > 1:
        middle = (good + bad) // 2
        if new[i + good : i + middle] == old[j + good : j + middle]:
            good = middle
        else:
            bad = middle
    return good


def _run_back(new: tuple[Any, ...], n: int, old: tuple[Any, ...], m: int, limit: int) -> int:
    """The longest ``k <= limit`` with ``new[n-k:n] == old[m-k:m]``."""
    if limit <= 0 or not _same(new[n - 1], old[m - 1]):
        return 0
    good, probe = 1, 2
    while probe <= limit and new[n - probe : n - good] == old[m - probe : m - good]:
        good, probe = probe, probe * 2
    bad = min(probe, limit + 1)
    while bad - good > 1:
        middle = (good + bad) // 2
        if new[n - middle : n - good] == old[m - middle : m - good]:
            good = middle
        else:
            bad = middle
    return good


def _push_range(segments: list[Any], start: int, stop: int) -> None:
    last = segments[-1] if segments else None
    if type(last) is list and last[1] == start:
        last[1] = stop
    else:
        segments.append([start, stop])
