"""Drill timing, the drill report (written and committed in a real git repository), staleness, rotation, postmortem.

The scripted drill runs on a fixed clock (every event carries a time picked here), so the three numbers are known:

=========  ==============================================================================
14:00:00   drill start; p99 0.84 s (SLO 0.5 s)
14:00:20   asked "deploy in the last 30 min?"  -> answered 14:00:32   (12 s)
14:00:40   asked "forward-only migration?"     -> answered 14:00:50   (10 s)
14:01:00   runbook chosen: data-rollback-postgres-pitr                (decide: 1m)
14:01:15   manual step "pick the target time" asked -> done 14:01:45  (30 s)
           bad mutation at 13:43:00, recovery target 13:42:30         (RPO: 30 s)
14:02:00   "create the recovery cluster" asked -> confirmed 14:02:25  (25 s), done 14:09:00
14:09:30   "repoint the app" asked -> confirmed 14:09:40              (10 s), done 14:10:00
14:10:00   p99 0.70 s (still over)   14:11:15 p99 0.42 s              (mitigated: RTO 11m 15s)
=========  ==============================================================================
Human action time: 12 + 10 + 30 + 25 + 10 = 87 s.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from cockpit import drill
from cockpit.drill import (
    ROTATION,
    Verdict,
    analyse,
    analyse_recording,
    is_stale,
    last_exercised,
    next_drill,
    postmortem_stub,
    read_reports,
    stale_banner,
    write_report,
)
from cockpit.models import FeedState, FeedStatus, PaneSnapshot
from cockpit.recording import (
    Event,
    Player,
    Recorder,
    RecordingMeta,
    answer_payload,
    gateway_payload,
    marker_payload,
    step_payload,
)
from cockpit.recording.format import snapshot_to_dict
from tests.unit.test_recording import argo_app, latency_view, rollout_view

UTC = timezone.utc
T0 = datetime(2026, 5, 20, 14, 0, tzinfo=UTC)
RUNBOOK = "data-rollback-postgres-pitr"
CTX = "staging"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def latency(value: float, seconds: float, context: str = CTX) -> PaneSnapshot:
    return PaneSnapshot("latency", context, latency_view(value, at(seconds)), FeedStatus(FeedState.OK, at(seconds)))


def step(name: str, state: str, index: int, title: str, type_: str = "action") -> dict[str, Any]:
    return step_payload(RUNBOOK, name, state, index=index, title=title, type=type_)


def scripted_drill() -> list[tuple[float, str, dict[str, Any] | PaneSnapshot]]:
    return [
        (0, "marker", marker_payload("drill-start", text="monthly drill")),
        (0, "snapshot", latency(0.84, 0)),
        (20, "answer", answer_payload("recent_deploy", "asked", text="Deploy in the last 30 minutes?")),
        (32, "answer", answer_payload("recent_deploy", "answered", answer="yes")),
        (40, "answer", answer_payload("migration", "asked", text="Forward-only migration in the release?")),
        (50, "answer", answer_payload("migration", "answered", answer="yes")),
        (60, "marker", marker_payload("runbook-chosen", runbook=RUNBOOK, layer="data")),
        (65, "step", step("preflight", "started", 1, "Pre-flight: migrations", "check")),
        (70, "step", step("preflight", "done", 1, "Pre-flight: migrations", "check")),
        (75, "step", step("target", "asked", 2, "Pick the target time", "manual")),
        (80, "marker", marker_payload("bad-mutation", at=T0 - timedelta(minutes=17), text="DELETE FROM orders")),
        (105, "step", step("target", "done", 2, "Pick the target time", "manual")),
        (105, "marker", marker_payload("recovery-target", at=T0 - timedelta(minutes=17, seconds=30), tool="cnpg")),
        (120, "step", step("recover", "asked", 3, "Create the recovery cluster")),
        (145, "step", step("recover", "confirmed", 3, "Create the recovery cluster")),
        (146, "gateway", gateway_payload("cnpg.recover", "catalog-db-pitr", "ok", method="POST",
                                         path="/apis/postgresql.cnpg.io/v1/namespaces/b/clusters")),
        (300, "snapshot", latency(0.9, 300)),
        (540, "step", step("recover", "done", 3, "Create the recovery cluster")),
        (570, "step", step("cutover", "asked", 4, "Repoint the app | cut over")),
        (580, "step", step("cutover", "confirmed", 4, "Repoint the app | cut over")),
        (600, "snapshot", latency(0.70, 600)),
        (600, "step", step("cutover", "done", 4, "Repoint the app | cut over")),
        (675, "snapshot", latency(0.42, 675)),
        (700, "step", step("verify", "done", 5, "Verify row counts", "check")),
    ]


def drill_meta() -> RecordingMeta:
    return RecordingMeta(contexts=(CTX,), started_at=T0, is_drill=True, runbook=RUNBOOK, non_production=True)


def as_events(script: list[tuple[float, str, Any]]) -> list[Event]:
    events = []
    for n, (seconds, kind, payload) in enumerate(script, start=1):
        if kind == "snapshot":
            events.append(Event(n, at(seconds).timestamp(), kind, payload.context, payload.pane,
                                snapshot_to_dict(payload)))
        else:
            events.append(Event(n, at(seconds).timestamp(), kind, CTX, "", payload))
    return events


def record(path: Path, script: list[tuple[float, str, Any]], meta: RecordingMeta | None = None) -> Path:
    with Recorder(path, meta or drill_meta()) as rec:
        for seconds, kind, payload in script:
            if kind == "snapshot":
                rec.record_snapshot(payload, at(seconds))
            else:
                rec.record(kind, payload, at(seconds), context=CTX)
        rec.close(ended_at=at(720))
    return path


def assert_known_numbers(result: drill.DrillResult) -> None:
    assert result.runbook == RUNBOOK and result.layer == "data"
    assert result.detect_at == T0
    assert result.decide_at == at(60)
    assert result.last_action_at == at(600)
    assert result.mitigated_at == at(675)
    assert result.rto == timedelta(minutes=11, seconds=15)
    assert result.rpo == timedelta(seconds=30)
    assert result.human_time == timedelta(seconds=87)
    assert result.asks == 5
    assert result.time_to_decide == timedelta(minutes=1)
    assert result.time_to_mitigate == timedelta(minutes=10, seconds=15)
    assert [s.step for s in result.steps] == ["preflight", "target", "recover", "cutover", "verify"]
    assert result.steps[2].waited == timedelta(seconds=25)
    assert result.steps[2].ended_at - result.steps[2].started_at == timedelta(minutes=7)
    assert result.notes == ()


def test_drill_numbers_from_a_recording(tmp_path: Path) -> None:
    path = record(tmp_path / "drill.cockpit", scripted_drill())
    with Player(path) as player:
        assert_known_numbers(analyse_recording(player))


def test_drill_numbers_from_an_event_list() -> None:
    assert_known_numbers(analyse(as_events(scripted_drill()), meta=drill_meta()))


def test_mitigation_is_the_last_action_when_the_metric_already_recovered() -> None:
    script = [e for e in scripted_drill() if not (e[1] == "snapshot" and e[0] >= 600)]
    script.append((590, "snapshot", latency(0.3, 590)))
    result = analyse(as_events(script), meta=drill_meta())
    assert result.mitigated_at == at(600) and result.rto == timedelta(minutes=10)


def test_every_context_must_be_under_the_slo() -> None:
    script = scripted_drill() + [(610, "snapshot", latency(0.6, 610, "staging-eu")),
                                 (690, "snapshot", latency(0.45, 690, "staging-eu"))]
    result = analyse(as_events(script), meta=drill_meta())
    assert result.mitigated_at == at(690)


def test_not_mitigated_when_the_metric_never_recovers() -> None:
    script = [e for e in scripted_drill() if not (e[1] == "snapshot" and e[0] == 675)]
    result = analyse(as_events(script), meta=drill_meta())
    assert result.mitigated_at is None and result.rto is None
    assert any("never came back under the SLO" in note for note in result.notes)


def test_symptom_marker_stands_in_without_a_latency_pane() -> None:
    script = [e for e in scripted_drill() if e[1] != "snapshot"]
    script.append((650, "marker", marker_payload("symptom-ok", text="checkout p99 green on the dashboard")))
    result = analyse(as_events(script), meta=drill_meta())
    assert result.mitigated_at == at(650)


def test_rpo_needs_a_restore_and_a_target_before_the_mutation() -> None:
    code_only = [e for e in scripted_drill() if not (e[1] == "marker" and e[2]["name"] == "recovery-target")]
    assert analyse(as_events(code_only), meta=drill_meta()).rpo is None
    late = [e for e in scripted_drill() if not (e[1] == "marker" and e[2]["name"] == "recovery-target")]
    late.append((106, "marker", marker_payload("recovery-target", at=T0 - timedelta(minutes=10))))
    result = analyse(as_events(late), meta=drill_meta())
    assert result.rpo is None and any("AFTER the bad mutation" in note for note in result.notes)


def test_alert_time_is_detection_for_an_incident() -> None:
    script = [e for e in scripted_drill() if not (e[1] == "marker" and e[2]["name"] == "drill-start")]
    script.append((5, "marker", marker_payload("alert", at=T0 - timedelta(minutes=2), text="CatalogP99High")))
    result = analyse(as_events(script), meta=RecordingMeta(contexts=("prod",), started_at=T0))
    assert result.detect_at == T0 - timedelta(minutes=2)
    assert result.rto == timedelta(minutes=13, seconds=15)


def test_unanswered_confirmations_are_not_counted() -> None:
    script = scripted_drill() + [(710, "step", step("cleanup", "asked", 6, "Delete the old cluster"))]
    result = analyse(as_events(script), meta=drill_meta())
    assert result.human_time == timedelta(seconds=87)
    assert any("never answered" in note for note in result.notes)


# --------------------------------------------------------------------------- the report


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    repository = git.Repo.init(tmp_path / "drills-repo")
    with repository.config_writer() as config:
        config.set_value("user", "name", "Drill Bot")
        config.set_value("user", "email", "drill@example.invalid")
        config.set_value("commit", "gpgsign", "false")
    (Path(repository.working_tree_dir) / "README.md").write_text("runbooks\n")
    repository.index.add(["README.md"])
    repository.index.commit("init")
    yield repository
    repository.close()


def test_report_is_written_and_committed(tmp_path: Path, repo: git.Repo) -> None:
    work = Path(repo.working_tree_dir)  # --drill-dir names the team's drills repository itself
    (work / "unrelated.txt").write_text("someone else's staged work\n")
    repo.index.add(["unrelated.txt"])
    path = record(tmp_path / "drill.cockpit", scripted_drill())
    with Player(path) as player:
        result = analyse_recording(player)
    written = write_report(
        result,
        work,
        verdict=Verdict.WORKED_WITH_CHANGES,
        notes="The recovery cluster took 7 minutes; the runbook said 3.",
        updates=["Step 3: the Cluster needs `externalClusters[].plugin`, not barmanObjectStore (CNPG 1.26)"],
        recording=path,
        commit=True,
        read_only=False,
    )
    assert written.path == work / "dr-drill-2026-05.md"
    assert written.committed, written.message
    head = repo.head.commit
    assert head.message.strip() == f"DR drill 2026-05: {RUNBOOK} (worked with changes)"
    assert set(head.stats.files) == {"dr-drill-2026-05.md"}  # only the report
    assert "unrelated.txt" in [entry.a_path for entry in repo.index.diff("HEAD")]  # still staged, not committed

    text = written.path.read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front["runbook"] == RUNBOOK and front["date"] == date(2026, 5, 20)
    assert front["verdict"] == "worked with changes"
    assert (front["rto_seconds"], front["rpo_seconds"], front["human_action_seconds"]) == (675, 30, 87)
    assert "| RTO actual | 11m 15s |" in text
    assert "| RPO actual | 30s |" in text
    assert "| Human action time | 1m 27s |" in text
    assert "| detect → decide | 14:00:00 | 14:01:00 | 1m |" in text
    assert "Repoint the app \\| cut over" in text  # a pipe in a title does not break the table
    assert "- [ ] Step 3: the Cluster needs" in text
    assert "**Did the runbook work? worked with changes.**" in text

    again = write_report(result, work, verdict=Verdict.WORKED, recording=path, commit=True, read_only=False)
    assert again.path.name == "dr-drill-2026-05-2.md" and again.committed


def test_report_outside_a_repository_is_written_not_committed(tmp_path: Path) -> None:
    result = analyse(as_events(scripted_drill()), meta=drill_meta())
    written = write_report(result, tmp_path / "reports", verdict=Verdict.FAILED, notes="PITR target refused",
                           commit=True, read_only=False)
    assert written.path.exists() and not written.committed
    assert "not the top of its own git repository" in written.message


def test_untrusted_text_is_cleaned_in_the_report() -> None:
    script = scripted_drill() + [
        (701, "gateway", gateway_payload("rollouts.abort", "catalog", "error", message="\x1b[31mboom[/] | x\nline"))
    ]
    text = drill.render_report(analyse(as_events(script), meta=drill_meta()), verdict=Verdict.FAILED)
    assert "\x1b" not in text and "\\x1b[31mboom[/] \\| x line" in text


# --------------------------------------------------------------------------- staleness and rotation


def write_front(directory: Path, name: str, runbook: str, day: date, verdict: str = "worked") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    front = {"cockpit-drill": 1, "runbook": runbook, "date": day, "verdict": verdict}
    (directory / name).write_text(f"---\n{yaml.safe_dump(front)}---\n\n# drill\n")


def test_staleness_91_days_is_stale_89_is_not(tmp_path: Path) -> None:
    today = date(2026, 8, 20)
    write_front(tmp_path, "dr-drill-2026-05.md", "code-rollback-argocd", today - timedelta(days=91))
    write_front(tmp_path, "dr-drill-2026-05-2.md", "code-rollback-rollouts", today - timedelta(days=89))
    write_front(tmp_path, "dr-drill-2026-05-3.md", "data-rollback-velero", today - timedelta(days=90))
    last = last_exercised(tmp_path)
    assert is_stale("code-rollback-argocd", today, last)
    assert not is_stale("code-rollback-rollouts", today, last)
    assert not is_stale("data-rollback-velero", today, last)  # 90 days is the limit, not past it
    assert is_stale("data-rollback-postgres-pitr", today, last)  # never drilled
    assert stale_banner("code-rollback-argocd", today, last).startswith("STALE: last drilled 91 days ago")
    assert stale_banner("data-rollback-postgres-pitr", today, last) == "STALE: this runbook has never been drilled"
    assert stale_banner("code-rollback-rollouts", today, last) == ""


def test_last_exercised_reads_the_reports_this_module_writes(tmp_path: Path) -> None:
    result = analyse(as_events(scripted_drill()), meta=drill_meta())
    write_report(result, tmp_path, verdict=Verdict.WORKED, commit=False)
    assert last_exercised(tmp_path) == {RUNBOOK: date(2026, 5, 20)}


def test_a_failed_drill_does_not_refresh_the_runbook_and_junk_is_skipped(tmp_path: Path) -> None:
    write_front(tmp_path, "dr-drill-2026-01.md", "code-rollback-argocd", date(2026, 1, 10))
    write_front(tmp_path, "dr-drill-2026-05.md", "code-rollback-argocd", date(2026, 5, 10), verdict="failed")
    (tmp_path / "dr-drill-notes.md").write_text("# just notes, no front matter\n")
    (tmp_path / "dr-drill-bad.md").write_text("---\nrunbook: [unclosed\n---\n")
    (tmp_path / "dr-drill-other.md").write_text("---\ntitle: someone else's front matter\n---\n")
    assert last_exercised(tmp_path) == {"code-rollback-argocd": date(2026, 1, 10)}
    assert len(read_reports(tmp_path)) == 2
    assert last_exercised(tmp_path / "missing") == {}


def test_rotation(tmp_path: Path) -> None:
    today = date(2026, 9, 1)
    assert next_drill(tmp_path, today) == "code-rollback-argocd"
    for month, runbook in enumerate(ROTATION, start=5):
        write_front(tmp_path, f"dr-drill-2026-{month:02d}.md", runbook, date(2026, month, 12))
        expected = ROTATION[(ROTATION.index(runbook) + 1) % len(ROTATION)]
        assert next_drill(tmp_path, today) == expected
    assert next_drill(tmp_path, today) == "code-rollback-argocd"  # repeat after Velero
    # An off-rotation drill (config) does not move the rotation; a report dated in the future is ignored.
    write_front(tmp_path, "dr-drill-2026-09.md", "config-rollback-argocd-app", date(2026, 9, 1))
    write_front(tmp_path, "dr-drill-2027-01.md", "code-rollback-argocd", date(2027, 1, 5))
    assert next_drill(tmp_path, today) == "code-rollback-argocd"


# --------------------------------------------------------------------------- postmortem


def test_postmortem_stub_from_an_incident_recording(tmp_path: Path) -> None:
    path = tmp_path / "incident.cockpit"
    with Recorder(path, RecordingMeta(contexts=("prod-us-east",), started_at=T0)) as rec:
        rec.record("marker", marker_payload("alert", at=T0, text="CatalogP99High"), at(0))
        rec.record_snapshot(PaneSnapshot("argocd", "prod-us-east", argo_app(), FeedStatus(FeedState.OK, T0)), at(1))
        rec.record_snapshot(PaneSnapshot("rollout", "prod-us-east", rollout_view(), FeedStatus(FeedState.OK, T0)),
                            at(1))
        rec.record_snapshot(latency(0.84, 2, "prod-us-east"), at(2))
        rec.record("decision", {"leaf": {"id": "code", "title": "CODE rollback", "layer": "code",
                                         "runbook": "code-rollback-rollouts"}, "path": [], "ask": "", "chosen": True},
                   at(30))
        rec.record("step", step_payload("code-rollback-rollouts", "abort", "asked", title="Abort the canary"), at(40))
        rec.record("step", step_payload("code-rollback-rollouts", "abort", "confirmed", title="Abort the canary"),
                   at(45))
        rec.record("gateway", gateway_payload("rollouts.abort", "catalog", "ok", method="PATCH",
                                              path="/apis/argoproj.io/v1alpha1/namespaces/b/rollouts/catalog/status"),
                   at(46))
        rec.record("step", step_payload("code-rollback-rollouts", "abort", "done", title="Abort the canary"), at(50))
        rec.record_snapshot(PaneSnapshot("rollout", "prod-us-east", rollout_view(aborted=True),
                                         FeedStatus(FeedState.OK, at(50))), at(50))
        rec.record_snapshot(latency(0.31, 110, "prod-us-east"), at(110))
    with Player(path) as player:
        stub = postmortem_stub(player)
    assert stub.startswith("# Postmortem: code-rollback-rollouts on prod-us-east, 2026-05-20")
    assert "- **Layer:** code" in stub
    assert "time to mitigate:** 1m 50s" in stub
    assert "history #42 revision d8f3c2a" in stub and "image catalog 1.8.2 → 1.8.3" in stub
    assert "canary ghcr.io/acme/catalog:1.8.3 over stable ghcr.io/acme/catalog:1.8.2" in stub
    abort = "rollouts.abort catalog (PATCH /apis/argoproj.io/v1alpha1/namespaces/b/rollouts/catalog/status)"
    assert f"- 14:00:46 {abort}" in stub
    assert "- 14:00:30 decision chosen: CODE rollback (code layer)" in stub
    assert "## Forward fix" in stub
