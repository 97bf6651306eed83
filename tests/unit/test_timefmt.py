"""cockpit.timefmt: API timestamps in, kubectl-style ages out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit import timefmt
from cockpit.timefmt import age, ago, duration, parse_time

UTC = timezone.utc
NOW = datetime(2026, 5, 20, 14, 27, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-20T14:22:13Z", datetime(2026, 5, 20, 14, 22, 13, tzinfo=UTC)),
        ("2026-05-20t14:22:13z", datetime(2026, 5, 20, 14, 22, 13, tzinfo=UTC)),
        ("2025-04-25T20:44:38.190232Z", datetime(2025, 4, 25, 20, 44, 38, 190232, tzinfo=UTC)),
        ("2025-04-25T20:44:38.5Z", datetime(2025, 4, 25, 20, 44, 38, 500000, tzinfo=UTC)),
        ("2025-04-25T20:44:38.123456789Z", datetime(2025, 4, 25, 20, 44, 38, 123456, tzinfo=UTC)),
        ("2026-05-20T19:52:13+05:30", datetime(2026, 5, 20, 14, 22, 13, tzinfo=UTC)),
        ("2026-05-20T09:22:13-05:00", datetime(2026, 5, 20, 14, 22, 13, tzinfo=UTC)),
        # CNPG recoveryTarget.targetTime, PostgreSQL form (the seed's PITR target)
        ("2026-05-20 13:43:00.000000+00", datetime(2026, 5, 20, 13, 43, tzinfo=UTC)),
        ("2020-11-26 15:22:00.00000+00", datetime(2020, 11, 26, 15, 22, tzinfo=UTC)),
        ("2026-05-20 13:43:00", datetime(2026, 5, 20, 13, 43, tzinfo=UTC)),  # no zone = UTC
        # Go's time.String(), as in CNPG certificate expirations
        ("2025-07-24 20:39:24 +0000 UTC", datetime(2025, 7, 24, 20, 39, 24, tzinfo=UTC)),
    ],
)
def test_parse_time_accepts_rfc3339_and_postgres(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "2026-05-20",  # a date is not a point in time
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-05-20T25:00:00Z",
        "2026-05-20T14:22:13+24:00",
        "0001-01-01T00:00:00+05:00",  # would fall before year 1 in UTC
        "2026-W21-3",  # ISO week dates are not RFC 3339
        "20260520T142213Z",
        "2026-05-20T14:22:13Z[@click=quit]",
        "\x1b[31m2026-05-20T14:22:13Z",
        "2" * 10_000,
        12345,
        1.5,
        True,
        [],
        {},
    ],
)
def test_parse_time_returns_none_for_anything_else(value: object) -> None:
    assert parse_time(value) is None


@pytest.mark.parametrize(
    "text",
    [
        "2026-05-20T14:22:13Z",
        "2026-05-20T14:22:13",
        "2026-05-20 14:22:13Z",
        "2026-05-20T14:22:13.5Z",
        "2026-05-20T14:22:13.12Z",  # fractions of every length: 3.11's fromisoformat takes them, older ones did not
        "2026-05-20T14:22:13.1234Z",
        "2026-05-20T14:22:13.123456789012Z",
        "2026-05-20T14:22:13.000",
    ],
)
def test_the_common_shapes_take_the_fast_path(text: str) -> None:
    fast = timefmt._parse_common(text)
    assert fast is not None and fast == timefmt._parse_any(text) == parse_time(text) and fast.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-05-20T14:22:13,5Z",  # fromisoformat takes a comma fraction; the regex (and so the cockpit) does not
        "2026-05-20T14:22:13+05:30:15",  # an offset with seconds: same
        "2026-05-20T14:22Z",  # no seconds
        "2026-W21-3T14:22:13Z",
        "2026-05-20T14:22:13.1234567890123Z",  # 13 fraction digits
        "2026-05-20T14:22:13+05:30",  # offsets are right, but the regex's job
        "2026-05-20t14:22:13z",
        " 2026-05-20T14:22:13Z",
        "２０２６-05-20T14:22:13Z",  # non-ASCII digits
    ],
)
def test_odd_shapes_are_left_to_the_regex(text: str) -> None:
    assert timefmt._parse_common(text) is None
    assert parse_time(text) == timefmt._parse_any(text)


_PIECES = st.sampled_from(["0", "1", "2", "5", "9", "-", ":", "T", "t", " ", ".", ",", "Z", "z", "+", "W", "２"])


def _timestamps() -> st.SearchStrategy[str]:
    """RFC 3339 timestamps and near misses: every position mutated, fractions of 0-14 digits, every zone form."""
    base = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S"))
    fraction = st.integers(0, 14).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)).map(
        lambda digits: "." + digits if digits else "")
    zone = st.sampled_from(["", "Z", "z", "+00:00", "-05:00", "+0530", "+05", " +0000 UTC", "+23:59", "+24:00"])
    text = st.builds(lambda b, f, z: b + f + z, base, fraction, zone)

    def mutate(value: str, edits: list[tuple[int, str]]) -> str:
        chars = list(value)
        for position, piece in edits:
            chars[position % len(chars)] = piece
        return "".join(chars)

    return st.one_of(text, st.builds(mutate, text, st.lists(st.tuples(st.integers(0, 40), _PIECES), max_size=2)))


@settings(max_examples=800, deadline=None)
@given(_timestamps())
def test_the_fast_path_never_disagrees_with_the_regex(text: str) -> None:
    assert parse_time(text) == timefmt._parse_any(text)
    parsed = parse_time(text)
    assert parsed is None or parsed.tzinfo is UTC


def test_parse_time_normalises_datetimes() -> None:
    aware = datetime(2026, 5, 20, 16, 22, tzinfo=timezone(timedelta(hours=2)))
    assert parse_time(aware) == datetime(2026, 5, 20, 14, 22, tzinfo=UTC)
    assert parse_time(aware).tzinfo is UTC  # type: ignore[union-attr]
    naive = datetime(2026, 5, 20, 14, 22)
    assert parse_time(naive) == datetime(2026, 5, 20, 14, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (12, "12s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (252, "4m12s"),
        (599, "9m59s"),
        (600, "10m"),
        (45 * 60, "45m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 600, "3h10m"),
        (8 * 3600, "8h"),
        (47 * 3600 + 3599, "47h"),
        (48 * 3600, "2d"),
        (5 * 86400 + 3 * 3600, "5d3h"),
        (8 * 86400, "8d"),
        (400 * 86400, "400d"),
        (800 * 86400, "2y70d"),
        (3000 * 86400, "8y"),
    ],
)
def test_age_follows_kubectl(seconds: int, expected: str) -> None:
    assert age(NOW - timedelta(seconds=seconds), NOW) == expected


def test_age_of_future_and_unknown_times() -> None:
    assert age(NOW + timedelta(seconds=30), NOW) == "0s"
    assert age(None, NOW) == "—"


def test_ago() -> None:
    assert ago(NOW - timedelta(seconds=12), NOW) == "12s ago"
    assert ago(NOW - timedelta(minutes=4, seconds=47), NOW) == "4m47s ago"
    assert ago(NOW + timedelta(seconds=12), NOW) == "in 12s"  # clock skew stays visible
    assert ago(None, NOW) == "—"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0s"),
        (12, "12s"),
        (252, "4m 12s"),
        (600, "10m"),
        (3 * 3600 + 600, "3h 10m"),
        (5 * 86400 + 3 * 3600, "5d 3h"),
        (5 * 86400 + 30 * 60, "5d"),  # the unit below days is 0 hours: dropped
        (2 * 86400, "2d"),
        (90.9, "1m 30s"),
        (timedelta(hours=1, minutes=1), "1h 1m"),
        (-5, "0s"),
        (None, "—"),
        (float("nan"), "—"),
        (float("inf"), "—"),
        ("12", "—"),
        (True, "—"),
    ],
)
def test_duration(value: object, expected: str) -> None:
    assert duration(value) == expected  # type: ignore[arg-type]
