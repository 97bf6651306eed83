"""The live facts a runbook's checks and waits read, gathered from the session (blocking: runs in a run's job).

Most facts come from the pane store (what the panes show); some need a read of their own because no pane shows
them: the flag's value right after a flip, whether the revert reached the GitOps origin, the Helm release Secrets,
the S3 keys still deleted.  Those reads are cached for a few seconds so a waiting step does not hammer anything.

A fact that is not known is either *pending* (still loading: the step waits) or *unavailable* (cannot be read
here, with the reason: a safety check then stops and only an override with a reason passes it).  Nothing unknown
ever reads as true or false.
"""

from __future__ import annotations

import shutil
import threading
import time
from datetime import timedelta
from typing import Any

from cockpit.models import FeedState
from cockpit.runbooks.facts import Facts, facts_from

CACHE_SECONDS = 4.0


class LiveFacts:
    def __init__(self, session: Any) -> None:
        self.session = session
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _cached(self, key: tuple[str, ...], read: Any, seconds: float = CACHE_SECONDS) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < seconds:
            return hit[1]
        value = read()
        with self._lock:
            self._cache[key] = (time.monotonic(), value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    # ------------------------------------------------------------------------------------------------------------

    def collect(self, context: str, run: Any) -> Facts:
        session = self.session
        store = session.store
        settings = session.settings
        inputs = run.inputs if run is not None else {}
        facts = Facts()

        def pane(name: str) -> tuple[Any, FeedState, str]:
            entry = store.entry(context, name)
            return entry.current, entry.state, entry.status.error

        app, app_state, app_error = pane("argocd")
        rollout, rollout_state, rollout_error = pane("rollout")
        latency, latency_state, latency_error = pane("latency")
        cnpg, cnpg_state, cnpg_error = pane("cnpg")
        velero, velero_state, velero_error = pane("velero")

        evaluation = session.evaluation(context)
        gathered = session.gathered(context)
        decision = gathered.decision if gathered not in (None, True) else None
        recent = None
        if evaluation is not None:
            from cockpit.decide import Answer

            answer = evaluation.results["recent_deploy"].answer
            recent = None if answer is Answer.UNKNOWN else answer is Answer.YES

        from cockpit.timefmt import parse_time

        target_time = parse_time(inputs.get("target_time")) if inputs.get("target_time") else None
        facts.update(facts_from(
            app=app, rollout=rollout, latency=latency,
            cnpg_source=_cluster(cnpg, str(inputs.get("cluster") or "")),
            target_time=target_time, now=session.clock.now(), recent_deploy=recent,
            helm_installed=shutil.which("helm") is not None,
        ))

        # -- absent panes: pending while loading, unavailable when the API or the object is not there ----------
        self._pane_status(facts, "argocd", app, app_state, app_error, ("argocd.",))
        self._pane_status(facts, "rollout", rollout, rollout_state, rollout_error, ("rollout.",))
        self._pane_status(facts, "p99", latency, latency_state, latency_error, ("latency.",))
        if evaluation is None:
            facts.pending["deploy.recent"] = "the decision evidence is still being gathered"

        # -- migration pre-flight (and the data rollback that passes it) -----------------------------------------
        self._preflight(facts, context, decision, gathered)

        # -- flag ----------------------------------------------------------------------------------------------------
        facts["flag.admin_api"] = _flag_admin_api(settings)
        if settings.flag_url:
            flag, error = self._flag(context)
            if flag is not None:
                facts["flag.available"] = True
                if flag.enabled is not None:
                    facts["flag.enabled"] = flag.enabled
                else:
                    facts.unavailable["flag.enabled"] = "the flag provider does not say whether it is on"
            else:
                facts.unavailable["flag.available"] = facts.unavailable["flag.enabled"] = error
        else:
            facts["flag.available"] = False
            facts.unavailable["flag.enabled"] = "no flag provider configured (--flag-url)"

        # -- CNPG recovery --------------------------------------------------------------------------------------
        source_cluster = _cluster(cnpg, str(inputs.get("cluster") or ""))
        if target_time is not None and source_cluster is not None and "cnpg.target_recoverable" not in facts:
            _, why = source_cluster.recoverable(target_time, session.clock.now())
            facts.unavailable["cnpg.target_recoverable"] = why
        if target_time is None and "target_time" in inputs:
            facts.unavailable["cnpg.target_recoverable"] = "the target time does not read as a time"
        elif cnpg is None:
            self._absent(facts, ("cnpg.target_recoverable",), cnpg_state, cnpg_error, "CNPG pane")
        recovered_name = _planned_target(run, "cnpg.recover")
        if recovered_name:
            recovered = _cluster(cnpg, recovered_name, exact=True)
            if recovered is not None:
                facts.update(facts_from(cnpg_recovered=recovered))
                if not recovered.has_status:
                    facts.pending["cnpg.recovered_phase"] = f"Cluster {recovered_name} has no status yet"
            else:
                facts.pending["cnpg.recovered_ready"] = facts.pending["cnpg.recovered_phase"] = (
                    f"Cluster {recovered_name} is not in the CNPG watch yet")
        else:
            facts.unavailable["cnpg.recovered_ready"] = "no recovery Cluster was created by this run"

        # -- Velero -------------------------------------------------------------------------------------------------
        backup_name = str(inputs.get("backup") or "")
        if velero is not None and backup_name:
            backup = next((b for b in velero.backups if b.name == backup_name), None)
            if backup is not None and backup.phase:
                facts["velero.backup_phase"] = backup.phase
            else:
                facts.unavailable["velero.backup_phase"] = f"no Backup {backup_name} in the Velero pane"
        elif velero is None:
            self._absent(facts, ("velero.backup_phase", "velero.restore_phase"), velero_state, velero_error,
                         "Velero pane")
        restore_name = _planned_target(run, "velero.restore")
        if restore_name and velero is not None:
            restore = next((r for r in getattr(velero, "restores", ()) if r.name == restore_name), None)
            if restore is not None and restore.phase:
                facts["velero.restore_phase"] = restore.phase
            else:
                facts.pending["velero.restore_phase"] = f"Restore {restore_name} has no phase yet"
        elif not restore_name:
            facts.unavailable["velero.restore_phase"] = "no Restore was created by this run"

        # -- namespace ---------------------------------------------------------------------------------------------
        wanted_ns = str(inputs.get("namespace") or "") if run is not None and run.runbook.id == "data-rollback-velero" \
            else (settings.tenant_namespace or "")
        self._namespace(facts, context, wanted_ns or session.target(context).namespace)

        # -- git -----------------------------------------------------------------------------------------------------
        pushed = _step_result(run, "git.revert")
        if pushed is not None:
            facts["git.revert_pushed"] = bool(getattr(pushed, "ok", False))
        bad = str(inputs.get("bad_commit") or "")
        if not settings.gitops_repo:
            facts.unavailable["git.revert_merged"] = "no GitOps repository clone configured (--gitops-repo)"
        elif not bad:
            facts.unavailable["git.revert_merged"] = "the bad commit is not known"
        else:
            merged = self._cached(("git", context, bad), lambda: _revert_landed(settings.gitops_repo, bad), 5.0)
            if merged is None:
                facts.pending["git.revert_merged"] = "git cannot tell yet (fetch failed or the commit is unknown)"
            else:
                facts["git.revert_merged"] = merged

        # -- Helm ----------------------------------------------------------------------------------------------------
        release = str(inputs.get("release") or "")
        if release:
            found = self._cached(("helm", context, release), lambda: self._helm(context, inputs, release), 15.0)
            if isinstance(found, str):
                facts.unavailable["helm.release_found"] = found
            else:
                facts["helm.release_found"] = bool(found)
        else:
            facts.unavailable["helm.release_found"] = "no Helm release named"

        # -- S3 ------------------------------------------------------------------------------------------------------
        bucket = str(inputs.get("bucket") or settings.s3_bucket or "")
        key = str(inputs.get("key") or settings.s3_prefix or "")
        if bucket:
            deleted = self._cached(("s3", bucket, key), lambda: self._s3_deleted(bucket, key), 3.0)
            if isinstance(deleted, str):
                facts.unavailable["s3.deleted_keys"] = deleted
            else:
                facts["s3.deleted_keys"] = deleted
        else:
            facts.unavailable["s3.deleted_keys"] = "no S3 bucket configured (--s3-bucket)"
        return facts

    # ------------------------------------------------------------------------------------------------------------

    @staticmethod
    def _pane_status(facts: Facts, what: str, data: Any, state: FeedState, error: str, prefixes: tuple[str, ...]
                     ) -> None:
        if data is not None:
            return
        from cockpit.runbooks.facts import FACTS

        names = [name for name in FACTS if name.startswith(prefixes)]
        if state in (FeedState.LOADING,):
            for name in names:
                facts.pending.setdefault(name, f"the {what} pane is still loading")
            return
        if state is FeedState.EMPTY and what in ("argocd", "rollout"):
            facts[f"{'argocd' if what == 'argocd' else 'rollout'}.exists"] = False
        for name in names:
            if name not in facts:
                facts.unavailable.setdefault(name, f"the {what} pane has no data ({error or state.value})")

    @staticmethod
    def _absent(facts: Facts, names: tuple[str, ...], state: FeedState, error: str, what: str) -> None:
        for name in names:
            if state is FeedState.LOADING:
                facts.pending.setdefault(name, f"the {what} is still loading")
            else:
                facts.unavailable.setdefault(name, f"the {what} has no data ({error or state.value})")

    def _preflight(self, facts: Facts, context: str, decision: Any, gathered: Any) -> None:
        self._preflight_read(facts, context, decision, gathered)
        if "preflight.verdict" in facts.unavailable:
            # the migrations could not be read here (no GitOps repository, a Helm chart): the person's own answer
            # in the tree -- recorded and audited with their name -- is the evidence, and the check says so
            answer = self.session.contexts[context].answers.get("migration")
            if answer in ("yes", "no"):
                reason = facts.unavailable.pop("preflight.verdict")
                facts.unavailable.pop("preflight.summary", None)
                facts["preflight.verdict"] = "safe" if answer == "no" else "data_first"
                facts["preflight.summary"] = (f"answered '{answer}' by {self.session.person} in the decision tree "
                                              f"(the cockpit could not read it: {reason})")
                facts.notes["preflight.verdict"] = facts["preflight.summary"]

    def _preflight_read(self, facts: Facts, context: str, decision: Any, gathered: Any) -> None:
        session = self.session
        if not session.settings.gitops_repo:
            facts.unavailable["preflight.verdict"] = facts.unavailable["preflight.summary"] = (
                "no GitOps repository configured (--gitops-repo): the migration pre-flight cannot run")
            return
        if gathered is None or session.evidence_pending(context) and decision is None:
            facts.pending["preflight.verdict"] = "the migration pre-flight is still running"
            return
        verdict = decision.migrations if decision is not None else None
        if verdict is None and decision is not None and decision.app is None and decision.helm_release:
            facts.unavailable["preflight.verdict"] = (f"Helm release {decision.helm_release}: the chart's "
                                                      "migrations are not in the GitOps repository diff")
            return
        if verdict is None and (decision is None or decision.app is None or session.evidence_pending(context)):
            facts.pending["preflight.verdict"] = "waiting for the Argo CD history and the git diff"
            return
        if verdict is None:
            problems = "; ".join(p for p in session.contexts[context].problems if p.startswith("git")) \
                or "the migration pre-flight has not run"
            facts.unavailable["preflight.verdict"] = problems
            return
        value = getattr(verdict.verdict, "value", str(verdict.verdict))
        summary = verdict.summary
        if value == "data_first":
            app = session.outcomes.decision_app(context)
            newest = app.history[0] if app is not None and app.history else None
            when = (newest.deploy_started_at or newest.deployed_at) if newest is not None else None
            passed = session.outcomes.data_rolled_back_before(context, when)
            if passed:
                value, summary = "safe", f"{summary}; passed: {passed}"
        facts["preflight.verdict"] = value
        facts["preflight.summary"] = summary
        facts.notes["preflight.verdict"] = summary

    def _flag(self, context: str) -> tuple[Any, str]:
        from cockpit.sources.errors import SourceError
        from cockpit.sources.flags import fetch_flag

        settings = self.session.settings

        def read() -> tuple[Any, str]:
            try:
                return fetch_flag(settings.flag_url, settings.flag_key), ""
            except SourceError as err:
                return None, f"flag provider: {err}"

        return self._cached(("flag", context), read, 2.0)

    def _namespace(self, facts: Facts, context: str, name: str) -> None:
        if not name:
            facts.unavailable["namespace.exists"] = "no tenant namespace known"
            return
        watched = self.session.watched_namespaces(context)
        if watched is not None and name in watched:
            obj = watched[name]
            phase = ((obj or {}).get("status") or {}).get("phase") if isinstance(obj, dict) else None
            facts["namespace.exists"] = obj is not None and phase in (None, "Active")
            return
        state = self.session.contexts.get(context)
        kube = state.kube if state is not None else None
        if kube is None:
            facts.pending["namespace.exists"] = "not connected yet"
            return

        def read() -> Any:
            from cockpit.sources.errors import SourceError
            from cockpit.sources.kube import NAMESPACES

            try:
                return kube.get(NAMESPACES, None, name)
            except SourceError as err:
                return f"cannot read namespace {name}: {err}"

        obj = self._cached(("ns", context, name), read, 3.0)
        if isinstance(obj, str):
            facts.unavailable["namespace.exists"] = obj
        else:
            phase = ((obj or {}).get("status") or {}).get("phase")
            facts["namespace.exists"] = obj is not None and phase in (None, "Active")

    def _helm(self, context: str, inputs: Any, release: str) -> Any:
        from cockpit.actions import helm
        from cockpit.actions.requests import ActionRefused

        state = self.session.contexts.get(context)
        if state is None or state.kube is None:
            return "not connected yet"
        namespace = str(inputs.get("namespace") or state.target.namespace)
        try:
            return helm.history(state.kube, namespace, release)
        except ActionRefused as err:
            return str(err)

    def _s3_deleted(self, bucket: str, key: str) -> Any:
        from cockpit.evidence import S3_CLIENT
        from cockpit.sources.errors import SourceError
        from cockpit.sources.s3 import S3Source

        settings = self.session.settings
        try:
            source = S3Source(endpoint_url=settings.s3_endpoint, **S3_CLIENT)
            since = self.session.clock.now() - timedelta(hours=settings.s3_window_hours)
            return len(source.delete_markers(bucket, key, since).missing)
        except SourceError as err:
            return f"S3: {err}"
        except (ValueError, TypeError) as err:
            return f"S3: cannot use endpoint {settings.s3_endpoint!r}: {err}"


def _flag_admin_api(settings: Any) -> bool:
    """The flag can be flipped from here: the admin URL, the environment key and the token's variable are set."""
    if not (getattr(settings, "flag_admin_url", None) and getattr(settings, "flag_environment_key", None)):
        return False
    from cockpit.actions.flags import token_from_env

    return bool(token_from_env(getattr(settings, "flag_admin_token_env", None))[1])


def _cluster(cnpg: Any, name: str, *, exact: bool = False) -> Any:
    if cnpg is None:
        return None
    for cluster in getattr(cnpg, "clusters", ()):
        if cluster.name == name:
            return cluster
    return None if exact or name else getattr(cnpg, "current", None)


def _planned_target(run: Any, action: str) -> str:
    """The object an action step of ``run`` created (the recovery Cluster's name, the Restore's name)."""
    if run is None:
        return ""
    for item in run.steps:
        if item.step.action == action and item.planned is not None and item.result is not None \
                and getattr(item.result, "ok", False):
            return str(item.planned.target)
    return ""


def _step_result(run: Any, action: str) -> Any:
    if run is None:
        return None
    for item in run.steps:
        if item.step.action == action and item.result is not None:
            return item.result
    return None


def _revert_landed(repo: str, bad: str) -> bool | None:
    from cockpit.actions.gitops import revert_landed

    return revert_landed(repo, bad, fetch=True)
