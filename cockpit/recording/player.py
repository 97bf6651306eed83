"""The player: reads a recording, never writes it, never opens a network connection.

It is just another source behind the store: ``state_at(t)`` gives the six panes as they were at recorded time
``t``, so the dashboard, the decision tree and the executor render a replay exactly like the live session.

Opening is cheap whatever the length: only the metadata is read, and everything else is an indexed query -- the
latest snapshot of a pane at ``t`` is one B-tree descent on ``(kind, context, pane, ts)``, and its state is its
keyframe plus the deltas after it (one range on ``(kf, id)``, at most ``KEYFRAME_EVERY`` small rows).  The last
state rebuilt and the last keyframe decoded are kept per pane, so playing forward applies one delta per step and
seeking back within a chain decodes no keyframe again.  Nothing reads the whole file at open: :meth:`Player.verify`
does (``PRAGMA quick_check``), from a worker.

Every payload is inflated with a cap (``MAX_PAYLOAD_BYTES``) and every pane's state is rebuilt from at most
``MAX_STATE_BYTES`` of JSON: a zlib bomb or an endless chain is a line in :attr:`Player.damage`, never memory.
Schema-1 files (every snapshot whole, no ``kf`` column) read as chains of one keyframe each.

Damage is expected (a bastion's disk filled up, a copy was cut short, a byte flipped) and never ends in a traceback:
a file that is not a recording, or from a newer cockpit, raises :class:`RecordingError` with one clear line; a
damaged one opens, replays every event up to the first unreadable one, and :attr:`Player.damage` says where it
stopped.  A recording whose recorder died (no ``ended_at``) is normal: the last committed event is there.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from cockpit.models import PaneSnapshot
from cockpit.recording import codec
from cockpit.recording.codec import (
    CodecError,
    TooLarge,
    apply_delta,
    decode_keyframe,
    inflate,
    read_frame,
)
from cockpit.recording.format import (
    ACTION_KINDS,
    META_MAX_CHARS,
    APPLICATION_ID,
    EVENT_KINDS,
    SCHEMA_VERSION,
    RecordingError,
    RecordingMeta,
    decode_payload,
    describe,
    from_ts,
    snapshot_from_dict,
    to_ts,
)

_SQLITE_MAGIC = b"SQLite format 3\x00"
# A metadata value too long to be ours comes back as a number (its length), which from_rows refuses by name.
_META_SQL = f"SELECT key, CASE WHEN length(value) <= {META_MAX_CHARS} THEN value ELSE length(value) END FROM meta"
# A stored payload over the inflation cap is damage before it is even read: SQLite reports its length without
# loading it, and the payload column comes back NULL.
_COLUMNS = "id, ts, kind, context, pane, CASE WHEN length(payload) <= {max} THEN payload END, {kf}, length(payload)"


@dataclass(frozen=True)
class Event:
    """One recorded event; ``payload`` is the decoded JSON (see :mod:`cockpit.recording.format`).

    For a ``snapshot`` read from a file the payload is only ``{"pane", "context", "frame"}`` (a delta means nothing
    alone): :meth:`snapshot` rebuilds the pane as it was at this event.
    """

    id: int
    ts: float
    kind: str
    context: str
    pane: str
    payload: Any
    _resolve: Callable[[], PaneSnapshot] | None = field(default=None, compare=False, repr=False)

    @property
    def at(self) -> datetime:
        return from_ts(self.ts)

    @property
    def label(self) -> str:
        """One line for the timeline (untrusted text inside: render with markup off)."""
        return describe(self.kind, self.payload)

    def snapshot(self) -> PaneSnapshot:
        """The pane snapshot this event holds (``kind == "snapshot"`` only)."""
        if self.kind != "snapshot":
            raise RecordingError(f"event {self.id} is a {self.kind}, not a snapshot")
        if self._resolve is not None:
            return self._resolve()
        return snapshot_from_dict(self.payload)


class _State(NamedTuple):
    """A pane rebuilt up to event ``id`` of the chain starting at keyframe ``kf``, from ``weight`` JSON bytes."""

    id: int
    kf: int
    snap: PaneSnapshot
    weight: int


class _Unreadable(Exception):
    """A row that cannot be read; already marked in the damage."""


def _valid_ts(value: Any) -> float | None:
    """A row's time, or None when damage left something else there (SQLite columns hold any type)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 <= value < 1e11 else None  # NaN fails both comparisons


def _clock(ts: float | None) -> str:
    if ts is None:
        return "unknown time"
    return from_ts(ts).strftime("%H:%M:%S")


def _count_text(count: int) -> str:
    return f"{count:,}".replace(",", " ")


def _why(err: Exception) -> str:
    """The part of a damage line worth showing: only caps say why (plain damage is just "unreadable")."""
    if isinstance(err, TooLarge):
        return str(err)
    text = str(err)
    return text.removeprefix("damaged payload: ") if "unpacks past" in text or "payload is " in text else ""


def _stored_too_large(size: Any) -> str:
    stored = codec.size_text(size) if isinstance(size, int) else "unknown size"
    return f"stored payload of {stored} (over {codec.size_text(codec.MAX_PAYLOAD_BYTES)})"


class Player:
    """A read-only view of one recording.  Safe to use from several threads (one lock around the connection)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._bound: int | None = None  # last readable event id when the file is damaged
        self._indexed = True  # False once an index proved damaged: queries then read the table itself
        self._scanned = False  # the table was read in id order to find where the damage starts
        self._short = False  # the file is shorter than its header says (a cut copy, a full disk)
        self._structure_damage = ""
        self._bad_events: dict[int, str] = {}
        self._chained = True  # schema 1 has no kf column: every snapshot is its own keyframe
        self._last_state: dict[tuple[str, str], _State] = {}  # the last state rebuilt, per pane
        self._key_state: dict[tuple[str, str], _State] = {}  # the last keyframe decoded, per pane
        self._check_header()
        try:
            self._db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as err:
            raise RecordingError(f"cannot open {self.path.name}: {err}") from None
        try:
            self.meta = self._read_meta()
            self._chained = "kf" in self._event_columns()
            if self._short:
                self._find_damage()  # every query would run into the missing pages: bound them now
            self.streams: tuple[tuple[str, str], ...] = self._read_streams()
        except RecordingError:
            self._db.close()
            raise
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise RecordingError(f"{self.path.name} is damaged beyond reading: {err}") from None

    # ------------------------------------------------------------------ opening

    def _check_header(self) -> None:
        try:
            with self.path.open("rb") as handle:
                head = handle.read(len(_SQLITE_MAGIC))
        except FileNotFoundError:
            raise RecordingError(f"no recording at {self.path}") from None
        except OSError as err:
            raise RecordingError(f"cannot read {self.path}: {err.strerror or err}") from None
        if head != _SQLITE_MAGIC:
            raise RecordingError(f"{self.path.name} is not a cockpit recording (not an SQLite file)")

    def _read_schema(self) -> tuple[int, set[str]]:
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return app_id, tables

    def _event_columns(self) -> set[str]:
        return {str(row[1]) for row in self._db.execute("PRAGMA table_info(events)").fetchall()}

    def _read_meta(self) -> RecordingMeta:
        try:
            app_id, tables = self._read_schema()
        except sqlite3.DatabaseError:
            # A file shorter than its header says (a cut copy, a full disk) is refused whole by SQLite unless
            # writable_schema is on; on this read-only connection that only makes it read the pages that exist.
            try:
                self._db.execute("PRAGMA writable_schema=ON")
                app_id, tables = self._read_schema()
                self._short = True
            except sqlite3.DatabaseError as err:
                raise RecordingError(f"{self.path.name} is not a readable recording: {err}") from None
        if app_id != APPLICATION_ID or not {"meta", "events"} <= tables:
            raise RecordingError(f"{self.path.name} is an SQLite file but not a cockpit recording")
        try:
            rows = dict(self._db.execute(_META_SQL).fetchall())
        except sqlite3.DatabaseError as err:
            raise RecordingError(f"the metadata of {self.path.name} is unreadable: {err}") from None
        try:
            version = json.loads(rows.get("schema_version", "null"))
        except (TypeError, ValueError):
            version = None
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RecordingError(f"{self.path.name} has no readable schema version: not a cockpit recording")
        if version > SCHEMA_VERSION:
            raise RecordingError(
                f"recorded by a newer cockpit (schema {version}); this one reads up to {SCHEMA_VERSION}"
                " — upgrade to replay it"
            )
        return RecordingMeta.from_rows(rows)

    def verify(self) -> str | None:
        """Check every page of the file once and return :attr:`damage` (None: intact).

        ``PRAGMA quick_check`` reads the whole file (about 30 MB per recorded hour, under a second from a cold disk),
        so the replay screen runs this in a worker after opening; queries find damage on their own meanwhile.
        """
        with self._lock:
            if not self._scanned:
                try:
                    verdict = [row[0] for row in self._db.execute("PRAGMA quick_check(5)").fetchall()]
                except sqlite3.DatabaseError as err:
                    verdict = [str(err)]
                if verdict != ["ok"]:
                    self._find_damage()
        return self.damage

    def _find_damage(self) -> None:
        """Read the table in id order until it breaks: that is where the replay stops (no index is trusted after)."""
        self._scanned = True
        self._indexed = False
        count, last_id, last_ts = 0, 0, None
        try:
            for event_id, raw_ts in self._db.execute("SELECT id, ts FROM events NOT INDEXED ORDER BY id"):
                ts = _valid_ts(raw_ts)
                if ts is None:
                    raise sqlite3.DatabaseError(f"event {event_id} has no time")
                count, last_id, last_ts = count + 1, event_id, ts
        except sqlite3.DatabaseError:
            self._bound = last_id
            when = f" ({_clock(last_ts)})" if last_ts is not None else ""
            self._structure_damage = f"file ends after {_count_text(count)} events{when}: the rest is unreadable"
            return
        # Every event is readable; only an index (or free space) is damaged: replay reads the table itself.
        self._structure_damage = f"an index is damaged: all {_count_text(count)} events replay, seeking is slower"

    def refresh(self) -> None:
        """Re-read what a recording still being written may have changed: its panes, and whether it has ended."""
        with self._lock:
            self.streams = self._read_streams()
            try:
                rows = dict(self._db.execute(_META_SQL).fetchall())
                self.meta = RecordingMeta.from_rows(rows)
            except (sqlite3.DatabaseError, RecordingError):
                pass  # keep the metadata read at open

    def _read_streams(self) -> tuple[tuple[str, str], ...]:
        rows = self._rows(
            "SELECT DISTINCT context, pane FROM events {hint} WHERE kind = 'snapshot' {bound}", (), fail_soft=True
        )
        return tuple(sorted((str(context), str(pane)) for context, pane in rows))

    # ------------------------------------------------------------------ properties

    @property
    def damage(self) -> str | None:
        """Where the replay stops and which events were skipped, in words; None for an intact file."""
        parts = [self._structure_damage] if self._structure_damage else []
        with self._lock:
            bad = sorted(self._bad_events.items())
        if bad:
            shown = ", ".join(f"event {_count_text(event_id)} ({when})" for event_id, when in bad[:3])
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            parts.append(f"unreadable and skipped: {shown}{more}")
        return "; ".join(parts) or None

    @property
    def complete(self) -> bool:
        """Did the recorder close the file cleanly?  (False: still recording, or it died -- nothing is lost.)"""
        return self.meta.ended_at is not None

    @property
    def start(self) -> datetime:
        """The session's start: the recorded start time, or the first event's when the meta lacks it."""
        first = self._rows("SELECT min(ts) FROM events {hint} WHERE 1 {bound}", (), fail_soft=True)
        first_ts = _valid_ts(first[0][0]) if first else None
        candidates = [to_ts(self.meta.started_at)] if self.meta.started_at else []
        if first_ts is not None:
            candidates.append(first_ts)
        return from_ts(min(candidates)) if candidates else datetime.fromtimestamp(0, timezone.utc)

    @property
    def end(self) -> datetime:
        """The last recorded instant (grows while the recording is being written)."""
        last = self._rows("SELECT max(ts) FROM events {hint} WHERE 1 {bound}", (), fail_soft=True)
        candidates = [to_ts(self.start)]
        last_ts = _valid_ts(last[0][0]) if last else None
        if last_ts is not None:
            candidates.append(last_ts)
        if self.meta.ended_at is not None and not self._structure_damage:
            candidates.append(to_ts(self.meta.ended_at))
        return from_ts(max(candidates))

    def count(self) -> int:
        """How many readable events (a scan of the smallest index: a few ms per hour of recording)."""
        rows = self._rows("SELECT count(*) FROM events {hint} WHERE 1 {bound}", (), fail_soft=True)
        return int(rows[0][0]) if rows else 0

    # ------------------------------------------------------------------ following a recording being written

    def last_id(self) -> int:
        """The id of the newest row (0 for none): a follower compares it to know something was appended.

        One B-tree step on the rowid; each call is its own read transaction, so a recording in WAL mode that is
        still being written shows every commit made before the call (``cockpit watch``)."""
        rows = self._rows("SELECT max(id) FROM events WHERE 1 {bound}", (), fail_soft=True)
        value = rows[0][0] if rows else None
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0

    def events_after(self, event_id: int, kinds: Sequence[str] | None = None, *, limit: int = 500) -> list[Event]:
        """Up to ``limit`` readable events appended after ``event_id``, in append (id) order: what a follower has
        not seen yet.  Snapshots come as :meth:`events` gives them (``Event.snapshot()`` rebuilds the pane)."""
        where = "id > ?"
        params: list[Any] = [int(event_id)]
        if kinds is not None:
            where += f" AND kind IN ({','.join('?' for _ in kinds)})"
            params.extend(kinds)
        sql = f"SELECT {self._columns} FROM events WHERE {where} {{bound}} ORDER BY id LIMIT {int(max(1, limit))}"
        out = []
        for row in self._rows(sql, tuple(params), fail_soft=True):
            event = self._event(row)
            if event is not None:
                out.append(event)
        return out

    # ------------------------------------------------------------------ queries

    def state_at(self, when: datetime | float) -> dict[tuple[str, str], PaneSnapshot]:
        """The latest snapshot of every (context, pane) at or before ``when``: what the dashboard showed then."""
        ts = to_ts(when)
        state: dict[tuple[str, str], PaneSnapshot] = {}
        with self._lock:
            if not self.complete:
                self.refresh()  # still being written: a pane may have appeared since
            for stream in self.streams:
                snap = self._latest_snapshot(stream, ts)
                if snap is not None:
                    state[stream] = snap
        return state

    def _latest_snapshot(self, stream: tuple[str, str], ts: float) -> PaneSnapshot | None:
        """The newest state at or before ``ts``; damage falls back to the last readable state before it."""
        context, pane = stream
        below: int | None = None
        for _attempt in range(4):
            sql = (
                f"SELECT id, ts, {self._kf} FROM events {{hint}} WHERE kind = 'snapshot' AND context = ?"
                " AND pane = ? AND ts <= ?" + (" AND id < ?" if below is not None else "") +
                " {bound} ORDER BY ts DESC, id DESC LIMIT 1"
            )
            params: tuple[Any, ...] = (context, pane, ts) + ((below,) if below is not None else ())
            rows = self._rows(sql, params, fail_soft=True)
            if not rows:
                return None
            event_id, raw_ts, kf = rows[0]
            try:
                kf = self._chain_start(int(event_id), raw_ts, kf)
                return self._rebuild(stream, int(event_id), kf).snap
            except _Unreadable:
                below = int(kf) if isinstance(kf, int) and kf <= event_id else int(event_id)
        return None

    def _chain_start(self, event_id: int, raw_ts: Any, kf: Any) -> int:
        if isinstance(kf, bool) or not isinstance(kf, int) or not 0 < kf <= event_id:
            self._mark_bad(event_id, _valid_ts(raw_ts), "no keyframe")
            raise _Unreadable
        return kf

    def _rebuild(self, stream: tuple[str, str], target: int, kf: int) -> _State:
        """The pane as of event ``target`` (or as of the last readable event before it in its chain).

        Starts from the state rebuilt last or the keyframe decoded last when they are on the same chain; raises
        :class:`_Unreadable` when not even the keyframe can be read.
        """
        with self._lock:
            last = self._last_state.get(stream)
            if last is not None and last.kf == kf and last.id == target:
                return last
            start = last if last is not None and last.kf == kf and last.id < target else None
            if start is None:
                key = self._key_state.get(stream)
                start = key if key is not None and key.kf == kf and key.id <= target else None
            if start is None:
                start = self._read_keyframe(stream, kf)
                self._key_state[stream] = start
            state = start
            if target > state.id and self._chained:
                rows = self._rows(
                    f"SELECT {self._columns} FROM events {{hint}} WHERE kf = ? AND id > ? AND id <= ?"
                    " {bound} ORDER BY id",
                    (kf, state.id, target),
                    fail_soft=True,
                )
                for row in rows:
                    try:
                        state = self._apply(stream, state, row)
                    except _Unreadable:
                        break
            self._last_state[stream] = state
            return state

    @property
    def _kf(self) -> str:
        """A snapshot row's keyframe id (a row without one stands alone, like every schema-1 snapshot)."""
        return "coalesce(kf, id)" if self._chained else "id"

    @property
    def _columns(self) -> str:
        return _COLUMNS.replace("{kf}", self._kf).replace("{max}", str(int(codec.MAX_PAYLOAD_BYTES)))

    def _read_keyframe(self, stream: tuple[str, str], kf: int) -> _State:
        rows = self._rows(f"SELECT {self._columns} FROM events {{hint}} WHERE id = ? {{bound}}", (kf,), fail_soft=True)
        if not rows:
            raise _Unreadable
        row = rows[0]
        event_id, raw_ts = int(row[0]), row[1]
        if event_id in self._bad_events:
            raise _Unreadable
        data = self._payload(row, stream, min(codec.MAX_PAYLOAD_BYTES, codec.MAX_STATE_BYTES))
        try:
            snap = decode_keyframe(read_frame(data))
        except CodecError as err:
            self._mark_bad(event_id, _valid_ts(raw_ts), _why(err))
            raise _Unreadable from None
        if (snap.context, snap.pane) != stream:
            self._mark_bad(event_id, _valid_ts(raw_ts))
            raise _Unreadable
        return _State(event_id, kf, snap, len(data))

    def _apply(self, stream: tuple[str, str], state: _State, row: tuple[Any, ...]) -> _State:
        event_id, raw_ts = int(row[0]), row[1]
        if event_id in self._bad_events:
            raise _Unreadable
        data = self._payload(row, stream, min(codec.MAX_PAYLOAD_BYTES, codec.MAX_STATE_BYTES - state.weight))
        try:
            frame = read_frame(data)
            if frame.frame != "delta" or frame.base != state.id:
                raise CodecError("a delta that does not follow the event before it")
            snap = apply_delta(state.snap, frame)
        except CodecError as err:
            self._mark_bad(event_id, _valid_ts(raw_ts), _why(err))
            raise _Unreadable from None
        return _State(event_id, state.kf, snap, state.weight + len(data))

    def _payload(self, row: tuple[Any, ...], stream: tuple[str, str], limit: int) -> bytes:
        """The inflated payload of a snapshot row of ``stream``; :class:`_Unreadable` (marked) otherwise."""
        event_id, raw_ts, kind, context, pane, blob, _kf, size = row
        ts = _valid_ts(raw_ts)
        if kind != "snapshot" or (context, pane) != stream:
            self._mark_bad(int(event_id), ts)
            raise _Unreadable
        if blob is None:
            self._mark_bad(int(event_id), ts, _stored_too_large(size))
            raise _Unreadable
        try:
            return inflate(blob, max(0, limit))
        except CodecError as err:
            if isinstance(err, TooLarge) and limit < codec.MAX_PAYLOAD_BYTES:
                err = TooLarge(f"the pane's state unpacks past {codec.size_text(codec.MAX_STATE_BYTES)}")
            self._mark_bad(int(event_id), ts, _why(err))
            raise _Unreadable from None

    def _snapshot_of(self, stream: tuple[str, str], event_id: int, kf: int) -> PaneSnapshot:
        """The pane exactly as event ``event_id`` recorded it (for :meth:`Event.snapshot`)."""
        try:
            state = self._rebuild(stream, event_id, kf)
        except _Unreadable:
            raise RecordingError(f"event {event_id}: its pane cannot be rebuilt (damaged keyframe)") from None
        if state.id != event_id:
            raise RecordingError(f"event {event_id}: its pane cannot be rebuilt (damage before it)")
        return state.snap

    def snapshots(self, pane: str | None = None, context: str | None = None) -> Iterator[tuple[float, PaneSnapshot]]:
        """Every recorded snapshot (of one pane / context when given), in time order: for drills and postmortems."""
        for event in self._iter_events(("snapshot",), None, None, pane=pane, context=context):
            try:
                yield event.ts, event.snapshot()
            except RecordingError:
                self._mark_bad(event.id, event.ts)

    def events_between(
        self, start: datetime | float, end: datetime | float, kinds: Sequence[str] | None = None
    ) -> list[Event]:
        """Events with ``start <= ts <= end`` in time order (of the given kinds only, when given)."""
        return list(self._iter_events(kinds, to_ts(start), to_ts(end)))

    def events(
        self, kinds: Sequence[str] | None = None, *, pane: str | None = None, context: str | None = None
    ) -> Iterator[Event]:
        """Every readable event (of the given kinds, pane, context), in time order, read lazily."""
        return self._iter_events(kinds, None, None, pane=pane, context=context)

    def markers(self) -> list[Event]:
        """The person's moves, the writes and the named moments (``ACTION_KINDS``), for the timeline bar."""
        return list(self._iter_events(ACTION_KINDS, None, None))

    def next_action(self, when: datetime | float) -> Event | None:
        """The first action strictly after ``when`` (``]``)."""
        return self._neighbour(ACTION_KINDS, to_ts(when), after=True)

    def prev_action(self, when: datetime | float) -> Event | None:
        """The last action strictly before ``when`` (``[``)."""
        return self._neighbour(ACTION_KINDS, to_ts(when), after=False)

    def next_event(self, when: datetime | float) -> Event | None:
        """The first event of any kind strictly after ``when`` (single-step forward)."""
        return self._neighbour(EVENT_KINDS, to_ts(when), after=True)

    def prev_event(self, when: datetime | float) -> Event | None:
        """The last event of any kind strictly before ``when`` (single-step back)."""
        return self._neighbour(EVENT_KINDS, to_ts(when), after=False)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _neighbour(self, kinds: Sequence[str], ts: float, *, after: bool) -> Event | None:
        marks = ",".join("?" for _ in kinds)
        compare, order = (">", "ASC") if after else ("<", "DESC")
        sql = (
            f"SELECT {self._columns} FROM events {{hint}} WHERE kind IN ({marks}) AND ts {compare} ? {{bound}}"
            f" ORDER BY ts {order}, id {order} LIMIT 8"
        )
        for row in self._rows(sql, (*kinds, ts), fail_soft=True):
            event = self._event(row)
            if event is not None:
                return event
        return None

    def _iter_events(
        self,
        kinds: Sequence[str] | None,
        start: float | None,
        end: float | None,
        *,
        pane: str | None = None,
        context: str | None = None,
    ) -> Iterator[Event]:
        clauses: list[str] = []
        params: list[Any] = []
        if kinds is not None:
            clauses.append(f"kind IN ({','.join('?' for _ in kinds)})")
            params.extend(kinds)
        if context is not None:
            clauses.append("context = ?")
            params.append(context)
        if pane is not None:
            clauses.append("pane = ?")
            params.append(pane)
        if start is not None:
            clauses.append("ts >= ?")
            params.append(start)
        if end is not None:
            clauses.append("ts <= ?")
            params.append(end)
        where = " AND ".join(clauses) or "1"
        sql = f"SELECT {self._columns} FROM events {{hint}} WHERE {where} {{bound}} ORDER BY ts, id"
        # Pages of rows by (ts, id) keyset, so a long iteration never holds the connection or a read snapshot.
        last: tuple[float, int] | None = None
        while True:
            if last is None:
                page_sql, page_params = sql, tuple(params)
            else:
                page_sql = sql.replace("{bound}", "AND (ts > ? OR (ts = ? AND id > ?)) {bound}")
                page_params = (*params, last[0], last[0], last[1])
            rows = self._rows(page_sql + " LIMIT 500", page_params, fail_soft=True)
            for row in rows:
                ts = _valid_ts(row[1])
                if ts is None:  # non-numbers sort after every number: the rest of the rows is junk
                    self._mark_bad(int(row[0]), None)
                    return
                last = (ts, int(row[0]))
                event = self._event(row)
                if event is not None:
                    yield event
            if len(rows) < 500:
                return

    def _event(self, row: tuple[Any, ...]) -> Event | None:
        event_id, raw_ts, kind, context, pane, blob, kf, size = row
        ts = _valid_ts(raw_ts)
        event_id = int(event_id)
        if event_id in self._bad_events:  # known damage: not unpacked again
            return None
        if ts is None or not all(isinstance(text, str) for text in (kind, context, pane)):
            self._mark_bad(event_id, ts)
            return None
        if blob is None:
            self._mark_bad(event_id, ts, _stored_too_large(size))
            return None
        if kind == "snapshot":
            try:
                frame = read_frame(inflate(blob))
                if (frame.context, frame.pane) != (context, pane):
                    raise CodecError("a snapshot of another pane than its row says")
                chain = self._chain_start(event_id, raw_ts, kf)
            except CodecError as err:
                self._mark_bad(event_id, ts, _why(err))
                return None
            except _Unreadable:
                return None
            payload = {"pane": pane, "context": context, "frame": frame.frame}
            resolve = functools.partial(self._snapshot_of, (context, pane), event_id, chain)
            return Event(event_id, ts, kind, context, pane, payload, resolve)
        try:
            payload = decode_payload(blob)
        except RecordingError as err:
            self._mark_bad(event_id, ts, _why(err))
            return None
        return Event(event_id, ts, kind, context, pane, payload)

    def _mark_bad(self, event_id: int, ts: float | None, reason: str = "") -> None:
        with self._lock:
            self._bad_events[event_id] = _clock(ts) + (f": {reason}" if reason else "")

    def _rows(self, template: str, params: tuple[Any, ...], *, fail_soft: bool) -> list[tuple[Any, ...]]:
        """Run a query; ``{hint}`` / ``{bound}`` become the index hint and the damage bound.

        A query that hits a damaged page is retried without the indexes (the table may be intact where an index
        is not); if that fails too the damage is noted and no rows come back (``fail_soft``) instead of raising.
        """
        with self._lock:
            for _attempt in range(2):
                sql = template.replace("{hint}", "" if self._indexed else "NOT INDEXED").replace(
                    "{bound}", "" if self._bound is None else f"AND id <= {int(self._bound)}"
                )
                try:
                    return self._db.execute(sql, params).fetchall()
                except sqlite3.ProgrammingError as err:  # closed player: a caller bug, say so plainly
                    raise RecordingError(f"{self.path.name}: {err}") from None
                except sqlite3.DatabaseError as err:
                    if not self._scanned:
                        self._find_damage()  # bounds every later query to the readable events, indexes off
                        continue
                    if not self._structure_damage:
                        self._structure_damage = f"part of the file is unreadable: {err}"
                    if not fail_soft:
                        raise RecordingError(f"{self.path.name} is damaged: {err}") from None
                    return []
        return []
