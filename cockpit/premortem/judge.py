"""The pre-mortem's reasons, judged from what was read (pure: no I/O, no clock).

Each function reads the fields the upstream controllers act on and says what they will do:

* **Argo CD** rollback = an ``.operation.sync`` with ``syncStrategy: {apply: {}}``: the controller passes
  ``skipHooks = IsApplyStrategy()`` to the sync (controller/sync.go), so no ``argocd.argoproj.io/hook`` resource and
  no Helm hook mapped onto one (``helm.sh/hook`` pre-/post-install/upgrade) runs;
* **Argo Rollouts** (rollout/canary.go ``syncRolloutStatusCanary``, rollout/sync.go ``isRollbackWithinWindow``): a
  template that is the stable ReplicaSet's skips every step ("Rollback to stable ReplicaSets"); one whose
  ReplicaSet is older than the stable one with fewer than ``rollbackWindow.revisions`` ReplicaSets in between is
  fast-tracked too; anything else is a new rollout: every step, pause and analysis again;
* **sync windows**: ``SyncWindows.CanSync`` (``cockpit.actions.syncwindows``); a rollback is a manual sync, a
  revert reaches the cluster by an automated one;
* **who puts auto-sync back**: an owning ApplicationSet without ``ignoreApplicationDifferences`` on
  ``/spec/syncPolicy`` (and a RollingSync one syncs the app itself), a parent Application (app of apps) that syncs
  the child's spec from git -- at once with self-heal, at the next commit without (argo-cd#9570, #15588);
* **Helm** ``rollback`` runs only the target release's ``pre-rollback``/``post-rollback`` hooks.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from cockpit.premortem import Evidence, Level, Reason
from cockpit.premortem.gather import Facts

HOOK_ANNOTATION = "argocd.argoproj.io/hook"
HELM_HOOK_ANNOTATION = "helm.sh/hook"
POD_HASH_LABEL = "rollouts-pod-template-hash"
EXPERIMENT_ANNOTATION = "experiment.argoproj.io/name"
_MAX_EVIDENCE = 12  # per reason
_STATUS = {"A": "added", "D": "deleted", "R": "renamed"}
_MAX_DIFF_LINES = 40
_FLAG_WORDS = re.compile(r"(flag|feature|toggle)", re.IGNORECASE)
_ENV_NAME = re.compile(r"^\s*-?\s*name:\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)")


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _short(revision: str) -> str:
    return revision[:7] if len(revision) >= 40 else revision


def _line(text: str, limit: int = 160) -> str:
    """A diff line as it is (indentation kept), cut to ``limit`` characters."""
    text = str(text).rstrip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cut(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- entry point


def judge(facts: Facts) -> list[Reason]:
    action = facts.intent.action
    reasons: list[Reason] = []
    if action == "argocd.rollback":
        reasons += [_change_git(facts), _migration(facts), _hooks(facts), _window(facts)]
        reasons += _fight_back_rollback(facts)
    elif action in ("rollouts.undo", "rollouts.abort"):
        reasons += [_change_rollout(facts), _migration(facts), _window(facts)]
        reasons += _fight_back_rollout(facts)
    elif action == "helm.rollback":
        reasons += [_change_helm(facts), _helm_hooks(facts)]
    elif action == "git.revert":
        reasons += [_change_git(facts), _migration(facts)]
        reasons += _fight_back_revert(facts)
    reasons.append(_flags(facts))
    reasons.append(_blast(facts))
    reasons += _problems(facts)
    return [reason for reason in reasons if reason is not None]


# --------------------------------------------------------------------------- what will change


def _diff_evidence(diff: Any, limit: int = _MAX_DIFF_LINES) -> list[Evidence]:
    from cockpit.redact import redact_text

    out: list[Evidence] = []
    source = f"git diff {_short(diff.old_rev)}..{_short(diff.new_rev)}"
    for item in diff.files:
        changed = item.changed_lines
        state = _STATUS.get(item.status, "modified")
        out.append(Evidence(f"{item.path} ({state}, {len(changed)} line{'s' if len(changed) != 1 else ''} changed)",
                            f"{source} -- {item.path}"))
        for line in changed[:8]:
            if len(out) >= limit:
                break
            out.append(Evidence(redact_text(_line(line)), f"{source} -- {item.path}"))
        if len(out) >= limit:
            break
    if diff.truncated:
        out.append(Evidence("the diff is longer than the cockpit reads: only its start is shown", source))
    return out


def _change_git(facts: Facts) -> Reason | None:
    from cockpit.sources.argocd import describe_change

    diff = facts.diff
    if diff is None:
        return None  # the problem says why
    action = facts.intent.action
    summary = ""
    if facts.live_entry is not None and facts.target_entry is not None:
        summary = describe_change(facts.live_entry, facts.target_entry)
    where = f" under {facts.app_path}" if facts.app_path else ""
    if action == "git.revert":
        text = f"the revert undoes {_short(facts.live_revision)}: {len(diff.files)} file(s) change back"
    elif not diff.files:
        text = f"git has no difference{where} between {_short(diff.old_rev)} and {_short(diff.new_rev)}"
    else:
        text = (f"{len(diff.files)} file(s){where} go back from {_short(diff.old_rev)} to {_short(diff.new_rev)}"
                + (f": {summary}" if summary and summary not in ("no changes", "revision only") else ""))
    evidence = []
    if summary:
        evidence.append(Evidence(summary, "Argo CD history: the target entry's source vs the live one"))
    evidence += _diff_evidence(diff)
    return Reason("change", "will change", Level.OK, text, tuple(evidence[:_MAX_DIFF_LINES + 2]))


def images_of(template: Any) -> tuple[str, ...]:
    spec = _map(_map(template).get("spec"))
    return tuple(str(c.get("image") or "") for c in _items(spec.get("containers")) if c.get("image"))


def entry_images(entry: Any) -> tuple[str, ...]:
    """Image references a history entry's source sets (Kustomize ``images`` overrides, Helm image params)."""
    entry = _map(entry)
    sources = [_map(entry.get("source"))] + _items(entry.get("sources"))
    out: list[str] = []
    for source in sources:
        for image in _map(source.get("kustomize")).get("images") or []:
            if isinstance(image, str):
                name, _, override = image.partition("=")
                out.append(override or name)
    return tuple(out)


def _kustomize_images(manifests: dict[str, str]) -> tuple[str, ...]:
    import yaml

    out: list[str] = []
    for path, text in manifests.items():
        if path.rsplit("/", 1)[-1] not in ("kustomization.yaml", "kustomization.yml"):
            continue
        try:
            doc = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError, ValueError):
            continue
        for image in _items(_map(doc).get("images")):
            name = str(image.get("newName") or image.get("name") or "")
            if image.get("digest"):
                out.append(f"{name}@{image['digest']}")
            elif image.get("newTag"):
                out.append(f"{name}:{image['newTag']}")
    return tuple(out)


def _pod_hash(rs: Any) -> str:
    return str(_map(_map(_map(rs).get("metadata")).get("labels")).get(POD_HASH_LABEL) or "")


def _rs_revision(rs: Any) -> int:
    value = _map(_map(_map(rs).get("metadata")).get("annotations")).get("rollout.argoproj.io/revision")
    return int(value) if isinstance(value, str) and value.isdigit() else -1


def _without_hash(template: Any) -> dict[str, Any]:
    from cockpit.actions.rollouts import _without_hash as strip

    return strip(template)


def target_replica_set(facts: Facts) -> dict[str, Any] | None:
    """The ReplicaSet the write puts the Rollout back on (None when it cannot be told)."""
    from cockpit.actions.rollouts import derivative

    sets = facts.replica_sets
    status = _map(_map(facts.rollout).get("status"))
    if not sets:
        return None
    if facts.intent.action == "rollouts.abort":
        stable = str(status.get("stableRS") or "")
        return next((rs for rs in sets if _pod_hash(rs) == stable), None)
    if facts.intent.action == "rollouts.undo":
        wanted = facts.intent.template
        if wanted is not None:
            for rs in sets:
                template = _without_hash(_map(_map(rs.get("spec")).get("template")))
                if derivative(_without_hash(wanted), template) and derivative(template, _without_hash(wanted)):
                    return rs
            return None
        ranked = sorted((rs for rs in sets if _rs_revision(rs) >= 0), key=_rs_revision, reverse=True)
        return ranked[1] if len(ranked) > 1 else None
    # an Argo CD rollback: the ReplicaSet running the target revision's images
    images = entry_images(facts.target_entry) or _kustomize_images(facts.manifests)
    if not images:
        return None
    for rs in sorted(sets, key=_rs_revision, reverse=True):
        running = images_of(_map(_map(rs.get("spec")).get("template")))
        if running and all(any(_same_image(want, have) for have in running) for want in images):
            return rs
    return None


def _same_image(want: str, have: str) -> bool:
    """The same image: equal, or the same last path segment with the same tag/digest (a registry prefix that a
    Kustomize override left out)."""
    return want == have or want.rsplit("/", 1)[-1] == have.rsplit("/", 1)[-1]


def _template_diff(old: Any, new: Any) -> list[str]:
    """"path: old → new" for each leaf of two pod templates that differs (containers matched by name)."""
    from cockpit.redact import redact_value

    out: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if len(out) >= 24:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
            return
        if isinstance(a, list) and isinstance(b, list) and all(isinstance(x, dict) and isinstance(x.get("name"), str)
                                                               for x in a + b):
            names = list(dict.fromkeys([x["name"] for x in a] + [x["name"] for x in b]))
            left, right = {x["name"]: x for x in a}, {x["name"]: x for x in b}
            for name in names:
                walk(left.get(name), right.get(name), f"{path}[{name}]")
            return
        if a != b:
            out.append(f"{path}: {_cut(_shown(a), 80)} → {_cut(_shown(b), 80)}")

    walk(redact_value(_without_hash(old)), redact_value(_without_hash(new)), "")
    return out


def _shown(value: Any) -> str:
    import json

    if value is None:
        return "(unset)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _change_rollout(facts: Facts) -> Reason | None:
    rollout = facts.rollout
    if rollout is None:
        return None
    name = str(_map(rollout.get("metadata")).get("name") or "")
    status = _map(rollout.get("status"))
    current = next((rs for rs in facts.replica_sets if _pod_hash(rs) == status.get("currentPodHash")), None)
    live_template = _map(_map(rollout.get("spec")).get("template"))
    target = target_replica_set(facts)
    source = f"Rollout {name} and its ReplicaSets"
    if facts.intent.action == "rollouts.abort":
        stable, canary = str(status.get("stableRS") or ""), str(status.get("currentPodHash") or "")
        if not canary or canary == stable:
            return Reason("change", "will change", Level.RISKY,
                          f"nothing is in flight on {name} (the current ReplicaSet is the stable one): the abort "
                          "changes nothing but marks the Rollout aborted", (Evidence(f"stableRS {stable}, "
                                                                                      f"currentPodHash {canary}",
                                                                                      source),))
        diff = _template_diff(_map(_map(current).get("spec")).get("template") if current else live_template,
                              _map(_map(target).get("spec")).get("template") if target else {})
        evidence = [Evidence(line, f"pod template {canary} → {stable}") for line in diff]
        weight = _canary_weight(status)
        text = (f"the canary ReplicaSet {canary} scales to 0 and stable {stable} takes all traffic"
                + (f" (it serves {100 - weight}% now)" if weight is not None else ""))
        return Reason("change", "will change", Level.OK, text, tuple(evidence[:_MAX_EVIDENCE]))
    if target is None:
        return Reason("change", "will change", Level.RISKY,
                      f"cannot tell which ReplicaSet of {name} the undo goes back to", (Evidence("no ReplicaSet has "
                                                                                                 "the template",
                                                                                                 source),))
    diff = _template_diff(live_template, _map(_map(target.get("spec")).get("template")))
    hash_ = _pod_hash(target)
    evidence = [Evidence(line, f"pod template: live spec → ReplicaSet {hash_}") for line in diff]
    text = (f"the pod template goes back to ReplicaSet {hash_} (revision {_rs_revision(target)}): "
            f"{len(diff)} field(s) change")
    return Reason("change", "will change", Level.OK, text, tuple(evidence[:_MAX_EVIDENCE]))


def _canary_weight(status: dict[str, Any]) -> int | None:
    weight = _map(_map(_map(status.get("canary")).get("weights")).get("canary")).get("weight")
    return weight if isinstance(weight, int) and not isinstance(weight, bool) else None


def _change_helm(facts: Facts) -> Reason | None:
    history = facts.helm_history
    if not history:
        return None
    current = next((item for item in history if str(item.revision) == facts.live_revision), None)
    target = next((item for item in history if str(item.revision) == facts.target_revision), None)
    if current is None or target is None:
        return Reason("change", "will change", Level.RISKY, f"Helm release {facts.intent.name} has no revision "
                                                            f"{facts.target_revision} to go back to")
    source = f"Helm release Secrets of {facts.intent.name}"
    evidence = [Evidence(f"revision {current.revision}: {current.chart} (app {current.app_version or '?'}) "
                         f"{current.status}", source),
                Evidence(f"revision {target.revision}: {target.chart} (app {target.app_version or '?'}) "
                         f"{target.status}", source)]
    text = (f"{facts.intent.name} goes from revision {current.revision} ({current.chart}) back to "
            f"{target.revision} ({target.chart}), as a new revision")
    return Reason("change", "will change", Level.OK, text, tuple(evidence))


# --------------------------------------------------------------------------- the migration pre-flight


def _migration(facts: Facts) -> Reason | None:
    from cockpit.preflight import Verdict

    verdict = facts.migrations
    action = facts.intent.action
    bad, target = facts.migration_pair
    source = f"migrations changed {_short(target)}..{_short(bad)} (pglast)"
    serving = _stable_serving(facts)
    if verdict is None:
        if action == "rollouts.abort" or serving:
            return Reason("migration", "will change", Level.OK, _no_older_binary(facts, serving))
        return None  # the problem (no repo, no revisions) says why
    evidence = tuple(Evidence(f"{item.where} {_cut(item.short, 120)} — {item.reason}", source)
                     for item in verdict.findings[:_MAX_EVIDENCE])
    if action == "rollouts.abort" or serving:
        text = _no_older_binary(facts, serving)
        if verdict.verdict is Verdict.DATA_FIRST:
            first = verdict.findings[0]
            text += (f"; a durable rollback to {_short(target)} needs DATA first ({first.where} "
                     f"{_cut(first.short, 60)})")
        return Reason("migration", "will change", Level.OK, text, evidence)
    if verdict.verdict is Verdict.DATA_FIRST:
        if facts.data_rolled_back:
            return Reason("migration", "will change", Level.OK,
                          f"forward-only migration, but passed: {facts.data_rolled_back}", evidence)
        what = "the revert" if action == "git.revert" else "the rollback"
        first = verdict.findings[0]
        more = len([f for f in verdict.findings if f.kind is first.kind]) - 1
        return Reason("migration", "will change", Level.UNSAFE,
                      f"forward-only migration: {first.where} {_cut(first.short, 80)} ran with {_short(bad)}, and "
                      f"{what} puts back a binary that still uses what it removed"
                      + (f" (+{more} more)" if more > 0 else "") + ": DATA rollback first", evidence)
    if verdict.verdict is Verdict.UNKNOWN:
        return Reason("migration", "will change", Level.RISKY, f"a migration needs reading: {verdict.summary}",
                      evidence)
    return Reason("migration", "will change", Level.OK, f"migration pre-flight for {_short(bad)} → "
                                                        f"{_short(target)}: {verdict.summary}", evidence)


def _stable_serving(facts: Facts) -> bool:
    """Does the write only move pods onto the stable ReplicaSet, which already serves on today's schema?"""
    if facts.intent.action not in ("rollouts.abort", "rollouts.undo") or facts.rollout is None:
        return False
    stable = str(_map(_map(facts.rollout).get("status")).get("stableRS") or "")
    target = target_replica_set(facts)
    if target is None or not stable or _pod_hash(target) != stable:
        return False
    replicas = _map(target.get("status")).get("availableReplicas")
    return isinstance(replicas, int) and replicas > 0


def _no_older_binary(facts: Facts, serving: bool) -> str:
    stable = str(_map(_map(facts.rollout).get("status")).get("stableRS") or "?")
    verb = "the abort" if facts.intent.action == "rollouts.abort" else "the undo"
    if serving or facts.intent.action == "rollouts.abort":
        return (f"{verb} starts no binary that is not already serving: stable ReplicaSet {stable} runs against "
                "today's schema now")
    return f"{verb} moves pods onto ReplicaSet {stable}"


# --------------------------------------------------------------------------- what will not happen


def hooks_in(manifests: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(path, kind/name, hook phases, annotation) of every hook resource in the manifests."""
    import yaml

    found: list[tuple[str, str, str, str]] = []
    for path, text in sorted(manifests.items()):
        try:
            docs = list(yaml.safe_load_all(text))
        except (yaml.YAMLError, RecursionError, ValueError):
            docs = []
            for match in re.finditer(r"(argocd\.argoproj\.io/hook|helm\.sh/hook)\s*:\s*['\"]?([A-Za-z,\- ]+)", text):
                found.append((path, "(template)", match.group(2).strip(), match.group(1)))
        for doc in docs[:200]:
            meta = _map(_map(doc).get("metadata"))
            notes = _map(meta.get("annotations"))
            for key in (HOOK_ANNOTATION, HELM_HOOK_ANNOTATION):
                value = notes.get(key)
                if isinstance(value, str) and value.strip():
                    if key == HOOK_ANNOTATION and value.strip() == "Skip":
                        continue  # never applied at all, hook or not
                    found.append((path, f"{_map(doc).get('kind') or '?'}/{meta.get('name') or '?'}", value.strip(),
                                  key))
                    break
    return found


def _hooks(facts: Facts) -> Reason | None:
    target = _short(facts.target_revision)
    if "the manifests at the target" in facts.problems or (not facts.manifests and facts.diff is None):
        return Reason("hooks", "will not happen", Level.RISKY,
                      "a rollback skips every sync hook (apply strategy), and the manifests at the target could not "
                      "be read to list them: no migration Job runs, up or down")
    hooks = hooks_in(facts.manifests)
    if not hooks:
        return Reason("hooks", "will not happen", Level.OK,
                      f"no hooks at {target}: the rollback's apply strategy skips nothing")
    from cockpit.preflight import Verdict

    source = f"manifests at {target}"
    evidence = tuple(Evidence(f"{what} ({phases}, {key})", f"{source}: {path}") for path, what, phases, key in hooks)
    migrations = [what for path, what, phases, _ in hooks if "migrat" in (what + path).lower()]
    text = (f"the rollback syncs with the apply strategy, which skips hooks: {len(hooks)} hook(s) will not run"
            + (f", the migration {migrations[0]} among them: no migration runs, up or down" if migrations else ""))
    # A skipped migration Job only matters when there is something to migrate back: with an all-additive pre-flight
    # it is said, not weighed; any other hook (a smoke test, a notification, a backup) not running is a risk.
    additive = facts.migrations is not None and facts.migrations.verdict is Verdict.SAFE
    level = Level.OK if additive and len(migrations) == len(hooks) else Level.RISKY
    if level is Level.OK:
        text += "; the pre-flight found nothing that needs undoing"
    return Reason("hooks", "will not happen", level, text, evidence[:_MAX_EVIDENCE])


def _helm_hooks(facts: Facts) -> Reason | None:
    release = facts.helm_target
    if release is None:
        return None
    hooks = _items(release.get("hooks"))
    running = [h for h in hooks if {"pre-rollback", "post-rollback"} & set(h.get("events") or [])]
    skipped = [h for h in hooks if h not in running]
    source = f"release {facts.intent.name} revision {facts.target_revision}"
    evidence = [Evidence(f"{h.get('kind') or '?'}/{h.get('name') or '?'} ({', '.join(map(str, h.get('events') or []))})"
                         f": {'runs' if h in running else 'does not run'}", source) for h in hooks[:_MAX_EVIDENCE]]
    if not skipped:
        return Reason("hooks", "will not happen", Level.OK,
                      f"helm rollback runs the pre-/post-rollback hooks ({len(running)}); no other hook exists",
                      tuple(evidence))
    names = ", ".join(f"{h.get('kind') or '?'}/{h.get('name') or '?'}" for h in skipped[:4])
    return Reason("hooks", "will not happen", Level.RISKY,
                  f"helm rollback runs only pre-/post-rollback hooks: {names} will not run", tuple(evidence))


def _duration(value: Any) -> float | None:
    """Argo Rollouts' DurationString: an int (seconds) or a Go duration ("30s", "5m", "1h30m")."""
    from cockpit.actions.syncwindows import CronError, parse_duration

    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        if value.isdigit():
            return float(value)
        try:
            return parse_duration(value).total_seconds()
        except CronError:
            return None
    return None


def _analysis_seconds(template: dict[str, Any] | None) -> tuple[float, str]:
    """(seconds, "" or why it has no end) for one AnalysisTemplate's run: the longest metric."""
    if template is None:
        return 0.0, "its template was not read"
    longest, open_ended = 0.0, ""
    for metric in _items(_map(template.get("spec")).get("metrics")):
        interval = _duration(metric.get("interval")) if metric.get("interval") else None
        delay = _duration(metric.get("initialDelay")) or 0.0
        count = metric.get("count")
        if isinstance(count, str) and count.isdigit():
            count = int(count)
        if interval is None:
            seconds = delay
        elif isinstance(count, int) and not isinstance(count, bool) and count > 0:
            seconds = delay + interval * (count - 1)
        else:
            open_ended = f"metric {metric.get('name') or '?'} has an interval and no count: it runs until it fails"
            seconds = delay
        longest = max(longest, seconds)
    return longest, open_ended


def step_time(rollout: dict[str, Any], templates: dict[str, dict[str, Any]]) -> tuple[float, list[str]]:
    """(seconds at least, what else it waits for) to run a canary's steps from the start."""
    canary = _map(_map(_map(rollout.get("spec")).get("strategy")).get("canary"))
    total, waits = 0.0, []
    for index, step in enumerate(_items(canary.get("steps")), start=1):
        if "pause" in step:
            seconds = _duration(_map(step.get("pause")).get("duration"))
            if seconds is None:
                waits.append(f"step {index} pauses until a person promotes")
            else:
                total += seconds
        elif "analysis" in step:
            longest = 0.0
            for ref in _items(_map(step.get("analysis")).get("templates")):
                seconds, open_ended = _analysis_seconds(templates.get(str(ref.get("templateName") or "")))
                longest = max(longest, seconds)
                if open_ended:
                    waits.append(f"step {index}: {open_ended}")
            total += longest
        elif "experiment" in step:
            total += _duration(_map(step.get("experiment")).get("duration")) or 0.0
    return total, waits


def _window(facts: Facts) -> Reason | None:
    rollout = facts.rollout
    if rollout is None or facts.intent.action == "rollouts.abort":
        return None
    from cockpit.timefmt import parse_time

    name = str(_map(rollout.get("metadata")).get("name") or "")
    spec, status = _map(rollout.get("spec")), _map(rollout.get("status"))
    target = target_replica_set(facts)
    source = f"Rollout {name}: spec.rollbackWindow, status.stableRS, ReplicaSet creation times"
    if target is None:
        return Reason("rollback-window", "will not happen", Level.OK,
                      f"cannot tell whether {name} fast-tracks: no ReplicaSet runs the target's images "
                      "(a new ReplicaSet runs every step)")
    stable_hash = str(status.get("stableRS") or "")
    target_hash = _pod_hash(target)
    if target_hash == stable_hash:
        return Reason("rollback-window", "will not happen", Level.OK,
                      f"{name} goes back to its stable ReplicaSet {stable_hash}: every canary step is skipped",
                      (Evidence(f"stableRS {stable_hash} is the target", source),))
    window = _map(spec.get("rollbackWindow")).get("revisions")
    window = window if isinstance(window, int) and not isinstance(window, bool) else 0
    stable = next((rs for rs in facts.replica_sets if _pod_hash(rs) == stable_hash), None)

    def created(rs: Any) -> tuple[datetime | None, int]:
        return parse_time(_map(_map(rs).get("metadata")).get("creationTimestamp")), _rs_revision(rs)

    def before(a: Any, b: Any) -> bool:
        (ta, ra), (tb, rb) = created(a), created(b)
        return ta < tb if ta is not None and tb is not None and ta != tb else ra < rb

    inside = False
    between = 0
    if stable is not None and before(target, stable) and window > 0:
        between = sum(1 for rs in facts.replica_sets
                      if not _map(_map(rs.get("metadata")).get("annotations")).get(EXPERIMENT_ANNOTATION)
                      and before(rs, stable) and before(target, rs))
        inside = between < window
    evidence = (Evidence(f"rollbackWindow.revisions {window or 'not set'}; {between} ReplicaSet(s) between the "
                         f"target {target_hash} and stable {stable_hash or '?'}", source),)
    if inside:
        return Reason("rollback-window", "will not happen", Level.OK,
                      f"{name} goes back to {target_hash} inside its rollbackWindow: steps and analysis are "
                      "skipped (fast-tracked)", evidence)
    if _map(_map(spec.get("strategy")).get("blueGreen")):
        blue = _map(_map(spec.get("strategy")).get("blueGreen"))
        wait = ("promotes by itself" + (f" after {blue.get('autoPromotionSeconds')}s"
                                        if blue.get("autoPromotionSeconds") else "")
                if blue.get("autoPromotionEnabled") is not False else "waits for a person to promote")
        return Reason("rollback-window", "will not happen", Level.RISKY,
                      f"{name} is outside its rollbackWindow: the old version comes up as a new preview and {wait}",
                      evidence)
    seconds, waits = step_time(rollout, facts.analysis_templates)
    steps = len(_items(_map(_map(spec.get("strategy")).get("canary")).get("steps")))
    took = f"at least {_minutes(seconds)} of pauses and analysis"
    if waits:
        took += "; " + "; ".join(waits[:3])
    return Reason("rollback-window", "will not happen", Level.RISKY,
                  f"{name} is outside its rollbackWindow: going back to {target_hash} re-runs all {steps} steps and "
                  f"their analysis ({took})", evidence + tuple(Evidence(w, f"Rollout {name} steps") for w in waits))


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m"


# --------------------------------------------------------------------------- what will fight back


def _automated(app: Any) -> tuple[bool, bool]:
    """(auto-sync on, self-heal set) as Argo CD reads them."""
    from cockpit.sources.argocd import is_auto_sync_enabled

    automated = _map(_map(_map(_map(app).get("spec")).get("syncPolicy")).get("automated"))
    return is_auto_sync_enabled(app), automated.get("selfHeal") is True


def _app_label(app: Any) -> str:
    meta = _map(_map(app).get("metadata"))
    return f"Application {meta.get('namespace') or '?'}/{meta.get('name') or '?'}"


def _operation(facts: Facts, level: Level) -> Reason | None:
    app = facts.app
    if app is None:
        return None
    phase = str(_map(_map(app.get("status")).get("operationState")).get("phase") or "")
    if not isinstance(app.get("operation"), dict) and phase != "Running":
        return None
    op = _map(app.get("operation"))
    who = _map(op.get("initiatedBy"))
    by = "auto-sync" if who.get("automated") else (who.get("username") or "someone")
    revision = _map(op.get("sync")).get("revision") or ""
    text = f"an operation is already running on the app (started by {by}" + (
        f", to {_short(str(revision))}" if revision else "") + ")"
    text += ": Argo CD refuses another until it ends" if level is Level.UNSAFE else ": it may overwrite this write"
    return Reason("operation", "will fight back", level, text,
                  (Evidence(f".operation set, operationState.phase {phase or '(none)'}", _app_label(app)),))


def _appset(facts: Facts) -> Reason | None:
    app, appset = facts.app, facts.appset
    if app is None or appset is None:
        return None
    from cockpit.actions.freeze import is_rolling_sync, step_of

    name = str(_map(appset.get("metadata")).get("name") or "?")
    app_name = str(_map(app.get("metadata")).get("name") or "")
    source = f"ApplicationSet {name}"
    if is_rolling_sync(appset):
        step = step_of(appset, app)
        steps = _items(_map(_map(_map(appset.get("spec")).get("strategy")).get("rollingSync")).get("steps"))
        if step is not None and steps[step].get("maxUpdate") in (0, "0", "0%"):
            return Reason("appset", "will fight back", Level.OK,
                          f"ApplicationSet {name}'s RollingSync step {step + 1} is paused (maxUpdate 0): it will "
                          "not sync this app back", (Evidence("maxUpdate: 0", source),))
        return Reason("appset", "will fight back", Level.UNSAFE,
                      f"ApplicationSet {name} syncs its apps itself (RollingSync): once this app is OutOfSync its "
                      "step syncs it back to git's bad revision; freeze the incident first",
                      (Evidence(f"strategy.type RollingSync, this app in step {step + 1 if step is not None else '?'}",
                                source),))
    for rule in _items(_map(appset.get("spec")).get("ignoreApplicationDifferences")):
        pointers = rule.get("jsonPointers") if isinstance(rule.get("jsonPointers"), list) else []
        if any(p in ("/spec/syncPolicy", "/spec/syncPolicy/automated") for p in pointers) and \
                (not rule.get("name") or rule.get("name") == app_name):
            return Reason("appset", "will fight back", Level.OK,
                          f"ApplicationSet {name} ignores differences in spec.syncPolicy: it leaves auto-sync off",
                          (Evidence("ignoreApplicationDifferences jsonPointers /spec/syncPolicy", source),))
    return Reason("appset", "will fight back", Level.UNSAFE,
                  f"ApplicationSet {name} owns this app and puts spec.syncPolicy back: auto-sync comes back on and "
                  "redeploys the bad revision",
                  (Evidence("no ignoreApplicationDifferences for /spec/syncPolicy", source),
                   Evidence(f"ownerReferences: ApplicationSet {name}", _app_label(app))))


def _parent(facts: Facts) -> Reason | None:
    parent = facts.parent
    if parent is None or facts.app is None:
        return None
    on, heal = _automated(parent)
    label = _app_label(parent)
    spec = _map(parent.get("spec"))
    options = [str(o) for o in _map(spec.get("syncPolicy")).get("syncOptions") or []]
    ignores = any(_map(rule).get("kind") == "Application" and any(
        p in ("/spec/syncPolicy", "/spec/syncPolicy/automated") for p in _map(rule).get("jsonPointers") or [])
        for rule in _items(spec.get("ignoreDifferences")))
    evidence = [Evidence(f"auto-sync {'on' if on else 'off'}, self-heal {'on' if heal else 'off'}"
                         + (", ignores spec.syncPolicy of Applications" if ignores else ""), label),
                Evidence("tracks this Application (resource tracking)", _app_label(facts.app))]
    if ignores and "RespectIgnoreDifferences=true" in options:
        return Reason("parent", "will fight back", Level.OK,
                      f"parent app {_map(parent.get('metadata')).get('name')} ignores spec.syncPolicy of its apps "
                      "(RespectIgnoreDifferences): auto-sync stays off", tuple(evidence))
    name = _map(parent.get("metadata")).get("name")
    if on and heal:
        return Reason("parent", "will fight back", Level.UNSAFE,
                      f"parent app {name} syncs this app's spec from git with self-heal: it switches auto-sync back "
                      "on within seconds and the bad revision is redeployed", tuple(evidence))
    if on:
        return Reason("parent", "will fight back", Level.RISKY,
                      f"parent app {name} auto-syncs: the next commit under its path puts this app's auto-sync back "
                      "on", tuple(evidence))
    return Reason("parent", "will fight back", Level.OK,
                  f"parent app {name} does not sync by itself", tuple(evidence))


def _sync_window(facts: Facts, *, manual: bool) -> Reason | None:
    from cockpit.actions.freeze import FREEZE_MARK
    from cockpit.actions.syncwindows import Window, blocking_reason

    project, app = facts.project, facts.app
    if project is None or app is None:
        return None
    name = str(_map(project.get("metadata")).get("name") or "?")
    source = f"AppProject {name} spec.syncWindows"
    windows = [Window.from_dict(raw) for raw in _items(_map(project.get("spec")).get("syncWindows"))]
    mine = [w for w in windows if w.applies_to(app)]
    if not mine:
        return None
    evidence = tuple(Evidence(w.describe() + (" — active" if w.active(facts.now) else ""), source) for w in mine)
    blocked = blocking_reason(project, app, facts.now, manual=manual)
    if blocked and manual:
        return Reason("sync-window", "will fight back", Level.UNSAFE,
                      f"sync window: {blocked}; the rollback would sit as 'Sync operation blocked by sync window'",
                      evidence)
    if blocked:
        return Reason("sync-window", "will fight back", Level.RISKY,
                      f"sync window: {blocked}; the revert reaches the cluster only by hand until it ends", evidence)
    automated_blocked = blocking_reason(project, app, facts.now, manual=False)
    if automated_blocked:
        raw = [r for r in _items(_map(project.get("spec")).get("syncWindows"))
               if str(r.get("description") or "").startswith(FREEZE_MARK)]
        if raw:
            return Reason("sync-window", "will fight back", Level.OK,
                          "the incident freeze holds automated syncs; manual syncs and rollbacks pass", evidence)
        what = "the rollback passes as a manual sync, but" if manual else "manual syncs pass, but"
        return Reason("sync-window", "will fight back", Level.RISKY,
                      f"a sync window allows only manual syncs now: {what} auto-sync and self-heal wait for it "
                      "to end", evidence)
    return None


def _hold(facts: Facts) -> Reason | None:
    from cockpit.actions.hold import describe, hold_of

    hold = hold_of(facts.app) if facts.app is not None else None
    if hold is None:
        return None
    return Reason("hold", "will fight back", Level.OK, f"auto-sync is {describe(hold)}",
                  (Evidence("cockpit.dev/hold-* annotations", _app_label(facts.app)),))


def _fight_back_rollback(facts: Facts) -> list[Reason | None]:
    app = facts.app
    reasons: list[Reason | None] = []
    if app is not None:
        on, heal = _automated(app)
        label = _app_label(app)
        if on:
            reasons.append(Reason("auto-sync", "will fight back", Level.RISKY,
                                  "auto-sync is on: Argo CD refuses a rollback until it is switched off (with a hold)"
                                  + (", and self-heal would undo it" if heal else ""),
                                  (Evidence(f"spec.syncPolicy.automated enabled, selfHeal {heal}", label),)))
        else:
            reasons.append(Reason("auto-sync", "will fight back", Level.OK,
                                  "auto-sync is off" + (" (self-heal kept, idle while it is off)" if heal else ""),
                                  (Evidence("spec.syncPolicy.automated.enabled false or no automated", label),)))
    reasons += [_hold(facts), _appset(facts), _parent(facts), _sync_window(facts, manual=True),
                _operation(facts, Level.UNSAFE)]
    return reasons


def _fight_back_rollout(facts: Facts) -> list[Reason | None]:
    app = facts.app
    reasons: list[Reason | None] = []
    if facts.intent.action == "rollouts.undo" and app is not None:
        on, heal = _automated(app)
        label = _app_label(app)
        evidence = (Evidence(f"auto-sync {'on' if on else 'off'}, selfHeal {heal}", label),)
        if on and heal:
            reasons.append(Reason("auto-sync", "will fight back", Level.UNSAFE,
                                  "Argo CD deploys this Rollout with self-heal on: it puts git's template back within "
                                  "seconds and undoes the undo; switch auto-sync off (hold) or roll back in Argo CD",
                                  evidence))
        elif on:
            reasons.append(Reason("auto-sync", "will fight back", Level.RISKY,
                                  "Argo CD auto-syncs this Rollout: the next commit puts git's template back",
                                  evidence))
        else:
            reasons.append(Reason("auto-sync", "will fight back", Level.OK,
                                  "Argo CD's auto-sync is off: the undo stays until git is fixed", evidence))
    if facts.intent.action == "rollouts.abort" and facts.rollout is not None:
        reasons.append(Reason("auto-sync", "will fight back", Level.OK,
                              "the abort changes no spec, so Argo CD has nothing to put back; spec.template still "
                              "names the new version, so a retry or the next sync rolls it out again",
                              (Evidence("status.abort only (status subresource)", "kubectl argo rollouts abort"),)))
    reasons += [_hold(facts), _operation(facts, Level.RISKY)]
    return reasons


def _fight_back_revert(facts: Facts) -> list[Reason | None]:
    app = facts.app
    reasons: list[Reason | None] = []
    if app is not None:
        on, _ = _automated(app)
        label = _app_label(app)
        text = ("auto-sync deploys the revert once it is merged" if on else
                "auto-sync is off: the merged revert deploys only with a sync, or when the hold is released")
        reasons.append(Reason("auto-sync", "will fight back", Level.OK, text, (Evidence(f"auto-sync {on}", label),)))
        reasons += [_hold(facts), _sync_window(facts, manual=not on), _operation(facts, Level.RISKY)]
    return reasons


# --------------------------------------------------------------------------- reach


def _flags(facts: Facts) -> Reason | None:
    lines: list[tuple[str, str, str]] = []  # (path, line, source)
    if facts.diff is not None:
        for item in facts.diff.files:
            source = f"git diff {_short(facts.diff.old_rev)}..{_short(facts.diff.new_rev)} -- {item.path}"
            lines += [(item.path, line, source) for line in item.changed_lines]
    elif facts.intent.action in ("rollouts.undo", "rollouts.abort") and facts.rollout is not None:
        target = target_replica_set(facts)
        status = _map(facts.rollout.get("status"))
        current = next((rs for rs in facts.replica_sets if _pod_hash(rs) == status.get("currentPodHash")), None)
        before = _map(_map(current).get("spec")).get("template") if current else \
            _map(_map(facts.rollout.get("spec")).get("template"))
        if target is not None:
            lines += [("pod template", line, "pod template diff")
                      for line in _template_diff(before, _map(_map(target.get("spec")).get("template")))]
    hits: list[Evidence] = []
    names: list[str] = []
    for path, line, source in lines:
        body = line[1:] if line[:1] in "+-" else line
        key = body.split(":", 1)[0].strip().strip("-").strip().strip("'\"")
        env = _ENV_NAME.match(body)
        flagged = [k for k in facts.flag_keys if k and k in body]
        if not flagged and _FLAG_WORDS.search(key):
            flagged = [key]
        if not flagged and env and _FLAG_WORDS.search(env.group(1)):
            flagged = [env.group(1)]
        if flagged:
            names += flagged
            from cockpit.redact import redact_text

            hits.append(Evidence(redact_text(_line(line)), source))
    if not hits:
        return None
    shown = ", ".join(dict.fromkeys(names))
    return Reason("flags", "reach", Level.RISKY,
                  f"the write changes feature flag settings ({_cut(shown, 120)}): behaviour changes beyond the "
                  "binary; check the flag provider agrees", tuple(hits[:_MAX_EVIDENCE]))


def _blast(facts: Facts) -> Reason | None:
    from cockpit.preflight import Scope, blast_radius
    from cockpit.sources.argocd import parse_application

    if facts.app is None:
        if facts.intent.action in ("rollouts.undo", "rollouts.abort", "helm.rollback"):
            return Reason("blast-radius", "reach", Level.OK,
                          f"namespace {facts.intent.namespace}: the {facts.intent.action.split('.')[0]} write "
                          "touches this namespace only", (Evidence(f"{facts.intent.label}", "the write"),))
        return None
    radius = blast_radius(parse_application(facts.app), context=facts.intent.context, contexts=facts.contexts)
    evidence = [Evidence(radius.detail, f"{_app_label(facts.app)} spec.destination")]
    if radius.siblings:
        evidence.append(Evidence(f"generated by ApplicationSet {radius.siblings}: its other apps may carry the same "
                                 "change to other tenants or regions", _app_label(facts.app)))
    level = Level.RISKY if radius.scope is Scope.CLUSTER else Level.OK
    return Reason("blast-radius", "reach", level, f"blast radius: {radius.scope.value} ({radius.detail})",
                  tuple(evidence))


_PROBLEM_GROUPS = (("Application", "will fight back"), ("AppProject", "will fight back"),
                   ("ApplicationSet", "will fight back"), ("parent", "will fight back"),
                   ("Rollout", "will not happen"), ("ReplicaSet", "will not happen"),
                   ("AnalysisTemplate", "will not happen"))


def _problems(facts: Facts) -> list[Reason]:
    out = []
    for what, why in facts.problems.items():
        group = next((g for word, g in _PROBLEM_GROUPS if word in what), "will change")
        level = Level.RISKY
        if facts.intent.action == "rollouts.abort" and group == "will change":
            level = Level.OK  # an abort puts no older binary anywhere: git's view does not change the verdict
        if what.startswith("AnalysisTemplate"):
            level = Level.OK  # only the time estimate needs it
        out.append(Reason("unreadable", group, level, f"could not read {what}: {_cut(why, 200)} — check it yourself"))
    return out
