"""The tree's evidence from real sources: a real git repository, S3 over HTTP (moto), a flag provider over HTTP.

Each scenario feeds what the sources read into ``evaluate`` and checks the leaf the person would be shown.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cockpit.decide import Answer, DecisionInput, evaluate, pre_flight
from cockpit.preflight import Verdict, blast_radius, preflight
from cockpit.sources.argocd import parse_application
from cockpit.sources.errors import ErrorKind, SourceError
from cockpit.sources.flags import fetch_flag
from cockpit.sources.gitrepo import Layer, change_report, image_only_change, last_two_revisions, migration_diff
from cockpit.sources.s3 import S3Source, namespace_state
from tests.plugins.git import GitopsRepo
from tests.plugins.s3 import S3Server

NS = "bookstore-platform-acme-books"
FLAG_KEY = "catalog_v2_search_engine"


# --------------------------------------------------------------------------- a flag provider over HTTP


class FlagProvider:
    """A tiny HTTP server on 127.0.0.1: path -> (status, body, delay seconds)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, float]] = {}
        self.seen_headers: list[dict[str, str]] = []
        self.stopping = threading.Event()  # wakes slow handlers at teardown
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                provider.seen_headers.append(dict(self.headers))
                status, body, delay = provider.routes.get(self.path, (404, b"{}", 0.0))
                if delay and provider.stopping.wait(delay):
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up is expected here

        self.server = Server(("127.0.0.1", 0), Handler)  # server_close() joins the handler threads
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, path: str, document: Any, status: int = 200, delay: float = 0.0) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = (status, body, delay)
        return self.url + path


@pytest.fixture
def flag_provider() -> Iterator[FlagProvider]:
    provider = FlagProvider()
    provider.thread.start()
    try:
        yield provider
    finally:
        provider.stopping.set()
        provider.server.shutdown()
        provider.server.server_close()
        provider.thread.join(timeout=5)


def flagsmith(enabled: bool) -> list[dict[str, Any]]:
    return [
        {"feature": {"name": "reviews_v2"}, "enabled": True, "feature_state_value": None},
        {"feature": {"name": FLAG_KEY}, "enabled": enabled, "feature_state_value": "meilisearch_v1"},
    ]


# --------------------------------------------------------------------------- Argo CD history pointing at the repo


def app_for(repo: GitopsRepo, old: str, new: str, now: datetime, age: timedelta) -> Any:
    """An Application whose last two history entries deployed the two named commits (same source settings)."""
    source = {"repoURL": str(repo.origin), "path": "apps/catalog", "targetRevision": "main"}
    history = [
        {
            "id": 41,
            "deployedAt": (now - age - timedelta(hours=3)).isoformat(),
            "revision": repo.shas[old],
            "source": source,
        },
        {"id": 42, "deployedAt": (now - age).isoformat(), "revision": repo.shas[new], "source": source},
    ]
    return parse_application(
        {
            "metadata": {"name": "bookstore-catalog-us-east", "namespace": "argocd"},
            "spec": {"source": source, "destination": {"server": "https://kubernetes.default.svc", "namespace": NS}},
            "status": {"history": history},
        }
    )


def gather(repo: GitopsRepo, app: Any, **extra: Any) -> DecisionInput:
    """What the cockpit gathers for the tree: the git diff and the migration pre-flight between the last two deploys."""
    revisions = last_two_revisions(app)
    assert revisions is not None
    old, new = revisions
    report = change_report(str(repo.origin), old, new, paths=("apps/catalog",))
    verdict = preflight(migration_diff(str(repo.origin), new, old))
    blast = blast_radius(app, context="us-east")
    return DecisionInput(app=app, change=report, migrations=verdict, blast=blast, **extra)


NOW = datetime.now(timezone.utc).replace(microsecond=0)


def test_image_bump_in_a_real_repo_is_a_code_rollback(gitops_repo: GitopsRepo, flag_provider: FlagProvider) -> None:
    url = flag_provider.route("/api/v1/flags/", flagsmith(enabled=False))
    app = app_for(gitops_repo, "base", "image_bump", NOW, timedelta(minutes=5))
    flag = fetch_flag(url, FLAG_KEY, headers={"X-Environment-Key": "env-key"})
    assert flag_provider.seen_headers[-1]["X-Environment-Key"] == "env-key"
    snapshot = gather(gitops_repo, app, flag=flag)
    assert snapshot.change.layer is Layer.CODE
    assert snapshot.migrations.verdict is Verdict.SAFE
    ev = evaluate(snapshot, now=NOW)
    assert ev.leaf is not None and ev.leaf.id == "code-rollback-argocd", ev.ask
    what = ev.results["what_changed"]
    assert what.answer is Answer.YES
    assert "M apps/catalog/kustomization.yaml: newTag: v1.5.0 → v1.5.1" in [item.fact for item in what.evidence]
    assert what.evidence[-1].source.startswith("git ")
    assert ev.results["recent_deploy"].evidence[0].fact.startswith("Argo CD history #42 deployed 5m ago, revision ")
    flag_line, migration_line, blast_line = pre_flight(ev)
    assert flag_line.text == f"Flag flip? no — flag {FLAG_KEY} is OFF (value 'meilisearch_v1')"
    assert migration_line.answer == "no" and blast_line.answer == "one tenant"


def test_flag_on_over_http_recommends_the_flip(gitops_repo: GitopsRepo, flag_provider: FlagProvider) -> None:
    url = flag_provider.route("/api/v1/flags/", flagsmith(enabled=True))
    app = app_for(gitops_repo, "base", "image_bump", NOW, timedelta(minutes=5))
    ev = evaluate(gather(gitops_repo, app, flag=fetch_flag(url, FLAG_KEY)), now=NOW)
    assert ev.leaf is not None and ev.leaf.id == "flag-flip"
    assert ev.results["flag_flip"].evidence[0].source == f"flag provider {url}"


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [("image_bump", "values_change", "Helm values"), ("values_change", "netpol_change", "NetworkPolicy")],
)
def test_config_changes_in_a_real_repo_are_a_config_rollback(
    gitops_repo: GitopsRepo, old: str, new: str, detail: str
) -> None:
    app = app_for(gitops_repo, old, new, NOW, timedelta(minutes=12))
    snapshot = gather(gitops_repo, app)
    assert [item.detail for item in snapshot.change.files] == [detail]
    ev = evaluate(snapshot, {"flag_flip": "no"}, now=NOW)
    assert ev.leaf is not None and ev.leaf.id == "config-rollback-argocd-app"
    assert ev.results["what_changed"].answer is Answer.NO


def test_forward_only_migration_release_says_data_rollback_first(gitops_repo: GitopsRepo) -> None:
    app = app_for(gitops_repo, "netpol_change", "migration_release", NOW, timedelta(minutes=5))
    snapshot = gather(gitops_repo, app)
    assert snapshot.change.layer is Layer.CODE
    assert [item.path for item in snapshot.change.migration_files] == ["migrations/0042_drop_legacy_column.sql"]
    assert "with migrations migrations/0042_drop_legacy_column.sql" in snapshot.change.summary
    assert snapshot.migrations.verdict is Verdict.DATA_FIRST
    assert snapshot.migrations.summary.startswith(
        "DATA rollback first: migrations/0042_drop_legacy_column.sql:1 ALTER TABLE orders DROP COLUMN legacy_status"
    )
    ev = evaluate(snapshot, {"flag_flip": "no"}, now=NOW)
    assert ev.leaf is not None and ev.leaf.id == "data-rollback-postgres-pitr"
    assert ev.leaf.then_runbook == "code-rollback-argocd"
    assert "DATA rollback first" in pre_flight(ev)[1].text


def test_migration_diff_between_distant_revisions(gitops_repo: GitopsRepo) -> None:
    shas = gitops_repo.shas
    assert migration_diff(str(gitops_repo.work), shas["migration_release"], shas["base"]) == {
        "migrations/0042_drop_legacy_column.sql": "ALTER TABLE orders DROP COLUMN legacy_status;\n"
    }
    assert migration_diff(str(gitops_repo.origin), shas["image_bump"], shas["base"]) == {}
    assert migration_diff(str(gitops_repo.origin), "main", "main~4", migrations_dir="./migrations") == {
        "migrations/0042_drop_legacy_column.sql": "ALTER TABLE orders DROP COLUMN legacy_status;\n"
    }
    assert migration_diff(str(gitops_repo.origin), "main", "main~4", migrations_dir="db/") == {}


def test_mixed_release_lists_both_and_asks(gitops_repo: GitopsRepo) -> None:
    report = change_report(str(gitops_repo.origin), gitops_repo.shas["base"], gitops_repo.shas["migration_release"])
    assert report.layer is Layer.MIXED
    assert {item.path: item.kind for item in report.files} == {
        "apps/catalog/kustomization.yaml": "image",
        "apps/catalog/values.yaml": "config",
        "apps/catalog/networkpolicy.yaml": "config",
        "migrations/0042_drop_legacy_column.sql": "migration",
    }
    app = app_for(gitops_repo, "base", "migration_release", NOW, timedelta(minutes=5))
    ev = evaluate(DecisionInput(app=app, change=report), {"flag_flip": "no"}, now=NOW)
    assert ev.blocked_at == "what_changed" and ev.leaf is None


def test_added_composition_and_deleted_files(gitops_repo: GitopsRepo) -> None:
    composition = "apiVersion: apiextensions.crossplane.io/v1\nkind: Composition\nmetadata:\n  name: orders-db\n"
    before = gitops_repo.shas["migration_release"]
    after = gitops_repo.commit(
        "composition",
        {"crossplane/orders-db.yaml": composition, "README.md": "# changed\n", "apps/catalog/networkpolicy.yaml": None},
        "composition",
    )
    report = change_report(str(gitops_repo.work), before, after)
    assert {(item.status, item.path, item.kind, item.detail) for item in report.files} == {
        ("A", "crossplane/orders-db.yaml", "config", "Crossplane Composition added"),
        ("M", "README.md", "other", "not a manifest"),
        ("D", "apps/catalog/networkpolicy.yaml", "config", "NetworkPolicy deleted"),
    }
    assert report.layer is Layer.CONFIG


def test_git_errors_are_source_errors_with_words(gitops_repo: GitopsRepo, tmp_path: Any) -> None:
    origin, base = str(gitops_repo.origin), gitops_repo.shas["base"]
    with pytest.raises(SourceError) as err:
        change_report(origin, base, "0123456789abcdef0123456789abcdef01234567")
    assert err.value.kind is ErrorKind.NOT_FOUND and "is not a commit" in str(err.value)
    for hostile in ("--output=/tmp/x", "", "a\nb", " "):
        with pytest.raises(SourceError) as err:
            migration_diff(origin, hostile, base)
        assert err.value.kind is ErrorKind.BAD_DATA
    with pytest.raises(SourceError) as err:
        change_report(str(tmp_path / "nowhere"), base, base)
    assert err.value.kind is ErrorKind.CONFIG and "does not exist" in str(err.value)
    (tmp_path / "plain").mkdir()
    with pytest.raises(SourceError) as err:
        migration_diff(str(tmp_path / "plain"), base, base)
    assert "not a git repository" in str(err.value)


def test_image_only_change() -> None:
    assert image_only_change("a: 1\nimage: x:v1\n", "a: 1\nimage: x:v2\n") == (True, "image: x:v1 → x:v2")
    assert image_only_change("  - image: x:v1 # pinned\n", "  - image: x:v2 # pinned\n") == (True, "image: x:v1 → x:v2")
    assert image_only_change("tag: v1\n", "# bumped\ntag: v2\n") == (True, "tag: v1 → v2")
    assert image_only_change("tag: v1\ncpu: 1\n", "tag: v2\ncpu: 2\n") == (False, "")
    assert image_only_change("same\n", "same\n") == (False, "")


# --------------------------------------------------------------------------- S3 over HTTP, and the namespace


ODD_KEYS = [
    "tenants/acme-books/covers/plain.jpg",
    "tenants/acme-books/covers/with space & plus+.jpg",
    "tenants/acme-books/covers/ünïcødé/日本.png",
    "tenants/acme-books/covers/percent%2Fslash.txt",
    "tenants/acme-books/covers/<angle> & 'quotes'.txt",
]
# Control characters are legal in keys too; real S3 URL-encodes them under encoding-type=url, which botocore
# requests, but moto ignores it and writes raw invalid XML, so they are left out here.


def test_delete_markers_on_a_real_s3_endpoint(s3_server: S3Server) -> None:
    client = s3_server.make_versioned_bucket("bookstore-uploads")
    for key in ODD_KEYS:
        client.put_object(Bucket="bookstore-uploads", Key=key, Body=b"v1")
        client.put_object(Bucket="bookstore-uploads", Key=key, Body=b"v2")
    client.put_object(Bucket="bookstore-uploads", Key="tenants/other/keep.txt", Body=b"x")
    for key in ODD_KEYS[1:]:
        client.delete_object(Bucket="bookstore-uploads", Key=key)
    client.put_object(Bucket="bookstore-uploads", Key=ODD_KEYS[1], Body=b"v3")  # re-uploaded: no longer missing
    client.delete_object(Bucket="bookstore-uploads", Key="tenants/other/keep.txt")  # outside the prefix

    source = S3Source(endpoint_url=s3_server.endpoint_url)
    since = datetime.now(timezone.utc) - timedelta(hours=6)
    evidence = source.delete_markers("bookstore-uploads", "tenants/acme-books/", since)
    assert sorted(marker.key for marker in evidence.missing) == sorted(ODD_KEYS[2:])
    assert len(evidence.markers) == 4 and not evidence.truncated
    assert all(marker.previous_version_id for marker in evidence.missing)
    assert evidence.scanned == 5 * 2 + 1 + 4  # versions + the re-upload + markers

    versions = source.object_versions("bookstore-uploads", ODD_KEYS[2])
    assert [(item.is_delete_marker, item.is_latest) for item in versions] == [
        (True, True),
        (False, False),
        (False, False),
    ]
    assert versions[1].size == 2 and versions[0].size is None

    day_old = {"id": 42, "deployedAt": (since - timedelta(days=1)).isoformat(), "revision": "d8f3c2a"}
    stale_app = parse_application({"metadata": {"name": "bookstore-catalog-us-east"}, "status": {"history": [day_old]}})
    active = namespace_state({"metadata": {"name": NS}, "status": {"phase": "Active"}})
    ev = evaluate(DecisionInput(app=stale_app, s3=evidence, namespace=active))
    assert ev.leaf is not None and ev.leaf.id == "data-rollback-s3-versioning"
    assert ev.path == ("recent_deploy", "no_deploy_symptom", "s3_missing")
    assert ev.results["s3_missing"].evidence[0].fact.startswith("3 objects deleted since ")

    future = datetime.now(timezone.utc) + timedelta(minutes=5)
    later = source.delete_markers("bookstore-uploads", "tenants/acme-books/", future)
    assert later.markers == () and later.scanned == evidence.scanned
    gone = evaluate(DecisionInput(app=stale_app, s3=later, namespace=namespace_state(None, NS)))
    assert gone.leaf is not None and gone.leaf.id == "data-rollback-velero"
    fine = evaluate(DecisionInput(app=stale_app, s3=later, namespace=active))
    assert fine.leaf is not None and fine.leaf.id == "not-a-rollback"


def test_s3_errors_are_source_errors(s3_server: S3Server) -> None:
    source = S3Source(endpoint_url=s3_server.endpoint_url)
    with pytest.raises(SourceError) as err:
        source.delete_markers("no-such-bucket", "", datetime.now(timezone.utc))
    assert err.value.kind is ErrorKind.NOT_FOUND and "no-such-bucket" in str(err.value)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = S3Source(endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1, connect_timeout=1)
    with pytest.raises(SourceError) as err:
        closed.object_versions("bookstore-uploads", "x")
    assert err.value.kind is ErrorKind.UNREACHABLE


# --------------------------------------------------------------------------- the flag provider's failures


def test_flag_errors(flag_provider: FlagProvider) -> None:
    cases = [
        (flag_provider.route("/missing", {}, status=404), ErrorKind.NOT_FOUND),
        (flag_provider.route("/denied", {}, status=403), ErrorKind.FORBIDDEN),
        (flag_provider.route("/auth", {}, status=401), ErrorKind.AUTH),
        (flag_provider.route("/boom", {}, status=503), ErrorKind.SERVER),
        (flag_provider.route("/html", b"<html>not json</html>"), ErrorKind.BAD_DATA),
        (flag_provider.route("/slow", {"enabled": True}, delay=1.0), ErrorKind.TIMEOUT),
        (flag_provider.route("/other", flagsmith(True)[:1]), ErrorKind.NOT_FOUND),
        ("file:///etc/passwd", ErrorKind.CONFIG),
    ]
    for url, kind in cases:
        with pytest.raises(SourceError) as err:
            fetch_flag(url, FLAG_KEY, timeout=0.3)
        assert err.value.kind is kind, (url, err.value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceError) as err:
        fetch_flag(f"http://127.0.0.1:{port}/flags", FLAG_KEY, timeout=1)
    assert err.value.kind is ErrorKind.UNREACHABLE
    bare = fetch_flag(flag_provider.route("/flags/one", {"enabled": True}), FLAG_KEY)
    assert (bare.name, bare.enabled) == (FLAG_KEY, True)
