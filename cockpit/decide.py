"""The rollback decision tree (the seed's Diagram A) as data, and its evaluation over the live evidence.

The on-call's first minute goes to one question: which LAYER broke -- code, data or config?  Picking the wrong
one is the commonest way a rollback makes an incident worse (a code rollback over a forward-only migration, a
``helm rollback`` for a Kustomize patch).  This module walks the seed's tree over what the sources read:

    recent_deploy ── yes ─ flag_flip ── yes ─ FLAG FLIP
         │                    └─ no ── what_changed ── image bump ─ migration ── no ── CODE rollback
         │                                   │                           └─ yes ─ DATA rollback FIRST, then code
         │                                   └─ values / patch / policy ─ CONFIG rollback
         └─ no ── no_deploy_symptom ── no ── NOT a rollback case
                        └─ yes ─ s3_missing ── yes ─ DATA rollback (S3 versioning)
                                     └─ no ── namespace_gone ── yes ─ DATA rollback (Velero)
                                                    └─ no ── NOT a rollback case

Every node answers yes / no / unknown with the facts behind it and where each fact came from, and how sure
it is.  The recommended path is the chain of answered nodes from the root; the first unknown stops it, and
``Evaluation.ask`` says what the person has to answer.  The person can answer or override any node and the
tree re-routes.  Nothing here acts, fetches or renders: the seed's warning is that bad automated advice is
worse than a slower human decision, so the cockpit shows its evidence and the person decides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum

from cockpit.models import ArgoApp, RolloutView
from cockpit.preflight import BlastRadius, PreflightVerdict, Scope, Verdict
from cockpit.sources.flags import FlagState
from cockpit.sources.gitrepo import ChangeReport, Layer
from cockpit.sources.s3 import NamespaceEvidence, S3Evidence
from cockpit.timefmt import ago

ROOT = "recent_deploy"
DEFAULT_WINDOW_MINUTES = 30
_MAX_FACTS = 6  # per node; the rest are summarised as "+N more"


class Answer(str, Enum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Confidence(str, Enum):
    HIGH = "high"  # read directly from the source of truth
    MEDIUM = "medium"  # inferred, or from a secondary source
    LOW = "low"  # partial evidence


class RollbackLayer(str, Enum):
    CODE = "code"
    DATA = "data"
    CONFIG = "config"
    FLAG = "flag"
    NONE = "none"


@dataclass(frozen=True)
class Evidence:
    fact: str  # e.g. "Argo CD history #42 deployed 5m ago, revision d8f3c2a" (untrusted parts inside)
    source: str  # where the fact was read


@dataclass(frozen=True)
class NodeResult:
    node_id: str
    question: str
    answer: Answer
    evidence: tuple[Evidence, ...]
    confidence: Confidence
    overridden: bool  # the person answered; ``answer`` is theirs
    explain: str  # how the answer follows from the evidence, in one sentence


@dataclass(frozen=True)
class Leaf:
    id: str
    title: str
    layer: RollbackLayer
    runbook: str  # runbook name under cockpit/runbooks ("" = none)
    rto: str  # from the seed's Diagram B
    then_runbook: str = ""  # the runbook to follow next (DATA first, then CODE)


@dataclass(frozen=True)
class NodeSpec:
    """One question of the tree: its text, why it matters (the ``?`` help) and where each answer leads."""

    id: str
    question: str  # may contain {window}
    why: str
    yes: str  # node id or leaf slot
    no: str
    yes_label: str = "yes"
    no_label: str = "no"


LEAVES: dict[str, Leaf] = {
    leaf.id: leaf
    for leaf in (
        Leaf("flag-flip", "FLAG FLIP: turn the flag off first", RollbackLayer.FLAG, "flag-flip", "60s"),
        Leaf("code-rollback", "CODE rollback (Argo CD / Rollouts / Helm)", RollbackLayer.CODE, "", "30s-3m"),
        Leaf(
            "code-rollback-argocd",
            "CODE rollback: argocd app rollback",
            RollbackLayer.CODE,
            "code-rollback-argocd",
            "30s-2m",
        ),
        Leaf(
            "code-rollback-rollouts",
            "CODE rollback: Argo Rollouts abort / undo",
            RollbackLayer.CODE,
            "code-rollback-rollouts",
            "30s-2m",
        ),
        Leaf("code-rollback-helm", "CODE rollback: helm rollback", RollbackLayer.CODE, "code-rollback-helm", "1-3m"),
        Leaf(
            "data-rollback-postgres-pitr",
            "DATA rollback FIRST (Postgres PITR), then code",
            RollbackLayer.DATA,
            "data-rollback-postgres-pitr",
            "15-90m",
        ),
        Leaf(
            "config-rollback-argocd-app",
            "CONFIG rollback: git revert + Argo CD sync",
            RollbackLayer.CONFIG,
            "config-rollback-argocd-app",
            "2-10m",
        ),
        Leaf(
            "data-rollback-s3-versioning",
            "DATA rollback: S3 delete-marker removal",
            RollbackLayer.DATA,
            "data-rollback-s3-versioning",
            "2-10m",
        ),
        Leaf(
            "data-rollback-velero",
            "DATA rollback: Velero namespace restore",
            RollbackLayer.DATA,
            "data-rollback-velero",
            "5-30m",
        ),
        Leaf("not-a-rollback", "NOT a rollback case: open the alert runbook", RollbackLayer.NONE, "", ""),
        Leaf("mitigated", "MITIGATED: write the postmortem and the forward fix", RollbackLayer.NONE, "", ""),
    )
}

NODES: dict[str, NodeSpec] = {
    spec.id: spec
    for spec in (
        NodeSpec(
            "recent_deploy",
            "Did a deploy land in the last {window} minutes?",
            "A deploy just before the symptom is the strongest sign that the change broke it, and it picks the "
            "side of the tree: undo the change, or look for lost data. Read from the newest Argo CD "
            "status.history entry's deployedAt. Failed and partial syncs never enter that history, so a running "
            "or failed sync and a canary in flight count as evidence too.",
            yes="flag_flip",
            no="no_deploy_symptom",
        ),
        NodeSpec(
            "flag_flip",
            "Could a feature-flag flip mitigate first?",
            "Turning a flag off takes about a minute and reaches only the users behind the flag; every rollback "
            "layer is slower and wider. When the regression sits behind a flag, flip it first, then still fix or "
            "roll back the release. Read from the configured flag URL; without one, only you know.",
            yes="flag-flip",
            no="what_changed",
            yes_label="yes, try first",
            no_label="no, must roll back",
        ),
        NodeSpec(
            "what_changed",
            "Was the deploy an image-tag bump only?",
            "Roll back the layer that changed. An image bump is a new binary: code rollback. A Helm values edit, a "
            "Kustomize patch, a NetworkPolicy, ResourceQuota or Crossplane Composition leaves the binary alone: "
            "git revert + sync fixes it, and a helm or Argo CD rollback of the code would miss it. Read from the "
            "git diff between the last two deployed revisions and from the sources Argo CD recorded.",
            yes="migration",
            no="config-rollback-argocd-app",
            yes_label="image bump",
            no_label="values / patch / policy",
        ),
        NodeSpec(
            "migration",
            "Did the release include a NON-additive SQL migration?",
            "A code rollback skips hooks and leaves the schema where the bad release put it. If that release "
            "dropped, renamed, re-typed or made NOT NULL something the previous binary uses, the old binary breaks "
            "on the new schema or writes wrong data: restore the data first (PITR), then roll back the code. Read "
            "from the migrations directory diffed between the bad and the target revision, every statement parsed "
            "by PostgreSQL's own parser.",
            yes="data-rollback-postgres-pitr",
            no="code-rollback",
        ),
        NodeSpec(
            "no_deploy_symptom",
            "Without a deploy: is customer data or a whole namespace missing?",
            "With no recent change to undo, a rollback only helps when something was lost: objects in S3 or a "
            "whole namespace. Anything else belongs to the alert's own runbook, not to a rollback.",
            yes="s3_missing",
            no="not-a-rollback",
        ),
        NodeSpec(
            "s3_missing",
            "Are customer-uploaded S3 objects missing?",
            "In a versioned bucket a delete only stacks a delete marker on the object's versions; removing the "
            "marker brings the object back within minutes. Markers created in the window that are still the latest "
            "version are objects that read as deleted right now.",
            yes="data-rollback-s3-versioning",
            no="namespace_gone",
        ),
        NodeSpec(
            "namespace_gone",
            "Is the whole tenant namespace missing?",
            "A deleted or Terminating namespace takes every object in it with it; Velero restores the objects and "
            "their volumes from the last good backup.",
            yes="data-rollback-velero",
            no="not-a-rollback",
        ),
    )
}


@dataclass(frozen=True)
class SessionDone:
    """What the cockpit did in this session and whether it worked (``cockpit.session.outcome``)."""

    own_rollback_notes: tuple[str, ...] = ()  # history entries that are the cockpit's own rollbacks (left out)
    data_rolled_back_to: datetime | None = None  # a PITR run completed to this time
    data_rollback_detail: str = ""
    mitigation: str = ""  # "" | verifying | mitigated | not-mitigated
    mitigation_detail: str = ""


@dataclass(frozen=True)
class DecisionInput:
    """Everything the tree looks at, gathered by the caller from the store and the sources."""

    app: ArgoApp | None = None
    rollout: RolloutView | None = None
    helm_release: str | None = None  # a Helm release that owns the workload (release Secrets exist)
    change: ChangeReport | None = None
    migrations: PreflightVerdict | None = None
    flag: FlagState | None = None
    s3: S3Evidence | None = None
    namespace: NamespaceEvidence | None = None
    blast: BlastRadius | None = None
    window_minutes: int = DEFAULT_WINDOW_MINUTES
    done: SessionDone | None = None


@dataclass(frozen=True)
class Evaluation:
    results: dict[str, NodeResult]  # every node, on the path or not
    path: tuple[str, ...]  # node ids from the root, up to the leaf or the first unknown
    leaf: Leaf | None  # the recommendation; None when blocked
    blocked_at: str | None  # the unknown node that stopped the path
    ask: str  # what the person must answer ("" when a leaf was reached)
    leaf_slot: str = ""  # where the leaf sits in NODES (e.g. "code-rollback" for code-rollback-rollouts)
    leaf_evidence: tuple[Evidence, ...] = ()  # why this runbook (Rollout present, Helm release, ...)
    blast: BlastRadius | None = None
    outcome: str = ""  # "" | VERIFYING | MITIGATED | NOT MITIGATED (after the cockpit acted)
    outcome_detail: str = ""

    @property
    def recommendation(self) -> str:
        if self.leaf is not None:
            return self.leaf.title
        return f"no recommendation yet: {self.ask}"


@dataclass(frozen=True)
class _Raw:
    answer: Answer
    evidence: tuple[Evidence, ...]
    confidence: Confidence
    explain: str
    ask: str = ""  # when unknown: what the person should answer, and how to find out


def _unknown(explain: str, ask: str, evidence: tuple[Evidence, ...] = ()) -> _Raw:
    return _Raw(Answer.UNKNOWN, evidence, Confidence.LOW, explain, ask)


def _capped(evidence: list[Evidence], source: str = "") -> tuple[Evidence, ...]:
    if len(evidence) <= _MAX_FACTS:
        return tuple(evidence)
    rest = len(evidence) - (_MAX_FACTS - 1)
    return (*evidence[: _MAX_FACTS - 1], Evidence(f"+{rest} more", source or evidence[-1].source))


# --------------------------------------------------------------------------- recent deploy


def _recent_deploy(inp: DecisionInput, now: datetime) -> _Raw:
    window = timedelta(minutes=inp.window_minutes)
    app, rollout = inp.app, inp.rollout
    ask = f"Did anything deploy in the last {inp.window_minutes} minutes (Argo CD, Helm, kubectl, a pipeline)?"
    if app is None and rollout is None:
        return _unknown("no Argo CD application or Rollout in view", ask)
    evidence: list[Evidence] = []
    answer, confidence, explain = Answer.UNKNOWN, Confidence.LOW, ""
    if app is not None:
        source = f"Argo CD {app.name} status.history"
        if app.history:
            newest = app.history[0]
            when = newest.deployed_at or newest.deploy_started_at
            if when is None:
                evidence.append(Evidence(f"history #{newest.id} has no deployedAt", source))
            else:
                fact = f"Argo CD history #{newest.id} deployed {ago(when, now)}, revision {newest.short_revision}"
                evidence.append(Evidence(fact, source))
                if now - when <= window:
                    answer, confidence = Answer.YES, Confidence.HIGH
                    explain = f"history #{newest.id} is inside the {inp.window_minutes}-minute window"
                else:
                    answer, confidence = Answer.NO, Confidence.HIGH
                    explain = f"the newest deploy (#{newest.id}) is older than {inp.window_minutes} minutes"
            if newest.change:
                evidence.append(Evidence(f"#{newest.id} vs the entry before: {newest.change}", source))
        else:
            evidence.append(Evidence("no deploy recorded in status.history", source))
            answer, confidence, explain = Answer.NO, Confidence.MEDIUM, "Argo CD has recorded no deploy"
        if app.operation_running or app.operation_phase == "Running":
            message = f": {app.operation_message}" if app.operation_message else ""
            evidence.append(Evidence(f"a sync is running now{message}", f"Argo CD {app.name} operationState"))
            if answer is not Answer.YES:
                answer, confidence, explain = Answer.YES, Confidence.MEDIUM, "a sync is landing right now"
        elif app.operation_phase in ("Failed", "Error"):
            message = f": {app.operation_message}" if app.operation_message else ""
            fact = f"last sync {app.operation_phase}{message} (failed syncs never enter history)"
            evidence.append(Evidence(fact, f"Argo CD {app.name} operationState"))
            if answer is Answer.NO:
                confidence = Confidence.MEDIUM
    done = inp.done
    if done is not None:
        for note in done.own_rollback_notes:
            evidence.append(Evidence(note, "cockpit session"))
    if rollout is not None and _mid_canary(rollout):
        # shown 1-based, as `kubectl argo rollouts get` does (status.currentStepIndex 3 of 8 steps = "4/8")
        shown = min(rollout.step_index + 1, rollout.step_count) if rollout.step_index is not None else None
        step = f"step {shown}/{rollout.step_count}" if shown is not None else "in progress"
        images = ", ".join(rollout.canary_images) or rollout.canary_hash
        fact = f"Rollout {rollout.name} {rollout.phase or 'updating'}: canary {step}, {images}"
        evidence.append(Evidence(fact, "Argo Rollouts status"))
        if answer is not Answer.YES:
            answer, confidence, explain = Answer.YES, Confidence.MEDIUM, "a canary is still rolling out"
    if answer is Answer.UNKNOWN:
        return _unknown("no deploy time recorded", ask, tuple(evidence))
    return _Raw(answer, _capped(evidence), confidence, explain)


def _mid_canary(rollout: RolloutView) -> bool:
    return bool(rollout.canary_hash) and rollout.canary_hash != rollout.stable_hash and not rollout.aborted


# --------------------------------------------------------------------------- flag flip


def _flag_flip(inp: DecisionInput, now: datetime) -> _Raw:
    flag = inp.flag
    ask = "Is the regression behind a feature flag you could turn off?"
    if flag is None:
        return _unknown("no flag provider configured", ask)
    name = flag.name or "the flag"
    shown = repr(flag.value)
    shown = shown if len(shown) <= 80 else shown[:79] + "…"
    value = "" if flag.value is None else f" (value {shown})"
    source = f"flag provider {flag.source_url}" if flag.source_url else "flag provider"
    if flag.enabled is True:
        fact = Evidence(f"flag {name} is ON{value}", source)
        explain = f"{name} is on: turning it off is a one-minute mitigation if the regression is behind it"
        return _Raw(Answer.YES, (fact,), Confidence.MEDIUM, explain)
    if flag.enabled is False:
        fact = Evidence(f"flag {name} is OFF{value}", source)
        return _Raw(Answer.NO, (fact,), Confidence.MEDIUM, f"{name} is already off: nothing to turn off")
    excerpt = Evidence(f"flag {name}: {flag.raw_excerpt}", source)
    return _unknown(f"{name} does not say whether it is on", ask, (excerpt,))


# --------------------------------------------------------------------------- what changed


_CODE_WORDS = ("image ",)  # "image tag x a → b", "image x added", "image x removed"
_CONFIG_WORDS = ("chart values", "kustomize", "helm ", "plugin settings", "directory settings")


def history_layers(change: str) -> tuple[set[str], bool]:
    """Layers named by a history entry's ``change`` words (see cockpit.sources.argocd.describe_change).

    Returns ({"code", "config"} subset, unclear).  Image phrases are code; values, patches and other
    Helm/Kustomize settings are config; a plain new revision names no layer (the git diff must tell);
    anything else (repo, path, chart version, target revision) is unclear.
    """
    text = change.strip()
    if not text or text in ("first entry", "no changes") or text.startswith("revision only"):
        return set(), False
    layers: set[str] = set()
    unclear = False
    for part in text.split("; "):
        for phrase in part.split(", "):
            phrase = phrase.strip()
            if ": " in phrase and not phrase.startswith(_CODE_WORDS + _CONFIG_WORDS):
                phrase = phrase.split(": ", 1)[1]  # multi-source "label: phrase"
            if phrase.startswith(_CODE_WORDS):
                layers.add("code")
            elif phrase.startswith(_CONFIG_WORDS):
                layers.add("config")
            elif not phrase.startswith("revision only"):
                unclear = True
    return layers, unclear


def _what_changed(inp: DecisionInput, now: datetime) -> _Raw:
    ask = "Was the bad deploy an image-tag bump only (yes), or a values / patch / policy change (no)?"
    evidence: list[Evidence] = []
    layers: set[str] = set()
    from_git = False
    unclear = False
    change = inp.change
    if change is not None:
        source = f"git {change.range}"
        for item in change.files:
            if item.kind in ("image", "config", "migration"):
                evidence.append(Evidence(f"{item.status} {item.path}: {item.detail}", source))
        if change.layer in (Layer.CODE, Layer.MIXED):
            layers.add("code")
        if change.layer in (Layer.CONFIG, Layer.MIXED):
            layers.add("config")
        from_git = bool(layers)
        if not change.files:
            evidence.append(Evidence("no files changed between the two revisions", source))
    app = inp.app
    if app is not None and app.history:
        newest = app.history[0]
        if newest.change:
            named, unclear = history_layers(newest.change)
            layers |= named
            evidence.insert(0, Evidence(f"history #{newest.id}: {newest.change}", f"Argo CD {app.name} status.history"))
    confidence = Confidence.HIGH if from_git else Confidence.MEDIUM
    if layers == {"code"}:
        return _Raw(Answer.YES, _capped(evidence), confidence, "only image tags moved: a new binary")
    if layers == {"config"}:
        return _Raw(Answer.NO, _capped(evidence), confidence, "configuration changed, not the image")
    if layers == {"code", "config"}:
        return _unknown(
            "the deploy changed both image tags and configuration",
            "Both the image and the configuration changed: which broke it? yes = the image (code), no = the config",
            _capped(evidence),
        )
    if change is not None:
        return _unknown(f"{change.summary}; no manifest decides the layer", ask, _capped(evidence))
    why = "the history entry does not say what moved" if unclear else "no GitOps repository diff to read"
    return _unknown(why, ask + " (configure --gitops-repo to read the diff)", _capped(evidence))


# --------------------------------------------------------------------------- forward-only migration


def _migration(inp: DecisionInput, now: datetime) -> _Raw:
    verdict = inp.migrations
    source = "migration pre-flight (pglast)"
    ask = (
        "Did the release include a NON-additive SQL migration (DROP, RENAME, ALTER TYPE, SET NOT NULL)? "
        "Diff the migrations directory between the bad and the target revision"
    )
    if verdict is None:
        return _unknown("the migration pre-flight has not run (no GitOps repository, or no earlier revision)", ask)
    findings = [Evidence(f"{item.where} {item.short} — {item.reason}", source) for item in verdict.findings]
    if verdict.verdict is Verdict.DATA_FIRST:
        return _Raw(Answer.YES, _capped(findings, source), Confidence.HIGH, verdict.summary)
    if verdict.verdict is Verdict.SAFE:
        return _Raw(Answer.NO, (Evidence(verdict.summary, source),), Confidence.HIGH, verdict.summary)
    first = verdict.findings[0] if verdict.findings else None
    what = f"Read {first.where} yourself ({first.short}): is it additive?" if first else ask
    return _unknown(verdict.summary, what, _capped(findings, source))


# --------------------------------------------------------------------------- no-deploy side


def _s3_missing(inp: DecisionInput, now: datetime) -> _Raw:
    s3 = inp.s3
    ask = "Is a customer-uploaded S3 object missing?"
    if s3 is None:
        return _unknown("no S3 bucket configured", ask)
    source = f"S3 ListObjectVersions {s3.location}"
    window = f"since {s3.since.strftime('%Y-%m-%d %H:%M UTC')}"
    missing = s3.missing
    if missing:
        evidence = [Evidence(f"{len(missing)} objects deleted {window} (delete marker is the latest version)", source)]
        for marker in missing[: _MAX_FACTS - 1]:
            restorable = "restorable" if marker.previous_version_id else "no earlier version"
            evidence.append(Evidence(f"{marker.key} deleted {ago(marker.last_modified, now)} ({restorable})", source))
        return _Raw(Answer.YES, tuple(evidence), Confidence.HIGH, f"{len(missing)} objects read as deleted now")
    overwritten = len(s3.markers)
    fact = f"no object deleted {window}; {s3.scanned} versions scanned"
    if overwritten:
        fact += f"; {overwritten} delete markers since then are no longer the latest version (objects are back)"
    if s3.truncated:
        partial = (Evidence(fact + " (scan stopped early)", source),)
        return _Raw(Answer.NO, partial, Confidence.LOW, "no delete markers found in the part scanned")
    return _Raw(Answer.NO, (Evidence(fact, source),), Confidence.HIGH, "no delete markers in the window")


def _namespace_gone(inp: DecisionInput, now: datetime) -> _Raw:
    ns = inp.namespace
    ask = "Is the tenant namespace missing or stuck Terminating?"
    if ns is None:
        return _unknown("no tenant namespace configured", ask)
    fact = (Evidence(ns.detail, "Kubernetes namespaces"),)
    if ns.gone is True:
        return _Raw(Answer.YES, fact, Confidence.HIGH, f"namespace {ns.name} is {ns.state.value}")
    if ns.gone is False:
        return _Raw(Answer.NO, fact, Confidence.HIGH, f"namespace {ns.name} is Active")
    return _unknown(ns.detail, ask, fact)


def _no_deploy_symptom(children: Mapping[str, NodeResult]) -> _Raw:
    """Derived from the two checks below it (after the person's answers), so it re-routes with them."""
    s3, ns = children["s3_missing"], children["namespace_gone"]
    evidence = (*s3.evidence[:2], *ns.evidence[:2])
    if Answer.YES in (s3.answer, ns.answer):
        what = "customer S3 objects are missing" if s3.answer is Answer.YES else "the namespace is gone"
        return _Raw(Answer.YES, evidence, min_confidence(s3, ns, Answer.YES), what)
    if s3.answer is Answer.NO and ns.answer is Answer.NO:
        why = "no missing S3 objects and the namespace is there"
        return _Raw(Answer.NO, evidence, min_confidence(s3, ns, Answer.NO), why)
    return _unknown(
        "S3 and namespace checks incomplete",
        "Is customer data missing in S3, or a whole namespace gone? (no = open the alert runbook)",
        evidence,
    )


def min_confidence(first: NodeResult, second: NodeResult, answer: Answer) -> Confidence:
    """The confidence of an answer derived from two nodes: the weakest of those that gave it."""
    order = [Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH]
    given = [node.confidence for node in (first, second) if node.answer is answer]
    return min(given, key=order.index) if given else Confidence.LOW


_EVALUATORS: dict[str, Callable[[DecisionInput, datetime], _Raw]] = {
    "recent_deploy": _recent_deploy,
    "flag_flip": _flag_flip,
    "what_changed": _what_changed,
    "migration": _migration,
    "s3_missing": _s3_missing,
    "namespace_gone": _namespace_gone,
}


# --------------------------------------------------------------------------- leaves


def _code_leaf(inp: DecisionInput) -> tuple[Leaf, Evidence]:
    """Which code-rollback runbook: by what manages the workload."""
    if inp.rollout is not None:
        images = ", ".join(inp.rollout.stable_images) or inp.rollout.stable_hash or "unknown"
        fact = f"Rollout {inp.rollout.namespace}/{inp.rollout.name} manages the workload (stable {images})"
        return LEAVES["code-rollback-rollouts"], Evidence(fact, "Argo Rollouts")
    if inp.helm_release:
        fact = f"Helm release {inp.helm_release} owns the workload (release Secrets present)"
        return LEAVES["code-rollback-helm"], Evidence(fact, "Helm")
    name = inp.app.name if inp.app is not None else "the application"
    return LEAVES["code-rollback-argocd"], Evidence(f"no Rollout or Helm release: Argo CD {name} history", "Argo CD")


def _resolve_leaf(slot: str, inp: DecisionInput) -> tuple[Leaf, tuple[Evidence, ...]]:
    if slot == "code-rollback":
        leaf, why = _code_leaf(inp)
        return leaf, (why,)
    if slot == "data-rollback-postgres-pitr":
        code, why = _code_leaf(inp)
        title = f"DATA rollback FIRST (Postgres PITR), then CODE rollback ({code.runbook})"
        return dataclasses.replace(LEAVES[slot], title=title, then_runbook=code.runbook), (why,)
    if slot == "config-rollback-argocd-app" and inp.change is not None:
        compositions = [item for item in inp.change.config_files if "Composition" in item.detail]
        if compositions:
            title = "CONFIG rollback: git revert + move XRs to the reverted Composition revision"
            leaf = dataclasses.replace(LEAVES[slot], title=title, rto="5-20m")
            return leaf, (Evidence(f"{compositions[0].path} is a Crossplane Composition", f"git {inp.change.range}"),)
    return LEAVES[slot], ()


def resolve_leaf(slot: str, inp: DecisionInput) -> tuple[Leaf, tuple[Evidence, ...]]:
    """The runbook a leaf slot stands for with this evidence (the widget opens leaves off the path too)."""
    return _resolve_leaf(slot, inp)


# --------------------------------------------------------------------------- evaluation


def _result(node_id: str, raw: _Raw, override: Answer | None, window: int) -> NodeResult:
    question = NODES[node_id].question.format(window=window)
    if override is None:
        return NodeResult(node_id, question, raw.answer, raw.evidence, raw.confidence, False, raw.explain)
    said = f"the evidence said {raw.answer.value}" + (f" ({raw.explain})" if raw.explain else "")
    explain = f"answered {override.value} by you; {said}"
    confidence = Confidence.HIGH if override is not Answer.UNKNOWN else Confidence.LOW
    return NodeResult(node_id, question, override, raw.evidence, confidence, True, explain)


def _answer(value: Answer | str | bool | None) -> Answer | None:
    if value is None or isinstance(value, Answer):
        return value
    if isinstance(value, bool):
        return Answer.YES if value else Answer.NO
    return Answer(str(value).lower())


def evaluate(
    snapshot: DecisionInput,
    overrides: Mapping[str, Answer | str | bool] | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """Walk the tree over ``snapshot``; ``overrides`` are the person's answers, keyed by node id.

    Every node is evaluated (the widget labels them all); the path follows answers from the root and stops
    at the first unknown, which leaves ``leaf`` None and ``ask`` saying what to answer.
    """
    now = now or datetime.now(timezone.utc)
    given = {node_id: _answer(value) for node_id, value in (overrides or {}).items() if node_id in NODES}
    window = snapshot.window_minutes
    raws: dict[str, _Raw] = {}
    results: dict[str, NodeResult] = {}
    for node_id, evaluator in _EVALUATORS.items():
        raws[node_id] = evaluator(snapshot, now)
        results[node_id] = _result(node_id, raws[node_id], given.get(node_id), window)
    raws["no_deploy_symptom"] = _no_deploy_symptom(results)
    derived = "no_deploy_symptom"
    results[derived] = _result(derived, raws[derived], given.get(derived), window)
    results = {node_id: results[node_id] for node_id in NODES}  # the tree's own order

    path: list[str] = []
    node = ROOT
    while node in NODES:
        path.append(node)
        result = results[node]
        if result.answer is Answer.UNKNOWN:
            raw = raws[node]
            ask = raw.ask if not result.overridden else f"{result.question} (you marked it unknown)"
            because = f" ({raw.explain})" if raw.explain and not result.overridden else ""
            return Evaluation(results, tuple(path), None, node, f"{ask}{because}", blast=snapshot.blast)
        spec = NODES[node]
        node = spec.yes if result.answer is Answer.YES else spec.no
    leaf, why = _resolve_leaf(node, snapshot)
    done = snapshot.done
    if done is not None and leaf.id == "data-rollback-postgres-pitr" and done.data_rolled_back_to is not None:
        # the seed's order: DATA first, then code -- the data part is done, so the code rollback is next
        code, reason = _code_leaf(snapshot)
        leaf = code  # leaf_slot stays the tree's slot: opening it opens this runbook
        why = (Evidence(done.data_rollback_detail, "cockpit session"), reason)
    outcome, detail = "", ""
    if done is not None and done.mitigation:
        outcome = {"verifying": "VERIFYING", "mitigated": "MITIGATED", "not-mitigated": "NOT MITIGATED"}.get(
            done.mitigation, done.mitigation.upper())
        detail = done.mitigation_detail
        if done.mitigation == "mitigated":
            leaf = LEAVES["mitigated"]
            why = (Evidence(detail, "cockpit session"),)
    return Evaluation(results, tuple(path), leaf, None, "", leaf_slot=node, leaf_evidence=why, blast=snapshot.blast,
                      outcome=outcome, outcome_detail=detail)


# --------------------------------------------------------------------------- the pre-flight strip


@dataclass(frozen=True)
class PreflightLine:
    check: str  # "Flag flip?" | "Forward-only migration?" | "Blast radius?"
    answer: str  # yes / no / unknown, or the blast scope ("one tenant", ...)
    detail: str

    @property
    def text(self) -> str:
        return f"{self.check} {self.answer}" + (f" — {self.detail}" if self.detail else "")


def pre_flight(evaluation: Evaluation) -> tuple[PreflightLine, PreflightLine, PreflightLine]:
    """The seed's three checks before every rollback, from an evaluation."""
    flag = evaluation.results["flag_flip"]
    migration = evaluation.results["migration"]
    flag_detail = flag.evidence[0].fact if flag.evidence else flag.explain
    if flag.answer is Answer.UNKNOWN and not flag.overridden:
        flag_detail = f"{flag.explain}: ask whether a flag covers it"
    if migration.answer is Answer.YES:
        migration_detail = migration.explain
    elif migration.evidence:
        migration_detail = migration.evidence[0].fact
    else:
        migration_detail = migration.explain
    blast = evaluation.blast
    if blast is None or blast.scope is Scope.UNKNOWN:
        blast_line = PreflightLine("Blast radius?", Scope.UNKNOWN.value, blast.detail if blast else "not worked out")
    else:
        detail = blast.detail + (f"; ApplicationSet {blast.siblings} may carry it elsewhere" if blast.siblings else "")
        blast_line = PreflightLine("Blast radius?", blast.scope.value, detail)
    return (
        PreflightLine("Flag flip?", flag.answer.value, flag_detail),
        PreflightLine("Forward-only migration?", migration.answer.value, migration_detail),
        blast_line,
    )
