"""The pre-mortem: before any rollback write, what will change, what will not happen, what will fight back, and
how far it reaches -- one verdict, SAFE, RISKY or UNSAFE, with every reason's evidence and where it was read.

A rollback that looks like one keystroke is rarely one: an Argo CD rollback skips the release's hooks (no
migration runs either way), a Rollout outside its ``rollbackWindow`` re-runs every canary step and analysis, a
parent app or an ApplicationSet puts auto-sync back and redeploys the bad revision, a sync window holds the
operation, a forward-only migration leaves the old binary facing a schema it cannot read (argo-cd#1927, #5365,
#9570, #15588; gitlab delivery#2080: "a rollback is unsafe" must say why).  The cockpit works this out before the
confirmation modal opens and shows it at its top; the same verdict goes on the tree's recommended leaf and into
the audit record of the write, and a RISKY or UNSAFE write is only sent with a typed reason.

Shape: :func:`assess` ``(view, planned) -> Premortem`` -- ``view`` (:class:`View`) is what the session knows and
how to read more (the kube context, the GitOps clone); ``planned`` is the gateway's ``PlannedWrite`` (or an
:class:`Intent` for a write not planned yet: the tree's leaf).  It blocks (Kubernetes reads, git), bounded by one
total deadline (``ASSESS_SECONDS``) with each read bounded on its own: run it in the planning thread, never on the
UI loop.  Reading (:mod:`cockpit.premortem.gather`) and judging (:mod:`cockpit.premortem.judge`, pure) are apart,
so every reason is tested on real objects without a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

ASSESS_SECONDS = 20.0  # the whole pre-mortem; a read that does not fit says so as a reason


class Level(str, Enum):
    """How one reason weighs: OK (said for the record), RISKY, UNSAFE."""

    OK = "ok"
    RISKY = "risky"
    UNSAFE = "unsafe"


class Verdict(str, Enum):
    SAFE = "safe"
    RISKY = "risky"
    UNSAFE = "unsafe"


_RANK = {Level.OK: 0, Level.RISKY: 1, Level.UNSAFE: 2}
_VERDICT = {Level.OK: Verdict.SAFE, Level.RISKY: Verdict.RISKY, Level.UNSAFE: Verdict.UNSAFE}

# The rule the modal follows, as data: which verdicts need the person's typed reason before the write is sent.
REASON_REQUIRED: Mapping[Verdict, bool] = {Verdict.SAFE: False, Verdict.RISKY: True, Verdict.UNSAFE: True}

# Where a reason belongs, in the order the modal shows them.
GROUPS = ("will change", "will not happen", "will fight back", "reach")

# The writes a pre-mortem is made for (a runbook's other steps -- an auto-sync toggle, a sync -- need none).
ROLLBACK_WRITES = ("argocd.rollback", "rollouts.undo", "rollouts.abort", "helm.rollback", "git.revert")


@dataclass(frozen=True)
class Evidence:
    fact: str  # what was read (untrusted parts inside: rendered with textsafe)
    source: str  # where: "git diff a1b2c3d..d8f3c2a -- apps/catalog", "Application argocd/x", ...


@dataclass(frozen=True)
class Reason:
    key: str  # change | migration | hooks | rollback-window | auto-sync | appset | parent | sync-window |
    #           operation | hold | flags | blast-radius | unreadable
    group: str  # one of GROUPS
    level: Level
    text: str  # the claim, one sentence
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "group": self.group, "level": self.level.value, "text": self.text,
                "evidence": [{"fact": item.fact, "source": item.source} for item in self.evidence]}


@dataclass(frozen=True)
class Intent:
    """The write being assessed, in the terms the pre-mortem needs."""

    action: str  # one of ROLLBACK_WRITES
    context: str
    namespace: str  # where the written object lives (argocd for an Application)
    name: str  # the Application, Rollout, Helm release; the GitOps clone's path for git.revert
    revision: str = ""  # argocd.rollback: the target revision; git.revert: the commit reverted
    template: Mapping[str, Any] | None = None  # rollouts.undo: the pod template it puts back
    helm_revision: int | None = None  # helm.rollback: the target revision (None: the previous one)

    @property
    def label(self) -> str:
        return f"{self.action} {self.name}"


@dataclass(frozen=True)
class Premortem:
    verdict: Verdict
    reasons: tuple[Reason, ...]  # UNSAFE first, then RISKY, then OK; in GROUPS order within a level
    intent: Intent
    computed_at: datetime
    took: float = 0.0  # seconds spent reading

    @property
    def needs_reason(self) -> bool:
        return REASON_REQUIRED[self.verdict]

    @property
    def headline(self) -> str:
        """"UNSAFE: forward-only migration 0042 …" -- the verdict and its weightiest reason."""
        worst = next((reason for reason in self.reasons if reason.level is not Level.OK), None)
        if worst is None:
            return f"{self.verdict.value.upper()}: nothing found that makes this rollback risky"
        more = sum(1 for reason in self.reasons if reason.level is not Level.OK) - 1
        return f"{self.verdict.value.upper()}: {worst.text}" + (f" (+{more} more)" if more > 0 else "")

    def by_group(self) -> list[tuple[str, tuple[Reason, ...]]]:
        return [(group, tuple(r for r in self.reasons if r.group == group)) for group in GROUPS
                if any(r.group == group for r in self.reasons)]

    def to_dict(self) -> dict[str, Any]:
        """For the audit record and the recording (redacted there like everything else)."""
        return {"verdict": self.verdict.value, "action": self.intent.action, "target": self.intent.name,
                "computed_at": self.computed_at.isoformat(), "reasons": [r.to_dict() for r in self.reasons]}


def needs_reason(premortem: Premortem | Verdict | None) -> bool:
    """Must the person type why they go ahead?  (RISKY and UNSAFE: yes; SAFE or no pre-mortem: no.)"""
    if premortem is None:
        return False
    verdict = premortem if isinstance(premortem, Verdict) else premortem.verdict
    return REASON_REQUIRED[verdict]


def verdict_of(reasons: tuple[Reason, ...] | list[Reason]) -> Verdict:
    worst = max((reason.level for reason in reasons), key=_RANK.__getitem__, default=Level.OK)
    return _VERDICT[worst]


def ordered(reasons: list[Reason]) -> tuple[Reason, ...]:
    group = {name: index for index, name in enumerate(GROUPS)}
    return tuple(sorted(reasons, key=lambda r: (-_RANK[r.level], group.get(r.group, len(GROUPS)))))


@dataclass
class View:
    """What the pre-mortem may read: the session's knowledge and clients (built by :func:`view_of`)."""

    context: str
    kube: Any = None  # cockpit.sources.kube.KubeContext (None: nothing can be read from the cluster)
    gitops_repo: str | None = None
    migrations_dir: str = "migrations/"
    app_name: str | None = None  # the Argo CD app in view (settings or the pane)
    argocd_namespace: str = "argocd"
    rollout: tuple[str, str] | None = None  # (namespace, name) of the Rollout in view
    flag_keys: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()
    now: Callable[[], datetime] | None = None
    data_rolled_back: Callable[[datetime | None], str] = field(default=lambda when: "")
    helm_release: str | None = None


def view_of(session: Any, context: str) -> View:
    """The view of a live session on ``context`` (not blocking: what is already in memory)."""
    settings = session.settings
    state = session.contexts.get(context)
    app = session.current(context, "argocd")
    rollout = session.current(context, "rollout")
    target = session.target(context)
    flag_keys = tuple(key for key in (getattr(settings, "flag_key", None),) if key)
    return View(
        context=context,
        kube=state.kube if state is not None else None,
        gitops_repo=settings.gitops_repo,
        migrations_dir=settings.migrations_dir,
        app_name=settings.app or (app.name if app is not None else None),
        argocd_namespace=settings.argocd_namespace,
        rollout=((rollout.namespace, rollout.name) if rollout is not None
                 else ((getattr(target, "namespace", None) or settings.namespace or ""), settings.rollout) if settings.rollout
                 else None),
        flag_keys=flag_keys,
        contexts=tuple(session.contexts),
        now=session.clock.now,
        data_rolled_back=lambda when: session.outcomes.data_rolled_back_before(context, when),
        helm_release=getattr(settings, "helm_release", None),
    )


def intent_of(planned: Any) -> Intent | None:
    """The :class:`Intent` of a ``PlannedWrite`` (or an ``Action``); None for writes that need no pre-mortem."""
    action = getattr(planned, "action", planned)
    name = getattr(action, "name", "")
    if name not in ROLLBACK_WRITES:
        return None
    writes = getattr(action, "writes", ()) or ()
    first = writes[0] if writes else None
    body = getattr(first, "body", None)
    common = {"action": name, "context": action.context, "namespace": action.namespace, "name": action.target}
    if name == "argocd.rollback":
        sync = ((body or {}).get("operation") or {}).get("sync") if isinstance(body, dict) else None
        sync = sync if isinstance(sync, dict) else {}
        revision = sync.get("revision") or next(iter(sync.get("revisions") or []), "")
        return Intent(**common, revision=str(revision or ""))
    if name == "rollouts.undo":
        template = None
        for op in body if isinstance(body, list) else ():
            if isinstance(op, dict) and op.get("path") == "/spec/template" and isinstance(op.get("value"), dict):
                template = op["value"]
        return Intent(**common, template=template)
    if name == "helm.rollback":
        argv = tuple(str(part) for part in getattr(first, "argv", ()) or ())
        revision = int(argv[3]) if len(argv) > 3 and argv[1:2] == ("rollback",) and argv[3].isdigit() else None
        return Intent(**common, helm_revision=revision)
    if name == "git.revert":
        return Intent(**common, revision=str(getattr(first, "bad_sha", "") or ""))
    return Intent(**common)


def assess(view: View, planned: Any) -> Premortem | None:
    """The pre-mortem of ``planned`` (a PlannedWrite, an Action or an Intent); None for writes that need none.

    Blocking and bounded (``ASSESS_SECONDS`` in all); never raises for what it cannot read -- that becomes a
    reason ("could not read ...: check it yourself") and the verdict is at least RISKY.
    """
    import time

    from cockpit.premortem import gather, judge
    from cockpit.sources import limits

    intent = planned if isinstance(planned, Intent) else intent_of(planned)
    if intent is None:
        return None
    started = time.monotonic()
    try:
        with limits.Deadline(ASSESS_SECONDS, f"the pre-mortem of {intent.label}"):
            facts = gather.gather(view, intent)
        reasons = judge.judge(facts)
        now = view.now() if view.now is not None else facts.now
    except Exception as err:  # noqa: BLE001 - a bug here must not look like SAFE, nor stop the modal
        import logging
        from datetime import timezone

        logging.getLogger("cockpit.premortem").exception("pre-mortem of %s failed", intent.label)
        reasons = [Reason("unreadable", "will change", Level.RISKY,
                          f"the pre-mortem itself failed ({type(err).__name__}: {err}): check this write yourself")]
        now = view.now() if view.now is not None else datetime.now(timezone.utc)
    return Premortem(verdict_of(reasons), ordered(list(reasons)), intent, now, round(time.monotonic() - started, 3))


def for_leaf(session: Any, context: str) -> Premortem | None:
    """The pre-mortem of the write the recommended leaf would make first, for the tree (blocking: run it in the
    session's pool after an evaluation, like the evidence).  None for a leaf with no rollback write."""
    from cockpit.premortem.gather import leaf_intent

    evaluation = session.evaluation(context)
    leaf = getattr(evaluation, "leaf", None)
    if leaf is None:
        return None
    view = view_of(session, context)
    intent = leaf_intent(view, leaf.runbook, app=session.outcomes.decision_app(context),
                         rollout=session.current(context, "rollout"))
    return assess(view, intent) if intent is not None else None


def text_lines(premortem: Premortem) -> list[str]:
    """The pre-mortem as plain lines (for a log, a notification, a test's failure message)."""
    lines = [premortem.headline]
    for group, reasons in premortem.by_group():
        lines.append(f"{group}:")
        for reason in reasons:
            lines.append(f"  [{reason.level.value.upper()}] {reason.text}")
            lines += [f"      {item.fact}  ({item.source})" for item in reason.evidence]
    return lines
