"""Helm: release history read from its Secrets, and ``helm rollback`` through the helm binary (MECHANICS (e)).

History needs no helm binary: Helm 3 keeps every revision in a Secret ``sh.helm.release.v1.<release>.v<rev>``
(type ``helm.sh/release.v1``, labels ``owner=helm``, ``name``, ``status``, ``version``) whose ``data.release`` is
``base64(gzip(json(Release)))`` -- base64-encoded once more by the API, so decoding is base64, base64, gunzip
(when the gzip magic bytes ``1f 8b 08`` are there; older releases are plain JSON), JSON.

The rollback itself is not re-implemented: it renders and applies the chart's stored manifests, creates a new
revision, runs hooks and waits; only ``helm`` does that faithfully.  The cockpit runs it on PATH with
``--dry-run`` first, and says clearly when helm is missing.  Releases deployed by Argo CD have no Secrets
(Argo CD only runs ``helm template``), so a missing history is answered with "roll back in Argo CD instead".
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cockpit.actions.requests import AccessCheck, Action, ActionRefused, CommandWrite, Risk
from cockpit.sources.errors import SourceError
from cockpit.sources.kube import SECRETS, KubeContext
from cockpit.timefmt import parse_time

GZIP_MAGIC = b"\x1f\x8b\x08"
MAX_RELEASE_BYTES = 8 * 1024 * 1024  # a release larger than the Secret size limit is not a real one
HELM_MISSING = (
    "helm is not installed on this machine (no 'helm' on PATH): the cockpit runs the real helm for a rollback "
    "and does not imitate it. Install helm 3, or run this yourself: {command}"
)


class ReleaseDecodeError(ValueError):
    """A release Secret whose payload is not a Helm release."""


@dataclass(frozen=True)
class HelmRevision:
    release: str
    revision: int
    status: str  # deployed | superseded | failed | pending-rollback | ...
    chart: str  # name-version
    app_version: str
    updated: datetime | None
    description: str
    secret: str  # the Secret it came from


def decode_release(data_release: str | bytes) -> dict[str, Any]:
    """The Release JSON from a Secret's ``data.release`` (as the API returns it: base64 of Helm's base64)."""
    try:
        once = base64.b64decode(data_release, validate=True)
        twice = base64.b64decode(once, validate=True)
    except (binascii.Error, ValueError):
        raise ReleaseDecodeError("data.release is not base64 of base64") from None
    if twice[:3] == GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(twice)) as handle:
                raw = handle.read(MAX_RELEASE_BYTES + 1)
        except (OSError, EOFError):
            raise ReleaseDecodeError("data.release is not valid gzip") from None
        if len(raw) > MAX_RELEASE_BYTES:
            raise ReleaseDecodeError("data.release is too large to be a Helm release")
    else:
        raw = twice  # Helm 2-era / un-gzipped releases: plain JSON (util.go decodeRelease)
    try:
        release = json.loads(raw)
    except ValueError:
        raise ReleaseDecodeError("data.release is not JSON after decoding") from None
    if not isinstance(release, dict):
        raise ReleaseDecodeError("data.release is not a Helm release object")
    return release


def encode_release(release: dict[str, Any]) -> str:
    """What Helm stores, base64-encoded once more as the API serves ``data.release`` (for fixtures and the demo)."""
    helm_value = base64.b64encode(gzip.compress(json.dumps(release).encode(), compresslevel=9))
    return base64.b64encode(helm_value).decode("ascii")


def _revision_from(secret: dict[str, Any]) -> HelmRevision:
    meta = secret.get("metadata") if isinstance(secret.get("metadata"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    data = secret.get("data") if isinstance(secret.get("data"), dict) else {}
    release = decode_release(data.get("release") or "")
    info = release.get("info") if isinstance(release.get("info"), dict) else {}
    chart_meta = ((release.get("chart") or {}).get("metadata") or {}) if isinstance(release.get("chart"), dict) else {}
    version = release.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        version = int(labels["version"]) if str(labels.get("version", "")).isdigit() else 0
    chart = "-".join(str(part) for part in (chart_meta.get("name"), chart_meta.get("version")) if part)
    return HelmRevision(
        release=str(release.get("name") or labels.get("name") or ""),
        revision=version,
        status=str(info.get("status") or labels.get("status") or ""),
        chart=chart,
        app_version=str(chart_meta.get("appVersion") or ""),
        updated=parse_time(info.get("last_deployed")),
        description=str(info.get("description") or ""),
        secret=str(meta.get("name") or ""),
    )


def history(ctx: KubeContext, namespace: str, release: str) -> tuple[HelmRevision, ...]:
    """``helm history RELEASE -n NS`` from the release Secrets, newest revision first.

    Secrets whose payload does not decode are skipped (a hand-made or corrupted Secret must not hide the rest).
    """
    try:
        items, _ = ctx.list(SECRETS, namespace, label_selector=f"owner=helm,name={release}")
    except SourceError as err:
        raise ActionRefused(f"cannot read the Helm release Secrets of {release} in {namespace}: {err}") from None
    revisions = []
    for secret in items:
        if secret.get("type") not in (None, "helm.sh/release.v1"):
            continue
        try:
            revisions.append(_revision_from(secret))
        except ReleaseDecodeError:
            continue
    revisions.sort(key=lambda item: item.revision, reverse=True)
    return tuple(revisions)


def helm_installed() -> bool:
    return shutil.which("helm") is not None


def rollback(
    ctx: KubeContext,
    namespace: str,
    release: str,
    revision: int | None = None,
    *,
    kubeconfig: str | None = None,
    timeout: str = "5m",
) -> Action:
    """``helm rollback RELEASE [REVISION] -n NS --wait --timeout 5m``, dry-run first (seed Quick Reference)."""
    revisions = history(ctx, namespace, release)
    if not revisions:
        raise ActionRefused(
            f"no Helm release history for {release} in {namespace} (no sh.helm.release.v1.{release}.v* Secrets): "
            "if Argo CD deploys this chart it only runs 'helm template', so roll back with Argo CD instead"
        )
    current = revisions[0]
    if revision is None:
        previous = next((item for item in revisions[1:] if item.status in ("superseded", "deployed")), None)
        if previous is None:
            raise ActionRefused(f"release {release} has no earlier revision to roll back to")
        revision = previous.revision
    chosen = next((item for item in revisions if item.revision == revision), None)
    if chosen is None:
        raise ActionRefused(f"release {release} has no revision {revision} (known: "
                            f"{', '.join(str(item.revision) for item in revisions)})")
    if chosen.revision == current.revision:
        raise ActionRefused(f"revision {revision} is the current revision of {release}", noop=True)
    argv = ["helm", "rollback", release, str(revision), "-n", namespace, "--wait", "--timeout", timeout,
            "--kube-context", ctx.name]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    dry = ["helm", "rollback", release, str(revision), "-n", namespace, "--dry-run", "--kube-context", ctx.name]
    if kubeconfig:
        dry += ["--kubeconfig", kubeconfig]
    if not helm_installed():
        import shlex

        raise ActionRefused(HELM_MISSING.format(command=shlex.join(argv[: argv.index("--kube-context")])))
    access = (
        AccessCheck("create", "", "secrets", namespace),  # the new revision's Secret
        AccessCheck("update", "", "secrets", namespace),  # the superseded one's status label
    )
    write = CommandWrite(argv=tuple(argv), dry_run_argv=tuple(dry), timeout=_seconds(timeout) + 30,
                         access=access, context=ctx)
    return Action(
        name="helm.rollback", verb="roll back", kind="Helm release", target=release, namespace=namespace,
        context=ctx.name, user=ctx.user, writes=(write,), risk=Risk.DESTRUCTIVE,
        warnings=(
            "helm rollback re-applies the stored manifests of that revision and runs its hooks: a migration hook "
            "from the bad release is not undone",
        ),
        summary=f"roll {release} back from revision {current.revision} ({current.chart}) to {revision} "
                f"({chosen.chart}, {chosen.status})",
        preview="\n".join(
            f"{item.revision:>4}  {item.status:<17} {item.chart:<28} {item.description}" for item in revisions[:10]
        ),
        follow_up=f"helm writes revision {current.revision + 1} (pending-rollback, then deployed)",
    )


def _seconds(text: str) -> float:
    from cockpit.actions.syncwindows import CronError, parse_duration

    try:
        return parse_duration(text).total_seconds()
    except CronError:
        return 300.0
