"""Runbooks as data: every file loads and validates, bad files are refused with words, conditions evaluate to
yes / no / cannot-tell, and the executor's state machine runs a runbook with a fixed clock and fake I/O."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from cockpit.actions.registry import ACTIONS, ActionEnv, build_action
from cockpit.actions.requests import ActionRefused
from cockpit.clock import FixedClock
from cockpit.models import LatencyView
from cockpit.runbooks import RUNBOOK_DIR, Condition, RunbookError, get, load_all, parse_runbook
from cockpit.runbooks.executor import RunbookRun, RunError, RunState, StepState
from cockpit.runbooks.facts import FACTS, facts_from
from cockpit.sources.argocd import parse_application
from cockpit.sources.rollouts import parse_rollout
from tests.plugins.actions import application, replica_set, rollout

T0 = datetime(2026, 5, 20, 14, 27, tzinfo=timezone.utc)
EXPECTED = {
    "code-rollback-argocd", "code-rollback-rollouts", "code-rollback-helm", "config-rollback-argocd-app",
    "data-rollback-postgres-pitr", "data-rollback-s3-versioning", "data-rollback-velero", "flag-flip",
}


# --------------------------------------------------------------------------- the files


def test_every_runbook_loads_and_validates():
    runbooks = load_all()
    assert set(runbooks) == EXPECTED
    for runbook in runbooks.values():
        assert runbook.steps and runbook.summary and runbook.title
        for step in runbook.steps:
            if step.kind == "action":
                assert step.action in ACTIONS
            if step.kind in ("check", "wait"):
                assert step.condition is not None and step.condition.facts() <= set(FACTS)
        if runbook.layer == "code":
            first = runbook.steps[0]
            assert first.kind == "check" and first.condition.facts() == {"preflight.verdict"}
            assert first.next_runbook == "data-rollback-postgres-pitr"


def test_runbooks_do_not_copy_the_seed():
    seed_path = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_dbf62b0fd4d241a5.txt"
    if not seed_path.exists():
        pytest.skip("seed text not available here")
    seed = seed_path.read_text(encoding="utf-8")
    sentences = [s.strip() for s in seed.replace("\n", " ").split(". ") if len(s.strip()) > 60]
    for path in RUNBOOK_DIR.glob("*.yaml"):
        text = " ".join(path.read_text().split())
        assert not [s for s in sentences if s in text], path.name


def _doc(**changes):
    doc = yaml.safe_load((RUNBOOK_DIR / "code-rollback-rollouts.yaml").read_text())
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["steps"][1]["when"].update(fact="rollout.colour"), "unknown fact(s) rollout.colour"),
        (lambda d: d["steps"][2].update(action="rollouts.explode"), "unknown action 'rollouts.explode'"),
        (lambda d: d["steps"][2]["with"].pop("name"), "rollouts.abort needs name"),
        (lambda d: d["steps"][2]["with"].update(force="yes"), "takes no force"),
        (lambda d: d["steps"][2]["with"].update(name="{who}"), "placeholder(s) who are not inputs"),
        (lambda d: d["steps"].pop(0), "must start with the migration pre-flight"),
        (lambda d: d["steps"][2].update(id="rollout-found"), "step id 'rollout-found' is used twice"),
        (lambda d: d["steps"][1]["when"].update(op=True), "steps/1/when"),
        (lambda d: d["steps"][1].pop("when"), "'when' is a required property"),
        (lambda d: d.update(layer="vibes"), "layer"),
    ],
)
def test_bad_runbooks_are_refused_with_words(mutate, message):
    doc = copy.deepcopy(_doc())
    mutate(doc)
    with pytest.raises(RunbookError) as err:
        parse_runbook(doc, "bad.yaml")
    assert message in str(err.value) and str(err.value).startswith("bad.yaml: ")


def test_file_name_must_match_id_and_next_runbook_must_exist(tmp_path):
    doc = _doc()
    (tmp_path / "other-name.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(RunbookError, match="does not match the file name"):
        load_all(tmp_path)
    (tmp_path / "other-name.yaml").unlink()
    (tmp_path / "code-rollback-rollouts.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(RunbookError, match="next_runbook 'data-rollback-postgres-pitr' does not exist"):
        load_all(tmp_path)
    with pytest.raises(RunbookError, match="not a runbook id"):
        get("../etc/passwd")


# --------------------------------------------------------------------------- conditions


def test_conditions_answer_yes_no_or_cannot_tell():
    lt = Condition({"fact": "latency.p99", "op": "lt", "value_fact": "latency.slo"})
    assert lt.evaluate({"latency.p99": 0.31, "latency.slo": 0.5})[0] is True
    assert lt.evaluate({"latency.p99": 1.2, "latency.slo": 0.5})[0] is False
    answer, why = lt.evaluate({"latency.slo": 0.5})
    assert answer is None and why == "cannot tell: latency.p99 is not known"
    both = Condition({"all": [{"fact": "rollout.aborted", "op": "true"},
                              {"fact": "rollout.canary_available", "op": "eq", "value": 0}]})
    assert both.evaluate({"rollout.aborted": True, "rollout.canary_available": 0})[0] is True
    assert both.evaluate({"rollout.aborted": False})[0] is False  # one "no" decides, even with an unknown
    assert both.evaluate({"rollout.aborted": True})[0] is None
    phase = Condition({"fact": "velero.restore_phase", "op": "in", "value": ["Completed", "PartiallyFailed"]})
    assert phase.evaluate({"velero.restore_phase": "PartiallyFailed"})[0] is True
    assert Condition({"not": {"fact": "argocd.auto_sync", "op": "true"}}).evaluate({"argocd.auto_sync": False})[0]
    templated = Condition({"fact": "argocd.revision", "op": "eq", "value": "{rev}"})
    assert templated.evaluate({"argocd.revision": "abc"}, {"rev": "abc"})[0] is True
    assert lt.describe() == "latency.p99 < latency.slo"


def test_facts_from_the_panes_models():
    ro = parse_rollout(rollout(aborted=True, stable="6d4b5c7f9", current="7f8c9d6b5"),
                       [replica_set("6d4b5c7f9", "v1.5.0", 2), replica_set("7f8c9d6b5", "v1.5.1", 3, replicas=0)])
    app = parse_application(application(automated={"enabled": False}))
    latency = LatencyView("q", 0.5, 0.31, (), T0)
    facts = facts_from(rollout=ro, app=app, latency=latency, helm_installed=False)
    assert facts["rollout.aborted"] is True and facts["rollout.canary_available"] == 0
    assert facts["rollout.stable_available"] == 4 and facts["rollout.promoted"] is False
    assert facts["argocd.auto_sync"] is False and facts["argocd.revision"].startswith("d8f3c2a")
    assert facts["latency.over_slo"] is False and facts["helm.installed"] is False
    assert set(facts) <= set(FACTS)


# --------------------------------------------------------------------------- the executor


class World:
    """Fake I/O for the executor: facts, a planner, an executor, a manual recorder, an event sink."""

    def __init__(self, **facts):
        self.facts = dict(facts)
        self.planned: list[tuple[str, dict]] = []
        self.sent: list[tuple[object, str, str | None]] = []
        self.manual: list[dict] = []
        self.events: list[dict] = []
        self.refuse: ActionRefused | None = None
        self.ok = True

    def plan(self, action_id, params):
        self.planned.append((action_id, dict(params)))
        if self.refuse is not None:
            raise self.refuse
        return SimpleNamespace(action=action_id, params=dict(params), summary=f"plan {action_id}")

    def execute(self, planned, by, typed):
        self.sent.append((planned, by, typed))
        outcome = SimpleNamespace(value="ok" if self.ok else "conflict")
        return SimpleNamespace(ok=self.ok, outcome=outcome, message="done" if self.ok else "changed meanwhile")

    def run(self, runbook_id="code-rollback-rollouts", clock=None, **inputs):
        inputs = inputs or {"namespace": "bookstore-platform-acme-books", "rollout": "catalog"}
        return RunbookRun(get(runbook_id), inputs=inputs, clock=clock or FixedClock(T0), facts=lambda: self.facts,
                          plan=self.plan, execute=self.execute, on_event=self.events.append,
                          record_manual=lambda **kw: self.manual.append(kw), context="us-east")


def test_rollouts_runbook_abort_path_with_a_fixed_clock():
    world = World(**{"preflight.verdict": "safe", "rollout.exists": True, "rollout.promoted": False})
    clock = FixedClock(T0)
    run = world.run(clock=clock)

    step = run.advance()
    assert step.step.id == "abort" and step.state is StepState.NEEDS_CONFIRMATION
    assert world.planned == [("rollouts.abort", {"namespace": "bookstore-platform-acme-books", "name": "catalog"})]
    assert run.state is RunState.NEEDS_PERSON and step.planned.action == "rollouts.abort"
    assert [s.state for s in run.steps[:2]] == [StepState.DONE, StepState.DONE]

    clock.set(T0 + timedelta(seconds=20))  # the person reads the modal
    run.cancel("alice")
    assert run.current.state is StepState.CANCELLED and world.sent == []
    assert run.advance().state is StepState.CANCELLED  # nothing moves until the person decides
    run.retry()
    assert run.advance().state is StepState.NEEDS_CONFIRMATION and len(world.planned) == 2
    clock.set(T0 + timedelta(seconds=35))
    result = run.confirm("alice", "y")
    assert result.ok and world.sent[0][1:] == ("alice", "y")
    abort = run.steps[2]
    assert (abort.state, abort.by, abort.started_at, abort.finished_at) == (
        StepState.DONE, "alice", T0, T0 + timedelta(seconds=35))

    step = run.advance()  # canary-gone: waiting on live state
    assert step.step.id == "canary-gone" and step.state is StepState.WAITING
    assert "waiting for rollout.aborted is true and rollout.canary_available = 0" in step.detail
    clock.set(T0 + timedelta(seconds=65))
    world.facts.update({"rollout.aborted": True, "rollout.canary_available": 0, "latency.p99": 1.2,
                        "latency.slo": 0.5})
    step = run.advance()
    assert step.step.id == "latency-recovered" and step.state is StepState.WAITING
    assert [s.state for s in run.steps[4:6]] == [StepState.SKIPPED, StepState.SKIPPED]  # undo path not needed
    assert run.steps[4].detail.startswith("not needed: rollout.promoted = False")

    clock.set(T0 + timedelta(seconds=185))
    world.facts["latency.p99"] = 0.31
    step = run.advance()
    assert step.step.id == "make-it-stick" and step.state is StepState.NEEDS_PERSON
    assert "Revert the release commit" in step.detail
    run.mark_done("alice", "PR #4711")
    assert world.manual[0]["step"] == "make-it-stick" and world.manual[0]["done_by"] == "alice"
    run.advance()
    run.mark_done("alice")
    assert run.advance() is None and run.state is RunState.DONE
    assert run.finished_at == T0 + timedelta(seconds=185)

    timeline = {row["step"]: row for row in run.timeline()}
    assert timeline["abort"]["seconds"] == 35 and timeline["canary-gone"]["seconds"] == 30
    assert timeline["latency-recovered"]["seconds"] == 120
    states = [(e["step"], e["state"]) for e in world.events if e["step"] == "abort"]
    assert states == [("abort", "started"), ("abort", "asked"), ("abort", "cancelled"), ("abort", "asked"),
                      ("abort", "confirmed"), ("abort", "done")]
    assert set(world.events[0]) == {"runbook", "step", "index", "title", "type", "state", "detail", "by"}


def test_preflight_still_loading_is_a_wait_never_mark_done_then_resolves_by_itself():
    world = World(**{"rollout.exists": True, "rollout.promoted": True})
    run = world.run()
    step = run.advance()
    assert step.step.id == "migration-preflight" and step.state is StepState.WAITING
    assert step.detail.startswith("cannot tell: preflight.verdict is not known")
    with pytest.raises(RunError):  # nothing to mark done: the evidence is still loading
        run.mark_done("alice")
    world.facts["preflight.verdict"] = "safe"  # the pre-flight finished meanwhile
    step = run.advance()
    assert step.step.id == "self-heal-off"  # abort skipped (promoted); the warn check cannot tell yet
    world.facts["argocd.auto_sync"] = True
    step = run.advance()
    assert step.step.id == "undo" and run.steps[4].warned and run.steps[4].detail.startswith("warning:")


def test_non_additive_migration_stops_the_run_and_points_at_pitr():
    world = World(**{"preflight.verdict": "data_first"})
    run = world.run()
    step = run.advance()
    assert step.state is StepState.FAILED and run.state is RunState.STOPPED
    assert run.next_runbook == "data-rollback-postgres-pitr" and "Restore the data first" in run.stop_reason
    assert run.advance() is step and world.planned == []  # nothing else happens
    with pytest.raises(RunError):
        run.skip("alice", "")
    run.skip("alice", "signed off by the platform team: the dropped column was unused")
    # a safety check is passed only by an override: shown as such (↷ with the reason), never as done
    assert run.state is not RunState.STOPPED and run.steps[0].state is StepState.OVERRIDDEN
    assert run.steps[0].detail == "overridden by alice: signed off by the platform team: the dropped column was unused"
    assert [e["state"] for e in world.events if e["step"] == "migration-preflight"][-1] == "overridden"


def test_safety_check_that_cannot_be_read_stops_and_only_an_override_passes_it():
    from cockpit.runbooks.facts import Facts

    facts = Facts({"rollout.exists": True})
    facts.unavailable["preflight.verdict"] = "no GitOps repository configured"
    world = World()
    world.facts = facts
    run = world.run()
    step = run.advance()
    assert step.state is StepState.FAILED and run.state is RunState.STOPPED
    assert "no GitOps repository configured" in step.detail and "only overridden with a reason" in step.detail
    with pytest.raises(RunError):
        run.mark_done("alice")
    with pytest.raises(RunError):
        run.override("alice", "")
    run.override("alice", "the release has no migrations directory")
    assert run.steps[0].state is StepState.OVERRIDDEN


def test_pending_fact_waits_then_times_out_into_a_question():
    """A non-safety check whose fact never arrives stops waiting after its timeout and asks the person."""
    from cockpit.runbooks import parse_runbook
    from cockpit.runbooks.executor import RunbookRun
    from cockpit.runbooks.facts import Facts

    book = parse_runbook({"id": "t", "title": "t", "layer": "code", "summary": "s", "steps": [
        {"id": "c", "kind": "check", "title": "flag readable", "when": {"fact": "flag.available", "op": "true"},
         "timeout": 30}]})
    facts = Facts()
    facts.pending["flag.available"] = "the flag provider has not answered yet"
    clock = FixedClock(T0)
    run = RunbookRun(book, clock=clock, facts=lambda: facts)
    assert run.advance().state is StepState.WAITING
    assert "waiting for flag.available: the flag provider has not answered yet" in run.current.detail
    clock.set(T0 + timedelta(seconds=31))
    assert run.advance().state is StepState.NEEDS_PERSON


def test_wait_times_out_and_retry_restarts_the_clock():
    world = World(**{"preflight.verdict": "safe", "rollout.exists": True, "rollout.promoted": False})
    clock = FixedClock(T0)
    run = world.run(clock=clock)
    run.advance()
    run.confirm("alice", "y")
    assert run.advance().state is StepState.WAITING
    clock.set(T0 + timedelta(seconds=181))
    step = run.advance()
    assert step.state is StepState.TIMED_OUT and "after 181s" in step.detail
    run.retry()
    assert run.advance().state is StepState.WAITING  # a fresh 180 s
    assert step.started_at == T0 and step.attempts == 2


def test_noop_and_refused_plans():
    world = World(**{"preflight.verdict": "safe", "rollout.exists": True, "rollout.promoted": False})
    world.refuse = ActionRefused("Rollout catalog is already aborted", noop=True)
    run = world.run()
    step = run.advance()
    assert run.steps[2].state is StepState.DONE and run.steps[2].detail.startswith("nothing to do:")
    assert step.step.id == "canary-gone"
    world2 = World(**{"preflight.verdict": "safe", "rollout.exists": True, "rollout.promoted": False})
    world2.refuse = ActionRefused("cannot read Rollout catalog: 503")
    step = world2.run().advance()
    assert step.state is StepState.BLOCKED and "503" in step.detail


def test_failed_write_keeps_the_step_open():
    world = World(**{"preflight.verdict": "safe", "rollout.exists": True, "rollout.promoted": False})
    world.ok = False
    run = world.run()
    run.advance()
    run.confirm("alice", "y")
    assert run.current.state is StepState.FAILED and run.current.detail == "conflict: changed meanwhile"
    with pytest.raises(RunError):
        run.confirm("alice", "y")


def test_inputs_asked_during_the_run():
    world = World(**{"cnpg.target_recoverable": True})
    run = world.run("data-rollback-postgres-pitr", namespace="cnpg-system", cluster="orders")
    step = run.advance()
    assert step.step.id == "inside-window" and step.state is StepState.NEEDS_INPUT
    assert step.missing == ("target_time",) and step.detail.startswith("needs target_time (time to recover to")
    assert run.advance() is step and world.planned == []
    run.provide(target_time="2026-05-20T13:43:00Z")
    step = run.advance()
    assert run.steps[0].state is StepState.DONE
    assert step.step.id == "recover" and step.state is StepState.NEEDS_CONFIRMATION
    assert world.planned[-1] == ("cnpg.recover", {"namespace": "cnpg-system", "cluster": "orders",
                                                  "target_time": "2026-05-20T13:43:00Z"})
    with pytest.raises(RunError, match="not inputs"):
        run.provide(colour="red")


def test_abort_ends_the_run():
    world = World(**{"preflight.verdict": "safe", "rollout.exists": True, "rollout.promoted": False})
    run = world.run()
    run.advance()
    run.abort("alice", "wrong service")
    assert run.state is RunState.ABORTED and "ended by alice: wrong service" in run.stop_reason


def test_with_gateway_builds_actions_through_the_registry(monkeypatch):
    planned_actions = []

    class FakeGateway:
        clock = FixedClock(T0)

        def plan(self, action):
            planned_actions.append(action)
            return SimpleNamespace(summary="abort catalog")

        def execute(self, planned, by, typed=None):
            return SimpleNamespace(ok=True, message="ok")

        def record_manual(self, **kwargs):
            return kwargs

    monkeypatch.setattr("cockpit.actions.registry.build_action",
                        lambda action_id, params, env: (action_id, params, env))
    env = ActionEnv(kube=SimpleNamespace(name="us-east"))
    run = RunbookRun.with_gateway(get("code-rollback-rollouts"), FakeGateway(), env,
                                  inputs={"namespace": "ns", "rollout": "catalog"},
                                  facts=lambda: {"preflight.verdict": "safe", "rollout.exists": True,
                                                 "rollout.promoted": False})
    assert run.advance().state is StepState.NEEDS_CONFIRMATION
    assert planned_actions == [("rollouts.abort", {"namespace": "ns", "name": "catalog"}, env)]
    assert run.context == "us-east" and run.confirm("alice", "y").ok


def test_registry_converts_and_checks_parameters():
    env = ActionEnv()
    with pytest.raises(ActionRefused, match="unknown action"):
        build_action("kubectl.delete", {}, env)
    with pytest.raises(ActionRefused, match="needs name"):
        build_action("rollouts.abort", {"namespace": "ns"}, env)
    with pytest.raises(ActionRefused, match="takes no force"):
        build_action("rollouts.abort", {"namespace": "ns", "name": "x", "force": "1"}, env)
    with pytest.raises(ActionRefused, match="no Kubernetes context"):
        build_action("rollouts.abort", {"namespace": "ns", "name": "x"}, env)
    with pytest.raises(ActionRefused, match="whole number"):
        build_action("argocd.rollback", {"namespace": "argocd", "name": "x", "history_id": "forty"},
                     ActionEnv(kube=SimpleNamespace(name="c", user="u")))
