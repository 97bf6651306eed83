"""The incident freeze: stop automation deploying into the incident's blast radius, and let it go again.

During an incident the person's rollback is the intent, and automation has to yield (flux#748, argo-cd#17974,
kargo's stage pinning): an auto-sync of a new commit, a self-heal, or an ApplicationSet's progressive sync can
redeploy the bad revision or pile a second change on top of the first.  Argo CD already has the mechanism:

* a **deny sync window** on the app's AppProject (``spec.syncWindows``) blocks every automated sync of the apps it
  matches; with ``manualSync: true`` a person's sync (or rollback) still goes through (``SyncWindows.CanSync``);
* an ApplicationSet with a **RollingSync** strategy syncs its apps step by step by setting ``.operation`` on them,
  which Argo CD treats like a person's sync -- so the window's ``manualSync`` lets it through.  Its pause is
  ``maxUpdate: 0`` on the steps that select the frozen apps: no app of such a step may move to Pending
  (``progressivesync.updateApplicationSetApplicationStatusProgress``: ``updateCount >= maxUpdateVal``).

:func:`freeze` is one confirmed, audited action that writes both: one JSON patch on the AppProject (the window,
matched to the blast radius -- tenant namespace AND cluster with ``andOperator``, or the whole cluster -- plus
who/when/why annotations) and one JSON patch per RollingSync ApplicationSet (``maxUpdate: 0`` on the matching
steps, the previous values kept in an annotation).  :func:`unfreeze` removes exactly those windows (each
``remove`` guarded by a ``test`` of its description) and restores the steps.  :func:`read_freeze` and
:func:`header_text` are what the dashboard's context bar shows while a freeze is on.

Written fields, for the record:

==================================================  ==============================================================
where                                               what
==================================================  ==============================================================
AppProject ``spec.syncWindows[]``                   ``{kind: deny, schedule: "* * * * *", duration: "1h",
                                                    manualSync: true, namespaces/clusters (andOperator),
                                                    timeZone: UTC, description: "cockpit-freeze ..."}``
AppProject ``cockpit.dev/freeze-by``, ``-since``,   who froze, when (RFC 3339), why, the incident, the scope in words
``-reason``, ``-incident``, ``-scope``
ApplicationSet ``spec.strategy.rollingSync          ``0`` on the steps that select a frozen app
.steps[i].maxUpdate``
ApplicationSet ``cockpit.dev/freeze-max-update``    JSON ``{step index: previous maxUpdate or null}``
==================================================  ==============================================================

A window starting every minute and lasting an hour is always active, so the freeze holds until it is undone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cockpit.actions.argocd import APP_PROJECTS, APPLICATION_SETS, get_application
from cockpit.actions.requests import JSON_PATCH, Action, ActionRefused, KubeWrite, Risk, kube_write
from cockpit.sources.errors import SourceError
from cockpit.sources.kube import APPLICATIONS, KubeContext
from cockpit.textsafe import clean
from cockpit.timefmt import parse_time

FREEZE_MARK = "cockpit-freeze"  # a window whose description starts with this is the cockpit's
FREEZE_BY = "cockpit.dev/freeze-by"
FREEZE_SINCE = "cockpit.dev/freeze-since"
FREEZE_REASON = "cockpit.dev/freeze-reason"
FREEZE_INCIDENT = "cockpit.dev/freeze-incident"
FREEZE_SCOPE = "cockpit.dev/freeze-scope"
FREEZE_ANNOTATIONS = (FREEZE_BY, FREEZE_SINCE, FREEZE_REASON, FREEZE_INCIDENT, FREEZE_SCOPE)
PAUSED_STEPS = "cockpit.dev/freeze-max-update"
SCHEDULE, DURATION = "* * * * *", "1h"  # a start every minute, an hour long: always active
MAX_APPS = 2000  # Applications read to find the ApplicationSets in scope


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Scope:
    """What the freeze covers: the blast radius as sync-window selectors."""

    namespaces: tuple[str, ...]
    clusters: tuple[str, ...]
    words: str

    def window(self, description: str) -> dict[str, Any]:
        window: dict[str, Any] = {"kind": "deny", "schedule": SCHEDULE, "duration": DURATION, "manualSync": True,
                                  "timeZone": "UTC", "description": description}
        if self.clusters:
            window["clusters"] = list(self.clusters)
        if self.namespaces:
            window["namespaces"] = list(self.namespaces)
        if self.clusters and self.namespaces:
            window["andOperator"] = True  # this tenant on this cluster, not the same namespace name elsewhere
        return window

    def matches(self, app: dict[str, Any]) -> bool:
        destination = _map(_map(app.get("spec")).get("destination"))
        cluster = {str(destination.get("server") or ""), str(destination.get("name") or "")} - {""}
        in_cluster = not self.clusters or bool(cluster & set(self.clusters))
        in_namespace = not self.namespaces or str(destination.get("namespace") or "") in self.namespaces
        return in_cluster and in_namespace


def scope_of(app: dict[str, Any], context: str = "") -> Scope:
    """The blast radius of ``app`` (cockpit.preflight.blast_radius) as window selectors."""
    from cockpit.preflight import Scope as Reach
    from cockpit.preflight import blast_radius
    from cockpit.sources.argocd import parse_application

    view = parse_application(app)
    radius = blast_radius(view, context=context)
    destination = _map(_map(app.get("spec")).get("destination"))
    cluster = str(destination.get("server") or destination.get("name") or "")
    if not cluster:
        raise ActionRefused(f"Application {view.name} has no destination: cannot tell what to freeze")
    if radius.scope is Reach.TENANT:
        return Scope((radius.namespace,), (cluster,), f"namespace {radius.namespace} on {cluster}")
    return Scope((), (cluster,), f"every app of the project on {cluster}")


@dataclass(frozen=True)
class Freeze:
    """A freeze read back from an AppProject (untrusted text inside)."""

    project: str
    by: str
    since: datetime | None
    reason: str
    incident: str
    scope: str
    windows: tuple[int, ...]  # indexes of the cockpit's windows in spec.syncWindows


def read_freeze(project: dict[str, Any] | None) -> Freeze | None:
    """The cockpit's freeze on an AppProject object, or None.  Pure."""
    if not isinstance(project, dict):
        return None
    windows = tuple(index for index, window in enumerate(_items(_map(project.get("spec")).get("syncWindows")))
                    if str(window.get("description") or "").startswith(FREEZE_MARK))
    if not windows:
        return None
    meta = _map(project.get("metadata"))
    notes = _map(meta.get("annotations"))

    def text(key: str) -> str:
        value = notes.get(key)
        return value[:500] if isinstance(value, str) else ""

    return Freeze(str(meta.get("name") or ""), text(FREEZE_BY), parse_time(notes.get(FREEZE_SINCE)),
                  text(FREEZE_REASON), text(FREEZE_INCIDENT), text(FREEZE_SCOPE), windows)


def header_text(freeze: Freeze | None) -> str:
    """One line for the context bar while a freeze is on ("" when none).  Untrusted parts inside."""
    if freeze is None:
        return ""
    since = f" since {freeze.since:%H:%M}Z" if freeze.since is not None else ""
    who = f" by {freeze.by}" if freeze.by else ""
    incident = f" ({freeze.incident})" if freeze.incident else ""
    scope = f": {freeze.scope}" if freeze.scope else ""
    return f"FREEZE {freeze.project}{scope}{since}{who}{incident} — automation held, manual syncs allowed"


def freeze_of_app(ctx: KubeContext, app: dict[str, Any]) -> Freeze | None:
    """The freeze on the project of ``app`` (one GET).  Blocking; SourceError when it cannot be read."""
    spec = _map(app.get("spec"))
    project = ctx.get(APP_PROJECTS, str(_map(app.get("metadata")).get("namespace") or ""),
                      str(spec.get("project") or "default"))
    return read_freeze(project)


# --------------------------------------------------------------------------- ApplicationSet progressive syncs


def _expression_matches(expression: dict[str, Any], labels: dict[str, Any]) -> bool:
    key, operator = str(expression.get("key") or ""), str(expression.get("operator") or "")
    values = [str(value) for value in expression.get("values") or [] if isinstance(value, (str, int))]
    value = labels.get(key)
    if operator == "In":
        return isinstance(value, str) and value in values
    if operator == "NotIn":
        return not (isinstance(value, str) and value in values)
    return False  # the controller knows only In and NotIn


def step_of(appset: dict[str, Any], app: dict[str, Any]) -> int | None:
    """The RollingSync step (0-based) that selects ``app``: the first whose matchExpressions all match."""
    labels = _map(_map(app.get("metadata")).get("labels"))
    steps = _items(_map(_map(_map(appset.get("spec")).get("strategy")).get("rollingSync")).get("steps"))
    for index, step in enumerate(steps):
        expressions = _items(step.get("matchExpressions"))
        if expressions and all(_expression_matches(expression, labels) for expression in expressions):
            return index
    return None


def is_rolling_sync(appset: Any) -> bool:
    strategy = _map(_map(_map(appset).get("spec")).get("strategy"))
    return strategy.get("type") == "RollingSync" and bool(_items(_map(strategy.get("rollingSync")).get("steps")))


def _appsets_in_scope(ctx: KubeContext, namespace: str, scope: Scope) -> dict[str, tuple[dict[str, Any], set[int]]]:
    """ApplicationSet name -> (object, steps selecting an app in scope), for RollingSync ones."""
    try:
        apps, _ = ctx.list(APPLICATIONS, namespace)
    except SourceError as err:
        raise ActionRefused(f"cannot list the Applications in {namespace}: {err}") from None
    found: dict[str, tuple[dict[str, Any], set[int]]] = {}
    for app in apps[:MAX_APPS]:
        if not scope.matches(app):
            continue
        owner = next((ref for ref in _items(_map(app.get("metadata")).get("ownerReferences"))
                      if ref.get("kind") == "ApplicationSet"), None)
        if owner is None:
            continue
        name = str(owner.get("name") or "")
        if name not in found:
            try:
                appset = ctx.get(APPLICATION_SETS, namespace, name)
            except SourceError as err:
                raise ActionRefused(f"cannot read ApplicationSet {name}: {err}") from None
            if not is_rolling_sync(appset):
                continue
            found[name] = (appset or {}, set())
        step = step_of(found[name][0], app)
        if step is not None:
            found[name][1].add(step)
    return {name: entry for name, entry in found.items() if entry[1]}


def _pause_write(ctx: KubeContext, namespace: str, name: str, appset: dict[str, Any],
                 steps: set[int]) -> tuple[KubeWrite, str]:
    meta = _map(appset.get("metadata"))
    rv = str(meta.get("resourceVersion") or "")
    rolling = _items(_map(_map(_map(appset.get("spec")).get("strategy")).get("rollingSync")).get("steps"))
    previous = {str(index): rolling[index].get("maxUpdate") for index in sorted(steps)}
    ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/resourceVersion", "value": rv}] if rv else []
    for index in sorted(steps):
        ops.append({"op": "add", "path": f"/spec/strategy/rollingSync/steps/{index}/maxUpdate", "value": 0})
    ops += _annotation_ops(meta, {PAUSED_STEPS: json.dumps(previous, sort_keys=True)})
    write = kube_write(ctx, APPLICATION_SETS, namespace, name, method="PATCH", body=ops, content_type=JSON_PATCH,
                       precondition=rv)
    shown = ", ".join(str(index + 1) for index in sorted(steps))
    return write, f"ApplicationSet {name}: RollingSync step {shown} paused (maxUpdate 0)"


def _annotation_ops(meta: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(meta.get("annotations"), dict):
        return [{"op": "add", "path": "/metadata/annotations", "value": dict(values)}]
    return [{"op": "add", "path": f"/metadata/annotations/{_escape(key)}", "value": value}
            for key, value in values.items()]


# --------------------------------------------------------------------------- freeze / unfreeze


def freeze(ctx: KubeContext, namespace: str, app_name: str, *, reason: str, incident: str = "",
           username: str = "", now: datetime | None = None) -> Action:
    """Freeze automation into ``app_name``'s blast radius (its project's deny window + RollingSync pauses)."""
    reason = clean(reason, limit=500).strip()
    if not reason:
        raise ActionRefused("a freeze needs a reason (it is written on the AppProject for everyone to read)")
    app = get_application(ctx, namespace, app_name)
    project_name = str(_map(app.get("spec")).get("project") or "default")
    try:
        project = ctx.get(APP_PROJECTS, namespace, project_name)
    except SourceError as err:
        raise ActionRefused(f"cannot read AppProject {project_name}: {err}") from None
    if project is None:
        raise ActionRefused(f"AppProject {project_name} not found in {namespace}")
    existing = read_freeze(project)
    if existing is not None:
        raise ActionRefused(f"project {project_name} is already frozen ({header_text(existing)})", noop=True)
    scope = scope_of(app, ctx.name)
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    who = clean(username or ctx.user or "unknown", limit=120)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    description = clean(f"{FREEZE_MARK} by {who} at {stamp}" + (f" ({incident})" if incident else "") +
                        f": {reason}", limit=250)
    window = scope.window(description)
    meta = _map(project.get("metadata"))
    rv = str(meta.get("resourceVersion") or "")
    ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/resourceVersion", "value": rv}] if rv else []
    if isinstance(_map(project.get("spec")).get("syncWindows"), list):
        ops.append({"op": "add", "path": "/spec/syncWindows/-", "value": window})
    else:
        ops.append({"op": "add", "path": "/spec/syncWindows", "value": [window]})
    ops += _annotation_ops(meta, {FREEZE_BY: who, FREEZE_SINCE: stamp, FREEZE_REASON: reason,
                                  FREEZE_INCIDENT: clean(incident, limit=120), FREEZE_SCOPE: scope.words})
    writes = [kube_write(ctx, APP_PROJECTS, namespace, project_name, method="PATCH", body=ops,
                         content_type=JSON_PATCH, precondition=rv)]
    notes = []
    for name, (appset, steps) in sorted(_appsets_in_scope(ctx, namespace, scope).items()):
        write, words = _pause_write(ctx, namespace, name, appset, steps)
        writes.append(write)
        notes.append(words)
    warnings = [f"only apps of project {project_name} are held: apps of other projects deploying into the same "
                "place are not", "manual syncs and rollbacks still go through (manualSync: true)"]
    warnings += notes
    if notes:
        warnings.append("a paused RollingSync step holds every app it selects, in this tenant or not")
    return Action(
        name="argocd.freeze", verb="freeze automation in", kind="AppProject", target=project_name,
        namespace=namespace, context=ctx.name, user=ctx.user, writes=tuple(writes), current=project,
        risk=Risk.LOW, warnings=tuple(warnings),
        summary=f"deny automated syncs into {scope.words} (project {project_name}) until unfrozen: {reason}",
        preview="sync window:\n" + json.dumps(window, indent=2),
        follow_up="unfreeze once the incident is mitigated and the revert has landed",
    )


def unfreeze(ctx: KubeContext, namespace: str, app_name: str) -> Action:
    """Remove the cockpit's freeze from ``app_name``'s project and restore the paused RollingSync steps."""
    app = get_application(ctx, namespace, app_name)
    project_name = str(_map(app.get("spec")).get("project") or "default")
    try:
        project = ctx.get(APP_PROJECTS, namespace, project_name)
    except SourceError as err:
        raise ActionRefused(f"cannot read AppProject {project_name}: {err}") from None
    current = read_freeze(project)
    if project is None or current is None:
        raise ActionRefused(f"project {project_name} has no cockpit freeze", noop=True)
    meta = _map(project.get("metadata"))
    rv = str(meta.get("resourceVersion") or "")
    windows = _items(_map(project.get("spec")).get("syncWindows"))
    ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/resourceVersion", "value": rv}] if rv else []
    for index in sorted(current.windows, reverse=True):  # from the end, so the indexes stay right
        ops.append({"op": "test", "path": f"/spec/syncWindows/{index}/description",
                    "value": windows[index].get("description")})
        ops.append({"op": "remove", "path": f"/spec/syncWindows/{index}"})
    notes = _map(meta.get("annotations"))
    ops += [{"op": "remove", "path": f"/metadata/annotations/{_escape(key)}"}
            for key in FREEZE_ANNOTATIONS if key in notes]
    writes = [kube_write(ctx, APP_PROJECTS, namespace, project_name, method="PATCH", body=ops,
                         content_type=JSON_PATCH, precondition=rv)]
    restored = []
    try:
        appsets, _ = ctx.list(APPLICATION_SETS, namespace)
    except SourceError:
        appsets = []  # no ApplicationSet API (or not allowed to list): nothing was paused through it
    for appset in appsets:
        write, words = _resume_write(ctx, namespace, appset)
        if write is not None:
            writes.append(write)
            restored.append(words)
    return Action(
        name="argocd.unfreeze", verb="unfreeze automation in", kind="AppProject", target=project_name,
        namespace=namespace, context=ctx.name, user=ctx.user, writes=tuple(writes), current=project,
        risk=Risk.LOW, warnings=("automated syncs resume at once: anything merged during the freeze deploys now",
                                 *restored),
        summary=f"remove the freeze on project {project_name} ({header_text(current)})",
    )


def _resume_write(ctx: KubeContext, namespace: str, appset: dict[str, Any]) -> tuple[KubeWrite | None, str]:
    meta = _map(appset.get("metadata"))
    raw = _map(meta.get("annotations")).get(PAUSED_STEPS)
    if not isinstance(raw, str):
        return None, ""
    try:
        previous = json.loads(raw)
    except ValueError:
        previous = None
    name = str(meta.get("name") or "")
    rv = str(meta.get("resourceVersion") or "")
    steps = _items(_map(_map(_map(appset.get("spec")).get("strategy")).get("rollingSync")).get("steps"))
    ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/resourceVersion", "value": rv}] if rv else []
    for key, value in (previous.items() if isinstance(previous, dict) else ()):
        if not str(key).isdigit() or int(key) >= len(steps):
            continue
        path = f"/spec/strategy/rollingSync/steps/{int(key)}/maxUpdate"
        if value is None:
            if "maxUpdate" in steps[int(key)]:
                ops.append({"op": "remove", "path": path})
        elif isinstance(value, (int, str)) and not isinstance(value, bool):
            ops.append({"op": "add", "path": path, "value": value})
    ops.append({"op": "remove", "path": f"/metadata/annotations/{_escape(PAUSED_STEPS)}"})
    write = kube_write(ctx, APPLICATION_SETS, namespace, name, method="PATCH", body=ops, content_type=JSON_PATCH,
                       precondition=rv)
    return write, f"ApplicationSet {name}: RollingSync steps restored"
