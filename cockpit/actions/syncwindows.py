"""Argo CD sync windows: would one block a rollback or sync right now?

The Rollback API does not check sync windows (MECHANICS (a) 6); the controller does, and then leaves the
operation Running with "Sync operation blocked by sync window".  At 3 a.m. that looks like a hung rollback, so
the cockpit evaluates the project's windows itself and says so before anyone confirms.

Semantics follow Argo CD's ``SyncWindows.Matches`` / ``CanSync`` (pkg/apis/application/v1alpha1/types.go):

* a window applies to an app when one of its ``applications``, ``clusters`` (destination name or server) or
  ``namespaces`` globs matches -- or, with ``andOperator: true``, when every one of them that is set matches;
* a window is active when a start of its cron ``schedule`` lies within the last ``duration``;
* an active deny window blocks, unless the sync is manual and every active deny window has ``manualSync``;
* otherwise an active allow window allows; with only inactive allow windows, a manual sync passes when they
  have ``manualSync``, anything else is blocked.

Rollbacks and syncs started from the cockpit are manual.  The cron parser covers the standard five fields
(``*``, lists, ranges, steps, month/day names); anything it cannot parse is reported, never guessed.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

_MAX_SCAN_MINUTES = 7 * 24 * 60  # a window longer than a week is treated as "cannot tell"
_NAMES = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12, "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


class CronError(ValueError):
    pass


def _field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"bad step in {text!r}")
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _number(a), _number(b)
        else:
            start = _number(part)
            end = high if step > 1 else start
        if start < low or end > high or start > end:
            raise CronError(f"value out of range in {text!r}")
        values.update(range(start, end + 1, step))
    return values


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text in _NAMES:
        return _NAMES[text]
    raise CronError(f"not a cron value: {text!r}")


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> "Cron":
        parts = text.split()
        if len(parts) != 5:
            raise CronError(f"expected 5 cron fields, got {len(parts)} in {text!r}")
        weekdays = {0 if day == 7 else day for day in _field(parts[4], 0, 7)}  # 7 is Sunday too
        return cls(
            frozenset(_field(parts[0], 0, 59)), frozenset(_field(parts[1], 0, 23)),
            frozenset(_field(parts[2], 1, 31)), frozenset(_field(parts[3], 1, 12)), frozenset(weekdays),
            parts[2] in ("*", "?"), parts[4] in ("*", "?"),
        )

    def matches(self, when: datetime) -> bool:
        if when.minute not in self.minutes or when.hour not in self.hours or when.month not in self.months:
            return False
        day_ok = when.day in self.days
        weekday_ok = (when.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:  # standard cron: both restricted means either may match
            return day_ok and weekday_ok
        return day_ok or weekday_ok


def parse_duration(text: str) -> timedelta:
    """Go's ``time.ParseDuration`` for the h/m/s forms windows use ("1h", "90m", "1h30m")."""
    text = (text or "").strip()
    if not text or _DURATION.sub("", text):
        raise CronError(f"not a duration: {text!r}")
    total = 0.0
    for value, unit in _DURATION.findall(text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1}[unit]
    return timedelta(seconds=total)


@dataclass(frozen=True)
class Window:
    kind: str  # allow | deny
    schedule: str
    duration: str
    manual_sync: bool
    applications: tuple[str, ...]
    namespaces: tuple[str, ...]
    clusters: tuple[str, ...]
    time_zone: str
    and_operator: bool = False
    description: str = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Window":
        def strings(key: str) -> tuple[str, ...]:
            value = raw.get(key)
            return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

        return cls(
            str(raw.get("kind") or ""), str(raw.get("schedule") or ""), str(raw.get("duration") or ""),
            raw.get("manualSync") is True, strings("applications"), strings("namespaces"), strings("clusters"),
            str(raw.get("timeZone") or "UTC"), raw.get("andOperator") is True, str(raw.get("description") or ""),
        )

    def describe(self) -> str:
        manual = ", manual syncs allowed" if self.manual_sync else ""
        return f"{self.kind} window '{self.schedule}' for {self.duration} ({self.time_zone}{manual})"

    def applies_to(self, app: dict[str, Any]) -> bool:
        """``SyncWindows.Matches`` for one window: OR over the selectors, or AND with ``andOperator``."""
        name = str((app.get("metadata") or {}).get("name") or "")
        destination = (app.get("spec") or {}).get("destination") or {}
        dest_ns = str(destination.get("namespace") or "")
        dest_name, dest_server = str(destination.get("name") or ""), str(destination.get("server") or "")
        matched = is_set = False
        if self.applications:
            is_set = True
            matched = any(fnmatch.fnmatchcase(name, pattern) for pattern in self.applications)
        if self.and_operator and is_set and not matched:
            return False
        if not self.and_operator and matched:
            return True
        if self.clusters:
            is_set = True
            matched = any((dest_name and fnmatch.fnmatchcase(dest_name, pattern)) or
                          (dest_server and fnmatch.fnmatchcase(dest_server, pattern)) for pattern in self.clusters)
        if self.and_operator and is_set and not matched:
            return False
        if not self.and_operator and matched:
            return True
        if self.namespaces:
            matched = any(fnmatch.fnmatchcase(dest_ns, pattern) for pattern in self.namespaces)
        return matched

    def active(self, now: datetime) -> bool | None:
        """Is a start of the schedule within the last ``duration``?  None when the window cannot be read."""
        try:
            cron = Cron.parse(self.schedule)
            length = parse_duration(self.duration)
        except CronError:
            return None
        minutes = int(length.total_seconds() // 60)
        if minutes > _MAX_SCAN_MINUTES:
            return None
        local = now.astimezone(_zone(self.time_zone)).replace(second=0, microsecond=0)
        if local.tzinfo is None:
            return None
        for back in range(minutes + 1):
            start = local - timedelta(minutes=back)
            if cron.matches(start) and start + length > now:
                return True
        return False


def _zone(name: str) -> Any:
    if name in ("", "UTC", "Etc/UTC"):
        return timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - an unknown zone reads as UTC, and is reported by the caller
        return timezone.utc


def blocking_reason(project: dict[str, Any] | None, app: dict[str, Any], now: datetime, *,
                    manual: bool = True) -> str | None:
    """Why the project's sync windows would hold a sync of ``app`` at ``now``; None when they would not."""
    if not isinstance(project, dict):
        return None
    raw = ((project.get("spec") or {}).get("syncWindows")) or []
    windows = [Window.from_dict(item) for item in raw if isinstance(item, dict)]
    windows = [window for window in windows if window.applies_to(app)]
    if not windows:
        return None
    states = [(window, window.active(now)) for window in windows]
    unreadable = [window for window, state in states if state is None]
    active = [window for window, state in states if state]
    deny = [window for window in active if window.kind == "deny"]
    if deny:
        if manual and all(window.manual_sync for window in deny):
            return None
        return "an active " + "; ".join(window.describe() for window in deny) + " blocks it"
    if any(window.kind == "allow" for window in active):
        return None
    inactive_allows = [window for window, state in states if state is False and window.kind == "allow"]
    if inactive_allows:
        if manual and all(window.manual_sync for window in inactive_allows):
            return None
        return "outside every allow window (" + "; ".join(w.describe() for w in inactive_allows) + ")"
    if unreadable:
        return "cannot read " + "; ".join(window.describe() for window in unreadable) + ": check it yourself"
    return None
