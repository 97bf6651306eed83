"""The demo's GitOps repository: a bare origin and a clone on disk whose commits ARE the Argo CD history.

    #39  base: catalog v1.5.0, CPU request 250m, the additive migration 0041
    #40  the overlay's CPU request 250m -> 500m                     (a config change)
    #41  a README edit                                               (a new revision, no manifest change)
    #42  image tag v1.5.0 -> v1.5.1 + migrations/0042 DROP COLUMN   (the bad release: forward-only)

Commit dates are pinned to the deploy times, so the SHAs are the same for the same ``now`` (snapshot tests).
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "bookstore-ci",
    "GIT_AUTHOR_EMAIL": "ci@bookstore.example",
    "GIT_COMMITTER_NAME": "bookstore-ci",
    "GIT_COMMITTER_EMAIL": "ci@bookstore.example",
}

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: bookstore-platform-acme-books
resources:
  - rollout.yaml
patches:
  - path: cpu-patch.yaml
images:
  - name: ghcr.io/acme/catalog
    newTag: {tag}
"""

CPU_PATCH = """\
- op: replace
  path: /spec/template/spec/containers/0/resources/requests/cpu
  value: {cpu}
"""

ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: catalog
spec:
  replicas: 4
  selector:
    matchLabels: {app: catalog}
  template:
    metadata:
      labels: {app: catalog}
    spec:
      containers:
        - name: catalog
          image: ghcr.io/acme/catalog
"""

MIGRATION_0041 = """\
-- expand: the new status column is nullable, so the running binary keeps working
ALTER TABLE orders ADD COLUMN status text;
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);
"""

MIGRATION_0042 = """\
-- v1.5.1 reads orders.status only; the legacy column goes
ALTER TABLE orders DROP COLUMN legacy_status;
"""


def _git(cwd: Path, *args: str, when: datetime | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    if when is not None:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = stamp
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def build(root: Path, deployed: dict[int, datetime]) -> tuple[Path, dict[int, str]]:
    """Create ``root/origin.git`` and ``root/config`` (a clone); return the clone and {history id: SHA}."""
    root.mkdir(parents=True, exist_ok=True)
    origin, work = root / "origin.git", root / "config"
    _git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    _git(root, "clone", "--quiet", str(origin), str(work))
    _git(work, "checkout", "--quiet", "-B", "main")
    app = "apps/catalog"
    steps: list[tuple[int, dict[str, str], str]] = [
        (39, {
            "README.md": "# bookstore-platform config\n",
            f"{app}/kustomization.yaml": KUSTOMIZATION.format(tag="v1.5.0"),
            f"{app}/cpu-patch.yaml": CPU_PATCH.format(cpu="250m"),
            f"{app}/rollout.yaml": ROLLOUT,
            "migrations/0041_add_status_column.sql": MIGRATION_0041,
        }, "catalog v1.5.0"),
        (40, {f"{app}/cpu-patch.yaml": CPU_PATCH.format(cpu="500m")}, "catalog: CPU request 500m"),
        (41, {"README.md": "# bookstore-platform config\n\nOwned by the platform team.\n"}, "docs: owners"),
        (42, {f"{app}/kustomization.yaml": KUSTOMIZATION.format(tag="v1.5.1"),
              "migrations/0042_drop_legacy_column.sql": MIGRATION_0042}, "catalog v1.5.1: drop orders.legacy_status"),
    ]
    shas: dict[int, str] = {}
    for hid, files, message in steps:
        for path, text in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        _git(work, "add", "--all")
        _git(work, "commit", "--quiet", "--no-gpg-sign", "-m", message, when=deployed[hid])
        shas[hid] = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "--quiet", "origin", "HEAD:main")
    return work, shas
