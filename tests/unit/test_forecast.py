"""The recovery forecast from drill reports and recordings: p50/p90 per runbook, each recovery counted once,
failed drills and unreadable files left out."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from cockpit.forecast import collect, forecast, percentile

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "recordings" / "demo-incident-drill.cockpit"


def report(directory: Path, name: str, runbook: str, rto: object, verdict: str = "worked",
           recording: str | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["---", "cockpit-drill: 1", f"runbook: {runbook}", "date: 2026-11-28",
             "started_at: '2026-11-28T01:54:59+00:00'", f"verdict: {verdict}", f"rto_seconds: {rto}"]
    if recording:
        lines.append(f"recording: {recording}")
    (directory / name).write_text("\n".join(lines + ["---", "", "# DR drill", ""]), encoding="utf-8")


def test_percentiles_interpolate_between_ranks():
    assert percentile([60, 120, 300], 0.5) == 120
    assert percentile([60, 120, 300], 0.9) == 120 + (300 - 120) * 0.8
    assert percentile([42], 0.9) == 42


def test_forecast_from_reports(tmp_path):
    reports = tmp_path / "drills"
    report(reports, "dr-drill-2026-08.md", "code-rollback-argocd", 60)
    report(reports, "dr-drill-2026-09.md", "code-rollback-argocd", 300, verdict="worked with changes")
    report(reports, "dr-drill-2026-10.md", "code-rollback-argocd", 120)
    report(reports, "dr-drill-2026-11.md", "code-rollback-argocd", 5, verdict="failed")  # did not work: left out
    report(reports, "dr-drill-2026-12.md", "data-rollback-velero", 1800)
    report(reports, "dr-drill-2027-01.md", "code-rollback-argocd", "null")  # never mitigated: no number
    found = forecast("code-rollback-argocd", reports, None)
    assert [s.seconds for s in found.samples] == [60.0, 300.0, 120.0]
    assert (found.p50, found.p90) == (120.0, 264.0)
    assert found.text == "recovered in p50 2m, p90 4m 24s (3 drills)"
    assert found.progress(timedelta(minutes=3)) == "3m elapsed, past the p50 (p50 2m, p90 4m 24s; 3 drills)"
    assert "past the p90" in found.progress(timedelta(minutes=10))
    assert forecast("code-rollback-helm", reports, None) is None


def test_recordings_count_once_and_as_incidents_or_drills(tmp_path):
    reports, recordings = tmp_path / "drills", tmp_path / "recordings"
    recordings.mkdir()
    shutil.copy(BUNDLED, recordings / "demo-incident-drill.cockpit")
    shutil.copy(BUNDLED, recordings / "another.cockpit")
    (recordings / "garbage.cockpit").write_bytes(b"not sqlite at all" * 10)
    report(reports, "dr-drill-2026-11.md", "code-rollback-rollouts", 30, recording="demo-incident-drill.cockpit")
    samples = collect(reports, recordings)
    assert [(s.kind, s.source) for s in samples] == [("drill", "dr-drill-2026-11.md"), ("drill", "another.cockpit")]
    found = forecast("code-rollback-rollouts", reports, recordings)
    recorded = found.samples[1].seconds  # the bundled drill's own time from page to mitigated
    assert len(found.samples) == 2 and 0 < recorded < 30 * 60
    assert found.p50 == (30 + recorded) / 2


def test_missing_directories_give_no_forecast(tmp_path):
    assert forecast("code-rollback-argocd", tmp_path / "nope", tmp_path / "nothing") is None
    assert forecast("code-rollback-argocd", None, None) is None
