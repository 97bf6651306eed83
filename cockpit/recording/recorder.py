"""The recorder: appends a live session's snapshots and events to one SQLite file, durably, as they happen.

A recording is evidence (the postmortem and the drill report are written from it), so an event is on disk when
``record`` returns (see :mod:`cockpit.recording.format` for why WAL + ``synchronous=FULL``).  It must also never take
the cockpit down in the middle of an incident: a full disk or a vanished directory turns the recorder off, keeps the
reason in :attr:`Recorder.error` for the status bar to show once, and every later call is a no-op.

Snapshots are written as changes (schema 2): per (context, pane) a :class:`~cockpit.recording.codec.StreamEncoder`
keeps the last snapshot and the redacted JSON of its rows, so one backup added to a 10 000-row Velero pane costs
that backup's encoding and a few hundred bytes on disk, and a keyframe every so often is the cached rows joined.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cockpit
from cockpit.models import PaneSnapshot, to_dict
from cockpit.recording.codec import StreamEncoder
from cockpit.recording.format import (
    APPLICATION_ID,
    EVENT_KINDS,
    SCHEMA_SQL,
    SCHEMA_VERSION,
    RecordingError,
    RecordingMeta,
    encode_payload,
    redact,
    to_ts,
)

KEYFRAME_TRIM_BYTES = 1 << 20  # a keyframe this large was copied a few times on its way: its memory is handed back
_BUSY_TIMEOUT_S = 5.0  # a reader holding a lock never blocks the UI thread for longer
SHARED_DIR_MODE = 0o2750  # owner rwx, group r-x, setgid (new files take the directory's group), others nothing


def group_id(group: str) -> int:
    """The id of ``group`` (a name or a number); RecordingError when there is no such group."""
    import grp

    try:
        return grp.getgrgid(int(group)).gr_gid if group.isdigit() else grp.getgrnam(group).gr_gid
    except (KeyError, ValueError, OverflowError):
        raise RecordingError(f"recording_group {group!r}: no such group on this host") from None


def _make_dirs(directory: Path, gid: int | None) -> list[Path]:
    """Create ``directory`` and missing parents; the ones created here get ``gid`` and 2750 (a shared group)."""
    missing: list[Path] = []
    walk = directory
    while not walk.exists() and walk != walk.parent:
        missing.append(walk)
        walk = walk.parent
    directory.mkdir(parents=True, exist_ok=True)
    if gid is not None:
        for created in missing:
            os.chown(created, -1, gid)
            os.chmod(created, SHARED_DIR_MODE)
    return missing


def _sharing_note(path: Path, gid: int, group: str, made: list[Path]) -> str:
    """What the person should know about who can read the recording (a directory in the way, say)."""
    import stat

    for directory in (path.parent, *path.parent.parents):
        try:
            info = directory.stat()
        except OSError:
            continue
        if directory in made:
            continue
        if info.st_mode & stat.S_IXOTH:
            continue
        if info.st_gid == gid and info.st_mode & stat.S_IXGRP:
            continue
        return (f"group {group} cannot reach it: {directory} is mode {stat.S_IMODE(info.st_mode):04o} "
                f"(set recording_dir to a directory the group can enter)")
    return f"readable by group {group} (0640)"


class Recorder:
    """Writes one session to ``path`` (which must not exist yet).

    Thread-safe: one lock serialises every write, so snapshots from the UI thread and gateway events from a worker
    may be recorded concurrently.
    """

    def __init__(self, path: str | Path, meta: RecordingMeta, *, group: str | None = None) -> None:
        """``group``: the group that may read the recording while it is written (``cockpit watch``) and after
        (``cockpit replay``): the file is created 0640 with that group, and every directory the recorder creates
        for it 2750 (setgid: SQLite's ``-wal`` and ``-shm`` files inherit the group).  Without it the file is
        private (0600)."""
        self.path = Path(path)
        self._lock = threading.RLock()
        self._streams: dict[tuple[str, str], StreamEncoder] = {}
        self._depth = 0  # nesting of batch()
        self._next_id = 1  # ids are given explicitly: a keyframe's row names itself in ``kf``
        self.error: str | None = None
        self.count = 0
        self.clock: Any = None  # set by the app: the end time comes from the session's clock
        started = meta.started_at or datetime.now(timezone.utc)
        self.meta = dataclasses.replace(
            meta,
            started_at=started,
            schema_version=SCHEMA_VERSION,
            cockpit_version=cockpit.__version__,
            ended_at=None,
            targets=redact(dict(meta.targets)),
        )
        self.shared = ""  # who else may read it, in words ("" = private)
        gid = group_id(group) if group else None
        mode = 0o640 if gid is not None else 0o600
        try:
            made = _make_dirs(self.path.parent, gid)
            # Created here, exclusively (SQLite gives -wal/-shm the same mode): never another's file.  Private, or
            # readable by the configured group only; fchmod because the umask may have taken the group's bit.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            try:
                if gid is not None:
                    os.fchown(fd, -1, gid)
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
            self.shared = _sharing_note(self.path, gid, group, made) if gid is not None else ""
        except FileExistsError:
            raise RecordingError(f"{self.path} already exists: a recording is never overwritten") from None
        except OSError as err:
            raise RecordingError(f"cannot record to {self.path}: {err.strerror or err}") from None
        self._db: sqlite3.Connection | None = None
        try:
            self._db = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("BEGIN")  # schema + meta in one commit (executescript would commit on its own)
            for statement in SCHEMA_SQL.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", self.meta.to_rows().items()
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as err:
            if self._db is not None:
                self._db.close()
                self._db = None
            raise RecordingError(f"cannot record to {self.path}: {err}") from None

    # ------------------------------------------------------------------ writing

    def record_snapshot(self, snap: PaneSnapshot, ts: datetime | float) -> int | None:
        """Append a pane snapshot unless it equals the last one recorded for its (context, pane).

        Returns the event id, or None when nothing was written (unchanged, or the recorder is off).
        """
        key = (snap.context, snap.pane)
        with self._lock:
            if self._db is None or self.error:
                return None
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = StreamEncoder(snap.pane, snap.context, redact)
            try:
                # Frozen dataclasses compare by value (no serialising to find an unchanged pane); rows the store
                # kept are matched by identity.
                frame = stream.encode(snap)
            except (TypeError, ValueError) as err:
                stream.rollback()
                raise ValueError(f"snapshot of {snap.pane} cannot be recorded: {err}") from None
            if frame is None:
                return None
            event_id = self._next_id
            cursor = self._execute(
                "INSERT INTO events (id, ts, kind, context, pane, payload, kf) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event_id, to_ts(ts), "snapshot", snap.context, snap.pane, frame.deflate(),
                 event_id if frame.key else stream.kf),
            )
            if cursor is None:
                stream.rollback()
                return None
            stream.commit(event_id)
            self._next_id += 1
            self.count += 1
        if frame.key and frame.size >= KEYFRAME_TRIM_BYTES:
            from cockpit import memory

            memory.trim()  # the keyframe's transient copies (megabytes for a pane of thousands) go back
        return event_id

    snapshot = record_snapshot  # the name the sink (and the app) use

    def record(
        self, kind: str, payload: Mapping[str, Any] | Any, ts: datetime | float, *, context: str = "", pane: str = ""
    ) -> int | None:
        """Append one event (``decision``, ``answer``, ``step``, ``gateway``, ``audit`` or ``marker``).

        Payload shapes are documented in :mod:`cockpit.recording.format`; build them with its ``*_payload`` helpers.
        A frozen dataclass (e.g. a ``decide.Evaluation``) is accepted too and stored as its ``to_dict()``.
        Returns the event id, or None when the recorder is off.
        """
        if kind not in EVENT_KINDS:
            raise ValueError(f"event kind {kind!r} is not one of {EVENT_KINDS}")
        if kind == "snapshot":
            raise ValueError("snapshots go through record_snapshot (it de-duplicates them)")
        data = to_dict(payload)
        if not isinstance(data, dict):
            raise ValueError(f"a {kind} payload is an object, not {type(payload).__name__}")
        with self._lock:
            return self._append(kind, redact(data), ts, context, pane)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group the events recorded inside into one commit (one fsync): for a burst such as six panes refreshed."""
        with self._lock:
            db = self._db
            if db is None or self.error:
                yield
                return
            outer = self._depth == 0
            if outer:
                if not self._execute("BEGIN"):
                    yield
                    return
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if outer and self._db is not None and not self.error:
                    self._execute("COMMIT")

    def flush(self, timeout: float = 5.0) -> None:
        """Nothing to wait for: every call has committed when it returns (the sink's ``flush`` waits for its queue)."""

    def update_meta(self, **changes: Any) -> None:
        """Change metadata fields after the start (e.g. the runbook a drill turned out to exercise)."""
        with self._lock:
            if "targets" in changes:
                changes["targets"] = redact(dict(changes["targets"]))
            self.meta = dataclasses.replace(self.meta, **changes)
            rows = self.meta.to_rows()
            for key in changes:
                self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, rows[key]))

    def close(self, ended_at: datetime | float | None = None) -> None:
        """Mark the recording finished and leave one self-contained file (WAL folded back in).  Idempotent."""
        with self._lock:
            db = self._db
            if db is None:
                return
            end = ended_at if ended_at is not None else datetime.now(timezone.utc)
            if isinstance(end, (int, float)):
                end = datetime.fromtimestamp(to_ts(end), timezone.utc)
            if not self.error:
                self.update_meta(ended_at=end)
            try:
                db.execute("PRAGMA busy_timeout=200")  # an open player must not hold the UI's exit for long
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                db.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.Error:
                pass  # a reader still has the file open: the WAL stays beside it, which is still valid
            finally:
                db.close()
                self._db = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _append(self, kind: str, payload: Any, ts: datetime | float, context: str, pane: str) -> int | None:
        if self._db is None or self.error:
            return None
        try:
            blob = encode_payload(payload)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{kind} payload is not JSON: {err}") from None
        event_id = self._next_id
        cursor = self._execute(
            "INSERT INTO events (id, ts, kind, context, pane, payload) VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, to_ts(ts), kind, context, pane, blob),
        )
        if cursor is None:
            return None
        self._next_id += 1
        self.count += 1
        return event_id

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor | None:
        """Run one statement; on failure switch the recorder off with the reason (never raise into the UI)."""
        db = self._db
        if db is None or self.error:
            return None
        try:
            return db.execute(sql, params)
        except sqlite3.Error as err:
            self.error = f"recording stopped: {err} ({self.path})"
            with contextlib.suppress(sqlite3.Error):
                if db.in_transaction:
                    db.execute("ROLLBACK")
            return None
