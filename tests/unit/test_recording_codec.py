"""The schema-2 codec: msgspec round trips of every model, deltas that rebuild exact snapshots, the upgrade path from
schema 1, hostile payloads (zlib bombs, deep JSON, odd times, infinities, lone surrogates) and the recorder's queue.

No timing is asserted here: the figures come from :func:`bench.recording.measure` (``make bench``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import sqlite3
import threading
import time
import tracemalloc
import typing
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit import decide, models
from cockpit.models import (
    AnalysisRunView,
    ArgoApp,
    CnpgClusterView,
    CnpgPaneData,
    FeedState,
    FeedStatus,
    HistoryEntry,
    LatencyView,
    MetricResult,
    PaneSnapshot,
    ReplicaSetInfo,
    RolloutView,
    VeleroBackup,
    VeleroSchedule,
    VeleroView,
    to_dict,
)
from cockpit.recording import Player, Recorder, RecordingError, RecordingMeta, codec, marker_payload, step_payload
from cockpit.recording.codec import StreamEncoder, decode_value, encode_value
from cockpit.recording.format import decode, redact
from cockpit.recording.sink import RecordingSink

UTC = timezone.utc
T0 = datetime(2026, 5, 20, 14, 0, 0, tzinfo=UTC)
CTX = "staging-us-east"


def same(a: Any) -> Any:
    return a


# --------------------------------------------------------------------------- strategies from the type hints

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_INT = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_JSON = st.recursive(
    st.none() | st.booleans() | _INT | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def strategy(kind: Any) -> st.SearchStrategy[Any]:
    """Values of any type the models use (non-finite floats included where a float is declared)."""
    if kind is Any or kind is object:
        return _JSON
    if kind is str:
        return _TEXT
    if kind is bool:
        return st.booleans()
    if kind is int:
        return _INT
    if kind is float:
        return st.floats(allow_nan=False)  # NaN is tested apart: it is not equal to itself
    if kind is datetime:
        return st.datetimes(timezones=st.just(UTC))
    if kind is type(None):
        return st.none()
    if isinstance(kind, type) and issubclass(kind, Enum):
        return st.sampled_from(list(kind))
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return st.builds(kind, **{f.name: strategy(hints[f.name]) for f in dataclasses.fields(kind) if f.init})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType")):
        return st.one_of(*(strategy(arg) for arg in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy(arg) for arg in args))
    if origin is dict:
        return st.dictionaries(_TEXT, strategy(args[1]), max_size=3)
    raise AssertionError(f"no strategy for {kind!r}")


MODEL_TYPES = [
    ArgoApp, RolloutView, tuple[AnalysisRunView, ...], LatencyView, CnpgPaneData, VeleroView, FeedStatus,
    decide.Evaluation,
]


@pytest.mark.parametrize("kind", MODEL_TYPES, ids=lambda k: getattr(k, "__name__", "analysis"))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_model_round_trips_through_the_codec(kind: Any, data: st.DataObject) -> None:
    value = data.draw(strategy(kind))
    back = decode_value(kind, encode_value(kind, value, same), "test")
    assert back == value
    # The public route too: to_dict (what events store) and decode (what replay reads).
    assert decode(kind, json.loads(json.dumps(to_dict(value))), "test") == value


def test_every_datetime_comes_back_in_utc_whatever_offset_it_was_written_with() -> None:
    raw = to_dict(VeleroView((velero_row(1),), ()))
    raw["backups"][0]["started_at"] = "2026-05-20T04:00:00+02:00"
    raw["backups"][0]["completed_at"] = "2026-05-20T02:04:00"  # no offset: UTC, as CNPG documents
    for view in (
        decode(VeleroView, raw, "velero"),
        decode_value(VeleroView, json.dumps(raw).encode(), "velero"),
    ):
        backup = view.backups[0]
        assert backup.started_at == datetime(2026, 5, 20, 2, 0, tzinfo=UTC) and backup.started_at.tzinfo is UTC
        assert backup.completed_at == datetime(2026, 5, 20, 2, 4, tzinfo=UTC) and backup.completed_at.tzinfo is UTC


def test_an_evaluation_recorded_as_a_decision_reads_back() -> None:
    blocked = decide.evaluate(decide.DecisionInput(), now=T0)
    chosen = decide.evaluate(decide.DecisionInput(app=argo(1, (history_entry(1),))),
                             overrides={node: "yes" for node in decide.NODES}, now=T0)
    assert blocked.leaf is None and chosen.leaf is not None
    for evaluation in (blocked, chosen):
        payload = to_dict(evaluation) | {"chosen": True, "problems": ["x"]}  # what the app records
        assert decode(decide.Evaluation, json.loads(json.dumps(payload)), "decision") == evaluation


def test_non_finite_floats_survive() -> None:
    view = LatencyView("q", 0.5, math.inf, ((1.0, -math.inf), (2.0, math.nan), (3.0, 0.2)), T0)
    back = decode_value(LatencyView, encode_value(LatencyView, view, same), "latency")
    assert back.value == math.inf and back.series[0][1] == -math.inf and math.isnan(back.series[1][1])
    assert back.series[2] == (3.0, 0.2) and back.evaluated_at == T0
    assert decode(LatencyView, to_dict(view), "latency").value == math.inf


def test_a_lone_surrogate_is_recorded_as_a_replacement_character(tmp_path: Path) -> None:
    view = replace(VeleroView((velero_row(1),), ()), backups=(replace(velero_row(1), failure_reason="bad \ud800"),))
    with Recorder(tmp_path / "s.cockpit", RecordingMeta(started_at=T0)) as rec:
        assert rec.record_snapshot(PaneSnapshot("velero", CTX, view, FeedStatus(FeedState.OK, T0)), T0)
    with Player(tmp_path / "s.cockpit") as player:
        assert player.state_at(T0)[(CTX, "velero")].data.backups[0].failure_reason == "bad \ufffd"


def test_free_json_deeper_than_the_bound_is_refused() -> None:
    deep: Any = "leaf"
    for _ in range(codec.MAX_ANY_DEPTH + 5):
        deep = {"a": deep}
    rs = ReplicaSetInfo("rs", "h", 1, (), 1, 1, 1, "uid", {"spec": deep})
    raw = encode_value(ReplicaSetInfo, rs, same)
    with pytest.raises(codec.CodecError, match="nested deeper"):
        decode_value(ReplicaSetInfo, raw, "rs")
    with pytest.raises(RecordingError, match="nested"):
        decode(ReplicaSetInfo, json.loads(raw), "rs")
    with pytest.raises(codec.CodecError, match="nested too deeply"):
        decode_value(Any, b"[" * 5000 + b"]" * 5000, "unknown pane")
    template = b'{"name":"rs","pod_hash":"h","revision":1,"images":[],"replicas":1,"ready_replicas":1,' \
        b'"available_replicas":1,"owner_uid":"u","template":{"a":' + b"[" * 5000 + b"]" * 5000 + b"}}"
    with pytest.raises(codec.CodecError, match="nested too deeply"):
        decode_value(ReplicaSetInfo, template, "rs")


# --------------------------------------------------------------------------- realistic rows and panes


def velero_row(n: int, phase: str = "Completed") -> VeleroBackup:
    start = T0 - timedelta(hours=n)
    return VeleroBackup(
        name=f"hourly-tenant-{n % 250:03d}-{n:05d}", phase=phase, schedule=f"hourly-tenant-{n % 250:03d}",
        started_at=start, completed_at=start + timedelta(minutes=4), expiration=start + timedelta(days=30),
        included_namespaces=(f"tenant-{n % 250:03d}",), errors=0, warnings=n % 3, failure_reason="",
        storage_location="default", created_at=start,
    )


def run_view(n: int, phase: str = "Successful") -> AnalysisRunView:
    return AnalysisRunView(
        name=f"catalog-{n:04x}-{n}", namespace="shop", phase=phase, message="", pod_hash=f"{n:09x}",
        rollout_type="Step", step_index=n % 8, started_at=T0 - timedelta(minutes=n), created_at=None,
        metrics=(MetricResult("p99-latency", phase, "0.21", "", 3, 3, 0, 0, 0, ""),),
    )


def history_entry(n: int) -> HistoryEntry:
    return HistoryEntry(n, T0 - timedelta(hours=n), None, f"{n:040x}", (), {"repoURL": "https://git/acme",
                        "path": f"apps/{n}"}, (), "automated", "")


def argo(n: int, history: tuple[HistoryEntry, ...]) -> ArgoApp:
    return ArgoApp("catalog", "argocd", "shop", "https://git/acme", "apps/catalog", "main", "https://k8s",
                   "shop", "Synced", "Healthy" if n % 2 else "Degraded", f"message {n}", True, True, False, False,
                   "", "", history, "", (), str(n), True)


def rollout(n: int, sets: tuple[ReplicaSetInfo, ...]) -> RolloutView:
    return RolloutView("catalog", "shop", "uid", "canary", "Paused", f"step {n}", n % 8, 8, 50, 50, "a", "b",
                       ("img:1",), ("img:2",), 10, n % 11, 10, 5, True, ("CanaryPauseStep",), False, False, None,
                       {"app": "catalog"}, "", sets, str(n), True)


def replica(n: int) -> ReplicaSetInfo:
    return ReplicaSetInfo(f"catalog-{n:x}", f"{n:x}", n, (f"img:{n}",), 3, 3, 3, "uid",
                          {"spec": {"containers": [{"name": "c", "image": f"img:{n}"}]}})


def cluster(n: int, first: datetime | None) -> CnpgClusterView:
    return CnpgClusterView(f"db-{n}", "shop", "Cluster in healthy state", 3, 3, f"db-{n}-1", "plugin", "store",
                           f"db-{n}", first, T0, None, "ObjectStore", True)


def mutate_rows(rng: random.Random, rows: tuple[Any, ...], make: Any, change: Any) -> tuple[Any, ...]:
    """One random list edit: insert, delete, change in place, move, rebuild equal, or several at once."""
    out = list(rows)
    for _ in range(rng.choice((1, 1, 1, 2, 5))):
        op = rng.random()
        if op < 0.3 or not out:
            out.insert(rng.randrange(len(out) + 1), make(rng.randrange(10**6)))
        elif op < 0.45:
            del out[rng.randrange(len(out))]
        elif op < 0.7:
            i = rng.randrange(len(out))
            out[i] = change(out[i])
        elif op < 0.8:
            out.insert(rng.randrange(len(out) + 1), out.pop(rng.randrange(len(out))))
        elif op < 0.9:
            out = [replace(row) for row in out]  # equal rows, new objects (a re-parse)
        else:
            out.append(out[rng.randrange(len(out))])  # a duplicate name
    return tuple(out)


def random_session(seed: int, steps: int) -> list[PaneSnapshot]:
    """Successive snapshots of every pane, each step changing one pane a little (or setting it to None)."""
    rng = random.Random(seed)
    backups = tuple(velero_row(n) for n in range(40))
    schedules = (VeleroSchedule("hourly", "Enabled", "0 * * * *", False, T0, ("a",)),)
    runs = tuple(run_view(n) for n in range(6))
    history = tuple(history_entry(n) for n in range(10, 0, -1))
    sets = tuple(replica(n) for n in range(3))
    clusters = tuple(cluster(n, T0 - timedelta(days=n)) for n in range(5))
    panes: dict[str, Any] = {
        "velero": VeleroView(backups, schedules),
        "analysis": runs,
        "argocd": argo(0, history),
        "rollout": rollout(0, sets),
        "cnpg": CnpgPaneData(clusters, "db-1"),
        "latency": LatencyView("q", 0.5, 0.3, ((1.0, 0.3),), T0),
    }
    status = {pane: FeedStatus(FeedState.OK, T0, watch="connected") for pane in panes}
    out = [PaneSnapshot(pane, CTX, data, status[pane]) for pane, data in panes.items()]
    for step in range(steps):
        pane = rng.choice(sorted(panes))
        data = panes[pane]
        roll = rng.random()
        if roll < 0.05:
            status[pane] = FeedStatus(FeedState.ERROR, T0 + timedelta(seconds=step), error=f"timeout {step}")
        elif roll < 0.08:
            panes[pane] = None if data is not None else {
                "velero": VeleroView((), ()), "analysis": (), "cnpg": CnpgPaneData((), ""),
                "argocd": argo(step, ()), "rollout": rollout(step, ()),
                "latency": LatencyView("q", 0.5, None, (), None)}[pane]
        elif data is None:
            continue
        elif pane == "velero":
            panes[pane] = replace(data, backups=mutate_rows(
                rng, data.backups, velero_row, lambda b: replace(b, phase=rng.choice(("Failed", "InProgress")))))
            if rng.random() < 0.2:
                panes[pane] = replace(panes[pane], schedules=(replace(schedules[0], last_backup=T0 + timedelta(
                    minutes=step)),))
        elif pane == "analysis":
            panes[pane] = mutate_rows(rng, data, run_view, lambda r: replace(r, phase="Failed", message="bad"))
        elif pane == "argocd":
            panes[pane] = replace(argo(step, mutate_rows(rng, data.history, history_entry,
                                                         lambda h: replace(h, change="x"))))
        elif pane == "rollout":
            panes[pane] = rollout(step, mutate_rows(rng, data.replica_sets, replica,
                                                    lambda r: replace(r, ready_replicas=r.ready_replicas - 1)))
        elif pane == "cnpg":
            panes[pane] = CnpgPaneData(mutate_rows(rng, data.clusters, lambda n: cluster(n, None),
                                                   lambda c: replace(c, ready_instances=2)),
                                       rng.choice(("db-1", "db-2", "")))
        elif pane == "latency":
            value = rng.choice((0.2, 0.9, math.inf, None))
            panes[pane] = LatencyView("q", 0.5, value, data.series[-5:] + ((float(step), 0.4),), T0)
        out.append(PaneSnapshot(pane, CTX, panes[pane], status[pane]))
    return out


@pytest.fixture
def small_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deltas for every pane, whatever its size, and short chains: every code path of the format is taken."""
    monkeypatch.setattr(codec, "SMALL_FRAME", 0)
    monkeypatch.setattr(codec, "KEYFRAME_EVERY", 5)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_state_at_every_moment_equals_the_live_snapshot(tmp_path: Path, small_chains: None, seed: int) -> None:
    snaps = random_session(seed, 400)
    path = tmp_path / "session.cockpit"
    live: list[tuple[float, dict[tuple[str, str], PaneSnapshot]]] = []
    state: dict[tuple[str, str], PaneSnapshot] = {}
    with Recorder(path, RecordingMeta(contexts=(CTX,), started_at=T0)) as rec:
        for i, snap in enumerate(snaps):
            ts = T0.timestamp() + i
            rec.record_snapshot(snap, ts)
            state = {**state, (snap.context, snap.pane): snap}
            live.append((ts, state))
    with sqlite3.connect(path) as db:
        frames = db.execute("SELECT count(*), sum(kf = id) FROM events WHERE kind = 'snapshot'").fetchone()
    db.close()
    assert frames[1] < frames[0] / 2, "most snapshots should be deltas"
    with Player(path) as player:
        order = list(range(len(live)))
        random.Random(seed).shuffle(order)  # seeks back and forth across chains
        for i in order[:150] + list(range(len(live))):
            ts, expected = live[i]
            assert player.state_at(ts) == expected, i
        replayed = [(ts, snap) for ts, snap in player.snapshots()]
        assert player.damage is None
    written = [(ts, snap) for ts, snap in zip((t for t, _ in live), snaps)]
    # Unchanged snapshots are not written; every written one comes back exactly.
    by_ts = dict(written)
    assert all(by_ts[ts] == snap for ts, snap in replayed) and len(replayed) > len(snaps) * 0.8


def test_a_change_to_a_10000_row_pane_is_a_small_delta_and_keyframes_bound_the_chains(tmp_path: Path) -> None:
    rows = tuple(velero_row(n) for n in range(10_000))
    status = FeedStatus(FeedState.OK, T0, watch="connected")
    path = tmp_path / "big.cockpit"
    with Recorder(path, RecordingMeta(started_at=T0)) as rec:
        rec.record_snapshot(PaneSnapshot("velero", CTX, VeleroView(rows, ()), status), T0)
        for minute in range(1, codec.KEYFRAME_EVERY + 10):
            rows = (velero_row(20_000 + minute),) + rows[:-1]  # one new, the oldest expired
            if minute % 7 == 0:
                rows = rows[:500] + (replace(rows[500], phase="Deleting"),) + rows[501:]
            rec.record_snapshot(PaneSnapshot("velero", CTX, VeleroView(rows, ()), status),
                                T0 + timedelta(minutes=minute))
    with sqlite3.connect(path) as db:
        sizes = db.execute("SELECT id, kf, length(payload) FROM events ORDER BY id").fetchall()
    db.close()
    keyframes = [row for row in sizes if row[0] == row[1]]
    deltas = [row for row in sizes if row[0] != row[1]]
    assert len(keyframes) == 2 and sizes[codec.KEYFRAME_EVERY][0] == sizes[codec.KEYFRAME_EVERY][1]
    assert max(size for _, _, size in deltas) < 1500 < min(size for _, _, size in keyframes) / 100
    with Player(path) as player:
        last = player.state_at(player.end)[(CTX, "velero")].data.backups
        assert last == rows and len(last) == 10_000


def test_rows_the_store_kept_are_matched_by_identity_and_not_encoded_again() -> None:
    encoded: list[str] = []

    def counting(value: Any) -> Any:
        if isinstance(value, dict) and "phase" in value:
            encoded.append(value["name"])
        return value

    rows = tuple(velero_row(n) for n in range(1000))
    encoder = StreamEncoder("velero", CTX, counting)
    status = FeedStatus(FeedState.OK, T0)
    encoder.encode(PaneSnapshot("velero", CTX, VeleroView(rows, ()), status))
    encoder.commit(1)
    assert len(encoded) == 1000
    encoded.clear()
    new = (velero_row(5000),) + rows[:400] + rows[401:]
    frame = encoder.encode(PaneSnapshot("velero", CTX, VeleroView(new, ()), status))
    assert encoded == [new[0].name] and not frame.key
    assert json.loads(frame.data)["data"]["rows"]["backups"][1:] == [[0, 400], [401, 1000]]


def test_diff_rows_rebuilds_any_edit() -> None:
    rng = random.Random(9)
    rows = tuple(run_view(n) for n in range(30))
    for _ in range(500):
        new = mutate_rows(rng, rows, run_view, lambda r: replace(r, phase="Failed"))
        segments, json_rows = codec._diff_rows(rows, new, [b"x"] * len(rows), "name", AnalysisRunView,
                                               lambda kind, item: encode_value(kind, item, same))
        if segments is None:
            assert new == rows
            continue
        raw = [msgspec.Raw(msgspec.json.encode(seg)) if isinstance(seg, list) else seg for seg in segments]
        assert codec._apply_rows(AnalysisRunView, rows, raw, "t") == new
        assert len(json_rows) == len(new)
        rows = new


# --------------------------------------------------------------------------- damage in a chain


def _chain_recording(path: Path, changes: int = 12) -> list[PaneSnapshot]:
    rows = tuple(velero_row(n) for n in range(200))
    snaps = []
    with Recorder(path, RecordingMeta(started_at=T0)) as rec:
        for i in range(changes):
            rows = (velero_row(1000 + i),) + rows
            snap = PaneSnapshot("velero", CTX, VeleroView(rows, ()), FeedStatus(FeedState.OK, T0))
            rec.record_snapshot(snap, T0 + timedelta(seconds=i))
            snaps.append(snap)
    return snaps


def test_a_damaged_delta_stops_its_chain_at_the_last_readable_state(tmp_path: Path, small_chains: None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "KEYFRAME_EVERY", 100)
    path = tmp_path / "chain.cockpit"
    snaps = _chain_recording(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE events SET payload = X'78DEADBEEF' WHERE id = 6")
    db.close()
    with Player(path) as player:
        assert player.state_at(T0 + timedelta(seconds=4))[(CTX, "velero")] == snaps[4]
        assert player.state_at(T0 + timedelta(seconds=11))[(CTX, "velero")] == snaps[4]  # the last one before
        events = list(player.events(("snapshot",)))
        assert [e.id for e in events] == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]
        assert events[4].snapshot() == snaps[4]
        with pytest.raises(RecordingError, match="cannot be rebuilt"):
            events[5].snapshot()
        assert player.damage == "unreadable and skipped: event 6 (14:00:05)"


def test_a_delta_pointing_elsewhere_is_damage_not_a_wrong_pane(tmp_path: Path, small_chains: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "KEYFRAME_EVERY", 100)
    path = tmp_path / "chain.cockpit"
    snaps = _chain_recording(path, 5)
    with sqlite3.connect(path) as db:
        frame = json.loads(codec.inflate(db.execute("SELECT payload FROM events WHERE id = 4").fetchone()[0]))
        frame["base"] = 2
        db.execute("UPDATE events SET payload = ? WHERE id = 4", (zlib.compress(json.dumps(frame).encode()),))
    db.close()
    with Player(path) as player:
        assert player.state_at(T0 + timedelta(seconds=10))[(CTX, "velero")] == snaps[2]
        assert player.damage and "event 4" in player.damage


# --------------------------------------------------------------------------- zlib bombs and caps


def zlib_bomb(size: int, prefix: bytes, suffix: bytes = b'"}') -> bytes:
    """A valid zlib stream of ``prefix + b"A" * size + suffix`` (about 1 000:1), built without holding it.

    After a full flush the compressor forgets its history, so one compressed 1 MiB block repeats byte for byte;
    the checksum at the end is computed over what the stream really holds.
    """
    chunk = b"A" * 2**20
    packer = zlib.compressobj(9)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(suffix) + packer.flush()
    count = size // len(chunk)
    check = zlib.adler32(prefix)
    for _ in range(count):
        check = zlib.adler32(chunk, check)
    check = zlib.adler32(suffix, check)
    return head + block * count + tail[:-4] + check.to_bytes(4, "big")


def test_the_bomb_is_a_real_zlib_stream() -> None:
    small = zlib_bomb(3 * 2**20, b'{"x":"')
    assert zlib.decompress(small) == b'{"x":"' + b"A" * 3 * 2**20 + b'"}'


@pytest.fixture(scope="module")
def gigabyte_bomb() -> bytes:
    return zlib_bomb(2**30, b'{"pane":"velero","context":"' + CTX.encode() + b'","data":"')


def test_a_zlib_bomb_is_damage_not_memory(tmp_path: Path, gigabyte_bomb: bytes) -> None:
    path = tmp_path / "bomb.cockpit"
    snaps = _chain_recording(path, 3)
    with Recorder(tmp_path / "other.cockpit", RecordingMeta(started_at=T0)):
        pass
    with sqlite3.connect(path) as db:
        # A keyframe of its own that inflates to 1 GiB, and an event whose payload does the same.
        db.execute("INSERT INTO events (id, ts, kind, context, pane, payload, kf) VALUES (50, ?, 'snapshot', ?, "
                   "'velero', ?, 50)", (T0.timestamp() + 10, CTX, gigabyte_bomb))
        db.execute("INSERT INTO events (id, ts, kind, context, pane, payload) VALUES (51, ?, 'marker', '', '', ?)",
                   (T0.timestamp() + 11, gigabyte_bomb))
    db.close()
    assert len(gigabyte_bomb) < 2**21
    tracemalloc.start()
    try:
        with Player(path) as player:
            state = player.state_at(T0 + timedelta(seconds=20))
            events = list(player.events())
            markers = player.markers()
            damage = player.damage
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert state[(CTX, "velero")] == snaps[2]  # fell back to the last readable snapshot
    assert [e.id for e in events] == [1, 2, 3] and markers == []
    assert damage == ("unreadable and skipped: event 50 (14:00:10: payload unpacks past 64 MiB), "
                      "event 51 (14:00:11: payload unpacks past 64 MiB)")
    assert peak < 160 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_a_pane_state_past_its_cap_is_damage(tmp_path: Path, small_chains: None,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "KEYFRAME_EVERY", 100)
    path = tmp_path / "chain.cockpit"
    snaps = _chain_recording(path, 10)
    with sqlite3.connect(path) as db:
        first = len(codec.inflate(db.execute("SELECT payload FROM events WHERE id = 1").fetchone()[0]))
    db.close()
    monkeypatch.setattr(codec, "MAX_STATE_BYTES", first + 2000)  # the keyframe and a few deltas
    with Player(path) as player:
        snap = player.state_at(T0 + timedelta(seconds=20))[(CTX, "velero")]
        assert snap in snaps[:-1]
        assert player.damage and "the pane's state unpacks past" in player.damage


def test_a_stored_payload_over_the_cap_is_not_even_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.cockpit"
    with Recorder(path, RecordingMeta(started_at=T0)) as rec:
        rec.record("step", step_payload("r", "s", "done", detail=random.Random(1).randbytes(3000).hex()), T0)
        rec.record("marker", marker_payload("note", text="small"), T0 + timedelta(seconds=1))
    monkeypatch.setattr(codec, "MAX_PAYLOAD_BYTES", 1000)
    with Player(path) as player:
        assert [e.kind for e in player.events()] == ["marker"]
        assert player.damage == "unreadable and skipped: event 1 (14:00:00: stored payload of 3 KiB (over 1000 bytes))"


# --------------------------------------------------------------------------- schema 1 files


def legacy_to_dict(obj: Any) -> Any:
    """Schema 1's ``to_dict``: the Python walk with ``isoformat()`` times."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: legacy_to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [legacy_to_dict(item) for item in obj]
    if isinstance(obj, dict):
        return {str(key): legacy_to_dict(value) for key, value in obj.items()}
    return obj


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, ts REAL NOT NULL, kind TEXT NOT NULL, context TEXT NOT NULL DEFAULT '',
                     pane TEXT NOT NULL DEFAULT '', payload BLOB NOT NULL);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_kind ON events (kind, ts);
CREATE INDEX events_stream ON events (kind, context, pane, ts);
"""


def write_v1(path: Path, snaps: list[PaneSnapshot]) -> None:
    """A recording exactly as the schema-1 recorder wrote it (sorted-key JSON, zlib, every snapshot whole)."""
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    db.execute("PRAGMA application_id = 1667985524")
    db.execute("PRAGMA user_version = 1")
    meta = {"schema_version": 1, "cockpit_version": "0.1", "contexts": [CTX], "targets": {}, "started_at":
            T0.isoformat(), "is_drill": False, "runbook": "", "non_production": False, "ended_at": None}
    db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
    for i, snap in enumerate(snaps):
        text = json.dumps(legacy_to_dict(snap), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        db.execute("INSERT INTO events (ts, kind, context, pane, payload) VALUES (?, 'snapshot', ?, ?, ?)",
                   (T0.timestamp() + i, snap.context, snap.pane, zlib.compress(text.encode(), 6)))
    db.commit()
    db.close()


def test_a_schema_1_recording_replays_every_pane_exactly(tmp_path: Path) -> None:
    snaps = random_session(7, 60)
    snaps.append(PaneSnapshot("latency", CTX, LatencyView("q", 0.5, math.inf, ((1.0, 2.0),), T0), FeedStatus()))
    path = tmp_path / "v1.cockpit"
    write_v1(path, snaps)
    with Player(path) as player:
        assert player.meta.schema_version == 1 and player.damage is None
        state: dict[tuple[str, str], PaneSnapshot] = {}
        for i, snap in enumerate(snaps):
            state[(snap.context, snap.pane)] = snap
            assert player.state_at(T0.timestamp() + i) == state, i
        assert [snap for _, snap in player.snapshots()] == snaps
        assert player.state_at(T0.timestamp() + 999)[(CTX, "latency")].data.value == math.inf


# --------------------------------------------------------------------------- the recorder's queue


class _GatedRecorder(Recorder):
    """A recorder whose first write waits until the test opens the gate: the sink falls behind meanwhile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def record_snapshot(self, snap: PaneSnapshot, ts: Any) -> int | None:
        self.entered.set()
        self.gate.wait(30)
        return super().record_snapshot(snap, ts)


def test_under_a_flood_snapshots_coalesce_per_pane_and_no_event_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "flood.cockpit"
    recorder = _GatedRecorder(path, RecordingMeta(started_at=T0))
    sink = RecordingSink(recorder)
    try:
        sink.snapshot(PaneSnapshot("latency", CTX, LatencyView("q", 0.5, 0.0, (), T0), FeedStatus()), T0.timestamp())
        assert recorder.entered.wait(10)
        expected_steps = []
        for i in range(2000):
            at = T0.timestamp() + 1 + i / 100
            for pane in ("latency", "rollout"):
                data = LatencyView("q", 0.5, float(i), (), T0) if pane == "latency" else rollout(i, ())
                sink.snapshot(PaneSnapshot(pane, CTX, data, FeedStatus()), at)
            if i % 40 == 0:
                sink.record("step", step_payload("rb", f"s{i}", "done"), at)
                expected_steps.append(f"s{i}")
            assert sink.pending <= 2 + len(expected_steps)  # one snapshot per pane, and the events
        recorder.gate.set()
        sink.flush(30)
        assert sink.coalesced > 3000 and "fell behind" in (sink.warning or "")
    finally:
        recorder.gate.set()
        sink.close(30)
    with Player(path) as player:
        steps = [e.payload["step"] for e in player.events(("step",))]
        assert steps == expected_steps
        state = player.state_at(player.end)
        assert state[(CTX, "latency")].data.value == 1999.0 and state[(CTX, "rollout")].data.message == "step 1999"
        assert len(list(player.events(("snapshot",)))) <= 4
        notes = [e.payload["text"] for e in player.events(("marker",))]
        assert len(notes) == 1 and "superseded" in notes[0] and "no event was dropped" in notes[0]


def test_the_sink_writes_everything_in_order_when_it_keeps_up(tmp_path: Path) -> None:
    path = tmp_path / "calm.cockpit"
    sink = RecordingSink(Recorder(path, RecordingMeta(started_at=T0)))
    for i in range(20):
        sink.snapshot(PaneSnapshot("latency", CTX, LatencyView("q", 0.5, float(i), (), T0), FeedStatus()),
                      T0.timestamp() + i)
        sink.flush(10)
    sink.record("bogus-kind", {}, T0.timestamp())  # a caller's bug: counted and shown, never raised
    sink.close(10)
    assert sink.coalesced == 0 and sink.failures == 1 and "not one of" in (sink.warning or "")
    with Player(path) as player:
        assert [snap.data.value for _, snap in player.snapshots()] == [float(i) for i in range(20)]


def test_to_dict_keeps_what_msgspec_cannot_convert() -> None:
    odd = {("a", 1): {1, 2}, "when": T0}
    assert to_dict(odd) == {"('a', 1)": {1, 2}, "when": T0.isoformat()}
    assert to_dict(FeedStatus(FeedState.OK, T0, choices=("a",))) == {
        "state": "ok", "updated_at": "2026-05-20T14:00:00Z", "error": "", "watch": "", "choices": ["a"]}
    assert models.to_dict(None) is None


def test_redaction_still_applies_to_every_row(tmp_path: Path) -> None:
    secret = "hunter2-db-pass"
    rs = replace(replica(1), template={"spec": {"containers": [{"env": [{"name": "DB_PASSWORD", "value": secret}]}]}})
    path = tmp_path / "r.cockpit"
    with Recorder(path, RecordingMeta(started_at=T0)) as rec:
        base = rollout(1, (replica(2),) * 30)
        rec.record_snapshot(PaneSnapshot("rollout", CTX, base, FeedStatus()), T0)
        rec.record_snapshot(PaneSnapshot("rollout", CTX, replace(base, replica_sets=(rs,) + base.replica_sets),
                                         FeedStatus()), T0 + timedelta(seconds=1))
    assert secret.encode() not in path.read_bytes()
    with sqlite3.connect(path) as db:
        assert all(secret not in codec.inflate(blob).decode() for (blob,) in db.execute("SELECT payload FROM events"))
    db.close()
    _ = redact  # the one redactor, called by the recorder on every row it encodes


def test_hostile_metadata_is_a_clear_refusal(tmp_path: Path) -> None:
    path = tmp_path / "m.cockpit"
    with Recorder(path, RecordingMeta(started_at=T0)):
        pass
    for value in ("[" * 100_000 + "]" * 100_000, json.dumps({"a": "x" * (2 << 20)}),
                  json.dumps({"a": json.loads("[" * 200 + "]" * 200)})):
        with sqlite3.connect(path) as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'targets'", (value,))
        db.close()
        with pytest.raises(RecordingError, match="metadata is unreadable|nested deeper"):
            Player(path)


def test_the_recording_bench_runs_small() -> None:
    from bench.recording import measure

    figures = measure(backups=300, minutes=6, runs=1, seeks=2)
    assert figures["events"] > 30 and figures["change_bytes"] < 2000
    for key in ("snapshot_encode_cold_ms", "snapshot_encode_ms", "snapshot_decode_ms", "change_encode_ms",
                "change_record_ms", "open_ms", "seek_ms", "seek_p95_ms", "file_mib"):
        assert figures[key] >= 0, key


def test_a_row_of_the_wrong_type_is_refused_when_recorded_not_found_broken_in_replay(tmp_path: Path) -> None:
    with Recorder(tmp_path / "w.cockpit", RecordingMeta(started_at=T0)) as rec:
        with pytest.raises(ValueError, match="a dict among the AnalysisRunView rows"):
            rec.record_snapshot(PaneSnapshot("analysis", CTX, (run_view(1), {"name": "x"}), FeedStatus()), T0)
        assert rec.record_snapshot(PaneSnapshot("analysis", CTX, (run_view(1),), FeedStatus()), T0)


def test_a_lone_surrogate_in_a_plain_field_of_a_split_pane(tmp_path: Path, small_chains: None) -> None:
    path = tmp_path / "s.cockpit"
    history = tuple(history_entry(n) for n in range(5))
    with Recorder(path, RecordingMeta(started_at=T0)) as rec:
        rec.record_snapshot(PaneSnapshot("argocd", CTX, argo(1, history), FeedStatus()), T0)
        odd = replace(argo(1, history), health_message="bad \udc80 byte")
        assert rec.record_snapshot(PaneSnapshot("argocd", CTX, odd, FeedStatus()), T0 + timedelta(seconds=1))
    with Player(path) as player:
        assert player.state_at(T0 + timedelta(seconds=1))[(CTX, "argocd")].data.health_message == "bad \ufffd byte"


def test_a_keyframe_is_the_panes_json_joined_once() -> None:
    """The keyframe is built as one join of the cached row JSON (a 10 000-row pane's was copied five times): the
    bytes are exactly those of the frame encoded whole, for a split pane with scalars (Velero, CNPG), a list pane
    (AnalysisRuns) and one with nested rows (Argo CD)."""
    status = FeedStatus(FeedState.OK, T0)
    panes = {
        "velero": VeleroView(tuple(velero_row(n) for n in range(300)), ()),
        "analysis": tuple(run_view(n) for n in range(20)),
        "cnpg": CnpgPaneData(tuple(cluster(n, T0) for n in range(5)), "db-1"),
        "argocd": argo(3, tuple(history_entry(n) for n in range(10))),
    }
    for pane, data in panes.items():
        encoder = StreamEncoder(pane, CTX, redact)
        written = encoder.encode(PaneSnapshot(pane, CTX, data, status), force_key=True)
        assert written is not None and written.key
        plain = encode_value(type(data), data, redact)
        whole = codec._key_frame(pane, CTX, encode_value(FeedStatus, status, redact), plain)
        assert json.loads(written.data) == json.loads(whole), pane
        assert written.data == whole, pane


def test_held_while_the_panes_fill_nothing_is_written_superseded_or_reordered(tmp_path: Path) -> None:
    path = tmp_path / "held.cockpit"
    recorder = Recorder(path, RecordingMeta(started_at=T0))
    sink = RecordingSink(recorder)
    try:
        sink.hold(30)
        for i in range(5):  # the same pane again and again: kept, each with its time, none superseded
            sink.snapshot(PaneSnapshot("latency", CTX, LatencyView("q", 0.5, float(i), (), T0), FeedStatus()),
                          T0.timestamp() + i)
        sink.record("decision", {"context": CTX}, T0.timestamp() + 5)  # automatic events wait too
        time.sleep(0.2)
        assert sink.held and recorder.count == 0 and sink.pending == 6
        sink.release()
        sink.flush(10)
        assert not sink.held and recorder.count == 6 and sink.coalesced == 0 and sink.warning is None
        sink.hold(30)  # a write (or the person's answer) ends a hold at once, with everything before it
        sink.snapshot(PaneSnapshot("latency", CTX, LatencyView("q", 0.5, 9.0, (), T0), FeedStatus()),
                      T0.timestamp() + 6)
        sink.record("step", step_payload("rb", "s1", "done"), T0.timestamp() + 7)
        deadline = time.monotonic() + 10
        while recorder.count < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.count == 8 and not sink.held
        sink.hold(0.05)  # and it ends by itself
        sink.snapshot(PaneSnapshot("latency", CTX, LatencyView("q", 0.5, 10.0, (), T0), FeedStatus()),
                      T0.timestamp() + 8)
        deadline = time.monotonic() + 10
        while recorder.count < 9 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.count == 9
    finally:
        sink.close(10)
    with Player(path) as player:
        assert [snap.data.value for _, snap in player.snapshots()] == [0.0, 1.0, 2.0, 3.0, 4.0, 9.0, 10.0]
        times = [event.ts for event in player.events(("snapshot",))]
        assert times == sorted(times) and len(times) == 7


def test_a_held_sink_writes_at_close_and_at_a_flush(tmp_path: Path) -> None:
    path = tmp_path / "closed.cockpit"
    sink = RecordingSink(Recorder(path, RecordingMeta(started_at=T0)))
    sink.hold(60)
    sink.snapshot(PaneSnapshot("latency", CTX, LatencyView("q", 0.5, 1.0, (), T0), FeedStatus()), T0.timestamp())
    sink.flush(10)
    assert sink.count == 1 and not sink.held
    sink.hold(60)
    sink.snapshot(PaneSnapshot("latency", CTX, LatencyView("q", 0.5, 2.0, (), T0), FeedStatus()), T0.timestamp() + 1)
    sink.close(10)
    with Player(path) as player:
        assert [snap.data.value for _, snap in player.snapshots()] == [1.0, 2.0]


def test_a_large_keyframe_is_compressed_without_joining_its_json() -> None:
    """A keyframe of 10 000 rows (4 MB of JSON) is deflated a chunk at a time: the stream inflates to exactly the
    frame's JSON, and the whole text never exists at once (it was a long session's largest transient, every
    keyframe)."""
    import tracemalloc
    import zlib

    from cockpit.recording import codec

    rows = tuple(velero_row(n) for n in range(10_000))
    encoder = StreamEncoder("velero", CTX, lambda value: value)
    status = FeedStatus(FeedState.OK, T0)
    frame = encoder.encode(PaneSnapshot("velero", CTX, VeleroView(rows, ()), status))
    assert frame.key and frame.size > 10 * codec.DEFLATE_CHUNK and len(frame.pieces) > 1
    tracemalloc.start()
    try:
        blob = frame.deflate()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < frame.size / 3  # a chunk and the compressed output, not the JSON
    assert zlib.decompress(blob) == frame.data == b"".join(frame.pieces) and len(frame.data) == frame.size
    json.loads(frame.data)  # one JSON document
