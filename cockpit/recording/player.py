"""The player: reads a recording, never writes it, never opens a network connection.

It is just another source behind the store: ``state_at(t)`` gives the six panes as they were at recorded time
``t``, so the dashboard, the decision tree and the executor render a replay exactly like the live session.

Opening is cheap whatever the length: only the metadata is read, and everything else is an indexed query -- the
latest snapshot of a pane at ``t`` is one B-tree descent on ``(kind, context, pane, ts)``.  Nothing reads the whole
file at open: :meth:`Player.verify` does (``PRAGMA quick_check``, about 30 MB per recorded hour), from a worker.

Damage is expected (a bastion's disk filled up, a copy was cut short, a byte flipped) and never ends in a traceback:
a file that is not a recording, or from a newer cockpit, raises :class:`RecordingError` with one clear line; a
damaged one opens, replays every event up to the first unreadable one, and :attr:`Player.damage` says where it
stopped.  A recording whose recorder died (no ``ended_at``) is normal: the last committed event is there.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cockpit.models import PaneSnapshot
from cockpit.recording.format import (
    ACTION_KINDS,
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
_COLUMNS = "id, ts, kind, context, pane, payload"


@dataclass(frozen=True)
class Event:
    """One recorded event; ``payload`` is the decoded JSON (see :mod:`cockpit.recording.format`)."""

    id: int
    ts: float
    kind: str
    context: str
    pane: str
    payload: Any

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
        return snapshot_from_dict(self.payload)


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
        self._check_header()
        try:
            self._db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as err:
            raise RecordingError(f"cannot open {self.path.name}: {err}") from None
        try:
            self.meta = self._read_meta()
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
            rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
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
                rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
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

    # ------------------------------------------------------------------ queries

    def state_at(self, when: datetime | float) -> dict[tuple[str, str], PaneSnapshot]:
        """The latest snapshot of every (context, pane) at or before ``when``: what the dashboard showed then."""
        ts = to_ts(when)
        state: dict[tuple[str, str], PaneSnapshot] = {}
        with self._lock:
            if not self.complete:
                self.refresh()  # still being written: a pane may have appeared since
            for context, pane in self.streams:
                snap = self._latest_snapshot(context, pane, ts)
                if snap is not None:
                    state[(context, pane)] = snap
        return state

    def _latest_snapshot(self, context: str, pane: str, ts: float) -> PaneSnapshot | None:
        """Newest first; a damaged payload falls back to the one before it."""
        sql = (
            f"SELECT {_COLUMNS} FROM events {{hint}} WHERE kind = 'snapshot' AND context = ? AND pane = ?"
            " AND ts <= ? {bound} ORDER BY ts DESC, id DESC LIMIT 4"
        )
        for row in self._rows(sql, (context, pane, ts), fail_soft=True):
            event = self._event(row)
            if event is None:
                continue
            try:
                return event.snapshot()
            except RecordingError:
                self._mark_bad(event.id, event.ts)
        return None

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
            f"SELECT {_COLUMNS} FROM events {{hint}} WHERE kind IN ({marks}) AND ts {compare} ? {{bound}}"
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
        sql = f"SELECT {_COLUMNS} FROM events {{hint}} WHERE {where} {{bound}} ORDER BY ts, id"
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
        event_id, raw_ts, kind, context, pane, blob = row
        ts = _valid_ts(raw_ts)
        try:
            if ts is None or not all(isinstance(text, str) for text in (kind, context, pane)):
                raise RecordingError("damaged row")
            payload = decode_payload(blob)
        except RecordingError:
            self._mark_bad(int(event_id), ts)
            return None
        return Event(int(event_id), ts, kind, context, pane, payload)

    def _mark_bad(self, event_id: int, ts: float | None) -> None:
        with self._lock:
            self._bad_events[event_id] = _clock(ts)

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
