"""What a pre-mortem reads: the objects around the write and the GitOps repository between the two revisions.

Every read is bounded (the Kubernetes client's per-request deadline, git's ``kill_after_timeout``, both under the
pre-mortem's total deadline) and none raises: a read that fails is kept as a problem ("could not read the
AppProject: forbidden"), which the judge turns into a RISKY reason the person reads.  Objects stay raw dicts: the
judge reads exactly the fields the upstream controllers act on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from cockpit.premortem import Intent, View

T = TypeVar("T")
MAX_TEMPLATES = 8  # AnalysisTemplates read for one Rollout
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"  # <app>:<group>/<kind>:<namespace>/<name>
INSTANCE_LABEL = "app.kubernetes.io/instance"  # label tracking (Argo CD's default before 3.0)


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@dataclass
class Facts:
    """Everything read for one pre-mortem (raw, untrusted)."""

    intent: Intent
    now: datetime
    app: dict[str, Any] | None = None
    project: dict[str, Any] | None = None
    appset: dict[str, Any] | None = None
    parent: dict[str, Any] | None = None
    rollout: dict[str, Any] | None = None
    replica_sets: list[dict[str, Any]] = field(default_factory=list)
    analysis_templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    helm_history: tuple[Any, ...] = ()  # cockpit.actions.helm.HelmRevision, newest first
    helm_target: dict[str, Any] | None = None  # the target release's JSON (hooks, manifest)
    live_revision: str = ""  # the revision running now (the bad one)
    target_revision: str = ""  # the revision the write goes back to
    target_entry: dict[str, Any] | None = None  # the Argo CD history entry of the target
    live_entry: dict[str, Any] | None = None
    diff: Any = None  # cockpit.sources.gitrepo.Diff, live -> target
    migrations: Any = None  # cockpit.preflight.PreflightVerdict over (live, target)
    migration_pair: tuple[str, str] = ("", "")  # (bad, target) the migrations were compared for
    manifests: dict[str, str] = field(default_factory=dict)  # path -> YAML at the target revision
    flag_keys: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()
    data_rolled_back: str = ""
    app_path: str = ""
    repo: str | None = None
    problems: dict[str, str] = field(default_factory=dict)  # what -> why it could not be read


def _try(facts: Facts, what: str, read: Callable[[], T]) -> T | None:
    from cockpit.actions.requests import ActionRefused
    from cockpit.sources.errors import SourceError

    try:
        return read()
    except (SourceError, ActionRefused) as err:
        facts.problems[what] = str(err)
    except Exception as err:  # noqa: BLE001 - a pre-mortem never stops a write from being shown
        facts.problems[what] = f"{type(err).__name__}: {err}"
    return None


def gather(view: View, intent: Intent) -> Facts:
    now = view.now() if view.now is not None else datetime.now(timezone.utc)
    facts = Facts(intent, now, flag_keys=view.flag_keys, contexts=view.contexts, repo=view.gitops_repo)
    if view.kube is None:
        facts.problems["the cluster"] = f"not connected to {view.context}"
    if intent.action == "argocd.rollback":
        _argocd(view, facts, intent.namespace, intent.name)
        _rollback_revisions(facts)
        _git(view, facts, manifests=True)
        _rollout(view, facts)
    elif intent.action in ("rollouts.undo", "rollouts.abort"):
        _rollout(view, facts, namespace=intent.namespace, name=intent.name)
        owner = _owner_app(view, facts)
        if owner is not None:
            _argocd(view, facts, owner[0], owner[1])
            _rollout_revisions(facts)
            _git(view, facts, manifests=False)
    elif intent.action == "helm.rollback":
        _helm(view, facts)
    elif intent.action == "git.revert":
        if view.app_name:
            _argocd(view, facts, view.argocd_namespace, view.app_name)
        _revert(view, facts)
    facts.data_rolled_back = view.data_rolled_back(_deploy_time(facts.live_entry))
    return facts


# --------------------------------------------------------------------------- Argo CD


def _argocd(view: View, facts: Facts, namespace: str, name: str) -> None:
    from cockpit.actions.argocd import APP_PROJECTS, APPLICATION_SETS
    from cockpit.sources.kube import APPLICATIONS

    if view.kube is None:
        return
    facts.app = _try(facts, f"Application {namespace}/{name}", lambda: view.kube.get(APPLICATIONS, namespace, name))
    if facts.app is None:
        return
    spec, meta = _map(facts.app.get("spec")), _map(facts.app.get("metadata"))
    source = _map(spec.get("source")) or next(iter(_items(spec.get("sources"))), {})
    facts.app_path = str(source.get("path") or "")
    project = str(spec.get("project") or "default")
    facts.project = _try(facts, f"AppProject {project}", lambda: view.kube.get(APP_PROJECTS, namespace, project))
    owner = next((ref for ref in _items(meta.get("ownerReferences")) if ref.get("kind") == "ApplicationSet"), None)
    if owner is not None:
        appset = str(owner.get("name") or "")
        found_set = _try(facts, f"ApplicationSet {appset}", lambda: view.kube.get(APPLICATION_SETS, namespace, appset))
        facts.appset = found_set or {"metadata": {"name": appset}}
    parent = parent_of(facts.app)
    if parent is not None:
        found = _try(facts, f"parent Application {parent[1]}",
                     lambda: view.kube.get(APPLICATIONS, parent[0] or namespace, parent[1]))
        facts.parent = found


def parent_of(app: dict[str, Any]) -> tuple[str, str] | None:
    """(namespace, name) of the Application that manages ``app`` (app of apps), from Argo CD's resource tracking:
    the ``argocd.argoproj.io/tracking-id`` annotation (``parent:argoproj.io/Application:ns/child``), else the
    ``app.kubernetes.io/instance`` label.  "" namespace: the child's own."""
    meta = _map(app.get("metadata"))
    own = str(meta.get("name") or "")
    tracking = _map(meta.get("annotations")).get(TRACKING_ANNOTATION)
    if isinstance(tracking, str) and ":" in tracking:
        owner = tracking.split(":", 1)[0]
        namespace, _, name = owner.rpartition("_")  # apps in any namespace: <namespace>_<name>
        if name and name != own:
            return namespace, name
    label = _map(meta.get("labels")).get(INSTANCE_LABEL)
    if isinstance(label, str) and label and label != own:
        return "", label
    return None


def _history(app: dict[str, Any] | None) -> list[dict[str, Any]]:
    entries = [entry for entry in _items(_map(_map(app).get("status")).get("history"))
               if isinstance(entry.get("id"), int) and not isinstance(entry.get("id"), bool)]
    return sorted(entries, key=lambda entry: entry["id"])


def _revision(entry: dict[str, Any] | None) -> str:
    entry = _map(entry)
    value = entry.get("revision") or next(iter(entry.get("revisions") or []), "")
    return value if isinstance(value, str) else ""


def _rollback_revisions(facts: Facts) -> None:
    history = _history(facts.app)
    if history:
        facts.live_entry = history[-1]
        facts.live_revision = _revision(history[-1])
    target = facts.intent.revision
    facts.target_revision = target
    facts.target_entry = next((entry for entry in reversed(history) if _revision(entry) == target), None)


def _rollout_revisions(facts: Facts) -> None:
    """For an abort/undo: the Argo CD history entries whose images are the live and the target ReplicaSets'."""
    from cockpit.premortem import judge

    history = _history(facts.app)
    if not history:
        return
    facts.live_entry = history[-1]
    facts.live_revision = _revision(history[-1])
    target_rs = judge.target_replica_set(facts)
    images = judge.images_of(_map(_map(target_rs).get("spec")).get("template")) if target_rs else ()
    for entry in reversed(history[:-1]):
        if images and set(images) <= set(judge.entry_images(entry)):
            facts.target_entry = entry
            break
    else:
        facts.target_entry = history[-2] if len(history) > 1 else None
    facts.target_revision = _revision(facts.target_entry)


def _deploy_time(entry: dict[str, Any] | None) -> datetime | None:
    from cockpit.timefmt import parse_time

    entry = _map(entry)
    return parse_time(entry.get("deployStartedAt")) or parse_time(entry.get("deployedAt"))


def _git(view: View, facts: Facts, *, manifests: bool) -> None:
    from cockpit.preflight import preflight
    from cockpit.sources import gitrepo

    repo, live, target = view.gitops_repo, facts.live_revision, facts.target_revision
    if not repo:
        facts.problems["the GitOps repository"] = "no GitOps repository clone configured (--gitops-repo)"
        return
    if not live or not target:
        facts.problems["the revisions"] = "Argo CD's history does not name both the live and the target revision"
        return
    paths = [facts.app_path] if facts.app_path else []
    facts.diff = _try(facts, "the diff", lambda: gitrepo.diff(repo, live, target, paths=paths))
    changed = _try(facts, "the migrations", lambda: gitrepo.migration_diff(repo, live, target, view.migrations_dir))
    if changed is not None:
        facts.migrations = preflight(changed)
        facts.migration_pair = (live, target)
    if manifests and facts.app_path:
        found = _try(facts, "the manifests at the target", lambda: gitrepo.files_at(repo, target, paths=paths))
        if found is not None:
            facts.manifests = found[1]


# --------------------------------------------------------------------------- Argo Rollouts


def _rollout(view: View, facts: Facts, *, namespace: str | None = None, name: str | None = None) -> None:
    from cockpit.actions.rollouts import owned_replica_sets
    from cockpit.sources.kube import ROLLOUTS, Resource

    if view.kube is None:
        return
    if name is None:
        if view.rollout is None or not view.rollout[1]:
            return
        namespace, name = view.rollout
    found = _try(facts, f"Rollout {namespace}/{name}", lambda: view.kube.get(ROLLOUTS, namespace, name))
    if found is None:
        return
    facts.rollout = found
    facts.replica_sets = _try(facts, f"the ReplicaSets of {name}", lambda: owned_replica_sets(view.kube, found)) or []
    templates = Resource("argoproj.io", "v1alpha1", "analysistemplates", "AnalysisTemplate", product="Argo Rollouts")
    for template in _template_names(found)[:MAX_TEMPLATES]:
        obj = _try(facts, f"AnalysisTemplate {template}", lambda t=template: view.kube.get(templates, namespace, t))
        if obj is not None:
            facts.analysis_templates[template] = obj


def _template_names(rollout: dict[str, Any]) -> list[str]:
    canary = _map(_map(_map(rollout.get("spec")).get("strategy")).get("canary"))
    names: list[str] = []
    for step in _items(canary.get("steps")):
        for ref in _items(_map(step.get("analysis")).get("templates")):
            if ref.get("templateName") and not ref.get("clusterScope"):
                names.append(str(ref["templateName"]))
    return list(dict.fromkeys(names))


def _owner_app(view: View, facts: Facts) -> tuple[str, str] | None:
    """The Argo CD app deploying the Rollout: its tracking annotation or label, else the app in view."""
    meta = _map(_map(facts.rollout).get("metadata"))
    tracking = _map(meta.get("annotations")).get(TRACKING_ANNOTATION)
    if isinstance(tracking, str) and ":" in tracking:
        namespace, _, name = tracking.split(":", 1)[0].rpartition("_")
        return namespace or view.argocd_namespace, name
    label = _map(meta.get("labels")).get(INSTANCE_LABEL)
    if isinstance(label, str) and label:
        return view.argocd_namespace, label
    if view.app_name:
        return view.argocd_namespace, view.app_name
    return None


# --------------------------------------------------------------------------- Helm, git revert


def _helm(view: View, facts: Facts) -> None:
    from cockpit.actions import helm
    from cockpit.sources.kube import SECRETS

    if view.kube is None:
        return
    intent = facts.intent
    history = _try(facts, f"Helm history of {intent.name}", lambda: helm.history(view.kube, intent.namespace,
                                                                                  intent.name))
    if not history:
        return
    facts.helm_history = tuple(history)
    current = next((item for item in history if item.status == "deployed"), history[0])
    target = intent.helm_revision or next((item.revision for item in history if item.revision < current.revision), 0)
    chosen = next((item for item in history if item.revision == target), None)
    facts.live_revision, facts.target_revision = str(current.revision), str(target)
    if chosen is not None:
        secret = _try(facts, f"release Secret {chosen.secret}", lambda: view.kube.get(SECRETS, intent.namespace,
                                                                                       chosen.secret))
        data = _map(_map(secret).get("data")).get("release")
        if isinstance(data, str):
            facts.helm_target = _try(facts, "the target release", lambda: helm.decode_release(data))


def _revert(view: View, facts: Facts) -> None:
    from cockpit.preflight import preflight
    from cockpit.sources import gitrepo

    repo, bad = view.gitops_repo, facts.intent.revision
    if not repo or not bad:
        facts.problems["the GitOps repository"] = "no GitOps repository clone or commit to look at"
        return
    facts.live_revision, facts.target_revision = bad, f"{bad}^"
    facts.diff = _try(facts, "the revert's diff", lambda: gitrepo.diff(repo, bad, f"{bad}^"))
    added = _try(facts, "the migrations", lambda: gitrepo.migration_diff(repo, bad, f"{bad}^", view.migrations_dir))
    if added is not None:
        facts.migrations = preflight(added)
        facts.migration_pair = (bad, f"{bad}^")


# --------------------------------------------------------------------------- the tree's leaf


def leaf_intent(view: View, runbook: str, *, app: Any = None, rollout: Any = None) -> Intent | None:
    """The first rollback write of a leaf's runbook, as an :class:`Intent` (no reads: from the panes)."""
    if runbook == "code-rollback-argocd" and app is not None and len(app.history) >= 2:
        entry = app.history[1]
        revision = entry.revision or next(iter(entry.revisions), "")
        return Intent("argocd.rollback", view.context, app.namespace or view.argocd_namespace, app.name,
                      revision=revision)
    if runbook == "code-rollback-rollouts" and rollout is not None:
        in_flight = bool(rollout.canary_hash) and rollout.canary_hash != rollout.stable_hash \
            and not getattr(rollout, "aborted", False)
        return Intent("rollouts.abort" if in_flight else "rollouts.undo", view.context, rollout.namespace,
                      rollout.name)
    if runbook == "code-rollback-helm" and view.helm_release:
        namespace = view.rollout[0] if view.rollout else ""
        return Intent("helm.rollback", view.context, namespace, view.helm_release)
    if runbook == "config-rollback-argocd-app" and app is not None and app.history:
        entry = app.history[0]
        return Intent("git.revert", view.context, "", view.gitops_repo or "",
                      revision=entry.revision or next(iter(entry.revisions), ""))
    return None
