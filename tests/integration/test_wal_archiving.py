"""WAL archiving failing, read from a real Prometheus: CloudNativePG's archiver metrics backfilled with promtool
(half an hour of scrapes: the orders cluster's archiver failing every attempt since 40 minutes ago, its failed count
rising; the catalog cluster archiving every few seconds), the cockpit pointed at it.  The CNPG pane, the "is T
recoverable?" answer, the PITR runbook's fact and the PITR action all say the same: WAL after the last archival is
not recoverable, and archiving is failing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from cockpit.demo import scenario
from cockpit.demo.platform import DEMO_CONTEXT
from cockpit.models import FeedState
from tests.integration.test_live_panes import Live, wait_for
from tests.plugins.prom import _free_port, _ready

SCRAPE = 15
HISTORY = 30 * 60
BROKEN_AGO = 40 * 60  # the orders cluster archived its last WAL this long before the last scrape
NS = scenario.CNPG_NAMESPACE
ORDERS, CATALOG = scenario.CNPG_CLUSTER, "bookstore-platform-cnpg-catalog"


@dataclass(frozen=True)
class ArchiverPrometheus:
    url: str
    last: float  # the last scrape (unix seconds)
    last_archived: float  # the orders cluster's last archival


def _openmetrics(last: int) -> str:
    names = ("last_archived_time", "last_failed_time", "failed_count", "seconds_since_last_archival")
    lines: list[str] = []
    for name in names:
        lines.append(f"# TYPE cnpg_pg_stat_archiver_{name} gauge")
        for cluster in (ORDERS, CATALOG):
            labels = f'namespace="{NS}",pod="{cluster}-1",container="postgres",job="cnpg"'
            for index, ts in enumerate(range(last - HISTORY, last + 1, SCRAPE)):
                if cluster == ORDERS:  # every attempt fails: last failure = this scrape, count rising
                    archived = last - BROKEN_AGO
                    values = {"last_archived_time": archived, "last_failed_time": ts,
                              "failed_count": 120 + index, "seconds_since_last_archival": ts - archived}
                else:
                    archived = ts - 4
                    values = {"last_archived_time": archived, "last_failed_time": -1, "failed_count": 0,
                              "seconds_since_last_archival": 4}
                lines.append(f"cnpg_pg_stat_archiver_{name}{{{labels}}} {values[name]} {ts}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def archiver_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArchiverPrometheus]:
    promtool, prometheus = shutil.which("promtool"), shutil.which("prometheus")
    if promtool is None or prometheus is None:
        pytest.skip("promtool/prometheus not on PATH: install the Debian package 'prometheus'")
    root: Path = tmp_path_factory.mktemp("archiver-prometheus")
    last = int(time.time()) - 5
    (root / "data.om").write_text(_openmetrics(last))
    done = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(root / "data.om"),
                           str(root / "tsdb")], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        pytest.fail(f"promtool backfill failed: {done.stderr.strip()[-2000:]}")
    (root / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with (root / "prometheus.log").open("wb") as log:
        process = subprocess.Popen([prometheus, f"--storage.tsdb.path={root / 'tsdb'}",
                                    f"--web.listen-address=127.0.0.1:{port}",
                                    f"--config.file={root / 'prometheus.yml'}", "--log.level=warn"],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root,
                                   env={**os.environ, "HOME": str(root)})
    try:
        started = time.monotonic()
        while not _ready(url):
            if process.poll() is not None or time.monotonic() - started > 15:
                pytest.fail(f"prometheus did not start: {(root / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.05)
        yield ArchiverPrometheus(url, float(last), float(last - BROKEN_AGO))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def live(archiver_prometheus: ArchiverPrometheus, tmp_path: Path) -> Iterator[Live]:
    session = Live(tmp_path, prometheus_url=archiver_prometheus.url)
    try:
        yield session
    finally:
        session.close()


def _orders(live: Live) -> Any:
    data = live.entry("cnpg").snapshot.data
    return next(c for c in data.clusters if c.name == ORDERS) if data is not None else None


def test_archiving_failing_from_prometheus_reaches_the_pane_the_answer_the_fact_and_the_action(
        live: Live, archiver_prometheus: ArchiverPrometheus) -> None:
    from cockpit.actions.registry import build_action
    from cockpit.actions.requests import ActionRefused

    live.settled()
    orders = wait_for("the orders cluster's archiving", lambda: _orders(live) if _orders(live) is not None
                      and _orders(live).archiving is not None and _orders(live).archiving.state == "failing" else None)
    archiving = orders.archiving
    assert archiving.last_archived_at == datetime.fromtimestamp(archiver_prometheus.last_archived, timezone.utc)
    assert archiving.failed_count is not None and archiving.failed_count >= 120
    assert archiving.last_failed_at is not None and archiving.last_failed_at > archiving.last_archived_at
    assert archiving.source == f"archiver metrics of pod {ORDERS}-1"
    catalog = next(c for c in live.entry("cnpg").snapshot.data.clusters if c.name == CATALOG)
    assert catalog.archiving.state == "ok"
    assert live.entry("cnpg").state is FeedState.OK and not live.entry("cnpg").status.error

    # "is T recoverable?": ten minutes ago is after the last archived WAL (40 minutes ago)
    now = live.session.clock.now()
    ten_ago, hour_ago = now - timedelta(minutes=10), now - timedelta(hours=1)
    verdict, why = orders.recoverable(ten_ago, now)
    assert verdict is False
    assert why.startswith(f"after the last archived WAL {archiving.last_archived_at.isoformat()}")
    assert "WAL archiving failing since" in why
    assert orders.recoverable(hour_ago, now)[0] is True

    # the pane says it, in the status plugin's words
    from cockpit.widgets.cnpg_pane import archiving_text

    shown = archiving_text(orders, now).plain
    assert shown.startswith("Failing") and "last archived 40m" in shown and "last failed" in shown

    # the PITR runbook's fact, from the store
    facts = _facts(live, ten_ago)
    assert facts.get("cnpg.target_recoverable") is False
    assert _facts(live, hour_ago).get("cnpg.target_recoverable") is True

    # and the PITR action refuses the same target, with the same reason
    with pytest.raises(ActionRefused, match="after the last archived WAL"):
        live.session.plan(DEMO_CONTEXT, lambda env: build_action(
            "cnpg.recover", {"namespace": NS, "cluster": ORDERS,
                             "target_time": ten_ago.strftime("%Y-%m-%dT%H:%M:%SZ")}, env))


def _facts(live: Live, target: datetime) -> Any:
    from types import SimpleNamespace

    # what the PITR run hands the facts: its runbook and inputs (no step has run)
    run = SimpleNamespace(runbook=SimpleNamespace(id="data-rollback-postgres-pitr"), steps=(),
                          inputs={"cluster": ORDERS, "target_time": target.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return live.session.facts.collect(DEMO_CONTEXT, run)


def test_prometheus_down_leaves_the_condition_to_decide_and_says_why(tmp_path: Path) -> None:
    live = Live(tmp_path, prometheus_url=f"http://127.0.0.1:{_free_port()}")
    try:
        live.settled("cnpg")
        entry = wait_for("the note", lambda: live.entry("cnpg") if "WAL archiving metrics not read"
                         in live.entry("cnpg").status.error else None)
        assert entry.state is FeedState.OK and "connection refused" in entry.status.error
        orders = _orders(live)
        assert orders.archiving.state == "ok" and orders.archiving.last_archived_at is None
        assert orders.archiving.source == "ContinuousArchiving condition (no archiver metrics)"
        now = live.session.clock.now()
        verdict, why = orders.recoverable(now - timedelta(minutes=1), now)
        assert verdict is None and "no archiver metrics" in why
        with open(os.devnull, "w") as sink:  # the note is on screen in words
            console = Console(width=200, record=True, file=sink, color_system=None)
            console.print(entry.status.error)
        assert "ContinuousArchiving condition decides" in console.export_text()
    finally:
        live.close()
