"""Velero ``Backup`` and ``Schedule`` objects (raw dicts) -> :class:`VeleroView`.

Pure functions, no I/O, never raise; strings are kept as received.  Velero marks most status
fields ``nullable``, so ``null`` is an ordinary value here, not an error.  Backups are listed
newest first by when they started (creation time for backups that never started), which is the
order an on-call scans when picking a restore point.

What each backup shows follows ``velero backup get`` (vmware-tanzu/velero pkg/cmd/util/output/backup_printer.go
``printBackup``): STATUS is the phase, ``New`` when empty, ``Deleting`` once a deletion timestamp is set; EXPIRES
is ``status.expiration``, else creation + ``spec.ttl``; STORAGE LOCATION is ``spec.storageLocation``.  Schedules
follow schedule_printer.go ``printSchedule`` and schedule_describer.go (phase ``FailedValidation`` with its
validation errors).  :func:`short_human_duration` is apimachinery's ``ShortHumanDuration`` that the printer uses.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from typing import Any

from cockpit.models import VeleroBackup, VeleroLocation, VeleroRestore, VeleroSchedule, VeleroView
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
        ttl_seconds=parse_go_duration(spec.get("ttl")),
        deleting=meta.get("deletionTimestamp") not in (None, ""),
        validation_errors=_strings(status.get("validationErrors")),
        queue_position=_count(status.get("queuePosition")),
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
        validation_errors=_strings(status.get("validationErrors")),
        storage_location=_text(_map(spec.get("template")).get("storageLocation")),
        ttl_seconds=parse_go_duration(_map(spec.get("template")).get("ttl")),
        created_at=parse_time(meta.get("creationTimestamp")),
    )


def parse_location(obj: Any) -> VeleroLocation:
    """A :class:`VeleroLocation` from a ``BackupStorageLocation``."""
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    object_storage = _map(spec.get("objectStorage"))
    return VeleroLocation(
        name=_text(meta.get("name")),
        phase=_text(status.get("phase")),
        provider=_text(spec.get("provider")),
        bucket=_text(object_storage.get("bucket")),
        prefix=_text(object_storage.get("prefix")),
        default=spec.get("default") is True,
        access_mode=_text(spec.get("accessMode")) or "ReadWrite",
        last_validated=parse_time(status.get("lastValidationTime")),
        message=_text(status.get("message")),
    )


_GO_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(value: Any) -> float | None:
    """Seconds from a Go ``time.Duration`` string as metav1.Duration serialises it (``720h0m0s``, ``1.5h``,
    ``-30m``, ``0s``); None for anything else.  Never raises."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    return _go_duration(value)


@functools.lru_cache(maxsize=256)
def _go_duration(value: str) -> float | None:
    """parse_go_duration of a string: a platform's ten thousand backups share a handful of TTLs."""
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text == "0":
        return 0.0
    position, total = 0, 0.0
    while position < len(text):
        match = _GO_DURATION.match(text, position)
        if match is None or match.group(1) in ("", "."):
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    return sign * total if position else None


def short_human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration ``ShortHumanDuration``: ``<invalid>``, ``0s``, ``42s``, ``5m``,
    ``47h``, ``29d``, ``2y``."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)}h"
    if seconds < 365 * 86400:
        return f"{int(seconds // 86400)}d"
    return f"{int(seconds // (365 * 86400))}y"


def human_time_from_now(when: datetime | None, now: datetime) -> str:
    """backup_printer.go ``humanReadableTimeFromNow``: ``n/a`` without a time, ``29d`` ahead, ``2h ago`` past."""
    if when is None:
        return "n/a"
    delta = (when - now).total_seconds()
    if delta >= 0:
        return short_human_duration(delta)
    return f"{short_human_duration(-delta)} ago"


def parse_velero(backups: Any, schedules: Any, locations: Any = ()) -> VeleroView:
    """Backups newest first (start time, else creation time, then name); schedules and locations by name."""
    parsed = [parse_backup(item) for item in _objects(backups)]
    parsed.sort(key=lambda backup: (backup.started_at or backup.created_at or _EPOCH, backup.name), reverse=True)
    listed = [parse_schedule(item) for item in _objects(schedules)]
    listed.sort(key=lambda schedule: schedule.name)
    places = sorted((parse_location(item) for item in _objects(locations)), key=lambda location: location.name)
    return VeleroView(backups=tuple(parsed), schedules=tuple(listed), locations=tuple(places))


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
        validation_errors=_strings(status.get("validationErrors")),
    )


def parse_restores(items: Any) -> tuple[VeleroRestore, ...]:
    restores = [parse_restore(item) for item in _objects(items)]
    restores.sort(key=lambda r: (r.created_at or r.started_at or datetime.min.replace(tzinfo=timezone.utc), r.name),
                  reverse=True)
    return tuple(restores)
