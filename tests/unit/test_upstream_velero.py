"""Velero backups and schedules as ``velero backup get`` / ``velero schedule describe`` show them.

Objects: tests/fixtures/upstream/velero/transcribed/describe_and_print.yaml (schedule_describe_test.go
TestDescribeSchedule, backup_describer_test.go TestDescribeBackupSpec).  Rules: pkg/cmd/util/output/backup_printer.go
printBackup / humanReadableTimeFromNow, schedule_printer.go printSchedule.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cockpit.sources.velero import (
    human_time_from_now,
    parse_backup,
    parse_go_duration,
    parse_schedule,
    parse_velero,
    short_human_duration,
)
from cockpit.textsafe import middle_ellipsis
from tests.unit.upstream_render import load, render
from cockpit.widgets.velero_pane import VeleroPane

DATA = load("velero/transcribed/describe_and_print.yaml")
THEN = datetime(2023, 6, 26, 15, 4, 5, tzinfo=timezone.utc)  # a day after the backups were created


@pytest.mark.parametrize("case", DATA["schedules"], ids=[case["test"] for case in DATA["schedules"]])
def test_schedule_as_velero_describes_it(case: dict[str, Any]) -> None:
    """schedule_describe_test.go TestDescribeSchedule: Phase, Validation errors, Schedule, Last Backup."""
    schedule = parse_schedule(case["object"])
    want = case["expect"]
    assert schedule.status == want["Phase"]
    assert list(schedule.validation_errors) == want["Validation errors"]
    assert schedule.schedule == want["Schedule"]
    last = schedule.last_backup.strftime("%Y-%m-%dT%H:%M:%SZ") if schedule.last_backup else None
    assert last == want["Last Backup"]
    text = " ".join(render(VeleroPane(6), parse_velero([], [case["object"]]), now=THEN).split())
    if want["Phase"] == "FailedValidation":
        assert "schedule-1 FailedValidation" in text
        assert "schedule-1 validation errors: validation failed" in text
        assert "1 sched✗" in text  # the summary
    else:
        assert "FailedValidation" not in text and "validation errors" not in text


@pytest.mark.parametrize("case", DATA["backups"], ids=[case["test"] for case in DATA["backups"]])
def test_backup_as_velero_backup_get(case: dict[str, Any]) -> None:
    """backup_printer.go printBackup: STATUS (New / Deleting), EXPIRES (expiration, else creation + TTL),
    STORAGE LOCATION; the TTL is TestDescribeBackupSpec's 72h."""
    backup = parse_backup(case["object"])
    want = case["expect"]
    assert backup.status == want["status"]
    expires = backup.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") if backup.expires_at else None
    assert expires == want["expires"]
    assert backup.storage_location == want["storage_location"]
    text = " ".join(render(VeleroPane(6), parse_velero([case["object"]], []), width=140, now=THEN).split())
    assert want["status"] in text
    if want["expires"]:
        assert human_time_from_now(backup.expires_at, THEN) == "2d"  # ShortHumanDuration: 48h is not < 48h
        assert " 2d " in f" {text} "
    else:
        assert " n/a " in f" {text} "
    if want["storage_location"]:
        assert want["storage_location"] in text


def test_go_durations_and_short_human_duration() -> None:
    """metav1.Duration strings as Velero writes spec.ttl; apimachinery ShortHumanDuration as the printer uses."""
    assert parse_go_duration("72h0m0s") == 72 * 3600
    assert parse_go_duration("720h0m0s") == 30 * 86400
    assert parse_go_duration("1h30m") == 5400 and parse_go_duration("0s") == 0
    assert parse_go_duration("72") is None and parse_go_duration(72) is None
    assert [short_human_duration(s) for s in (-5, -0.5, 59, 3599, 47 * 3600, 29 * 86400, 800 * 86400)] == [
        "<invalid>", "0s", "59s", "59m", "47h", "29d", "2y"]
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert human_time_from_now(None, now) == "n/a"
    assert human_time_from_now(now - timedelta(hours=3), now) == "3h ago"


def _backups(count: int) -> list[dict[str, Any]]:
    return [{"metadata": {"name": f"hourly-cnpg-orders-2026052014{minute:02d}03",
                          "creationTimestamp": f"2026-05-20T14:{minute:02d}:03Z"},
             "spec": {"storageLocation": "default", "ttl": "720h0m0s"},
             "status": {"phase": "Completed", "startTimestamp": f"2026-05-20T14:{minute:02d}:03Z"}}
            for minute in range(count)]


class _SizedVeleroPane(VeleroPane):
    """The pane as laid out at a given body width (no app needed)."""

    body_width = 80

    @property
    def content_region(self):  # type: ignore[override]
        from textual.geometry import Region

        return Region(0, 0, self.body_width, 20)


@pytest.mark.parametrize("width", [36, 40, 50, 64, 80, 120, 200])
def test_backup_names_keep_their_unique_tail_at_every_width(width: int) -> None:
    """Names differ only in their timestamp (backup_printer.go timestampSuffix); the pane shortens them in the
    middle and keeps the 14-digit stamp whole, so each row stays distinct (the restore runbook asks for the
    exact name, which the zoomed pane shows in full)."""
    now = datetime(2026, 5, 20, 15, 0, tzinfo=timezone.utc)
    view = parse_velero(_backups(8), [])
    pane = _SizedVeleroPane(6)
    pane.body_width = width
    text = render(pane, view, width=width, now=now)
    for backup in view.backups:
        assert backup.name[-14:] in text, (width, backup.name)


def test_middle_ellipsis() -> None:
    assert middle_ellipsis("hourly-cnpg-20260520020003", 16) == "hourly…520020003"
    assert middle_ellipsis("short", 16) == "short"
    assert middle_ellipsis("\x1b[31mred", 40) == "\\x1b[31mred"  # still literal, controls made visible


def test_storage_location_unavailable_is_shown() -> None:
    location = {"metadata": {"name": "default"}, "spec": {"provider": "aws", "objectStorage": {"bucket": "b"}},
                "status": {"phase": "Unavailable", "message": "BackupStorageLocation \"default\" is unavailable: "
                                                              "rpc error: NoSuchBucket"}}
    view = parse_velero(_backups(1), [], [location])
    assert [(loc.name, loc.phase, loc.bucket) for loc in view.locations] == [("default", "Unavailable", "b")]
    text = render(VeleroPane(6), view, width=120, now=datetime(2026, 5, 20, 15, tzinfo=timezone.utc))
    assert "storage location default Unavailable" in text and "NoSuchBucket" in text
    assert "1 BSL✗" in text.splitlines()[-1]


def test_the_backup_watch_keeps_the_parsed_row_not_the_raw_object() -> None:
    """The Backup watch's transform (``feeds.compact_backup``) keeps what identifies a Backup and its parsed row;
    the pane's rows, built from compacted objects, are the full parse's, in its order (upstream examples, a
    hostile object, one without a resourceVersion)."""
    from cockpit.feeds import PARSED, ParsedBackups, compact_backup

    upstream = [case["object"] for case in DATA["backups"]]
    objects = [{**obj, "metadata": {**obj["metadata"], "name": f"{obj['metadata']['name']}-{index}"}}
               for index, obj in enumerate(upstream)] + [
        {"metadata": {"name": "junk-spec", "namespace": "velero", "resourceVersion": "9"}, "spec": "junk",
         "status": {"phase": ["not", "text"]}},
        {"metadata": {"name": "no-version", "namespace": "velero"}, "status": {"phase": "Failed"}},
        {"metadata": "junk"},
    ]
    items = {f"velero/{index}": obj for index, obj in enumerate(objects)}
    compacted = {key: compact_backup(obj) for key, obj in items.items()}
    for key, obj in items.items():
        kept = compacted[key]
        assert kept[PARSED] == parse_backup(obj)
        assert set(kept) == {"metadata", PARSED} and set(kept["metadata"]) <= {"name", "namespace", "resourceVersion"}
    assert ParsedBackups().newest_first(compacted) == parse_velero(objects, []).backups
