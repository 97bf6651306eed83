"""`cockpit replay FILE`: the same dashboard, tree and runbook screens fed by a recording — read-only, offline.

The player only reads the file: no watch, no poll, no evidence gathering is started, the write gateway refuses
every action ("replay of a recording"), and no network connection is opened at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.config import ConfigError

REPLAY_REASON = "replay of a recording"


def open_player(path: str) -> Any:
    from cockpit.recording.format import RecordingError
    from cockpit.recording.player import Player

    try:
        return Player(Path(path).expanduser())
    except RecordingError as err:
        raise ConfigError(f"cannot replay {path}: {err}") from None


def replay_targets(player: Any) -> list[Any]:
    from cockpit.session import ContextTarget

    meta = player.meta
    targets = meta.targets if isinstance(meta.targets, dict) else {}
    namespaces = targets.get("namespace") if isinstance(targets.get("namespace"), dict) else {}
    production = targets.get("production") if isinstance(targets.get("production"), dict) else {}
    contexts = meta.contexts or tuple(sorted({context for context, _ in player.streams})) or ("recorded",)
    return [
        ContextTarget(
            name=name,
            kubeconfig=Path("/nonexistent"),
            namespace=str(namespaces.get(name, "")),
            production=bool(production.get(name, False)),
            read_only=True,
            prometheus_url=None,
            note=f"REPLAY — READ-ONLY · {Path(player.path).name}",
        )
        for name in contexts
    ]


def replay_session(settings: Any, player: Any) -> Any:
    """A session that replays ``player``'s recording: read-only, offline, its clock at the recorded time."""
    import dataclasses

    from cockpit.clock import FixedClock
    from cockpit.session import open_session

    targets = replay_targets(player)
    slo = player.meta.targets.get("slo") if isinstance(player.meta.targets, dict) else None
    if isinstance(slo, (int, float)) and not isinstance(slo, bool):
        from cockpit.config import RANGES

        if RANGES["slo"][0] <= slo <= RANGES["slo"][1]:  # a recording is untrusted: out of range, keep ours
            settings = dataclasses.replace(settings, slo=float(slo))
    return open_session(settings, targets, clock=FixedClock(player.start), player=player,
                        read_only_reason=REPLAY_REASON)
