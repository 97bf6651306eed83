"""Velero ``Backup`` and ``Schedule`` objects (raw dicts) -> :class:`VeleroView`.

Pure functions, no I/O, never raise; strings are kept as received.  Velero marks most status
fields ``nullable``, so ``null`` is an ordinary value here, not an error.  Backups are listed
newest first by when they started (creation time for backups that never started), which is the
order an on-call scans when picking a restore point.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cockpit.models import VeleroBackup, VeleroRestore, VeleroSchedule, VeleroView
from cockpit.timefmt import parse_time
from cockpit.sources.raw import as_map as _map, as_text as _text, as_count as _count, as_items as _objects

SCHEDULE_LABEL = "velero.io/schedule-name"
STORAGE_LOCATION_LABEL = "velero.io/storage-location"
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def parse_backup(obj: Any) -> VeleroBackup:
    """A :class:`VeleroBackup`; the storage location falls back to Velero's label."""
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    labels = _map(meta.get("labels"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    return VeleroBackup(
        name=_text(meta.get("name")),
        phase=_text(status.get("phase")),
        schedule=_text(labels.get(SCHEDULE_LABEL)),
        started_at=parse_time(status.get("startTimestamp")),
        completed_at=parse_time(status.get("completionTimestamp")),
        expiration=parse_time(status.get("expiration")),
        included_namespaces=_strings(spec.get("includedNamespaces")),
        errors=_count(status.get("errors")),
        warnings=_count(status.get("warnings")),
        failure_reason=_text(status.get("failureReason")),
        storage_location=_text(spec.get("storageLocation")) or _text(labels.get(STORAGE_LOCATION_LABEL)),
        created_at=parse_time(meta.get("creationTimestamp")),
    )


def parse_schedule(obj: Any) -> VeleroSchedule:
    """A :class:`VeleroSchedule`; its namespaces are those of the backup template."""
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    return VeleroSchedule(
        name=_text(meta.get("name")),
        phase=_text(status.get("phase")),
        schedule=_text(spec.get("schedule")),
        paused=spec.get("paused") is True,
        last_backup=parse_time(status.get("lastBackup")),
        included_namespaces=_strings(_map(spec.get("template")).get("includedNamespaces")),
    )


def parse_velero(backups: Any, schedules: Any) -> VeleroView:
    """Backups newest first (start time, else creation time, then name); schedules by name."""
    parsed = [parse_backup(item) for item in _objects(backups)]
    parsed.sort(key=lambda backup: (backup.started_at or backup.created_at or _EPOCH, backup.name), reverse=True)
    listed = [parse_schedule(item) for item in _objects(schedules)]
    listed.sort(key=lambda schedule: schedule.name)
    return VeleroView(backups=tuple(parsed), schedules=tuple(listed))


def parse_restore(obj: Any) -> VeleroRestore:
    """A :class:`VeleroRestore` (``velero restore get``'s columns: phase, backup, started, completed, errors)."""
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    return VeleroRestore(
        name=_text(meta.get("name")),
        phase=_text(status.get("phase")),
        backup=_text(spec.get("backupName")),
        started_at=parse_time(status.get("startTimestamp")),
        completed_at=parse_time(status.get("completionTimestamp")),
        included_namespaces=_strings(spec.get("includedNamespaces")),
        errors=_count(status.get("errors")),
        warnings=_count(status.get("warnings")),
        failure_reason=_text(status.get("failureReason")),
        created_at=parse_time(meta.get("creationTimestamp")),
    )


def parse_restores(items: Any) -> tuple[VeleroRestore, ...]:
    restores = [parse_restore(item) for item in _objects(items)]
    restores.sort(key=lambda r: (r.created_at or r.started_at or datetime.min.replace(tzinfo=timezone.utc), r.name),
                  reverse=True)
    return tuple(restores)
