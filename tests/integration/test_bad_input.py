"""Bad input from every direction: each gets a clear message or a literal rendering, never a traceback.

This extends what is already covered elsewhere (parsers fed wrong types in ``tests/unit/test_parsers.py``, a few
hostile strings on the screen in ``tests/ui/test_hostile.py``, one-line config errors in
``tests/unit/test_config_cli.py``) to the rest of the surface:

* every field of every object kind, missing or wrong (types, extremes, hostile text), parsed **and rendered** by
  the pane that shows it;
* hostile text in every string the cluster, the flag provider and S3 hand to the running app at once;
* invalid UTF-8 (and escape sequences, markup, 10 kB) in S3 keys, through the real S3 client;
* kubeconfigs that point nowhere or are not kubeconfigs; config files with wrong types and values.
"""

from __future__ import annotations

import copy
import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from cockpit.cli import main
from cockpit.config import build_settings
from cockpit.demo import scenario
from cockpit.demo.platform import DemoPlatform
from cockpit.models import CnpgPaneData, FeedState, LatencyView
from cockpit.sources.analysis import runs_for_rollout
from cockpit.sources.argocd import parse_application
from cockpit.sources.cnpg import parse_cluster
from cockpit.sources.rollouts import parse_rollout
from cockpit.sources.velero import parse_velero
from tests.ui.harness import T0, all_populated, make_app, wait_for
from cockpit.widgets.analysis_pane import AnalysisPane
from cockpit.widgets.argocd_pane import ArgoCDPane
from cockpit.widgets.cnpg_pane import CnpgPane
from cockpit.widgets.latency_pane import LatencyPane
from cockpit.widgets.rollout_pane import RolloutPane
from cockpit.widgets.velero_pane import VeleroPane

CLICK = "[@click=app.quit]click me[/]"
HOSTILE = [
    CLICK,
    "[bold red]FAKE[/bold red]",
    "[/",
    "\x1b[2J\x1b[31mred\x1b]52;c;cHduZWQ=\x07",  # clear screen, colour, OSC 52 clipboard write
    "nul\x00bel\x07bs\x08vt\x0bdel\x7fnel\x85csi\x9b31m",  # C0 and C1 controls
    "\u202eevil\u202c\u200b\u200f\ufeffrtl \u05e9\u05dc\u05d5\u05dd",  # bidi override, zero-width, Hebrew
    "n" * 10_000,  # 10 kB
]
ALL_AT_ONCE = " ".join(HOSTILE[:-1])  # every kind of hostile text in one string (one render finds any leak)
# Raw control characters that must never reach the terminal (newline is layout).
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]")


# --------------------------------------------------------------------------- every field, parsed and rendered


def scenario_objects(now: datetime) -> dict[str, list[dict[str, Any]]]:
    uid = "6f1d3c9e-0000-4000-8000-000000000001"
    rollout = scenario.rollout(now)
    rollout["metadata"]["uid"] = uid
    objs = scenario.cnpg_objects(now) + scenario.velero_objects(now)
    return {
        "argocd": [scenario.application(now)],
        "rollout": [rollout, *scenario.replica_sets(uid, now)],
        "analysis": [rollout, *scenario.replica_sets(uid, now), scenario.analysis_run(uid, now)],
        "cnpg": [o for o in objs if o["kind"] in ("Cluster", "ObjectStore")],
        "velero": [o for o in objs if o["kind"] in ("Backup", "Schedule")],
    }


def pane_view(pane: str, docs: list[Any]) -> Any:
    """The model the store would hand the pane for these raw objects (the same parser calls)."""
    by_kind: dict[str, list[Any]] = {}
    for doc in docs:
        kind = doc.get("kind") if isinstance(doc, dict) else None
        by_kind.setdefault(kind if isinstance(kind, str) else "", []).append(doc)
    if pane == "argocd":
        return parse_application(docs[0])
    if pane == "rollout":
        return parse_rollout(docs[0], by_kind.get("ReplicaSet", []))
    if pane == "analysis":
        return runs_for_rollout(by_kind.get("AnalysisRun", []), parse_rollout(docs[0], by_kind.get("ReplicaSet", [])))
    if pane == "cnpg":
        stores = {}
        for store in by_kind.get("ObjectStore", []):
            meta = store.get("metadata") if isinstance(store.get("metadata"), dict) else {}
            stores[str(meta.get("name", ""))] = store
        clusters = tuple(sorted((parse_cluster(c, stores) for c in by_kind.get("Cluster", [])), key=lambda v: v.name))
        return CnpgPaneData(clusters, scenario.CNPG_CLUSTER)
    return parse_velero(by_kind.get("Backup", []), by_kind.get("Schedule", []))


PANE_WIDGETS = {"argocd": ArgoCDPane, "rollout": RolloutPane, "analysis": AnalysisPane, "cnpg": CnpgPane,
                "velero": VeleroPane, "latency": LatencyPane}


def render(pane: str, view: Any, now: datetime, width: int) -> str:
    """The pane's body and its one-line summary as plain text (the widget's own render code; no app needed)."""
    widget = PANE_WIDGETS[pane](1)
    with open(os.devnull, "w") as sink:
        console = Console(width=width, record=True, file=sink, color_system=None, legacy_windows=False)
        console.print(widget.render_data(view, now))
        console.print(widget.summarize(view, now))
    return console.export_text()


def paths(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*path, key)
            yield from paths(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*path, index)
            yield from paths(value, (*path, index))


DELETE = object()
REPLACEMENTS: list[Any] = [
    DELETE, None, "", 7, -1, 10**30, 1e308, float("nan"), float("inf"), True, [], {}, [None], {"x": None},
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-02-30T25:61:61Z", *HOSTILE,
]


def mutated(docs: list[Any], index: int, path: tuple[Any, ...], value: Any) -> list[Any]:
    out = copy.deepcopy(docs)
    node = out[index]
    for step in path[:-1]:
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = copy.deepcopy(value)
    return out


def check_rendered(text: str, where: str) -> None:
    assert not RAW_CONTROL.search(text), f"a raw control character reaches the screen: {where}"
    assert len(text) < 20_000, f"unbounded text ({len(text)} characters): {where}"


def render_trial(pane: str, docs: list[Any], where: str, width: int) -> None:
    try:
        text = render(pane, pane_view(pane, docs), T0, width)
    except Exception as err:  # noqa: BLE001 - the assertion says where
        raise AssertionError(f"{where}: {type(err).__name__}: {err}") from err
    check_rendered(text, where)


@pytest.mark.parametrize("pane", ["argocd", "rollout", "analysis", "cnpg", "velero"])
def test_every_field_missing_or_wrong_is_rendered(pane: str) -> None:
    """Each field of each object in turn deleted, nulled, retyped or pushed to an extreme (two of those per field,
    rotating), and each text field given each hostile string: the pane still renders, bounded, with no raw
    control character."""
    docs = scenario_objects(T0)[pane]
    render_trial(pane, docs, f"{pane} as seeded", 120)
    count = 0
    for index, doc in enumerate(docs):
        for path in list(paths(doc)):
            node = doc
            for step in path:
                node = node[step]
            for turn in range(2):
                value = REPLACEMENTS[(count + turn * 11) % len(REPLACEMENTS)]
                where = f"{pane}: {doc.get('kind')}{list(path)} = {value!r:.40}"
                render_trial(pane, mutated(docs, index, path, value), where, 60 if turn else 160)
            if isinstance(node, str):
                for text in (ALL_AT_ONCE, HOSTILE[-1]):
                    where = f"{pane}: {doc.get('kind')}{list(path)} = {text!r:.40}"
                    render_trial(pane, mutated(docs, index, path, text), where, 120)
            count += 1
    assert count > 20


@pytest.mark.parametrize("value", [None, 0.0, -1.0, 1e300, float("nan"), float("inf"), float("-inf"), 1.2])
@pytest.mark.parametrize("series", [
    (), ((0.0, float("nan")),), ((1.0, float("inf")), (0.0, -5.0), (1.0, 1e300)),
    tuple((1779287233.0 - 30 * i, 0.2 + i / 100) for i in range(61)),
], ids=["empty", "nan", "junk", "normal"])
def test_latency_values_of_any_kind_render(value: float | None, series: tuple[tuple[float, float], ...]) -> None:
    for query in ("up", *HOSTILE):
        for slo in (0.5, 1e-9, 1e300):
            view = LatencyView(query, slo, value, series, T0)
            text = render("latency", view, T0, 80)
            check_rendered(text, f"latency value={value} slo={slo} query={query!r:.30}")


def test_hostile_cnpg_window_answers_the_recoverable_question() -> None:
    """The "is time T recoverable?" answer over broken windows: a clear yes/no/unknown, never an exception."""
    docs = scenario_objects(T0)["cnpg"]
    for first in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", HOSTILE[3], None):
        trial = copy.deepcopy(docs)
        trial[0]["status"]["firstRecoverabilityPoint"] = first
        view = pane_view("cnpg", trial).current
        for when in (datetime.min.replace(tzinfo=timezone.utc), T0, datetime.max.replace(tzinfo=timezone.utc)):
            answer, why = view.recoverable(when, T0)
            assert answer in (True, False, None) and why


# --------------------------------------------------------------------------- everything hostile, in the running app


KEEP_KEYS = {"apiVersion", "kind", "namespace", "uid", "resourceVersion", "labels", "ownerReferences", "selector",
             "matchLabels", "currentPodHash", "stableRS", "podTemplateHash", "barmanObjectName",
             "serverRecoveryWindow", "plugins"}
TARGETS = {scenario.APP_NAME, scenario.ROLLOUT, scenario.CNPG_CLUSTER}


def poison(obj: Any, strings: Iterator[str], key: str = "") -> Any:
    """Every string leaf replaced by the next hostile string, except what selects and links objects (names the
    cockpit was told to show, labels, owner references, hashes): a real API server forbids hostile text there."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "name" and key == "metadata" and isinstance(v, str):
                out[k] = v if v in TARGETS else f"{v}-{next(strings)[:60]}"  # still unique
            elif k in KEEP_KEYS:
                out[k] = v
            else:
                out[k] = poison(v, strings, k)
        return out
    if isinstance(obj, list):
        return [poison(v, strings, key) for v in obj]
    if isinstance(obj, str):
        return next(strings)
    return obj


def cycle(items: list[str]) -> Iterator[str]:
    while True:
        yield from items


@pytest.fixture
def hostile_platform() -> Iterator[DemoPlatform]:
    demo = DemoPlatform(now=T0).start()
    kube = demo.kube
    strings = cycle(HOSTILE)
    for api_version, plural, namespace in (
        ("argoproj.io/v1alpha1", "applications", scenario.ARGOCD_NAMESPACE),
        ("argoproj.io/v1alpha1", "rollouts", scenario.APP_NAMESPACE),
        ("apps/v1", "replicasets", scenario.APP_NAMESPACE),
        ("argoproj.io/v1alpha1", "analysisruns", scenario.APP_NAMESPACE),
        ("postgresql.cnpg.io/v1", "clusters", scenario.CNPG_NAMESPACE),
        ("barmancloud.cnpg.io/v1", "objectstores", scenario.CNPG_NAMESPACE),
        ("velero.io/v1", "backups", scenario.VELERO_NAMESPACE),
        ("velero.io/v1", "schedules", scenario.VELERO_NAMESPACE),
    ):
        for obj in kube.list_objects(api_version, plural, namespace):
            hostile = poison(obj, strings, "")
            kube.delete_object(api_version, plural, namespace, obj["metadata"]["name"])
            kube.seed(hostile, validate=False)
    demo.flags.set(scenario.FLAG, True, HOSTILE[3] + CLICK)
    yield demo
    demo.stop()


async def test_hostile_text_everywhere_renders_literally(hostile_platform: DemoPlatform) -> None:
    app = make_app(hostile_platform)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: all_populated(app), timeout=20, what="all six panes, poisoned")
        await pilot.pause(1.0)  # the decision evidence (flag, git) arrives too
        screen = app.export_screenshot()
        assert "\x1b" not in screen and not re.search(r"[\x80-\x9f]", screen)
        assert "[@click=app.quit]" in screen  # shown as the characters it is
        dash = app.dashboard.active()
        for name in ("argocd", "rollout", "analysis", "cnpg", "velero"):
            pane = dash.pane(name)
            with open(os.devnull, "w") as sink:
                console = Console(width=200, record=True, file=sink, color_system=None)
                console.print(pane.render_state(pane.entry, app.clock.now()))
            text = console.export_text()
            check_rendered(text, name)
            assert "cannot show this data" not in text, f"{name} failed to render: {text[:300]}"
        names = ["argocd", "rollout", "analysis", "latency", "cnpg", "velero"]
        for number, name in enumerate(names, start=1):  # the keys, and a click where an injected link would sit
            await pilot.press(str(number))
            await pilot.click(f"#pane-{name}", offset=(4, 2))
        await pilot.press("z", "z")
        assert app.is_running and app.screen is app.dashboard


# --------------------------------------------------------------------------- S3 keys that are not text


BAD_KEYS = ["bad%FF%FEkey", "esc%1B%5B2J%1B%5D52%3Bc%3BcHduZWQ%3D%07", "%5B%40click%3Dapp.quit%5Dx%5B%2F%5D",
            "rtl%E2%80%AEgpj.exe", "n" * 10_000]


class StubS3:
    """Answers ListObjectVersions from a canned XML body (what a misbehaving or hostile S3 could send)."""

    def __init__(self, body: Callable[[], bytes], status: int = 200) -> None:
        self.body, self.status = body, status
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                payload = stub.body()
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def versions_xml(keys: list[str], *, encoded: bool) -> bytes:
    stamp = (T0 - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    newer = (T0 - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    entries = []
    for number, key in enumerate(keys):
        entries.append(f"<Version><Key>{key}</Key><VersionId>v{number}</VersionId><IsLatest>false</IsLatest>"
                       f"<LastModified>{stamp}</LastModified><ETag>\"e\"</ETag><Size>4</Size>"
                       f"<StorageClass>STANDARD</StorageClass></Version>")
        entries.append(f"<DeleteMarker><Key>{key}</Key><VersionId>d{number}</VersionId><IsLatest>true</IsLatest>"
                       f"<LastModified>{newer}</LastModified></DeleteMarker>")
    head = ('<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/'
            '2006-03-01/"><Name>uploads</Name><Prefix></Prefix><KeyMarker></KeyMarker><VersionIdMarker>'
            '</VersionIdMarker><MaxKeys>1000</MaxKeys>' + ("<EncodingType>url</EncodingType>" if encoded else "")
            + "<IsTruncated>false</IsTruncated>")
    body = head + "".join(entries) + "</ListVersionsResult>"
    if encoded:
        return body.encode("ascii")
    # the same keys as raw bytes in the XML: invalid UTF-8 where %FF%FE was
    from urllib.parse import unquote_to_bytes

    raw = body.encode("ascii")
    for key in keys:
        raw = raw.replace(key.encode("ascii"), unquote_to_bytes(key))
    return raw


def test_invalid_utf8_and_hostile_s3_keys_are_shown_literally() -> None:
    from cockpit.decide import DecisionInput, evaluate
    from cockpit.sources.s3 import S3Source
    from cockpit.textsafe import safe_text

    stub = StubS3(lambda: versions_xml(BAD_KEYS, encoded=True))
    try:
        evidence = S3Source(endpoint_url=stub.url, read_timeout=2, max_attempts=1).delete_markers(
            "uploads", "", T0 - timedelta(hours=24))
    finally:
        stub.stop()
    assert len(evidence.missing) == len(BAD_KEYS)
    assert any("\ufffd" in marker.key for marker in evidence.missing)  # the invalid bytes, replaced, not dropped
    result = evaluate(DecisionInput(s3=evidence), {}, now=T0).results["s3_missing"]
    assert result.answer.value == "yes"
    with open(os.devnull, "w") as sink:
        console = Console(width=120, record=True, file=sink, color_system=None)
        for item in result.evidence:  # what the decision tree shows, through the same helper
            console.print(safe_text(item.fact, limit=300))
    text = console.export_text()
    check_rendered(text, "S3 keys in the tree")
    assert "[@click=app.quit]x[/]" in text and "\\x1b" in text
    text.encode("utf-8")  # nothing unencodable (lone surrogates) can reach the terminal


def test_s3_sending_raw_invalid_utf8_xml_is_a_clear_error() -> None:
    from cockpit.sources.errors import SourceError
    from cockpit.sources.s3 import S3Source

    stub = StubS3(lambda: versions_xml(BAD_KEYS[:3], encoded=False))
    try:
        source = S3Source(endpoint_url=stub.url, read_timeout=2, max_attempts=1)
        try:
            evidence = source.delete_markers("uploads", "", T0 - timedelta(hours=24))
        except SourceError as err:
            words = str(err)
            assert words.startswith("S3") and "\n" not in words and "Traceback" not in words
        else:  # a lenient parser may take the bytes in: then they must be text by now
            for marker in evidence.markers:
                marker.key.encode("utf-8")
    finally:
        stub.stop()


# --------------------------------------------------------------------------- kubeconfigs that point nowhere


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kubeconfig_text(server: str, *, user: str = "token: t", cluster_name: str = "c") -> str:
    return (f"apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters:\n- name: {cluster_name}\n"
            f"  cluster: {{server: \"{server}\"}}\nusers:\n- name: u\n  user: {{{user}}}\ncontexts:\n"
            f"- name: nowhere\n  context: {{cluster: c, user: u, namespace: shop}}\n")


@pytest.mark.parametrize(("text", "words"), [
    (lambda: kubeconfig_text(f"http://127.0.0.1:{closed_port()}"), "connection refused"),
    (lambda: kubeconfig_text("http://no-such-host.invalid:6443"), "Kubernetes API"),
    (lambda: kubeconfig_text("http://127.0.0.1:1", cluster_name="elsewhere"), "kubeconfig"),
    (lambda: kubeconfig_text("http://127.0.0.1:1", user="exec: {apiVersion: client.authentication.k8s.io/v1, "
                                                        "command: /nonexistent/credential-helper}"), ""),
], ids=["closed-port", "unresolvable-host", "missing-cluster-entry", "exec-plugin-missing"])
async def test_kubeconfig_pointing_nowhere_says_so_in_the_panes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                text: Callable[[], str], words: str) -> None:
    from cockpit.session import connect
    from tests.ui.harness import build_app
    from cockpit.sources import kube as kube_source

    monkeypatch.setattr(kube_source, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setattr(kube_source, "READ_TIMEOUT", 1.0)
    path = tmp_path / "kubeconfig"
    path.write_text(text())
    settings = build_settings({"kubeconfig": str(path), "app": "a", "rollout": "r"})
    app = build_app(settings, connect(settings), tick=False)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.dashboard.active().pane("rollout")
        await wait_for(pilot, lambda: pane.snapshot is not None and pane.snapshot.status.state is FeedState.ERROR,
                       timeout=10, what="the Rollout pane to say why")
        error = pane.snapshot.status.error
        assert words in error and "Traceback" not in error and "\n" not in error
        latency = app.dashboard.active().pane("latency")
        await wait_for(pilot, lambda: latency.snapshot is not None, what="the p99 pane's own state")
        assert latency.snapshot.status.state is FeedState.MISSING  # no Prometheus configured: a state, not a crash
        assert app.is_running


@pytest.mark.parametrize(("content", "words"), [
    (None, "cannot read kubeconfig"),  # a directory
    (b"", "has no configuration"),
    (b"\xff\xfe\x00\x01garbage\x9b", "not UTF-8"),
    (b"- just\n- a list\n", "has no configuration"),
    (b"contexts: 7\ncurrent-context: x\n", "defines no contexts"),
    (b"contexts:\n- name: a\n  context: {cluster: c}\n", "no current-context"),
], ids=["directory", "empty", "binary", "list", "contexts-not-a-list", "no-current-context"])
def test_kubeconfig_that_is_not_one_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                content: bytes | None, words: str) -> None:
    path = tmp_path / "kubeconfig"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    assert main(["--kubeconfig", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- config files with wrong types


@pytest.mark.parametrize(("body", "words"), [
    ("namespace = ['a', 'b']", "'namespace' must be a string, got list"),
    ("app = { name = 'x' }", "'app' must be a string, got dict"),
    ("slo = true", "'slo' must be a number, got bool"),
    ("prometheus_interval = -3", "'prometheus_interval' must be greater than 0"),
    ("recent_deploy_minutes = 1.5", "'recent_deploy_minutes' must be an integer, got float"),
    ("context = [1, 2]", "'context' must be a string or a list of strings"),
    ("contexts = 3", "'contexts' must be a table of tables"),
    ("[contexts.prod]\nprometheus_url = 9090", "contexts.prod.prometheus_url must be a string"),
    ("[contexts.prod]\nwho = 'me'", "unknown setting contexts.prod.who"),
    ("no_record = 'yes'", "'no_record' must be true or false"),
    ("slo = 1979-05-27T07:32:00Z", "'slo' must be a number, got datetime"),
    ("slo = nan", "'slo' must be a finite number"),
    ("prometheus_interval = inf", "'prometheus_interval' must be a finite number"),
    ("promql = '   '", "'promql' is empty"),
], ids=lambda value: re.sub(r"\W+", "-", value)[:30])
def test_config_file_with_wrong_types_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str,
                                                  words: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(body + "\n")
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert words in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_config_path_that_is_a_directory_or_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path)]) == 2
    assert "cannot read config file" in capsys.readouterr().err
    config = tmp_path / "c.toml"
    config.write_bytes(b"namespace = '\xff\xfe'\n")
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and err.count("\n") == 1


@pytest.mark.parametrize("overrides", [{"slo": float("nan")}, {"slo": float("inf")}, {"promql": "   "}],
                         ids=["slo-nan", "slo-inf", "blank-promql"])
async def test_values_the_prometheus_source_refuses_do_not_kill_the_app(overrides: dict[str, Any]) -> None:
    """Values the p99 source refuses, reaching the app some other way than the config file (which now refuses
    them, above): the p99 pane says why and the rest runs."""
    demo = DemoPlatform(now=T0).start()
    try:
        app = make_app(demo, **overrides)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            assert app.return_code is None, "the app died (an exception left a handler)"
            pane = app.dashboard.active().pane("latency")
            await wait_for(pilot, lambda: pane.snapshot is not None and pane.snapshot.status.state in (
                FeedState.ERROR, FeedState.MISSING), timeout=5, what="the p99 pane to say why")
            assert app.is_running
    finally:
        demo.stop()

