"""``python -m bench.run --quick`` works end to end: it prints the table and writes README.md and latest.json.

The numbers are not judged here (CI machines differ); the full run is ``make bench``.  The second test pins the
store's incremental Velero parsing, which the 10 000-row figure depends on, to the parser it replaces.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"first_frame", "populated", "floor", "kubectl", "populated_vs_floor", "populated_vs_kubectl", "kube_polling",
        "kube_polling_absent", "prom_queries", "modal", "confirm", "pane_update", "rss", "rss_growth", "replay_open",
        "replay_seek", "terminal_bytes"}


def test_quick_bench_writes_the_table_and_the_json(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--runs", "1", "--window", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=170, cwd=ROOT, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    assert "| figure | value | target | met? | how / why |" in done.stdout
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "| figure | value | target | met? | how / why |" in readme
    assert "## Machine" in readme and "`uname -a`" in readme and "Python " in readme
    data = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert data["quick"] is True and data["machine"]["python"]
    figures = {figure["key"]: figure for figure in data["figures"]}
    assert KEYS <= set(figures), KEYS - set(figures)
    for figure in figures.values():
        assert {"name", "value", "unit", "target", "met", "shown", "note"} <= set(figure)
        assert figure["name"] in readme and figure["shown"] in readme
        if figure["value"] is None:  # a figure that could not be taken says why
            assert figure["note"] and figure["shown"] == "not measured yet"


def test_incremental_velero_parse_matches_the_full_parse() -> None:
    from bench.scale import backup
    from cockpit.sources.velero import parse_velero
    from cockpit.feeds import ParsedBackups

    now = datetime(2026, 5, 20, 14, 27, 13, tzinfo=timezone.utc)
    items = {}
    for index in range(300):
        obj = backup(index, now)
        obj["metadata"]["resourceVersion"] = str(index + 1)
        items[f"velero/{obj['metadata']['name']}"] = obj
    items["velero/no-version"] = {"metadata": {"name": "no-version"}, "status": {"phase": "Failed"}}
    items["velero/junk"] = {"metadata": "junk"}
    parsed = ParsedBackups()
    assert parsed.newest_first(items) == parse_velero(list(items.values()), []).backups
    changed = dict(items)
    first = next(iter(changed))
    changed[first] = {**changed[first], "status": {"phase": "Failed", "failureReason": "disk full"},
                      "metadata": {**changed[first]["metadata"], "resourceVersion": "999"}}
    del changed[list(changed)[5]]
    again = parsed.newest_first(changed)
    assert again == parse_velero(list(changed.values()), []).backups
    assert parsed.newest_first(changed) is not again and parsed.newest_first(changed) == again
