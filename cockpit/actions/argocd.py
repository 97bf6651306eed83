"""Argo CD actions: the rollback dance, done the way Argo CD's own UI and API server do it (MECHANICS (a)).

1. **disable auto-sync**: ``spec.syncPolicy.automated.enabled=false`` with a merge patch, keeping ``prune`` and
   ``selfHeal`` (the UI's way, application-details.tsx; ``argocd app set --sync-policy none`` drops them, 10).
   ApplicationSet-generated apps get a warning: the ApplicationSet controller reverts the toggle unless the
   AppSet ignores ``/spec/syncPolicy`` (9).  Argo CD before v3.1 has no ``enabled`` field: the server prunes it and
   the dry-run then shows that nothing changes.
2. **rollback to a history id**: what ``Server.Rollback`` + ``argo.SetAppOperation`` do (2-5): refuse while the app
   is being deleted, while auto-sync is on, for an unknown id, for a pre-v0.12 entry without a source, and while
   another operation is set; then write ``.operation`` = ``{sync: {revision|revisions, source|sources, prune,
   syncOptions, syncStrategy: {apply: {}}}, initiatedBy: {username}}``, drop ``status.operationState`` and send
   the whole object back with a PUT (an Update, not a patch) carrying the resourceVersion it was read at.
   Argo CD retries that Update on a conflict; the cockpit does not -- the person looks again.
3. **wait for Healthy**, then (after the git revert merged) **re-enable auto-sync**.

Also here: ``sync`` (``argocd app sync``), used after a git revert when auto-sync is off.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

from cockpit.actions.requests import JSON, MERGE_PATCH, Action, ActionRefused, Risk, kube_write
from cockpit.actions.syncwindows import blocking_reason
from cockpit.sources.argocd import is_auto_sync_enabled
from cockpit.sources.errors import SourceError
from cockpit.sources.kube import APPLICATIONS, KubeContext, Resource

APP_PROJECTS = Resource("argoproj.io", "v1alpha1", "appprojects", "AppProject", product="Argo CD")
APPLICATION_SETS = Resource("argoproj.io", "v1alpha1", "applicationsets", "ApplicationSet", product="Argo CD")

HOOKS_SKIPPED = (
    "a rollback skips PreSync/PostSync hooks: no migration (up or down) runs, so the previous version must work "
    "against today's schema -- that is what the migration pre-flight checks"
)


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def get_application(ctx: KubeContext, namespace: str, name: str) -> dict[str, Any]:
    try:
        obj = ctx.get(APPLICATIONS, namespace, name)
    except SourceError as err:
        raise ActionRefused(f"cannot read Application {name} in {namespace}: {err}") from None
    if obj is None:
        raise ActionRefused(f"Application {name} not found in namespace {namespace}")
    return obj


def _rv(obj: dict[str, Any]) -> str:
    return str(_map(obj.get("metadata")).get("resourceVersion") or "")


def _appset_warning(ctx: KubeContext, obj: dict[str, Any]) -> str:
    """A warning when an ApplicationSet owns the app and will put its sync policy back (MECHANICS (a) 9)."""
    meta = _map(obj.get("metadata"))
    owner = next((ref for ref in _items(meta.get("ownerReferences")) if ref.get("kind") == "ApplicationSet"), None)
    if owner is None:
        return ""
    appset_name = str(owner.get("name") or "")
    try:
        appset = ctx.get(APPLICATION_SETS, str(meta.get("namespace") or ""), appset_name)
    except SourceError:
        appset = None
    for rule in _items(_map(_map(appset).get("spec")).get("ignoreApplicationDifferences")):
        pointers = rule.get("jsonPointers") if isinstance(rule.get("jsonPointers"), list) else []
        if "/spec/syncPolicy" in pointers and (not rule.get("name") or rule.get("name") == meta.get("name")):
            return ""
    return (
        f"ApplicationSet {appset_name} owns this app: its controller puts spec.syncPolicy back unless the "
        "ApplicationSet has ignoreApplicationDifferences for /spec/syncPolicy -- check auto-sync stays off"
    )


def _action(ctx: KubeContext, name: str, verb: str, target: str, namespace: str, writes: list, obj: dict[str, Any],
            **extra: Any) -> Action:
    return Action(name=name, verb=verb, kind="Application", target=target, namespace=namespace, context=ctx.name,
                  user=ctx.user, writes=tuple(writes), current=obj, **extra)


# --------------------------------------------------------------------------- auto-sync


def disable_auto_sync(ctx: KubeContext, namespace: str, name: str, *, reason: str = "", incident: str = "",
                      username: str | None = None, now: datetime | None = None) -> Action:
    """``automated.enabled=false`` (merge patch with resourceVersion), keeping prune and selfHeal, and the hold
    recorded on the app in the same patch (``cockpit.actions.hold``: who, when, why, the incident, the revision)."""
    from cockpit.actions.hold import deployed_revision, hold_annotations

    obj = get_application(ctx, namespace, name)
    if not is_auto_sync_enabled(obj):
        raise ActionRefused(f"auto-sync of {name} is already off", noop=True)
    automated = _map(_map(_map(obj.get("spec")).get("syncPolicy")).get("automated"))
    rv = _rv(obj)
    live = deployed_revision(obj)
    who = username if username else ctx.user
    annotations = hold_annotations(by=who, since=now or datetime.now(timezone.utc),
                                   reason=reason or "auto-sync switched off for a rollback", incident=incident,
                                   revision=live, bad_revision=live)
    body = {"spec": {"syncPolicy": {"automated": {"enabled": False}}},
            "metadata": {"resourceVersion": rv, "annotations": annotations}}
    write = kube_write(ctx, APPLICATIONS, namespace, name, method="PATCH", body=body, content_type=MERGE_PATCH,
                       precondition=rv)
    warnings = [w for w in (_appset_warning(ctx, obj),) if w]
    warnings.append("while auto-sync is off, git changes are not deployed: switch it back on after the revert lands")
    kept = ", ".join(f"{key}={str(automated.get(key) is True).lower()}" for key in ("prune", "selfHeal"))
    return _action(ctx, "argocd.disable_auto_sync", "disable auto-sync of", name, namespace, [write], obj,
                   risk=Risk.LOW, warnings=tuple(warnings),
                   summary=f"turn auto-sync of {name} off (automated.enabled=false; {kept} kept) and hold it at "
                           f"{live[:7] or 'its current revision'}: {annotations['cockpit.dev/hold-reason']}")


def enable_auto_sync(ctx: KubeContext, namespace: str, name: str) -> Action:
    """``automated.enabled=true`` again (merge patch with resourceVersion).  Refused on an app under a hold:
    releasing a hold is its own action, with its checklist (``cockpit.actions.hold.release_hold``)."""
    from cockpit.actions.hold import describe, hold_of

    obj = get_application(ctx, namespace, name)
    if is_auto_sync_enabled(obj):
        raise ActionRefused(f"auto-sync of {name} is already on", noop=True)
    hold = hold_of(obj)
    if hold is not None:
        raise ActionRefused(f"auto-sync of {name} is {describe(hold)}: release the hold instead (it checks the "
                            "revert has landed and Argo CD sees it)")
    policy = _map(_map(obj.get("spec")).get("syncPolicy"))
    rv = _rv(obj)
    body = {"spec": {"syncPolicy": {"automated": {"enabled": True}}}, "metadata": {"resourceVersion": rv}}
    write = kube_write(ctx, APPLICATIONS, namespace, name, method="PATCH", body=body, content_type=MERGE_PATCH,
                       precondition=rv)
    warnings = ["auto-sync deploys whatever git says now: only after the revert has merged, or the bad revision "
                "comes straight back"]
    if not isinstance(policy.get("automated"), dict):
        warnings.append("auto-sync was removed entirely, so prune and self-heal come back off; set them in git")
    appset = _appset_warning(ctx, obj)
    if appset:
        warnings.append(appset)
    return _action(ctx, "argocd.enable_auto_sync", "enable auto-sync of", name, namespace, [write], obj,
                   risk=Risk.DESTRUCTIVE, warnings=tuple(warnings),
                   summary=f"turn auto-sync of {name} back on (automated.enabled=true)")


# --------------------------------------------------------------------------- rollback


def pick_history(obj: dict[str, Any], history_id: int | None) -> dict[str, Any]:
    """The ``status.history`` entry to roll back to: ``history_id``, or the CLI's default ``History[len-2]``."""
    history = _items(_map(obj.get("status")).get("history"))
    name = _map(obj.get("metadata")).get("name")
    if history_id is None:
        if len(history) < 2:
            raise ActionRefused(f"Application {name} has no previous deployment to roll back to")
        return history[-2]
    for entry in history:
        if entry.get("id") == history_id and not isinstance(entry.get("id"), bool):
            return entry
    raise ActionRefused(f"application {name} does not have deployment with id {history_id}")


def rollback_operation(obj: dict[str, Any], entry: dict[str, Any], *, username: str, prune: bool = False,
                       dry_run: bool = False) -> dict[str, Any]:
    """The ``.operation`` Argo CD's ``Server.Rollback`` writes, as its JSON (omitempty fields left out)."""
    sync: dict[str, Any] = {}
    if entry.get("revision"):
        sync["revision"] = entry["revision"]
    if dry_run:
        sync["dryRun"] = True
    if prune:
        sync["prune"] = True
    options = _map(_map(obj.get("spec")).get("syncPolicy")).get("syncOptions")
    if isinstance(options, list) and options:
        sync["syncOptions"] = list(options)
    sync["syncStrategy"] = {"apply": {}}
    sync["source"] = copy.deepcopy(_map(entry.get("source"))) or {"repoURL": ""}  # always set (&deploymentInfo.Source)
    if entry.get("revisions"):
        sync["revisions"] = list(entry["revisions"])
    if entry.get("sources"):
        sync["sources"] = copy.deepcopy(entry["sources"])
    initiated = {"username": username} if username else {}
    return {"sync": sync, "initiatedBy": initiated}


def _project_warning(ctx: KubeContext, obj: dict[str, Any], now: datetime) -> str:
    project_name = str(_map(obj.get("spec")).get("project") or "default")
    namespace = str(_map(obj.get("metadata")).get("namespace") or "")
    try:
        project = ctx.get(APP_PROJECTS, namespace, project_name)
    except SourceError:
        return ""
    reason = blocking_reason(project, obj, now, manual=True)
    if reason:
        return (f"sync window of project {project_name}: {reason}; the controller will hold the operation "
                "('Sync operation blocked by sync window') until it opens")
    return ""


def rollback(ctx: KubeContext, namespace: str, name: str, history_id: int | None = None, *, prune: bool = False,
             username: str | None = None, now: datetime | None = None) -> Action:
    """``argocd app rollback APP [ID]``, written as Argo CD's API server writes it (full PUT of the object)."""
    obj = get_application(ctx, namespace, name)
    meta, status = _map(obj.get("metadata")), _map(obj.get("status"))
    if meta.get("deletionTimestamp"):
        raise ActionRefused(f"application {name} is deleting")
    if is_auto_sync_enabled(obj):
        raise ActionRefused(
            "rollback cannot be initiated when auto-sync is enabled: disable auto-sync of "
            f"{name} first (it keeps prune and self-heal)"
        )
    entry = pick_history(obj, history_id)
    if not _map(entry.get("source")).get("repoURL") and not _items(entry.get("sources")):
        raise ActionRefused(
            "cannot rollback to revision deployed with Argo CD v0.11 or lower. sync to revision instead."
        )
    if obj.get("operation") is not None:
        raise ActionRefused(f"another operation is already in progress on {name}: wait for it, or terminate it")
    who = username if username is not None else ctx.user
    updated = copy.deepcopy(obj)
    updated["operation"] = rollback_operation(obj, entry, username=who, prune=prune)
    if isinstance(updated.get("status"), dict):
        updated["status"].pop("operationState", None)
    revision = str(entry.get("revision") or ",".join(str(r) for r in entry.get("revisions") or []) or "?")
    _pin(updated, revision, who, entry, now or datetime.now(timezone.utc))
    rv = _rv(obj)
    write = kube_write(ctx, APPLICATIONS, namespace, name, method="PUT", body=updated, content_type=JSON,
                       precondition=rv)
    short = revision[:7] if len(revision) >= 40 else revision
    history = _items(status.get("history"))
    warnings = [HOOKS_SKIPPED]
    if history and history[-1] is entry:
        warnings.append(f"history id {entry.get('id')} is what is deployed now: this rollback re-syncs the same "
                        "revision")
    window = _project_warning(ctx, obj, now or datetime.now(timezone.utc))
    if window:
        warnings.append(window)
    warnings.append("the app stays OutOfSync against git until the bad commit is reverted; keep auto-sync off "
                    "till then")
    return _action(
        ctx, "argocd.rollback", "roll back", name, namespace, [write], obj, risk=Risk.DESTRUCTIVE,
        warnings=tuple(warnings),
        summary=f"sync {name} back to history id {entry.get('id')} (revision {short}, deployed "
                f"{entry.get('deployedAt') or '?'})" + (" with prune" if prune else ""),
        preview=f"operation:\n{_yaml(updated['operation'])}",
        follow_up="wait for the app to be Healthy; then revert the bad commit in git; then re-enable auto-sync",
    )


def _pin(updated: dict[str, Any], revision: str, who: str, entry: dict[str, Any], now: datetime) -> None:
    """The hold now pins the rollback's target; an app rolled back without a hold (auto-sync switched off by
    hand) gets one, so every cockpit watching it sees who pinned it and why."""
    from cockpit.actions.hold import deployed_revision, hold_annotations, hold_of

    meta = updated.setdefault("metadata", {})
    if not isinstance(meta.get("annotations"), dict):
        meta["annotations"] = {}
    if hold_of(updated) is None:
        live = deployed_revision(updated)
        meta["annotations"].update(hold_annotations(
            by=who, since=now, reason=f"rolled back to history id {entry.get('id')}", incident="",
            revision=revision, bad_revision=live))
    meta["annotations"]["cockpit.dev/hold-revision"] = revision


# --------------------------------------------------------------------------- sync


def sync(ctx: KubeContext, namespace: str, name: str, *, prune: bool = False, revision: str | None = None,
         username: str | None = None) -> Action:
    """``argocd app sync APP [--prune]``: an ``.operation.sync`` the controller picks up.

    Argo CD's server resolves the target revision to a commit SHA through its repo-server; the cockpit cannot, so
    it writes the symbolic ``targetRevision`` (or the given one) and the controller resolves it when it syncs.
    """
    obj = get_application(ctx, namespace, name)
    if _map(obj.get("metadata")).get("deletionTimestamp"):
        raise ActionRefused(f"application {name} is deleting")
    if obj.get("operation") is not None:
        raise ActionRefused(f"another operation is already in progress on {name}: wait for it, or terminate it")
    spec = _map(obj.get("spec"))
    sync_op: dict[str, Any] = {}
    sources = _items(spec.get("sources"))
    if sources:
        sync_op["revisions"] = [str(s.get("targetRevision") or "HEAD") for s in sources]
        sync_op["sources"] = copy.deepcopy(sources)
    else:
        sync_op["revision"] = revision or str(_map(spec.get("source")).get("targetRevision") or "HEAD")
        sync_op["source"] = copy.deepcopy(_map(spec.get("source")))
    if prune:
        sync_op["prune"] = True
    options = _map(spec.get("syncPolicy")).get("syncOptions")
    if isinstance(options, list) and options:
        sync_op["syncOptions"] = list(options)
    who = username if username is not None else ctx.user
    updated = copy.deepcopy(obj)
    updated["operation"] = {"sync": sync_op, "initiatedBy": {"username": who} if who else {}}
    if isinstance(updated.get("status"), dict):
        updated["status"].pop("operationState", None)
    rv = _rv(obj)
    write = kube_write(ctx, APPLICATIONS, namespace, name, method="PUT", body=updated, content_type=JSON,
                       precondition=rv)
    warnings = []
    if prune:
        warnings.append("prune deletes live objects that are no longer in git")
    return _action(ctx, "argocd.sync", "sync", name, namespace, [write], obj,
                   risk=Risk.DESTRUCTIVE if prune else Risk.LOW, warnings=tuple(warnings),
                   summary=f"sync {name} to {sync_op.get('revision') or ','.join(sync_op.get('revisions', []))}"
                           + (" with prune" if prune else ""),
                   preview=f"operation:\n{_yaml(updated['operation'])}",
                   follow_up="watch the operation phase reach Succeeded and the app turn Healthy")


def _yaml(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False).rstrip()
