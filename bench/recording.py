"""Recording and replay figures at the scale fixture's size, for ``make bench`` (:func:`measure`) or alone
(``python -m bench.recording``).

The panes come from the scale fixture's own object generators (:mod:`bench.scale`) through the cockpit's
parsers -- 10 000 Velero backups and 50 schedules, a Rollout with its ReplicaSets and ten AnalysisRuns, an Argo CD
Application with ten history entries, 50 CNPG clusters -- with no emulator in between, so this runs in seconds.

Figures (milliseconds unless named otherwise; medians, p95 where it says so):

* ``snapshot_encode_cold_ms``: the Velero pane (10 000 backups) written as a keyframe the first time it is seen:
  every row converted, **redacted** and encoded (``snapshot_encode_cold_unredacted_ms``: the same with the redactor
  left out, to show its share).  ``snapshot_encode_ms``: the same keyframe later in the session,
  the rows already encoded (what a periodic keyframe costs).  ``snapshot_decode_ms``: that keyframe read back into
  the exact models (what the first seek into a chain costs for that pane).
* ``change_encode_ms``: one backup added to the 10 000 (the oldest expired), turned into its delta;
  ``change_record_ms`` the same through a real :class:`~cockpit.recording.recorder.Recorder` (deflate, SQLite
  insert, fsync), wall time, and ``change_record_cpu_ms`` the CPU time of that call (the GIL-holding part; the fsync
  waits without it).  ``change_bytes``: the stored delta.
* ``open_ms``: ``Player(path)`` plus the first screen (``state_at(start)``) of a generated one-hour recording;
  ``seek_ms`` / ``seek_p95_ms``: ``state_at`` at random points of it (a fresh player per run, so the first seek of
  each run decodes its keyframes); ``file_mib``, ``events``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cockpit.models import (
    CnpgPaneData,
    FeedState,
    FeedStatus,
    LatencyView,
    PaneSnapshot,
    VeleroView,
)

CONTEXT = "bench-us-east"


@dataclasses.dataclass
class Panes:
    """The six panes at the scale fixture's size, parsed by the cockpit's own parsers."""

    velero: VeleroView
    rollout: Any
    analysis: tuple[Any, ...]
    argocd: Any
    cnpg: CnpgPaneData
    now: datetime
    new_backup: Callable[[int, datetime], Any]


def scale_panes(*, backups: int = 10_000, now: datetime | None = None) -> Panes:
    from bench import scale
    from cockpit.sources.analysis import parse_analysis_run
    from cockpit.sources.argocd import parse_application
    from cockpit.sources.cnpg import parse_cluster
    from cockpit.sources.rollouts import parse_rollout
    from cockpit.sources.velero import parse_backup, parse_velero

    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    velero = parse_velero([scale.backup(i, now) for i in range(backups)],
                          [scale.schedule(i, now) for i in range(50)])
    family = scale.rollout_family(7, now, 3, 10)
    rollout_obj = next(obj for obj in family if obj["kind"] == "Rollout")
    sets = [obj for obj in family if obj["kind"] == "ReplicaSet"]
    runs = tuple(parse_analysis_run(obj) for obj in family if obj["kind"] == "AnalysisRun")
    objects = [obj for index in range(50) for obj in scale.cnpg_family(index, now)]
    stores = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "ObjectStore"}
    clusters = tuple(sorted((parse_cluster(obj, stores) for obj in objects if obj["kind"] == "Cluster"),
                            key=lambda view: view.name))
    return Panes(
        velero=velero,
        rollout=parse_rollout(rollout_obj, sets),
        analysis=runs,
        argocd=parse_application(scale.application(7, now, 10)),
        cnpg=CnpgPaneData(clusters, clusters[0].name),
        now=now,
        new_backup=lambda index, at: parse_backup(scale.backup(index, at)),
    )


def _snap(pane: str, data: Any, at: datetime) -> PaneSnapshot:
    return PaneSnapshot(pane, CONTEXT, data, FeedStatus(FeedState.OK, updated_at=at, watch="watch connected"))


def build_hour_recording(path: Path, panes: Panes, *, minutes: int = 60) -> int:
    """A one-hour session at scale, as the recorder writes it live; returns the number of events.

    p99 every 15 s; the Rollout, its AnalysisRuns and the Velero pane every minute (one new backup each time, the
    oldest expiring); CNPG every 5 minutes; Argo CD twice; the markers a drill leaves.
    """
    from cockpit.recording.format import RecordingMeta, marker_payload
    from cockpit.recording.recorder import Recorder

    start = panes.now - timedelta(minutes=minutes)
    meta = RecordingMeta(contexts=(CONTEXT,), targets={"app": "catalog", "rollout": "catalog"}, started_at=start)
    backups = panes.velero.backups
    with Recorder(path, meta) as recorder:
        recorder.record("marker", marker_payload("alert", at=start, text="p99 over the SLO"), start, context=CONTEXT)
        for second in range(0, minutes * 60 + 1, 15):
            at = start + timedelta(seconds=second)
            with recorder.batch():
                value = 1.2 if second < minutes * 40 else 0.3
                series = tuple((at.timestamp() - 30 * i, value) for i in range(60, -1, -1))
                recorder.record_snapshot(_snap("latency", LatencyView("p99", 0.5, value + second * 1e-6, series, at),
                                               at), at)
                if second % 60 == 0:
                    minute = second // 60
                    recorder.record_snapshot(_snap("rollout", dataclasses.replace(panes.rollout,
                                                                                  message=f"minute {minute}"), at), at)
                    recorder.record_snapshot(_snap("analysis", tuple(
                        dataclasses.replace(run, message=f"minute {minute}") if i == 0 else run
                        for i, run in enumerate(panes.analysis)), at), at)
                    backups = (panes.new_backup(50_000 + minute, at),) + backups[:-1]
                    recorder.record_snapshot(_snap("velero", VeleroView(backups, panes.velero.schedules), at), at)
                if second % 300 == 0:
                    recorder.record_snapshot(_snap("cnpg", panes.cnpg, at), at)
                if second in (0, minutes * 30):
                    recorder.record_snapshot(_snap("argocd", dataclasses.replace(
                        panes.argocd, health_message=f"at {second}s"), at), at)
                if second == minutes * 20:
                    recorder.record("marker", marker_payload("runbook-chosen", text="abort"), at, context=CONTEXT)
        recorder.close(start + timedelta(minutes=minutes))
        return recorder.count


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def measure(*, backups: int = 10_000, minutes: int = 60, runs: int = 5, seeks: int = 10,
            workdir: Path | None = None, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Every figure in the module docstring, as a dict (see there); ``runs`` repeats each for its median."""
    from cockpit.recording.codec import StreamEncoder, decode_keyframe, read_frame
    from cockpit.recording.format import RecordingMeta, redact
    from cockpit.recording.player import Player
    from cockpit.recording.recorder import Recorder

    figures: dict[str, Any] = {"backups": backups, "minutes": minutes}
    log(f"recording bench: parsing the scale fixture's panes ({backups} backups)")
    panes = scale_panes(backups=backups)
    velero = _snap("velero", panes.velero, panes.now)

    cold, bare, warm, decode = [], [], [], []
    for _ in range(max(1, min(runs, 3))):  # the cold keyframe redacts every row: about a second
        encoder = StreamEncoder("velero", CONTEXT, lambda value: value)
        began = time.perf_counter()
        encoder.encode(velero)
        bare.append(time.perf_counter() - began)
        encoder = StreamEncoder("velero", CONTEXT, redact)
        began = time.perf_counter()
        frame = encoder.encode(velero)
        cold.append(time.perf_counter() - began)
        encoder.commit(1)
    assert frame is not None
    changed_status = dataclasses.replace(velero, status=FeedStatus(FeedState.OK, panes.now + timedelta(seconds=1)))
    for _ in range(runs):
        began = time.perf_counter()
        key = encoder.encode(changed_status, force_key=True)
        warm.append(time.perf_counter() - began)
        encoder.rollback()
        began = time.perf_counter()
        back = decode_keyframe(read_frame(frame.data))
        decode.append(time.perf_counter() - began)
    assert key is not None and back == velero, "the keyframe must read back as the snapshot"
    figures |= {"snapshot_encode_cold_ms": _median_ms(cold), "snapshot_encode_cold_unredacted_ms": _median_ms(bare),
                "snapshot_encode_ms": _median_ms(warm),
                "snapshot_decode_ms": _median_ms(decode), "snapshot_bytes": len(frame.data)}

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "changes.cockpit"
        encode_times, record_wall, record_cpu, sizes = [], [], [], []
        with Recorder(path, RecordingMeta(contexts=(CONTEXT,), started_at=panes.now)) as recorder:
            recorder.record_snapshot(velero, panes.now)
            stream = recorder._streams[(CONTEXT, "velero")]
            rows = panes.velero.backups
            for i in range(max(runs, 20)):
                at = panes.now + timedelta(seconds=i + 1)
                rows = (panes.new_backup(60_000 + i, at),) + rows[:-1]
                snap = _snap("velero", VeleroView(rows, panes.velero.schedules), at)
                began = time.perf_counter()
                delta = stream.encode(snap)
                encode_times.append(time.perf_counter() - began)
                stream.rollback()
                assert delta is not None and not delta.key
                began, began_cpu = time.perf_counter(), time.thread_time()
                event_id = recorder.record_snapshot(snap, at)
                record_cpu.append(time.thread_time() - began_cpu)
                record_wall.append(time.perf_counter() - began)
                sizes.append(event_id)
        import sqlite3

        with sqlite3.connect(path) as db:
            stored = [size for (size,) in db.execute("SELECT length(payload) FROM events WHERE kf != id")]
        db.close()
        figures |= {"change_encode_ms": _median_ms(encode_times), "change_record_ms": _median_ms(record_wall),
                    "change_record_cpu_ms": _median_ms(record_cpu),
                    "change_bytes": int(statistics.median(stored)) if stored else None}

        log(f"recording bench: building a {minutes}-minute recording")
        hour = Path(tmp) / "hour.cockpit"
        began = time.perf_counter()
        events = build_hour_recording(hour, panes, minutes=minutes)
        figures |= {"build_s": round(time.perf_counter() - began, 1), "events": events,
                    "file_mib": round(hour.stat().st_size / 2**20, 2)}
        opens, seek_times = [], []
        rng = random.Random(7)
        for _ in range(runs):
            began = time.perf_counter()
            player = Player(hour)
            first = player.state_at(player.start)
            opens.append(time.perf_counter() - began)
            assert len(first) >= 5, "the first screen of the recording should hold every pane"
            span = (player.end - player.start).total_seconds()
            for _ in range(seeks):
                at = player.start + timedelta(seconds=rng.uniform(0, span))
                began = time.perf_counter()
                player.state_at(at)
                seek_times.append(time.perf_counter() - began)
            player.close()
        ordered = sorted(seek_times)
        figures |= {"open_ms": _median_ms(opens), "seek_ms": _median_ms(seek_times),
                    "seek_p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
                    "seek_max_ms": round(ordered[-1] * 1000, 2)}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recording", description=__doc__.split("\n")[0])
    parser.add_argument("--backups", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    figures = measure(backups=args.backups, minutes=args.minutes, runs=args.runs,
                      log=lambda line: print(line, file=sys.stderr))
    figures["load_average"] = [round(value, 2) for value in os.getloadavg()]
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
