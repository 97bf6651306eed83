"""A Backup list page decoded straight into rows (cockpit.sources.velero_pages) says exactly what the general path
says -- ``json.loads`` of the page, then :func:`cockpit.feeds.compact_backup` of each item -- or steps aside (None).

Held to it on upstream's Backup objects (tests/fixtures/upstream/velero, ../shared/crds/examples/velero via the
fixtures that restate them) and on thousands of pages mutated at random: every field the parser reads given
every kind of JSON value, fields deleted, duplicated keys, unknown fields of any depth, invalid UTF-8, escapes.
"""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.scale import backup as scale_backup
from cockpit.feeds import PARSED, compact_backup, decode_backup_page
from cockpit.models import VeleroBackup
from cockpit.sources.kube import VELERO_BACKUPS, kind_matches
from cockpit.sources.velero_pages import backup_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upstream" / "velero" / "transcribed"
NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=timezone.utc)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        text = value.isoformat()
        return text.replace("+00:00", "Z") if isinstance(value, datetime) else text
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def upstream_backups() -> list[dict[str, Any]]:
    found = []
    for name in ("describe_and_print.yaml", "phases_and_locations.yaml"):
        data = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
        found += [_plain(case["object"]) for case in data.get("backups", [])]
    return found


def page_bytes(objects: list[Any], **extra: Any) -> bytes:
    body = {"apiVersion": "velero.io/v1", "kind": "BackupList", "metadata": {"resourceVersion": "42"}, "items": objects}
    body.update(extra)
    return json.dumps(body).encode()


def general(raw: bytes) -> tuple[Any, Any, list[dict[str, Any]], set[tuple[Any, Any]]] | str:
    """What the general path makes of the page: its parts, or "error" where KubeContext.list refuses it."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return "error"
    if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
        return "error"
    page = [item for item in data.get("items") or [] if isinstance(item, dict)]
    try:
        kinds = {(item.get("kind"), item.get("apiVersion")) for item in page
                 if item.get("kind") is not None or item.get("apiVersion") is not None}
    except TypeError:  # a kind that is an object: the fast path never answers for it
        kinds = set()
    return data.get("kind"), data.get("metadata"), [compact_backup(item) for item in page], kinds


def assert_same_or_aside(raw: bytes) -> bool:
    """The fast answer equals the general one, or there is no fast answer.  True when the fast path answered."""
    fast = decode_backup_page(raw)
    if fast is None:
        return False
    want = general(raw)
    assert want != "error", raw[:300]
    assert fast[0] == want[0] and fast[1] == want[1] and fast[3] == want[3]
    assert len(fast[2]) == len(want[2])  # the general path drops non-object items: the fast one never sees any
    for got, expected in zip(fast[2], want[2]):
        assert got["metadata"] == expected["metadata"], raw[:300]
        assert type(got["metadata"].get("name", "")) is type(expected["metadata"].get("name", ""))
        assert got[PARSED] == expected[PARSED], raw[:300]
        # made without __init__ (VeleroBackup.from_fields): every field, nothing else, and it hashes like one made
        assert vars(got[PARSED]).keys() == {field.name for field in dataclasses.fields(VeleroBackup)}
        assert hash(got[PARSED]) == hash(expected[PARSED])
        # the datetimes, field by field, as the panes format them (equal instants in another zone would pass ==)
        for field in ("started_at", "completed_at", "expiration", "created_at"):
            a, b = getattr(got[PARSED], field), getattr(expected[PARSED], field)
            assert (a.isoformat() if a else a) == (b.isoformat() if b else b)
    return True


def test_upstream_backups_take_the_fast_path_and_say_the_same() -> None:
    objects = upstream_backups()
    assert len(objects) >= 10
    raw = page_bytes(objects)
    assert assert_same_or_aside(raw)  # upstream's objects are all plain: the fast path answers
    assert [row[PARSED].name for row in decode_backup_page(raw)[2]] == [obj["metadata"]["name"] for obj in objects]


def test_a_platform_page_takes_the_fast_path() -> None:
    objects = [scale_backup(index, NOW) for index in range(500)]
    assert assert_same_or_aside(page_bytes(objects))
    assert assert_same_or_aside(page_bytes(objects, metadata={"resourceVersion": "7", "continue": "abc"}))


ODD_VALUES: list[Any] = [
    None, "", "x", "Completed", "2026-05-20T14:22:13Z", "2026-05-20T14:22:13+01:00", "2026-05-20 14:22:13+02",
    "2026-05-20t14:22:13z", "2026-05-20T14:22:13.123456789Z", " 2026-05-20T14:22:13Z", "720h0m0s", "-1.5h", "0",
    0, 1, -3, 2 ** 70, True, False, 1.0, 2.5, [], ["tenant-a"], ["a", 1], [None], {}, {"a": "b"}, {"a": 1},
    "\u202etxet", "x\u0000y", "\x1b[31mred", "é", "\U0001f4a5",
]
READ_FIELDS = [
    ("metadata",), ("metadata", "name"), ("metadata", "namespace"), ("metadata", "resourceVersion"),
    ("metadata", "labels"), ("metadata", "labels", "velero.io/schedule-name"),
    ("metadata", "labels", "velero.io/storage-location"), ("metadata", "labels", "other"),
    ("metadata", "creationTimestamp"), ("metadata", "deletionTimestamp"), ("spec",), ("spec", "includedNamespaces"),
    ("spec", "storageLocation"), ("spec", "ttl"), ("status",), ("status", "phase"), ("status", "startTimestamp"),
    ("status", "completionTimestamp"), ("status", "expiration"), ("status", "errors"), ("status", "warnings"),
    ("status", "failureReason"), ("status", "validationErrors"), ("status", "queuePosition"), ("kind",),
    ("apiVersion",), ("status", "progress"), ("spec", "hooks"), ("metadata", "managedFields"),
]


def _mutate(obj: dict[str, Any], rng: random.Random) -> Any:
    path = rng.choice(READ_FIELDS)
    target: Any = obj
    for key in path[:-1]:
        if not isinstance(target, dict):
            return obj
        target = target.setdefault(key, {}) if rng.random() < 0.5 else target.get(key)
    if not isinstance(target, dict):
        return obj
    roll = rng.random()
    if roll < 0.15:
        target.pop(path[-1], None)
    elif roll < 0.2:  # deep nesting inside a field
        value: Any = "deep"
        for _ in range(rng.choice([5, 50, 600])):
            value = [value] if rng.random() < 0.5 else {"d": value}
        target[path[-1]] = value
    else:
        target[path[-1]] = rng.choice(ODD_VALUES)
    if rng.random() < 0.03:
        return rng.choice(ODD_VALUES)  # the item itself is not an object
    return obj


def _duplicate_keys(text: str, rng: random.Random) -> str:
    """Give a key a second value in the JSON text (json.loads and msgspec both keep the last)."""
    for key in ('"phase": ', '"name": ', '"startTimestamp": ', '"errors": ', '"labels": ', '"status": '):
        if key in text and rng.random() < 0.3:
            value = json.dumps(rng.choice(ODD_VALUES))
            at = text.index(key)
            text = text[:at] + key + value + ", " + text[at:]
    return text


@pytest.mark.parametrize("seed", range(8))
def test_mutated_pages_say_the_same_or_take_the_general_path(seed: int) -> None:
    rng = random.Random(seed)
    base = upstream_backups() + [scale_backup(index, NOW) for index in range(40)]
    fast = 0
    for _ in range(250):
        items = [json.loads(json.dumps(rng.choice(base))) for _ in range(rng.randint(0, 6))]
        items = [_mutate(item, rng) if rng.random() < 0.7 else item for item in items]
        text = json.dumps(items)
        if rng.random() < 0.3:
            text = _duplicate_keys(text, rng)
        try:
            objects = json.loads(text)
        except ValueError:
            continue
        extra: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.05:
            extra["kind"] = rng.choice(ODD_VALUES)
        elif roll < 0.1:
            extra["metadata"] = rng.choice(ODD_VALUES)
        elif roll < 0.13:
            extra["items"] = rng.choice([None, {}, "x", 3])
        raw = page_bytes(objects, **extra)
        fast += assert_same_or_aside(raw)
    assert fast > 50  # the fast path is taken for most pages whose odd values are in fields it skips or allows


@pytest.mark.parametrize("raw", [
    b"", b"null", b"[]", b"{}", b'{"items": null}', b'{"items": {}}', b'{"items": [1, "x", null]}',
    b'\xef\xbb\xbf{"items": []}', b'{"items": [{"metadata": {"name": "\xff"}}]}',
    b'{"items": [{"metadata": {"name": "\\ud800"}}]}', b'{"items": [{"status": {"errors": 1e400}}]}',
    b'{"items": [{"status": {"phase": "x"}}]} trailing', b'{"items": [{"x": NaN}]}',
    b'{"items": [{"spec": ' + b"[" * 100000 + b"]" * 100000 + b"}]}",
    '{"items": [{"metadata": {"name": "b"}}]}'.encode("utf-16"),
])
def test_odd_bytes_take_the_general_path_or_match_it(raw: bytes) -> None:
    assert backup_rows(raw, PARSED) is None or assert_same_or_aside(raw)


def test_items_of_another_kind_are_declared_for_the_list_to_refuse() -> None:
    objects = [scale_backup(0, NOW), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}]
    decoded = decode_backup_page(page_bytes(objects))
    assert decoded is not None
    assert not all(kind_matches({"kind": kind, "apiVersion": version}, VELERO_BACKUPS)
                   for kind, version in decoded[3])
