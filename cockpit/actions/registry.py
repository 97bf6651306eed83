"""Every action by id, so runbook files can name them and the executor can build them from text parameters.

A runbook step says ``action: rollouts.abort`` with ``with: {namespace: "{namespace}", name: "{rollout}"}``; the
values arrive as strings (after the run's inputs are filled in) and are converted here, in one place, to what the
builder takes (ints, booleans, times, lists).  Everything a builder needs that is not a parameter -- the kube
context to write to, the S3 client, the GitOps clone -- comes from one :class:`ActionEnv` the app builds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.actions.requests import Action, ActionRefused
from cockpit.clock import Clock
from cockpit.timefmt import parse_time


@dataclass
class ActionEnv:
    """What builders need besides their parameters (one per app; ``kube`` is the incident's context)."""

    kube: Any = None  # cockpit.sources.kube.KubeContext
    s3_client: Any = None  # a boto3 S3 client (cockpit.sources.s3.S3Source(...).client)
    s3_endpoint: str = ""
    gitops_repo: str | None = None  # a local clone of the GitOps repository
    kubeconfig: str | None = None  # passed to helm
    username: str = ""  # the person, for Argo CD's operation.initiatedBy ("" = the kube user)
    clock: Clock = field(default_factory=Clock)
    flag_admin_url: str | None = None  # the flag provider's admin API (Flagsmith), settings.flag_admin_url
    flag_environment_key: str | None = None  # settings.flag_environment_key
    flag_admin_token_env: str | None = None  # the NAME of the environment variable holding the admin token
    # (namespace, cluster) -> the WalArchiving the CNPG pane shows for it, or None (the session's store)
    cnpg_archiving: Callable[[str, str], Any] | None = None


@dataclass(frozen=True)
class ActionSpec:
    id: str
    needs: str  # kube | s3 | git | flags
    required: tuple[str, ...]
    optional: tuple[str, ...]
    build: Callable[[ActionEnv, dict[str, Any]], Action] = field(repr=False)
    description: str = ""

    @property
    def params(self) -> tuple[str, ...]:
        return self.required + self.optional


# --------------------------------------------------------------------------- conversions


def _int(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ActionRefused(f"{name} must be a whole number, not {value!r}")
    return int(text)


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off", ""):
        return False
    raise ActionRefused(f"{name} must be true or false, not {value!r}")


def _time(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = parse_time(value)
    if parsed is None:
        raise ActionRefused(f"{name} must be a time like 2026-05-20T13:43:00Z, not {value!r}")
    return parsed


def _list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value if str(item)]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _opt(params: Mapping[str, Any], key: str) -> Any:
    value = params.get(key)
    return None if value is None or value == "" else value


def _kube(env: ActionEnv) -> Any:
    if env.kube is None:
        raise ActionRefused("no Kubernetes context to act on")
    return env.kube


# --------------------------------------------------------------------------- builders


def _rollouts(verb: str) -> Callable[[ActionEnv, dict[str, Any]], Action]:
    def build(env: ActionEnv, p: dict[str, Any]) -> Action:
        from cockpit.actions import rollouts

        ctx = _kube(env)
        if verb == "abort":
            return rollouts.abort(ctx, p["namespace"], p["name"])
        if verb == "retry":
            return rollouts.retry(ctx, p["namespace"], p["name"])
        if verb == "promote":
            return rollouts.promote(ctx, p["namespace"], p["name"], full=_bool(p.get("full", False), "full"))
        revision = _opt(p, "to_revision")
        return rollouts.undo(ctx, p["namespace"], p["name"],
                             to_revision=_int(revision, "to_revision") if revision is not None else 0)

    return build


def _argocd(verb: str) -> Callable[[ActionEnv, dict[str, Any]], Action]:
    def build(env: ActionEnv, p: dict[str, Any]) -> Action:
        from cockpit.actions import argocd

        ctx = _kube(env)
        if verb == "disable":
            return argocd.disable_auto_sync(ctx, p["namespace"], p["name"], reason=str(p.get("reason") or ""),
                                            incident=str(p.get("incident") or ""), username=env.username or None,
                                            now=env.clock.now())
        if verb == "enable":
            return argocd.enable_auto_sync(ctx, p["namespace"], p["name"])
        user = env.username or None
        if verb == "rollback":
            history_id = _opt(p, "history_id")
            return argocd.rollback(
                ctx, p["namespace"], p["name"], _int(history_id, "history_id") if history_id is not None else None,
                prune=_bool(p.get("prune", False), "prune"), username=user, now=env.clock.now(),
            )
        return argocd.sync(ctx, p["namespace"], p["name"], prune=_bool(p.get("prune", False), "prune"),
                           revision=_opt(p, "revision"), username=user)

    return build


def _release_hold(env: ActionEnv, p: dict[str, Any]) -> Action:
    from cockpit.actions import hold

    return hold.release_hold(_kube(env), p["namespace"], p["name"], gitops_repo=_opt(p, "repo") or env.gitops_repo,
                             bad_revision=str(p.get("bad_commit") or ""), override=str(p.get("override") or ""))


def _freeze(verb: str) -> Callable[[ActionEnv, dict[str, Any]], Action]:
    def build(env: ActionEnv, p: dict[str, Any]) -> Action:
        from cockpit.actions import freeze

        if verb == "freeze":
            return freeze.freeze(_kube(env), p["namespace"], p["name"], reason=str(p.get("reason") or ""),
                                 incident=str(p.get("incident") or ""), username=env.username,
                                 now=env.clock.now())
        return freeze.unfreeze(_kube(env), p["namespace"], p["name"])

    return build


def _helm(env: ActionEnv, p: dict[str, Any]) -> Action:
    from cockpit.actions import helm

    revision = _opt(p, "revision")
    return helm.rollback(_kube(env), p["namespace"], p["release"],
                         _int(revision, "revision") if revision is not None else None, kubeconfig=env.kubeconfig)


def _cnpg(env: ActionEnv, p: dict[str, Any]) -> Action:
    from cockpit.actions import cnpg

    instances = _opt(p, "instances")
    archiving = env.cnpg_archiving(str(p["namespace"]), str(p["cluster"])) if env.cnpg_archiving else None
    return cnpg.recover(_kube(env), p["namespace"], p["cluster"], _time(p["target_time"], "target_time"),
                        name=_opt(p, "name"), instances=_int(instances, "instances") if instances else None,
                        now=env.clock.now(), archiving=archiving)


def _s3(env: ActionEnv, p: dict[str, Any]) -> Action:
    from cockpit.actions import s3

    if env.s3_client is None:
        raise ActionRefused("no S3 endpoint configured")
    since = _opt(p, "since")
    return s3.undelete(env.s3_client, p["bucket"], p["key"], prefix=_bool(p.get("prefix", False), "prefix"),
                       since=_time(since, "since") if since else None, endpoint=env.s3_endpoint,
                       context=str(p.get("context") or "s3"), now=env.clock.now())


def _velero(env: ActionEnv, p: dict[str, Any]) -> Action:
    from cockpit.actions import velero

    return velero.restore(
        _kube(env), p["backup"], namespaces=_list(p.get("namespaces") or ""),
        restore_pvs=_bool(p.get("restore_pvs", True), "restore_pvs"),
        existing_resource_policy=_opt(p, "existing_resource_policy"),
        velero_namespace=str(p.get("velero_namespace") or "velero"), now=env.clock.now(),
        argocd_namespace=str(p.get("argocd_namespace") or "argocd"),
    )


def _git(env: ActionEnv, p: dict[str, Any]) -> Action:
    from cockpit.actions import gitops

    repo = _opt(p, "repo") or env.gitops_repo
    if not repo:
        raise ActionRefused("no GitOps repository clone configured")
    context = str(p.get("context") or (env.kube.name if env.kube is not None else "git"))
    return gitops.revert(repo, str(p["commit"]), remote=str(p.get("remote") or "origin"),
                         base_branch=_opt(p, "base_branch"), context=context)


def _flags(env: ActionEnv, p: dict[str, Any]) -> Action:
    from cockpit.actions import flags

    context = str(p.get("context") or (env.kube.name if env.kube is not None else "flags"))
    return flags.set_flag(_opt(p, "admin_url") or env.flag_admin_url,
                          _opt(p, "environment_key") or env.flag_environment_key,
                          str(p["flag"]), _bool(p["enabled"], "enabled"), token_env=env.flag_admin_token_env,
                          context=context, user=env.username)


ACTIONS: dict[str, ActionSpec] = {
    spec.id: spec
    for spec in (
        ActionSpec("rollouts.abort", "kube", ("namespace", "name"), (), _rollouts("abort"),
                   "abort the canary (status.abort=true)"),
        ActionSpec("rollouts.retry", "kube", ("namespace", "name"), (), _rollouts("retry"),
                   "leave the aborted state (status.abort=false)"),
        ActionSpec("rollouts.promote", "kube", ("namespace", "name"), ("full",), _rollouts("promote"),
                   "promote to the next step (or --full)"),
        ActionSpec("rollouts.undo", "kube", ("namespace", "name"), ("to_revision",), _rollouts("undo"),
                   "put spec.template back on an earlier revision"),
        ActionSpec("argocd.disable_auto_sync", "kube", ("namespace", "name"), ("reason", "incident"),
                   _argocd("disable"), "automated.enabled=false, keeping prune/selfHeal, and a hold recorded"),
        ActionSpec("argocd.rollback", "kube", ("namespace", "name"), ("history_id", "prune"), _argocd("rollback"),
                   "sync back to a history id"),
        ActionSpec("argocd.sync", "kube", ("namespace", "name"), ("prune", "revision"), _argocd("sync"),
                   "sync the app to git"),
        ActionSpec("argocd.enable_auto_sync", "kube", ("namespace", "name"), (), _argocd("enable"),
                   "automated.enabled=true (refused under a hold: release it)"),
        ActionSpec("argocd.release_hold", "kube", ("namespace", "name"), ("bad_commit", "override", "repo"),
                   _release_hold, "auto-sync back on and the hold removed, once the revert landed and Argo CD "
                                  "sees it"),
        ActionSpec("argocd.freeze", "kube", ("namespace", "name", "reason"), ("incident",), _freeze("freeze"),
                   "deny automated syncs into the app's blast radius (AppProject window, RollingSync paused)"),
        ActionSpec("argocd.unfreeze", "kube", ("namespace", "name"), (), _freeze("unfreeze"),
                   "remove the incident freeze"),
        ActionSpec("helm.rollback", "kube", ("namespace", "release"), ("revision",), _helm,
                   "helm rollback through the helm binary"),
        ActionSpec("cnpg.recover", "kube", ("namespace", "cluster", "target_time"), ("name", "instances"), _cnpg,
                   "create the PITR recovery Cluster"),
        ActionSpec("s3.undelete", "s3", ("bucket", "key"), ("prefix", "since", "context"), _s3,
                   "remove delete markers"),
        ActionSpec("velero.restore", "kube", ("backup",),
                   ("namespaces", "restore_pvs", "existing_resource_policy", "velero_namespace", "argocd_namespace"),
                   _velero, "create a Velero Restore"),
        ActionSpec("git.revert", "git", ("commit",), ("repo", "remote", "base_branch", "context"), _git,
                   "git revert on a new branch, pushed"),
        ActionSpec("flags.set", "flags", ("flag", "enabled"), ("admin_url", "environment_key", "context"), _flags,
                   "turn a feature flag on or off through the provider's admin API (Flagsmith)"),
    )
}


def build_action(action_id: str, params: Mapping[str, Any], env: ActionEnv) -> Action:
    """Build ``action_id`` from (string) parameters; ActionRefused with words for anything missing or wrong."""
    spec = ACTIONS.get(action_id)
    if spec is None:
        raise ActionRefused(f"unknown action {action_id!r}")
    missing = [name for name in spec.required if params.get(name) in (None, "")]
    if missing:
        raise ActionRefused(f"{action_id} needs {', '.join(missing)}")
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        raise ActionRefused(f"{action_id} takes no {', '.join(unknown)}")
    return spec.build(env, dict(params))
