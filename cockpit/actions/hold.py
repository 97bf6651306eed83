"""The auto-sync hold: who switched an Application's auto-sync off for a rollback, when, why, and until what.

Argo CD keeps no record of *why* auto-sync is off (argoproj/argo-cd#6588, #10002): after a rollback it stays off,
and the next on-call either never switches it back on or switches it on too early and redeploys the bad revision.
The cockpit therefore writes the hold onto the Application itself, in the same merge patch that flips
``spec.syncPolicy.automated.enabled`` to false (``prune`` and ``selfHeal`` are left as they are), as annotations
every cockpit watching the app reads back (pane 1 shows "held by NAME since T: REASON"):

==================================  ===========================================================================
annotation                          value
==================================  ===========================================================================
``cockpit.dev/hold-by``             who placed the hold (the person at the keyboard)
``cockpit.dev/hold-since``          when, RFC 3339 UTC
``cockpit.dev/hold-reason``         why, in the person's words
``cockpit.dev/hold-incident``       the incident it belongs to ("" when none was given)
``cockpit.dev/hold-revision``       the revision the app is pinned at (the rollback target once rolled back)
``cockpit.dev/hold-bad-revision``   the revision that was live when the hold was placed: the one to revert
==================================  ===========================================================================

Releasing the hold is its own action (:func:`release_hold`): auto-sync back on and the annotations removed, in one
merge patch with the resourceVersion read.  It runs a checklist first and refuses while it fails, unless the
person gives an override reason (kept in the audit record):

1. a commit reverting the bad revision has landed on the branch the app tracks (``git log --grep "This reverts
   commit <sha>"`` on the cockpit's private fetch of it);
2. Argo CD reports that revision: ``status.sync.revision`` -- the commit Argo CD last compared the app with -- is
   the revert or has it in its history, so switching auto-sync on deploys the revert and not the bad revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cockpit.actions.requests import MERGE_PATCH, Action, ActionRefused, Risk, kube_write
from cockpit.models import AppHold
from cockpit.sources.argocd import (
    HOLD_ANNOTATIONS,
    HOLD_BAD_REVISION,
    HOLD_BY,
    HOLD_INCIDENT,
    HOLD_REASON,
    HOLD_REVISION,
    HOLD_SINCE,
    is_auto_sync_enabled,
    parse_hold,
)
from cockpit.sources.kube import APPLICATIONS, KubeContext
from cockpit.textsafe import clean

MAX_REASON = 500  # an annotation is for one sentence, not a postmortem


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def hold_of(obj: Any) -> AppHold | None:
    """The hold recorded on an Application object (None when it has none)."""
    return parse_hold(_map(_map(obj).get("metadata")).get("annotations"))


def deployed_revision(obj: Any) -> str:
    """The revision running now: the newest history entry's (the first source's for a multi-source app)."""
    status = _map(_map(obj).get("status"))
    history = _items(status.get("history"))
    ids = [entry for entry in history if isinstance(entry.get("id"), int) and not isinstance(entry.get("id"), bool)]
    if ids:
        newest = max(ids, key=lambda entry: entry["id"])
        revision = newest.get("revision") or next(iter(newest.get("revisions") or []), "")
        if isinstance(revision, str) and revision:
            return revision
    result = _map(_map(status.get("operationState")).get("syncResult"))
    revision = result.get("revision") or next(iter(result.get("revisions") or []), "")
    return revision if isinstance(revision, str) else ""


def compared_revision(obj: Any) -> str:
    """``status.sync.revision``: the commit Argo CD last compared the app with (the first source's)."""
    sync = _map(_map(_map(obj).get("status")).get("sync"))
    revision = sync.get("revision") or next(iter(sync.get("revisions") or []), "")
    return revision if isinstance(revision, str) else ""


def tracked_branch(obj: Any) -> str | None:
    """The branch the app follows (``targetRevision``); None for ``HEAD``/empty (the remote's default branch)."""
    spec = _map(_map(obj).get("spec"))
    source = _map(spec.get("source")) or next(iter(_items(spec.get("sources"))), {})
    target = source.get("targetRevision")
    if not isinstance(target, str) or target in ("", "HEAD"):
        return None
    return target


def hold_annotations(*, by: str, since: datetime, reason: str, incident: str, revision: str,
                     bad_revision: str) -> dict[str, str]:
    """The annotations of a new hold (reason and incident cut to one line of ``MAX_REASON`` characters)."""
    return {
        HOLD_BY: clean(by or "unknown", limit=120),
        HOLD_SINCE: _stamp(since),
        HOLD_REASON: clean(reason, limit=MAX_REASON),
        HOLD_INCIDENT: clean(incident, limit=120),
        HOLD_REVISION: revision,
        HOLD_BAD_REVISION: bad_revision,
    }


def describe(hold: AppHold | None, now: datetime | None = None) -> str:
    """"held by NAME since T: REASON" (untrusted parts inside: render with ``safe_text``)."""
    if hold is None:
        return ""
    since = f"{hold.since:%Y-%m-%d %H:%M}Z" if hold.since is not None else "an unknown time"
    text = f"held by {hold.by} since {since}"
    if hold.reason:
        text += f": {hold.reason}"
    if hold.incident:
        text += f" ({hold.incident})"
    return text


# --------------------------------------------------------------------------- the release checklist


@dataclass(frozen=True)
class CheckItem:
    name: str
    ok: bool | None  # None: cannot tell (which fails the checklist too)
    detail: str  # the evidence, in words


@dataclass(frozen=True)
class Checklist:
    items: tuple[CheckItem, ...]

    @property
    def passed(self) -> bool:
        return bool(self.items) and all(item.ok is True for item in self.items)

    @property
    def failed(self) -> tuple[CheckItem, ...]:
        return tuple(item for item in self.items if item.ok is not True)

    def lines(self) -> list[str]:
        mark = {True: "✔", False: "✖", None: "?"}
        return [f"{mark[item.ok]} {item.name}: {item.detail}" for item in self.items]


def release_checklist(obj: dict[str, Any], gitops_repo: str | None, *, bad_revision: str = "",
                      remote: str = "origin", fetch: bool = True) -> Checklist:
    """The two checks before auto-sync comes back on (see the module docstring).  Blocking (git)."""
    from cockpit.actions import gitops

    hold = hold_of(obj)
    bad = bad_revision or (hold.bad_revision if hold is not None else "")
    branch = tracked_branch(obj)
    where = f"{remote}/{branch}" if branch else f"{remote}'s default branch"
    if not gitops_repo:
        reason = "no GitOps repository clone configured (--gitops-repo): cannot look for the revert"
        return Checklist((CheckItem("the revert has landed", None, reason),
                          CheckItem("Argo CD reports the revert", None, "needs the revert commit first")))
    if not bad:
        reason = "the hold records no bad revision, and none was given: cannot tell which revert to look for"
        return Checklist((CheckItem("the revert has landed", None, reason),
                          CheckItem("Argo CD reports the revert", None, "needs the revert commit first")))
    revert = gitops.revert_commit(gitops_repo, bad, remote=remote, base_branch=branch, fetch=fetch)
    if revert is None:
        landed = CheckItem("the revert has landed", None, f"git cannot tell ({bad[:12]} or {where} not in the clone)")
    elif not revert:
        landed = CheckItem("the revert has landed", False, f"no commit on {where} reverts {bad[:12]} yet")
    else:
        landed = CheckItem("the revert has landed", True, f"{revert[:12]} on {where} reverts {bad[:12]}")
    compared = compared_revision(obj)
    if not revert:
        reported = CheckItem("Argo CD reports the revert", None if revert is None else False,
                             f"status.sync.revision is {compared[:12] or '(none)'}; the revert must land first")
    elif not compared:
        reported = CheckItem("Argo CD reports the revert", False, "status.sync.revision is empty: Argo CD has not "
                                                                   "compared the app with git yet (refresh it)")
    else:
        seen = gitops.contains(gitops_repo, revert, compared)
        if seen is None:
            reported = CheckItem("Argo CD reports the revert", None,
                                 f"status.sync.revision {compared[:12]} is not in the clone (fetch, then look again)")
        elif seen:
            reported = CheckItem("Argo CD reports the revert", True,
                                 f"status.sync.revision {compared[:12]} contains {revert[:12]}")
        else:
            reported = CheckItem("Argo CD reports the revert", False,
                                 f"status.sync.revision {compared[:12]} does not contain {revert[:12]} yet: Argo CD "
                                 "would deploy the old commit (refresh the app, or wait for its next poll)")
    return Checklist((landed, reported))


# --------------------------------------------------------------------------- the release


def release_hold(ctx: KubeContext, namespace: str, name: str, *, gitops_repo: str | None, bad_revision: str = "",
                 override: str = "", remote: str = "origin", fetch: bool = True) -> Action:
    """Auto-sync back on (``automated.enabled=true``) and the hold's annotations removed, in one merge patch.

    Refused while the checklist fails, unless ``override`` says why it is released anyway (it goes into the
    audit record and the warnings).  Blocking: reads the Application and runs git.
    """
    from cockpit.actions.argocd import get_application

    obj = get_application(ctx, namespace, name)
    hold = hold_of(obj)
    if hold is None and is_auto_sync_enabled(obj):
        raise ActionRefused(f"{name} has no hold and auto-sync is on: nothing to release", noop=True)
    checklist = release_checklist(obj, gitops_repo, bad_revision=bad_revision, remote=remote, fetch=fetch)
    override = clean(override, limit=MAX_REASON).strip()
    if not checklist.passed and not override:
        failed = "; ".join(f"{item.name}: {item.detail}" for item in checklist.failed)
        raise ActionRefused(f"the hold on {name} stays: {failed}. Release it anyway only with a reason "
                            "(override)")
    meta = _map(obj.get("metadata"))
    rv = str(meta.get("resourceVersion") or "")
    annotations = _map(meta.get("annotations"))
    removed = {key: None for key in HOLD_ANNOTATIONS if key in annotations}
    body: dict[str, Any] = {"spec": {"syncPolicy": {"automated": {"enabled": True}}},
                            "metadata": {"resourceVersion": rv}}
    if removed:
        body["metadata"]["annotations"] = removed
    write = kube_write(ctx, APPLICATIONS, namespace, name, method="PATCH", body=body, content_type=MERGE_PATCH,
                       precondition=rv)
    warnings = [f"checklist: {line}" for line in checklist.lines()]
    if not checklist.passed:
        warnings.append(f"released over a failing checklist: {override}")
    policy = _map(_map(obj.get("spec")).get("syncPolicy"))
    if not isinstance(policy.get("automated"), dict):
        warnings.append("auto-sync was removed entirely, so prune and self-heal come back off; set them in git")
    warnings.append("auto-sync deploys whatever git says now, and self-heal (when set) reverts hand edits again")
    held = describe(hold) or "no hold recorded (auto-sync was switched off by hand)"
    return Action(
        name="argocd.release_hold", verb="release the hold on", kind="Application", target=name,
        namespace=namespace, context=ctx.name, user=ctx.user, writes=(write,), current=obj,
        risk=Risk.LOW if checklist.passed else Risk.DESTRUCTIVE, warnings=tuple(warnings),
        summary=f"switch auto-sync of {name} back on and remove its hold ({held})",
        follow_up="watch Argo CD sync the revert and the app stay Healthy",
        audit_note=f"override: {override}" if override and not checklist.passed else "",
    )
