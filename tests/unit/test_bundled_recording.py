"""The recording shipped in recordings/ replays on a fresh machine, and its drill report carries the three numbers.

And the upgrade path: a recording written by the schema-1 recorder (kept frozen in tests/fixtures/recordings/)
replays exactly as the schema-1 player read it -- the same state at every moment, the same events, the same drill.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cockpit.drill import analyse_recording, read_reports
from cockpit.recording.format import SCHEMA_VERSION
from cockpit.recording.player import Player

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "recordings"


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


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def test_a_schema_1_recording_replays_exactly_as_the_schema_1_player_read_it():
    golden = json.loads((FIXTURES / "v1-demo-incident-drill.golden.json").read_text())
    with Player(FIXTURES / "v1-demo-incident-drill.cockpit") as player:
        assert player.meta.schema_version == 1 < SCHEMA_VERSION
        assert player.damage is None
        events = list(player.events())
        assert player.count() == golden["count"] == len(events)
        assert [player.start.isoformat(), player.end.isoformat()] == [golden["start"], golden["end"]]
        assert _digest(player.meta) == golden["meta"]
        assert [list(stream) for stream in player.streams] == golden["streams"]
        states = {repr(float(at)): _digest(sorted(player.state_at(float(at)).items())) for at in golden["states"]}
        assert states == golden["states"]
        assert [[e.id, e.ts, e.kind, e.context, e.pane,
                 _digest(json.dumps(e.payload, sort_keys=True)) if e.kind != "snapshot" else None]
                for e in events] == golden["events"]
        assert [[ts, _digest(snap)] for ts, snap in player.snapshots()] == golden["snapshots"]
        assert [e.label for e in player.markers()] == golden["markers"]
        result = analyse_recording(player)
        assert _digest((result.rto, result.rpo, result.human_time)) == golden["drill"]
