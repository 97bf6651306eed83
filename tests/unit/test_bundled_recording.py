"""The recording shipped in recordings/ replays on a fresh machine, and its drill report carries the three numbers."""

from __future__ import annotations

from pathlib import Path

from cockpit.drill import analyse_recording, read_reports
from cockpit.recording.player import Player

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def test_bundled_recording_replays():
    with Player(RECORDINGS / "demo-incident-drill.cockpit") as player:
        assert player.damage is None and player.complete
        assert player.meta.is_drill and player.meta.runbook == "code-rollback-rollouts"
        labels = [event.label for event in player.markers()]
        assert any("abort Rollout catalog: ok" in label for label in labels)
        state = player.state_at(player.end)
        rollout = next(snap for (context, pane), snap in state.items() if pane == "rollout")
        assert rollout.data.aborted
        latency = next(snap for (context, pane), snap in state.items() if pane == "latency")
        assert latency.data.value < latency.data.slo_seconds
        result = analyse_recording(player)
        assert result.rto is not None and result.human_time is not None


def test_bundled_drill_report():
    reports = read_reports(RECORDINGS)
    assert [r.runbook for r in reports] == ["code-rollback-rollouts"]
    text = next(RECORDINGS.glob("dr-drill-*.md")).read_text()
    for words in ("RTO actual", "RPO actual", "Human action time", "Did the runbook work?"):
        assert words in text
