"""The cross-layer timeline: derived from a recording (snapshots diffed, events read), oldest first, by layer;
exported as Markdown (the postmortem stub) and JSON that round-trips; followed incrementally while recorded."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cockpit import timeline
from cockpit.drill import postmortem_stub
from cockpit.models import AnalysisRunView, FeedState, FeedStatus, MetricResult, PaneSnapshot, VeleroRestore
from cockpit.recording import Player, Recorder, RecordingMeta, answer_payload, gateway_payload, marker_payload
from cockpit.recording import step_payload
from tests.unit.test_recording import argo_app, cnpg_data, latency_view, rollout_view, velero_view

UTC = timezone.utc
# the bundled drill as it was recorded on 2026-11-28, frozen (recordings/ is re-made by scripts/record_demo.py)
BUNDLED = Path(__file__).resolve().parents[1] / "fixtures" / "recordings" / "v1-demo-incident-drill.cockpit"
T0 = datetime(2026, 5, 20, 14, 0, tzinfo=UTC)
CTX = "prod-us-east"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def snap(pane: str, data, seconds: float, context: str = CTX) -> PaneSnapshot:
    return PaneSnapshot(pane, context, data, FeedStatus(FeedState.OK, at(seconds)))


def first(entries, predicate) -> int:
    return next(index for index, entry in enumerate(entries) if predicate(entry))


def test_the_bundled_drill_lists_deploy_pause_analysis_breach_abort_recovery_in_order():
    with Player(BUNDLED) as player:
        entries = timeline.build(player)
    order = [
        first(entries, lambda e: e.layer == "argocd" and e.what == "deploy" and "#42" in e.text),
        first(entries, lambda e: e.layer == "rollout" and e.what == "paused"),
        first(entries, lambda e: e.layer == "analysis" and e.what == "measurement" and "failed" in e.text),
        first(entries, lambda e: e.layer == "p99" and e.what == "breach"),
        first(entries, lambda e: e.layer == "action" and "abort Rollout catalog: ok" in e.text),
        first(entries, lambda e: e.layer == "p99" and e.what == "recovered"),
    ]
    assert order == sorted(order), [entries[i].text for i in order]
    times = [entries[i].at for i in order]
    assert times == sorted(times)
    deploy = entries[order[0]]
    assert deploy.source == "reported" and deploy.at == datetime(2026, 11, 28, 1, 49, 52, tzinfo=UTC)
    assert "v1.5.0 → v1.5.1" in deploy.text
    assert entries[order[1]].source == "at start"  # already paused when the session opened
    assert "since 01:51:22Z" in entries[order[3]].text  # the range query dates the breach
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    # the person's moves: the override of the flag question, the skipped pre-flight, the manual steps
    assert any(e.what == "override" and "feature-flag" in e.text for e in entries)
    assert any(e.layer == "flag" and "catalog_v2_search_engine is ON" in e.text for e in entries)
    assert any(e.layer == "tree" and "DATA rollback FIRST" in e.text for e in entries)


def test_the_current_bundled_recording_tells_the_same_story():
    current = Path(__file__).resolve().parents[2] / "recordings" / "demo-incident-drill.cockpit"
    with Player(current) as player:
        entries = timeline.build(player)
    order = [
        first(entries, lambda e: e.layer == "argocd" and e.what == "deploy" and "#42" in e.text),
        first(entries, lambda e: e.layer == "rollout" and e.what == "paused"),
        first(entries, lambda e: e.layer == "analysis" and e.what == "measurement" and "failed" in e.text),
        first(entries, lambda e: e.layer == "p99" and e.what == "breach"),
        first(entries, lambda e: e.layer == "action" and "abort Rollout catalog: ok" in e.text),
        first(entries, lambda e: e.layer == "p99" and e.what == "recovered"),
    ]
    assert order == sorted(order), [entries[i].text for i in order]


def test_layers_filter():
    with Player(BUNDLED) as player:
        builder = timeline.TimelineBuilder(player)
        builder.update()
    only = builder.entries(["p99"])
    assert [e.what for e in only] == ["breach", "recovered"]
    assert {e.layer for e in builder.entries(["action", "person"])} == {"action", "person"}


def test_json_export_round_trips_with_absolute_utc_times():
    with Player(BUNDLED) as player:
        entries = timeline.build(player)
        text = timeline.to_json(entries, player)
    document = json.loads(text)
    assert document["format"] == "cockpit-timeline/1" and document["contexts"] == ["demo-us-east"]
    assert all(item["at"].endswith("Z") and "T" in item["at"] for item in document["entries"])
    assert document["started_at"] == "2026-11-28T01:54:52.405625Z"
    assert timeline.from_json(text) == entries
    assert [e.at for e in timeline.from_json(text)] == [e.at for e in entries]  # microseconds kept


@pytest.mark.parametrize("document", [
    "[]", '{"format": "something else", "entries": []}', '{"format": "cockpit-timeline/1"}',
    '{"format": "cockpit-timeline/1", "entries": [{"at": "yesterday", "layer": "p99"}]}',
    '{"format": "cockpit-timeline/1", "entries": [{"at": "2026-01-01T00:00:00Z", "layer": "evil"}]}',
])
def test_from_json_refuses_what_it_did_not_write(document):
    with pytest.raises(ValueError):
        timeline.from_json(document)


def test_the_postmortem_stub_carries_the_cross_layer_timeline():
    with Player(BUNDLED) as player:
        stub = postmortem_stub(player)
    section = stub.split("## Cross-layer timeline (UTC)", 1)[1].split("## Forward fix", 1)[0]
    deploy = "| 2026-11-28 01:49:52 (reported) | Argo CD | Argo CD bookstore-catalog-us-east deployed history #42"
    assert deploy in section
    assert "| 2026-11-28 01:55:24 | p99 | p99 back under the SLO" in section


def incident(path: Path, *, hostile: str = "") -> Recorder:
    rec = Recorder(path, RecordingMeta(contexts=(CTX,), started_at=T0))
    app = argo_app()
    rec.record_snapshot(snap("argocd", replace(app, name=app.name + hostile), 1), at(1))
    rec.record_snapshot(snap("rollout", rollout_view(), 1), at(1))
    rec.record_snapshot(snap("latency", latency_view(0.84, at(2)), 2), at(2))
    rec.record_snapshot(snap("cnpg", cnpg_data(), 2), at(2))
    rec.record_snapshot(snap("velero", velero_view(), 2), at(2))
    return rec


def analysis(phase: str, failed: int) -> tuple[AnalysisRunView, ...]:
    metric = MetricResult("p99-latency", "Failed" if failed >= 3 else "Running", "[0.91]", "", 4, 1, failed, 0, 0,
                          "p99 breaches successCondition")
    return (AnalysisRunView("catalog-7d8c6b5a9-7-4", "bookstore", phase, "", "7d8c6b5a9", "Step", 4,
                            T0 - timedelta(minutes=3), T0 - timedelta(minutes=3), (metric,)),)


def test_failed_syncs_analysis_failures_data_phases_and_actions_are_derived(tmp_path):
    path = tmp_path / "incident.cockpit"
    with incident(path) as rec:
        rec.record_snapshot(snap("analysis", analysis("Running", 1), 3), at(3))
        rec.record_snapshot(snap("analysis", analysis("Running", 2), 90), at(90))
        app = argo_app()
        rec.record_snapshot(snap("argocd", replace(app, operation_phase="Failed",
                                                   operation_message="one or more objects failed to apply"), 95),
                            at(95))
        rec.record_snapshot(snap("analysis", analysis("Failed", 3), 120), at(120))
        rec.record("answer", answer_payload("recent_deploy", "answered", text="Deploy in the last 30 minutes?",
                                            answer="yes"), at(130), context=CTX)
        rec.record("gateway", gateway_payload("abort Rollout", "catalog", "ok", context=CTX), at(140), context=CTX)
        rec.record("gateway", gateway_payload("renew Lease", "cockpit-driver", "ok", context=CTX), at(141),
                   context=CTX)
        rec.record("step", step_payload("code-rollback-rollouts", "abort", "done", title="Abort the canary"), at(141),
                   context=CTX)
        rec.record_snapshot(snap("rollout", rollout_view(aborted=True), 142), at(142))
        data = cnpg_data()
        recovering = replace(data.clusters[0], name="catalog-db-pitr", phase="Setting up primary")
        rec.record_snapshot(snap("cnpg", replace(data, clusters=(*data.clusters, recovering)), 150), at(150))
        restore = VeleroRestore("bookstore-restore-1", "InProgress", "bookstore-daily-20260520020000", at(160), None,
                                ("bookstore",), 0, 0, "", at(160))
        rec.record_snapshot(snap("velero", replace(velero_view(), restores=(restore,)), 160), at(160))
        rec.record_snapshot(snap("latency", latency_view(0.41, at(200)), 200), at(200))
        rec.record("marker", marker_payload("mitigated", text="p99 under the SLO for 5m"), at(500), context=CTX)
    with Player(path) as player:
        entries = timeline.build(player)
    texts = [(e.layer, e.what, e.text) for e in entries]
    assert ("argocd", "sync", "Argo CD bookstore-catalog-us-east sync failed (one or more objects failed to apply)") \
        in texts
    measurements = [text for layer, what, text in texts if what == "measurement"]
    assert measurements == [
        "AnalysisRun catalog-7d8c6b5a9-7-4 metric p99-latency: 1 failed measurement (p99 breaches successCondition)",
        "AnalysisRun catalog-7d8c6b5a9-7-4 metric p99-latency: 2 failed measurements (p99 breaches successCondition)",
        "AnalysisRun catalog-7d8c6b5a9-7-4 metric p99-latency: 3 failed measurements (p99 breaches successCondition)",
    ]
    assert ("analysis", "analysis", "AnalysisRun catalog-7d8c6b5a9-7-4 Failed") in texts
    assert ("action", "write", "abort Rollout catalog: ok") in texts
    assert not any("renew Lease" in text for _, _, text in texts)  # a driver renewing is not news
    assert ("rollout", "aborted", "Rollout catalog aborted: RolloutAborted: Rollout aborted update to revision 7") \
        in texts
    assert ("cnpg", "phase", "CNPG cluster catalog-db-pitr appeared: Setting up primary") in texts
    assert ("velero", "restore", "Velero restore bookstore-restore-1: InProgress") in texts
    assert ("p99", "recovered", "p99 back under the SLO: 0.410s ≤ 0.5s") in texts
    assert ("person", "answer", "answered yes: Deploy in the last 30 minutes?") in texts
    assert texts[-1][:2] == ("session", "marker")
    # the state found at the start is stamped with the start, ordered from the deploy down to the data
    start = [e for e in entries if e.source == "at start"]
    assert {e.at for e in start} == {T0}
    assert [e.layer for e in start] == sorted((e.layer for e in start), key=timeline.LAYERS.index)


def test_followed_while_recorded_it_equals_the_whole_build(tmp_path):
    path = tmp_path / "live.cockpit"
    rec = incident(path)
    try:
        player = Player(path)
        builder = timeline.TimelineBuilder(player)
        assert builder.update()
        assert not builder.update()  # nothing new
        rec.record_snapshot(snap("rollout", rollout_view(aborted=True), 60), at(60))
        rec.record_snapshot(snap("latency", latency_view(0.3, at(90)), 90), at(90))
        assert builder.update()
        assert [e.what for e in builder.entries()][-3:] == ["aborted", "phase", "recovered"]
    finally:
        rec.close()
    with Player(path) as whole:
        assert builder.entries() == timeline.build(whole)
    player.close()


def test_hostile_names_do_not_break_the_markdown_table(tmp_path):
    path = tmp_path / "hostile.cockpit"
    with incident(path, hostile=" | evil\n[red]\x1b[2J"):
        pass
    with Player(path) as player:
        markdown = timeline.to_markdown(timeline.build(player))
    rows = [line for line in markdown.splitlines() if line.startswith("| 2026")]
    assert rows and all(len(re.split(r"(?<!\\)\|", line)) == 5 for line in rows)  # three cells, whatever the name
    assert "\x1b" not in markdown
    assert "\\| evil" in markdown


def test_a_damaged_row_is_stepped_over(tmp_path):
    import sqlite3

    path = tmp_path / "damaged.cockpit"
    with incident(path) as rec:
        for n in range(3):
            rec.record("marker", marker_payload("note", text=f"note {n}"), at(10 + n), context=CTX)
    db = sqlite3.connect(path)
    db.execute("UPDATE events SET payload = ? WHERE kind = 'marker' AND id = (SELECT min(id) FROM events "
               "WHERE kind = 'marker')", (b"\x78\x9c garbage",))
    db.commit()
    db.close()
    with Player(path) as player:
        notes = [e.text for e in timeline.build(player) if e.what == "marker"]
        assert notes == ["note: note 1", "note: note 2"]
        assert player.damage and "unreadable" in player.damage
