"""The recovery forecast: how long a runbook took in past drills and incidents (p50/p90), and how a running one is
doing against that.

Two sources, both already written by the cockpit: drill reports (``dr-drill-*.md``, their front matter's
``rto_seconds``, read as :mod:`cockpit.drill` reads them; failed drills do not count -- their runbook did not work)
and session recordings (``*.cockpit``: the drill analysis measures detect -> mitigated for incidents too).  A
recording a report was made from counts once.  The number is the RTO (detect -> mitigated), the figure the seed's
Diagram B gives per layer; a running runbook is compared by its elapsed time since detection.

Reading is file I/O (bounded: the newest ``MAX_RECORDINGS`` recordings, each analysed once per size and mtime):
call :func:`forecast` off the UI thread, e.g. next to ``Session.refresh_staleness``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.timefmt import duration

MAX_RECORDINGS = 50  # the newest recordings looked at
MAX_REPORT_BYTES = 1_000_000
_FRONT = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n", re.DOTALL)
_cache: dict[tuple[str, int, int], tuple[str, float | None, bool, datetime | None]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Sample:
    kind: str  # drill | incident
    runbook: str
    seconds: float
    at: datetime | None
    source: str  # the file it came from (name only)


@dataclass(frozen=True)
class Forecast:
    runbook: str
    samples: tuple[Sample, ...]
    p50: float  # seconds
    p90: float

    @property
    def drills(self) -> int:
        return sum(1 for s in self.samples if s.kind == "drill")

    @property
    def incidents(self) -> int:
        return sum(1 for s in self.samples if s.kind == "incident")

    @property
    def text(self) -> str:
        """"recovered in p50 4m10s, p90 9m (3 drills, 1 incident)" -- for the leaf."""
        return f"recovered in p50 {_len(self.p50)}, p90 {_len(self.p90)} ({self._count()})"

    def progress(self, elapsed: timedelta) -> str:
        """"6m elapsed · past p50 4m10s, p90 9m" -- for the running runbook."""
        seconds = elapsed.total_seconds()
        where = ("past the p90" if seconds > self.p90 else "past the p50" if seconds > self.p50 else "within the p50")
        return f"{_len(seconds)} elapsed, {where} (p50 {_len(self.p50)}, p90 {_len(self.p90)}; {self._count()})"

    def _count(self) -> str:
        parts = []
        if self.drills:
            parts.append(f"{self.drills} drill{'s' if self.drills != 1 else ''}")
        if self.incidents:
            parts.append(f"{self.incidents} incident{'s' if self.incidents != 1 else ''}")
        return ", ".join(parts)


def _len(seconds: float) -> str:
    return duration(timedelta(seconds=round(seconds)))


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default); ``values`` non-empty."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def forecast(runbook_id: str, reports_dir: str | Path | None, recordings_dir: str | Path | None) -> Forecast | None:
    """p50/p90 of ``runbook_id``'s recoveries in the reports and recordings; None when there is none."""
    return forecasts(reports_dir, recordings_dir).get(runbook_id)


def forecasts(reports_dir: str | Path | None, recordings_dir: str | Path | None) -> dict[str, Forecast]:
    """The forecast of every runbook with at least one measured recovery (files read once)."""
    by_runbook: dict[str, list[Sample]] = {}
    for sample in collect(reports_dir, recordings_dir):
        by_runbook.setdefault(sample.runbook, []).append(sample)
    found = {}
    for runbook, mine in by_runbook.items():
        values = [sample.seconds for sample in mine]
        found[runbook] = Forecast(runbook, tuple(mine), percentile(values, 0.5), percentile(values, 0.9))
    return found


def collect(reports_dir: str | Path | None, recordings_dir: str | Path | None) -> list[Sample]:
    """Every measured recovery: drill reports first, then recordings no report was made from."""
    samples: list[Sample] = []
    counted: set[str] = set()
    for sample, recording in _reports(reports_dir):
        samples.append(sample)
        if recording:
            counted.add(recording)
    samples += _recordings(recordings_dir, counted)
    return samples


def _reports(reports_dir: str | Path | None) -> list[tuple[Sample, str]]:
    import yaml

    from cockpit.drill import FRONT_MATTER_KEY, REPORT_GLOB, Verdict

    directory = Path(reports_dir) if reports_dir else None
    if directory is None or not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.glob(REPORT_GLOB)):
        try:
            if not path.is_file() or path.stat().st_size > MAX_REPORT_BYTES:
                continue
            match = _FRONT.match(path.read_text(encoding="utf-8", errors="replace"))
            front = yaml.safe_load(match.group(1)) if match else None
        except (OSError, yaml.YAMLError, RecursionError, ValueError):
            continue
        if not isinstance(front, dict) or FRONT_MATTER_KEY not in front:
            continue
        runbook, seconds = front.get("runbook"), front.get("rto_seconds")
        if not isinstance(runbook, str) or isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            continue
        if front.get("verdict") == Verdict.FAILED.value or seconds < 0:
            continue
        recording = front.get("recording") if isinstance(front.get("recording"), str) else ""
        at = _time(front.get("started_at"))
        out.append((Sample("drill", runbook, float(seconds), at, path.name), recording))
    return out


def _recordings(recordings_dir: str | Path | None, counted: set[str]) -> list[Sample]:
    from cockpit.recording.format import SUFFIX

    directory = Path(recordings_dir) if recordings_dir else None
    if directory is None or not directory.is_dir():
        return []
    try:
        paths = sorted((p for p in directory.glob(f"*{SUFFIX}") if p.is_file() and p.name not in counted),
                       key=lambda p: p.stat().st_mtime, reverse=True)[:MAX_RECORDINGS]
    except OSError:
        return []
    out = []
    for path in paths:
        measured = _measure(path)
        if measured is None:
            continue
        runbook, seconds, is_drill, at = measured
        if runbook and seconds is not None:
            out.append(Sample("drill" if is_drill else "incident", runbook, seconds, at, path.name))
    return out


def _measure(path: Path) -> tuple[str, float | None, bool, datetime | None] | None:
    """(runbook, RTO seconds or None, is a drill, detect time) of one recording; cached per size and mtime."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    from cockpit.drill import analyse_recording
    from cockpit.recording.format import RecordingError
    from cockpit.recording.player import Player

    try:
        with Player(path) as player:
            result: Any = analyse_recording(player)
            meta = player.meta
    except (RecordingError, OSError, ValueError):
        return None
    rto = result.rto.total_seconds() if result.rto is not None else None
    measured = (result.runbook, rto, bool(meta.is_drill), result.detect_at)
    with _cache_lock:
        _cache[key] = measured
    return measured


def _time(value: Any) -> datetime | None:
    from cockpit.timefmt import parse_time

    return parse_time(value)
