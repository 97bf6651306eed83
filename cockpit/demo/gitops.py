"""The demo's GitOps repository: a bare origin and a clone on disk whose commits ARE the Argo CD history.

The default incident (scenario ``forward-only``)::

    #39  base: catalog v1.5.0, CPU request 250m, the additive migration 0041, the migration Job (a PreSync hook)
    #40  the overlay's CPU request 250m -> 500m                     (a config change)
    #41  a README edit                                               (a new revision, no manifest change)
    #42  image tag v1.5.0 -> v1.5.1 + migrations/0042 DROP COLUMN   (the bad release: forward-only)

Other scenarios change #42 (an additive migration, a ResourceQuota cut; see :data:`RELEASES`).  Commit dates are
pinned to the deploy times, so the SHAs are the same for the same ``now`` (snapshot tests).

The origin is a bare repository beside the clone.  The demo plays its forge too: :class:`Reviewer` watches the
origin's branches (reading ``refs/heads`` and ``packed-refs`` directly, no process per poll) and, a short while
after a branch whose tip is a ``git revert`` is pushed, merges it into the tracked branch with a merge commit, the
way a reviewer merges the pull request.  :func:`render` reads what a revision deploys (image tag, ResourceQuota)
for the demo's Argo CD controller.
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
  - migrate-job.yaml
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

# The release's migrations run as an Argo CD PreSync hook before the new pods start -- and a rollback, which syncs
# with the apply strategy, skips it (the pre-mortem lists it).
MIGRATE_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: catalog-migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/acme/catalog
          args: ["migrate", "--dir", "/migrations", "--up"]
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


QUOTA = """\
apiVersion: v1
kind: ResourceQuota
metadata:
  name: catalog-quota
spec:
  hard:
    cpu: "{cpu}"
    memory: 24Gi
    pods: "20"
"""

KUSTOMIZATION_QUOTA = KUSTOMIZATION.replace("  - rollout.yaml\n", "  - rollout.yaml\n  - resourcequota.yaml\n")

MIGRATION_0042_ADDITIVE = """\
-- v1.5.1 ranks search results; the column is nullable, so v1.5.0 keeps working
ALTER TABLE books ADD COLUMN search_rank integer;
CREATE INDEX CONCURRENTLY IF NOT EXISTS books_search_rank_idx ON books (search_rank);
"""

APP_PATH = "apps/catalog"
Step = tuple[int, dict[str, str], str]


def _steps(release: str) -> list[Step]:
    """The four commits of a scenario's history; ``release`` picks what #42 did."""
    app = APP_PATH
    base: dict[str, str] = {
        "README.md": "# bookstore-platform config\n",
        f"{app}/kustomization.yaml": KUSTOMIZATION.format(tag="v1.5.0"),
        f"{app}/cpu-patch.yaml": CPU_PATCH.format(cpu="250m"),
        f"{app}/rollout.yaml": ROLLOUT,
        f"{app}/migrate-job.yaml": MIGRATE_JOB,
        "migrations/0041_add_status_column.sql": MIGRATION_0041,
    }
    if release == "quota":
        base[f"{app}/kustomization.yaml"] = KUSTOMIZATION_QUOTA.format(tag="v1.5.0")
        base[f"{app}/resourcequota.yaml"] = QUOTA.format(cpu="10")
    steps: list[Step] = [
        (39, base, "catalog v1.5.0"),
        (40, {f"{app}/cpu-patch.yaml": CPU_PATCH.format(cpu="500m")}, "catalog: CPU request 500m"),
        (41, {"README.md": "# bookstore-platform config\n\nOwned by the platform team.\n"}, "docs: owners"),
    ]
    if release == "forward-only":
        steps.append((42, {f"{app}/kustomization.yaml": KUSTOMIZATION.format(tag="v1.5.1"),
                           "migrations/0042_drop_legacy_column.sql": MIGRATION_0042},
                      "catalog v1.5.1: drop orders.legacy_status"))
    elif release == "additive":
        steps.append((42, {f"{app}/kustomization.yaml": KUSTOMIZATION.format(tag="v1.5.1"),
                           "migrations/0042_add_search_rank.sql": MIGRATION_0042_ADDITIVE},
                      "catalog v1.5.1: rank search results"))
    elif release == "quota":
        steps.append((42, {f"{app}/resourcequota.yaml": QUOTA.format(cpu="2")},
                      "catalog: cap the tenant ResourceQuota at 2 CPUs"))
    else:
        raise ValueError(f"unknown release {release!r}")
    return steps


RELEASES = ("forward-only", "additive", "quota")


def build(root: Path, deployed: dict[int, datetime], release: str = "forward-only") -> tuple[Path, dict[int, str]]:
    """Create ``root/origin.git`` and ``root/config`` (a clone); return the clone and {history id: SHA}."""
    root.mkdir(parents=True, exist_ok=True)
    origin, work = root / "origin.git", root / "config"
    _git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    _git(root, "clone", "--quiet", str(origin), str(work))
    _git(work, "checkout", "--quiet", "-B", "main")
    shas: dict[int, str] = {}
    for hid, files, message in _steps(release):
        for path, text in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        _git(work, "add", "--all")
        _git(work, "commit", "--quiet", "--no-gpg-sign", "-m", message, when=deployed[hid])
        shas[hid] = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "--quiet", "origin", "HEAD:main")
    # origin/HEAD, as a clone of a forge has it: the cockpit reads the default branch from it
    _git(work, "remote", "set-head", "origin", "main")
    return work, shas


# --------------------------------------------------------------------------- the origin, read and merged


def origin_refs(origin: Path) -> dict[str, str]:
    """{branch: SHA} of a bare repository, read from its files (loose refs win over packed ones)."""
    refs: dict[str, str] = {}
    packed = origin / "packed-refs"
    try:
        for line in packed.read_text(encoding="utf-8").splitlines():
            if line and line[0] not in "#^":
                sha, _, ref = line.partition(" ")
                if ref.startswith("refs/heads/"):
                    refs[ref[len("refs/heads/"):]] = sha
    except OSError:
        pass
    heads = origin / "refs" / "heads"
    for path in heads.rglob("*") if heads.is_dir() else ():
        if path.is_file():
            try:
                sha = path.read_text(encoding="utf-8").strip()
            except OSError:
                continue
            if len(sha) == 40:
                refs[path.relative_to(heads).as_posix()] = sha
    return refs


def resolve(origin: Path, revision: str) -> str:
    """The commit SHA ``revision`` (a SHA, a branch, HEAD) names in the origin; "" when it names none."""
    if not revision or revision.startswith("-"):
        return ""
    try:
        return _git(origin, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    except RuntimeError:
        return ""


def show(origin: Path, sha: str, path: str) -> str | None:
    try:
        return _git(origin, "show", f"{sha}:{path}")
    except RuntimeError:
        return None


def subject(origin: Path, sha: str) -> str:
    try:
        return _git(origin, "log", "-1", "--format=%B", sha)
    except RuntimeError:
        return ""


def render(origin: Path, sha: str, app_path: str = APP_PATH) -> dict[str, object]:
    """What revision ``sha`` deploys, as far as the demo's controllers care: the image tag and the quota."""
    import yaml

    out: dict[str, object] = {}
    kustomization = show(origin, sha, f"{app_path}/kustomization.yaml")
    if kustomization:
        try:
            doc = yaml.safe_load(kustomization) or {}
        except yaml.YAMLError:
            doc = {}
        for image in doc.get("images") or []:
            if isinstance(image, dict) and image.get("newTag"):
                out["tag"] = str(image["newTag"])
        out["namespace"] = doc.get("namespace")
    quota = show(origin, sha, f"{app_path}/resourcequota.yaml")
    if quota:
        try:
            doc = yaml.safe_load(quota) or {}
        except yaml.YAMLError:
            doc = {}
        if isinstance(doc, dict) and doc.get("kind") == "ResourceQuota":
            out["quota"] = doc
    return out


def merge(origin: Path, scratch: Path, branch: str, into: str, number: int) -> str:
    """Merge ``branch`` into ``into`` on the origin with a merge commit, as a forge's merge button does."""
    if scratch.exists():
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    _git(origin.parent, "clone", "--quiet", "--branch", into, str(origin), str(scratch))
    _git(scratch, "merge", "--quiet", "--no-ff", "--no-edit", "-m",
         f"Merge pull request #{number} from acme/{branch}", f"origin/{branch}")
    _git(scratch, "push", "--quiet", "origin", f"HEAD:{into}")
    sha = _git(scratch, "rev-parse", "HEAD")
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)
    return sha
