"""Start-of-session plumbing shared by the live, demo and drill commands: the recording of the session."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def start_recording(
    settings: Any,
    targets: list[Any],
    *,
    path: str | None = None,
    is_drill: bool = False,
    runbook: str = "",
    now: datetime | None = None,
) -> tuple[Any, str]:
    """(RecordingSink or None, a line for the person: where it records, or why it cannot)."""
    if settings.no_record:
        return None, "not recording (--no-record)"
    from cockpit.recording.format import RecordingError, RecordingMeta, default_path
    from cockpit.recording.recorder import Recorder
    from cockpit.recording.sink import RecordingSink

    start = now or datetime.now(timezone.utc)
    contexts = tuple(t.name for t in targets)
    meta = RecordingMeta(
        contexts=contexts,
        targets={
            "namespace": {t.name: t.namespace for t in targets},
            "production": {t.name: t.production for t in targets},
            "app": settings.app, "rollout": settings.rollout, "cnpg_cluster": settings.cnpg_cluster,
            "argocd_namespace": settings.argocd_namespace, "velero_namespace": settings.velero_namespace,
            "promql": settings.effective_promql(), "slo": settings.slo,
        },
        started_at=start,
        is_drill=is_drill,
        runbook=runbook,
        non_production=not any(t.production for t in targets),
    )
    target = Path(path).expanduser() if path else default_path(start, contexts)
    directory = getattr(settings, "recording_dir", None)
    if not path and directory:
        target = Path(directory).expanduser() / target.name
    group = getattr(settings, "recording_group", None)
    try:
        recorder = Recorder(target, meta, group=group)
    except RecordingError as err:
        return None, f"NOT recording: {err}"
    shared = f" ({recorder.shared})" if group and recorder.shared else ""
    return RecordingSink(recorder), f"recording to {target}{shared}"
