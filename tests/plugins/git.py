"""``gitops_repo``: a real GitOps repository on disk with the seed's release history.

A bare ``origin`` and a working clone, five commits pushed to ``origin/main``:

==================  ======================================================================================
name                what the commit changes
==================  ======================================================================================
base                kustomization (catalog v1.5.0), Helm values, a Deployment, a NetworkPolicy, an additive
                    migration (0041) and a README
image_bump          kustomization ``newTag: v1.5.0`` -> ``v1.5.1`` only (a code release)
values_change       Helm values: CPU request 250m -> 500m (a config change)
netpol_change       NetworkPolicy: the egress rule to the database port 5432 -> 5433 (a config change)
migration_release   ``newTag: v1.5.1`` -> ``v1.6.0`` plus ``migrations/0042_drop_legacy_column.sql``
                    (``ALTER TABLE orders DROP COLUMN legacy_status;``): the forward-only release
==================  ======================================================================================

Git runs with ``-c user.name/-c user.email`` and no global or system config, so the developer's setup
never leaks in.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

GIT_IDENTITY = ("-c", "user.name=cockpit-tests", "-c", "user.email=cockpit-tests@example.invalid")
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: bookstore-platform-acme-books
resources:
  - deployment.yaml
  - networkpolicy.yaml
images:
  - name: ghcr.io/acme/catalog
    newTag: {tag}
"""

VALUES = """\
# Helm values for the catalog chart
replicaCount: 4
resources:
  requests:
    cpu: {cpu}
    memory: 512Mi
search:
  engine: legacy_postgres_ilike
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
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
          ports:
            - containerPort: 8080
"""

NETWORK_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: catalog-egress
spec:
  podSelector:
    matchLabels: {{app: catalog}}
  policyTypes: [Egress]
  egress:
    - ports:
        - protocol: TCP
          port: {port}
"""

MIGRATION_0041 = """\
-- expand: the new status column, nullable, so the previous binary keeps working
ALTER TABLE orders ADD COLUMN status text;
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);
"""

MIGRATION_0042 = "ALTER TABLE orders DROP COLUMN legacy_status;\n"


@dataclass
class GitopsRepo:
    origin: Path  # the bare repository
    work: Path  # a clone with a work tree
    shas: dict[str, str] = field(default_factory=dict)  # commit name -> full SHA

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return run_git(cwd or self.work, *args)

    def commit(self, name: str, files: Mapping[str, str | None], message: str, *, push: bool = True) -> str:
        """Write (or, for None, delete) ``files`` in the clone, commit, push; remember the SHA as ``name``."""
        for path, text in files.items():
            target = self.work / path
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.git("add", "--all")
        self.git(*GIT_IDENTITY, "commit", "--quiet", "--no-gpg-sign", "-m", message)
        sha = self.git("rev-parse", "HEAD").strip()
        if push:
            self.git("push", "--quiet", "origin", "HEAD:main")
        self.shas[name] = sha
        return sha


def run_git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def build_gitops_repo(root: Path) -> GitopsRepo:
    root.mkdir(parents=True, exist_ok=True)
    origin = root / "origin.git"
    work = root / "work"
    run_git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    run_git(root, "clone", "--quiet", str(origin), str(work))
    run_git(work, "checkout", "--quiet", "-B", "main")
    repo = GitopsRepo(origin, work)
    repo.commit(
        "base",
        {
            "README.md": "# bookstore-platform config\n",
            "apps/catalog/kustomization.yaml": KUSTOMIZATION.format(tag="v1.5.0"),
            "apps/catalog/values.yaml": VALUES.format(cpu="250m"),
            "apps/catalog/deployment.yaml": DEPLOYMENT,
            "apps/catalog/networkpolicy.yaml": NETWORK_POLICY.format(port=5432),
            "migrations/0041_add_status_column.sql": MIGRATION_0041,
        },
        "catalog v1.5.0",
    )
    repo.commit("image_bump", {"apps/catalog/kustomization.yaml": KUSTOMIZATION.format(tag="v1.5.1")}, "catalog v1.5.1")
    repo.commit("values_change", {"apps/catalog/values.yaml": VALUES.format(cpu="500m")}, "catalog: CPU request 500m")
    repo.commit(
        "netpol_change", {"apps/catalog/networkpolicy.yaml": NETWORK_POLICY.format(port=5433)}, "catalog: egress 5433"
    )
    repo.commit(
        "migration_release",
        {
            "apps/catalog/kustomization.yaml": KUSTOMIZATION.format(tag="v1.6.0"),
            "migrations/0042_drop_legacy_column.sql": MIGRATION_0042,
        },
        "catalog v1.6.0: drop orders.legacy_status",
    )
    return repo


@pytest.fixture
def gitops_repo(tmp_path: Path) -> Iterator[GitopsRepo]:
    """The seed's GitOps repository (see the module docstring); removed with tmp_path."""
    yield build_gitops_repo(tmp_path / "gitops")
