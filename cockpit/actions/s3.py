"""S3 versioning: bring deleted objects back by removing their delete markers (data-rollback-s3-versioning).

In a versioned bucket a DELETE only stacks a *delete marker* on the object's versions.  Deleting that marker --
``DeleteObject`` with its ``VersionId`` -- makes the previous version the latest again; no data is copied
(seed, "How it works").  Deleting a *real* version would destroy data, so the cockpit only ever sends the
version id of a marker that is the latest version of its key, and re-checks that with a listing right before
sending (the gateway's "dry-run" for S3).

boto3 calls block: build the client once on the main thread (clients are thread-safe, sessions are not), with the
house timeouts (``S3Source`` in ``cockpit.sources.s3`` does exactly that; pass its ``client``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cockpit.actions.gateway import DryRunResult, Outcome
from cockpit.actions.requests import Action, ActionRefused, Risk, S3Write
from cockpit.timefmt import age, parse_time

MAX_KEYS = 1000  # one confirmation restores at most this many objects


@dataclass(frozen=True)
class VersionRow:
    key: str
    version_id: str
    is_latest: bool
    is_delete_marker: bool
    last_modified: datetime | None
    size: int | None


def list_versions(client: Any, bucket: str, prefix: str, *, limit: int = 10_000) -> list[VersionRow]:
    """Every version and delete marker under ``prefix`` (``aws s3api list-object-versions``), newest first per key."""
    rows: list[VersionRow] = []
    try:
        paginator = client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for raw in page.get("Versions", ()):
                rows.append(_row(raw, marker=False))
            for raw in page.get("DeleteMarkers", ()):
                rows.append(_row(raw, marker=True))
            if len(rows) >= limit:
                break
    except Exception as err:  # noqa: BLE001 - botocore errors become words
        raise ActionRefused(f"cannot list versions in s3://{bucket}/{prefix}: {_words(err)}") from None
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    rows.sort(key=lambda row: (row.key, not row.is_latest, -(row.last_modified or epoch).timestamp()))
    return rows


def _row(raw: dict[str, Any], *, marker: bool) -> VersionRow:
    modified = raw.get("LastModified")
    size = raw.get("Size")
    return VersionRow(
        key=str(raw.get("Key", "")),
        version_id=str(raw.get("VersionId", "")),
        is_latest=raw.get("IsLatest") is True,
        is_delete_marker=marker,
        last_modified=parse_time(modified) if modified is not None else None,
        size=None if marker or not isinstance(size, int) else size,
    )


def listing_text(rows: list[VersionRow], now: datetime) -> str:
    """The versions as a person reads them: one line each, delete markers with their age."""
    lines = []
    for row in rows:
        what = "DELETE MARKER" if row.is_delete_marker else f"{row.size if row.size is not None else '?'} bytes"
        when = f"{age(row.last_modified, now)} ago" if row.last_modified else "?"
        latest = " (latest)" if row.is_latest else ""
        lines.append(f"{row.key}  {row.version_id}  {what}  {when}{latest}")
    return "\n".join(lines)


def _restorable(rows: list[VersionRow], key: str) -> tuple[VersionRow, VersionRow] | None:
    """(latest delete marker, the real version under it) for ``key``, or None."""
    mine = [row for row in rows if row.key == key]
    latest = next((row for row in mine if row.is_latest), None)
    if latest is None or not latest.is_delete_marker:
        return None
    previous = next((row for row in mine if not row.is_delete_marker), None)
    return (latest, previous) if previous is not None else None


def undelete(
    client: Any,
    bucket: str,
    key_or_prefix: str,
    *,
    prefix: bool = False,
    since: datetime | None = None,
    endpoint: str = "",
    context: str = "s3",
    user: str = "",
    now: datetime | None = None,
) -> Action:
    """Plan removing the delete marker of ``key`` -- or of every deleted key under a prefix (``prefix=True``).

    ``since`` limits a prefix restore to markers created at or after that time (the bad cleanup run).
    """
    now = now or datetime.now(timezone.utc)
    rows = list_versions(client, bucket, key_or_prefix)
    keys = sorted({row.key for row in rows if prefix or row.key == key_or_prefix})
    writes: list[S3Write] = []
    skipped = 0
    for key in keys:
        pair = _restorable(rows, key)
        if pair is None:
            continue
        marker, _ = pair
        if since is not None and marker.last_modified is not None and marker.last_modified < since:
            skipped += 1
            continue
        writes.append(S3Write(client, endpoint, bucket, key, marker.version_id))
    where = f"s3://{bucket}/{key_or_prefix}"
    if not writes:
        if not any(row.key in keys for row in rows):
            raise ActionRefused(f"nothing at {where}: no versions at all (versioning off, or a wrong key?)")
        raise ActionRefused(f"nothing to restore at {where}: no key there reads as deleted with an earlier version",
                            noop=True)
    if len(writes) > MAX_KEYS:
        raise ActionRefused(f"{len(writes)} deleted keys under {where}: narrow the prefix (at most {MAX_KEYS})")
    shown = [row for row in rows if any(row.key == w.key for w in writes)]
    warnings = ["removing a delete marker brings the previous version back as it was; anything written since "
                "under the same key stays as an older version"]
    if skipped:
        warnings.append(f"{skipped} older delete marker(s) under the prefix are left alone (before {since})")
    target = key_or_prefix if len(writes) > 1 or prefix else writes[0].key
    confirm = target.rstrip("/").rsplit("/", 1)[-1] or bucket
    return Action(
        name="s3.undelete", verb="undelete", kind="S3 objects" if len(writes) > 1 else "S3 object", target=target,
        namespace=bucket, context=context, user=user, writes=tuple(writes), risk=Risk.DESTRUCTIVE,
        warnings=tuple(warnings), confirm=confirm,
        summary=f"remove {len(writes)} delete marker(s) under {where}: the previous versions become current again",
        preview=listing_text(shown[:200], now),
        follow_up="the objects read again at once; check the application sees them",
    )


# --------------------------------------------------------------------------- used by the gateway only


def preview_delete(write: S3Write) -> DryRunResult:
    """The S3 "dry-run": a listing proving the version id is still the latest version and a delete marker."""
    try:
        rows = list_versions(write.client, write.bucket, write.key, limit=1000)
    except ActionRefused as err:
        return DryRunResult(False, str(err))
    pair = _restorable(rows, write.key)
    if pair is None or pair[0].version_id != write.version_id:
        return DryRunResult(False, f"{write.key}: {write.version_id} is no longer the latest delete marker "
                                   "(restored or re-uploaded meanwhile); nothing to do", conflict=True)
    marker, previous = pair
    when = previous.last_modified.isoformat() if previous.last_modified else "?"
    return DryRunResult(True, f"{write.key}: delete marker is the latest version; version {previous.version_id} "
                              f"({previous.size} bytes, {when}) comes back")


def send_delete(write: S3Write) -> tuple[Outcome, str, Any, int | None]:
    """``DeleteObject(Bucket, Key, VersionId=<marker>)``, then a HEAD to show which version reads now."""
    try:
        answer = write.client.delete_object(Bucket=write.bucket, Key=write.key, VersionId=write.version_id)
    except Exception as err:  # noqa: BLE001
        status = getattr(err, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        outcome = Outcome.DENIED if status == 403 else Outcome.FAILED
        return outcome, f"DeleteObject {write.key}: {_words(err)}", None, status
    status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode")
    try:
        head = write.client.head_object(Bucket=write.bucket, Key=write.key)
        restored = str(head.get("VersionId") or "")
    except Exception:  # noqa: BLE001 - the delete succeeded; the check is a courtesy
        restored = ""
    message = f"restored {write.key}" + (f" (version {restored} is current)" if restored else "")
    return Outcome.OK, message, {"key": write.key, "restored_version": restored,
                                 "deleted_marker": write.version_id}, status


def _words(err: Exception) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        if code or message:
            return f"{code} {message}".strip()
    return f"{type(err).__name__}: {err}"
