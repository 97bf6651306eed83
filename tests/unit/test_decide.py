"""The decision tree: every leaf from a scenario built from parsed objects, overrides, and unknowns that stop it."""

from __future__ import annotations

import dataclasses
import itertools
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cockpit.decide import (
    SessionDone,
    LEAVES,
    NODES,
    ROOT,
    Answer,
    Confidence,
    DecisionInput,
    Evaluation,
    RollbackLayer,
    evaluate,
    history_layers,
    pre_flight,
)
from cockpit.preflight import Verdict, blast_radius, preflight
from cockpit.sources.argocd import parse_application
from cockpit.sources.errors import SourceError
from cockpit.sources.flags import FlagState, parse_flag
from cockpit.sources.gitrepo import ChangedFile, ChangeReport, Layer
from cockpit.sources.rollouts import parse_rollout
from cockpit.sources.s3 import DeleteMarker, NamespaceState, S3Evidence, namespace_state

NOW = datetime(2026, 5, 20, 14, 27, 13, tzinfo=timezone.utc)
SHA = {name: (name * 6)[:40] for name in ("9e8d7c6", "a1b2c3d", "d8f3c2a")}
NS = "bookstore-platform-acme-books"


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _source(tag: str = "v1.5.1", cpu: str = "250m") -> dict[str, Any]:
    return {
        "repoURL": "https://git.example.com/bookstore-platform-config.git",
        "path": "apps/catalog",
        "targetRevision": "main",
        "kustomize": {"images": [f"ghcr.io/acme/catalog:{tag}"]},
        "helm": {"valuesObject": {"resources": {"requests": {"cpu": cpu}}}},
    }


def app_object(newest_age: timedelta, newest_source: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    """The seed's bookstore-catalog-us-east: #40, #41 and #42 deployed ``newest_age`` ago."""
    history = [
        {"id": 40, "deployedAt": "2026-05-19T17:42:09Z", "revision": SHA["9e8d7c6"], "source": _source("v1.4.9")},
        {
            "id": 41,
            "deployedAt": _iso(NOW - newest_age - timedelta(hours=3)),
            "revision": SHA["a1b2c3d"],
            "source": _source("v1.5.0"),
        },
        {
            "id": 42,
            "deployedAt": _iso(NOW - newest_age),
            "revision": SHA["d8f3c2a"],
            "source": newest_source or _source("v1.5.1"),
        },
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "bookstore-catalog-us-east", "namespace": "argocd"},
        "spec": {
            "project": "bookstore",
            "source": _source(),
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NS},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
        "status": {"history": history, "sync": {"status": "Synced"}, "health": {"status": "Degraded"}, **status},
    }


STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]


def rollout_object(*, mid_canary: bool) -> Any:
    obj = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "catalog", "namespace": NS, "uid": "u-1"},
        "spec": {"strategy": {"canary": {"steps": STEPS}}},
        "status": {
            "phase": "Paused" if mid_canary else "Healthy",
            "stableRS": "5d8f9c",
            "currentPodHash": "7b6c4d" if mid_canary else "5d8f9c",
            "currentStepIndex": 1 if mid_canary else 4,
        },
    }
    return parse_rollout(obj)


FRESH = parse_application(app_object(timedelta(minutes=5)))
STALE = parse_application(app_object(timedelta(hours=3)))
REVISION_ONLY = parse_application(app_object(timedelta(minutes=5), _source("v1.5.0")))
VALUES_CHANGE = parse_application(app_object(timedelta(minutes=5), _source("v1.5.0", cpu="500m")))
FLAG_ON = parse_flag(
    [{"feature": {"name": "catalog_v2_search_engine"}, "enabled": True, "feature_state_value": "meilisearch_v1"}],
    "catalog_v2_search_engine",
    "https://flagsmith.example.com/api/v1/flags/",
)
FLAG_OFF = dataclasses.replace(FLAG_ON, enabled=False, value="legacy_postgres_ilike")
SAFE = preflight({"migrations/0041_add_status_column.sql": "ALTER TABLE orders ADD COLUMN status text;"})
DATA_FIRST = preflight({"migrations/0042_drop_legacy_column.sql": "ALTER TABLE orders DROP COLUMN legacy_status;"})
READ_IT = preflight({"migrations/0043_fix.sql": "DO $$ BEGIN PERFORM 1; END $$;"})


def s3_evidence(*, missing: int) -> S3Evidence:
    markers = tuple(
        DeleteMarker(f"tenants/acme-books/covers/{i}.jpg", f"dm{i}", NOW - timedelta(minutes=40 + i), True, f"v{i}")
        for i in range(missing)
    )
    since = NOW - timedelta(hours=6)
    return S3Evidence("bookstore-uploads", "tenants/acme-books/", since, markers, 120 + missing, False)


NS_ACTIVE = namespace_state({"metadata": {"name": NS}, "status": {"phase": "Active"}})
NS_MISSING = namespace_state(None, NS)
NS_TERMINATING = namespace_state(
    {"metadata": {"name": NS, "deletionTimestamp": "2026-05-20T14:01:00Z"}, "status": {"phase": "Terminating"}}
)


def change(layer: Layer, *files: ChangedFile) -> ChangeReport:
    return ChangeReport("/srv/gitops", SHA["a1b2c3d"], SHA["d8f3c2a"], files, layer)


COMPOSITION = change(Layer.CONFIG, ChangedFile("crossplane/orders-db.yaml", "M", "config", "Crossplane Composition"))
MIXED = change(
    Layer.MIXED,
    ChangedFile("apps/catalog/kustomization.yaml", "M", "image", "newTag: v1.5.0 → v1.5.1"),
    ChangedFile("apps/catalog/networkpolicy.yaml", "M", "config", "NetworkPolicy"),
)

# name -> (snapshot, overrides, expected leaf id)
SCENARIOS: dict[str, tuple[DecisionInput, dict[str, str], str]] = {
    "seed: deploy 5m ago, flag on": (DecisionInput(app=FRESH, flag=FLAG_ON, migrations=SAFE), {}, "flag-flip"),
    "image bump, Argo CD app": (DecisionInput(app=FRESH, flag=FLAG_OFF, migrations=SAFE), {}, "code-rollback-argocd"),
    "image bump, Rollout": (
        DecisionInput(app=FRESH, rollout=rollout_object(mid_canary=True), flag=FLAG_OFF, migrations=SAFE),
        {},
        "code-rollback-rollouts",
    ),
    "image bump, Helm release": (
        DecisionInput(app=FRESH, helm_release="catalog", flag=FLAG_OFF, migrations=SAFE),
        {},
        "code-rollback-helm",
    ),
    "image bump with a forward-only migration": (
        DecisionInput(app=FRESH, flag=FLAG_OFF, migrations=DATA_FIRST),
        {},
        "data-rollback-postgres-pitr",
    ),
    "values change": (DecisionInput(app=VALUES_CHANGE, flag=FLAG_OFF), {}, "config-rollback-argocd-app"),
    "no deploy, S3 objects deleted": (
        DecisionInput(app=STALE, s3=s3_evidence(missing=3), namespace=NS_ACTIVE),
        {},
        "data-rollback-s3-versioning",
    ),
    "no deploy, namespace missing": (
        DecisionInput(app=STALE, s3=s3_evidence(missing=0), namespace=NS_MISSING),
        {},
        "data-rollback-velero",
    ),
    "after an abort, p99 under the SLO for the verification window": (
        DecisionInput(app=FRESH, flag=FLAG_OFF, migrations=SAFE,
                      done=SessionDone(mitigation="mitigated", mitigation_detail="rollouts.abort worked")),
        {},
        "mitigated",
    ),
    "no deploy, nothing lost": (
        DecisionInput(app=STALE, s3=s3_evidence(missing=0), namespace=NS_ACTIVE),
        {},
        "not-a-rollback",
    ),
}


def assert_consistent(ev: Evaluation) -> None:
    """The path follows the answers; an unknown ends it with no leaf; a leaf means no unknown on the way."""
    assert ev.path[0] == ROOT
    for here, there in itertools.pairwise(ev.path):
        answer = ev.results[here].answer
        assert answer is not Answer.UNKNOWN
        assert there == (NODES[here].yes if answer is Answer.YES else NODES[here].no)
    last = ev.results[ev.path[-1]]
    if ev.leaf is None:
        assert ev.blocked_at == ev.path[-1] and last.answer is Answer.UNKNOWN and ev.ask
    else:
        assert ev.blocked_at is None and last.answer is not Answer.UNKNOWN and ev.ask == ""
        expected_slot = NODES[ev.path[-1]].yes if last.answer is Answer.YES else NODES[ev.path[-1]].no
        assert ev.leaf_slot == expected_slot


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_reaches_its_leaf(name: str) -> None:
    snapshot, overrides, leaf_id = SCENARIOS[name]
    ev = evaluate(snapshot, overrides, now=NOW)
    assert ev.leaf is not None, ev.ask
    assert ev.leaf.id == leaf_id
    assert_consistent(ev)


def test_every_leaf_is_reached_by_a_scenario() -> None:
    reached = {leaf for _, _, leaf in SCENARIOS.values()} | {"config-rollback-argocd-app"}
    assert reached == set(LEAVES) - {"code-rollback"}  # the generic slot resolves to one of the three


def test_seed_scenario_evidence_and_flag_question() -> None:
    ev = evaluate(DecisionInput(app=FRESH, migrations=SAFE, blast=blast_radius(FRESH, context="us-east")), now=NOW)
    deploy = ev.results["recent_deploy"]
    assert deploy.answer is Answer.YES and deploy.confidence is Confidence.HIGH
    assert deploy.evidence[0].fact == "Argo CD history #42 deployed 5m ago, revision d8f3c2a"
    assert deploy.evidence[0].source == "Argo CD bookstore-catalog-us-east status.history"
    assert "image tag catalog v1.5.0 → v1.5.1" in deploy.evidence[1].fact
    assert deploy.question == "Did a deploy land in the last 30 minutes?"
    # no flag provider: the tree stops and asks; nothing past the flag is recommended
    assert ev.path == ("recent_deploy", "flag_flip")
    assert ev.blocked_at == "flag_flip" and ev.leaf is None
    assert "flag" in ev.ask and "no flag provider configured" in ev.ask
    assert ev.recommendation.startswith("no recommendation yet")
    # the nodes past the stop are still evaluated (the widget labels them)
    assert ev.results["what_changed"].answer is Answer.YES
    assert ev.results["migration"].answer is Answer.NO


def test_flag_on_evidence() -> None:
    ev = evaluate(DecisionInput(app=FRESH, flag=FLAG_ON), now=NOW)
    flag = ev.results["flag_flip"]
    assert flag.evidence[0].fact == "flag catalog_v2_search_engine is ON (value 'meilisearch_v1')"
    assert flag.evidence[0].source == "flag provider https://flagsmith.example.com/api/v1/flags/"
    assert ev.leaf is not None and ev.leaf.layer is RollbackLayer.FLAG and ev.leaf.rto == "60s"


def test_data_first_leaf_names_the_code_runbook_after_it() -> None:
    snapshot = DecisionInput(app=FRESH, rollout=rollout_object(mid_canary=False), flag=FLAG_OFF, migrations=DATA_FIRST)
    ev = evaluate(snapshot, now=NOW)
    assert ev.leaf is not None
    assert ev.leaf.layer is RollbackLayer.DATA and ev.leaf.then_runbook == "code-rollback-rollouts"
    assert "DATA rollback FIRST" in ev.leaf.title and "then CODE" in ev.leaf.title
    assert ev.leaf_slot == "data-rollback-postgres-pitr"
    migration = ev.results["migration"]
    assert migration.explain.startswith("DATA rollback first: migrations/0042_drop_legacy_column.sql:1")
    assert "ALTER TABLE orders DROP COLUMN legacy_status" in migration.evidence[0].fact
    assert ev.leaf_evidence[0].fact.startswith(f"Rollout {NS}/catalog manages the workload")


def test_code_leaf_sits_in_the_generic_slot() -> None:
    ev = evaluate(SCENARIOS["image bump, Argo CD app"][0], now=NOW)
    assert ev.leaf_slot == "code-rollback" and ev.leaf is not None and ev.leaf.rto == "30s-2m"
    assert LEAVES["code-rollback-helm"].rto == "1-3m"


def test_composition_change_uses_the_longer_config_rto() -> None:
    ev = evaluate(DecisionInput(app=REVISION_ONLY, flag=FLAG_OFF, change=COMPOSITION), now=NOW)
    assert ev.leaf is not None and ev.leaf.id == "config-rollback-argocd-app"
    assert ev.leaf.rto == "5-20m" and "Composition" in ev.leaf.title
    assert ev.results["what_changed"].confidence is Confidence.HIGH  # from git


def test_git_decides_when_history_only_says_revision() -> None:
    same_source = REVISION_ONLY
    assert same_source.history[0].change == "revision only"
    blocked = evaluate(DecisionInput(app=same_source, flag=FLAG_OFF), now=NOW)
    assert blocked.blocked_at == "what_changed" and "--gitops-repo" in blocked.ask
    image = change(Layer.CODE, ChangedFile("apps/catalog/kustomization.yaml", "M", "image", "newTag: v1.5.0 → v1.5.1"))
    ev = evaluate(DecisionInput(app=same_source, flag=FLAG_OFF, change=image, migrations=SAFE), now=NOW)
    assert ev.leaf is not None and ev.leaf.id == "code-rollback-argocd"
    facts = [item.fact for item in ev.results["what_changed"].evidence]
    assert "M apps/catalog/kustomization.yaml: newTag: v1.5.0 → v1.5.1" in facts


def test_mixed_change_asks_which_layer_and_the_answer_reroutes() -> None:
    snapshot = DecisionInput(app=FRESH, flag=FLAG_OFF, change=MIXED, migrations=SAFE)
    ev = evaluate(snapshot, now=NOW)
    assert ev.blocked_at == "what_changed" and ev.leaf is None
    assert "which broke it" in ev.ask
    assert evaluate(snapshot, {"what_changed": "yes"}, now=NOW).leaf.id == "code-rollback-argocd"
    assert evaluate(snapshot, {"what_changed": "no"}, now=NOW).leaf.id == "config-rollback-argocd-app"


def test_migration_unknowns_stop_the_path() -> None:
    missing = evaluate(DecisionInput(app=FRESH, flag=FLAG_OFF), now=NOW)
    assert missing.blocked_at == "migration" and "NON-additive" in missing.ask
    read_it = evaluate(DecisionInput(app=FRESH, flag=FLAG_OFF, migrations=READ_IT), now=NOW)
    assert read_it.blocked_at == "migration"
    assert read_it.ask.startswith("Read migrations/0043_fix.sql:1 yourself")
    assert read_it.leaf is None


def test_overrides_reroute_and_say_what_the_evidence_was() -> None:
    snapshot = DecisionInput(app=FRESH, flag=FLAG_OFF, migrations=DATA_FIRST, s3=s3_evidence(missing=2))
    assert evaluate(snapshot, now=NOW).leaf.id == "data-rollback-postgres-pitr"
    no_migration = evaluate(snapshot, {"migration": Answer.NO}, now=NOW)
    assert no_migration.leaf.id == "code-rollback-argocd"
    node = no_migration.results["migration"]
    assert node.overridden and node.answer is Answer.NO and node.confidence is Confidence.HIGH
    assert node.explain.startswith("answered no by you; the evidence said yes")
    assert node.evidence  # the evidence stays visible
    flag_first = evaluate(snapshot, {"flag_flip": "yes"}, now=NOW)
    assert flag_first.leaf.id == "flag-flip" and flag_first.path == ("recent_deploy", "flag_flip")
    other_side = evaluate(snapshot, {"recent_deploy": "no"}, now=NOW)
    assert other_side.leaf.id == "data-rollback-s3-versioning"
    assert other_side.path == ("recent_deploy", "no_deploy_symptom", "s3_missing")
    # overrides below feed the derived node: nothing missing -> not a rollback case
    nothing = evaluate(snapshot, {"recent_deploy": "no", "s3_missing": "no", "namespace_gone": "no"}, now=NOW)
    assert nothing.leaf.id == "not-a-rollback"
    forced_unknown = evaluate(snapshot, {"flag_flip": "unknown"}, now=NOW)
    assert forced_unknown.blocked_at == "flag_flip" and "you marked it unknown" in forced_unknown.ask
    assert evaluate(snapshot, {"no_such_node": "yes"}, now=NOW).leaf.id == "data-rollback-postgres-pitr"


def test_no_app_at_all_asks_about_deploys() -> None:
    ev = evaluate(DecisionInput(), now=NOW)
    assert ev.path == ("recent_deploy",) and ev.blocked_at == "recent_deploy" and ev.leaf is None
    assert "deploy" in ev.ask
    gone = DecisionInput(namespace=NS_TERMINATING, s3=s3_evidence(missing=0))
    answered = evaluate(gone, {"recent_deploy": "no"}, now=NOW)
    assert answered.leaf.id == "data-rollback-velero"
    assert answered.results["namespace_gone"].evidence[0].fact.startswith(f"namespace {NS} is Terminating")


def test_unconfigured_s3_blocks_even_when_the_namespace_is_gone() -> None:
    ev = evaluate(DecisionInput(app=STALE, namespace=NS_MISSING), now=NOW)
    assert ev.results["no_deploy_symptom"].answer is Answer.YES
    assert ev.blocked_at == "s3_missing" and ev.leaf is None
    answered = evaluate(DecisionInput(app=STALE, namespace=NS_MISSING), {"s3_missing": "no"}, now=NOW)
    assert answered.leaf.id == "data-rollback-velero"


ALL_SNAPSHOTS = [snapshot for snapshot, _, _ in SCENARIOS.values()] + [
    DecisionInput(),
    DecisionInput(app=FRESH, change=MIXED, migrations=READ_IT),
]


@pytest.mark.parametrize("snapshot", ALL_SNAPSHOTS, ids=[str(i) for i in range(len(ALL_SNAPSHOTS))])
def test_no_recommendation_ever_passes_an_unknown(snapshot: DecisionInput) -> None:
    """Many combinations of answers on every node (all of them for the empty snapshot, a fixed sample for
    the others): the walk is consistent and never skips an unknown."""
    choices = (None, Answer.YES, Answer.NO, Answer.UNKNOWN)
    combos = list(itertools.product(choices, repeat=len(NODES)))
    if snapshot != DecisionInput():
        combos = random.Random(7).sample(combos, 1200)
    for combo in combos:
        overrides = {node: answer for node, answer in zip(NODES, combo) if answer is not None}
        ev = evaluate(snapshot, overrides, now=NOW)
        assert_consistent(ev)
        for node, answer in overrides.items():
            assert ev.results[node].answer is answer and ev.results[node].overridden


def test_recent_deploy_edges() -> None:
    running = parse_application({**app_object(timedelta(hours=3)), "operation": {"sync": {"revision": "HEAD"}}})
    node = evaluate(DecisionInput(app=running), now=NOW).results["recent_deploy"]
    assert node.answer is Answer.YES and node.confidence is Confidence.MEDIUM
    assert any("a sync is running now" in item.fact for item in node.evidence)

    failed_op = {"phase": "Failed", "message": "hook failed"}
    failed = parse_application(app_object(timedelta(hours=3), operationState=failed_op))
    node = evaluate(DecisionInput(app=failed), now=NOW).results["recent_deploy"]
    assert node.answer is Answer.NO and node.confidence is Confidence.MEDIUM
    assert any("failed syncs never enter history" in item.fact for item in node.evidence)

    in_flight = DecisionInput(app=STALE, rollout=rollout_object(mid_canary=True))
    canary = evaluate(in_flight, now=NOW).results["recent_deploy"]
    assert canary.answer is Answer.YES and any("canary step 2/4" in item.fact for item in canary.evidence)  # 1-based, as kubectl shows it

    empty = parse_application({**app_object(timedelta(0)), "status": {}})
    node = evaluate(DecisionInput(app=empty), now=NOW).results["recent_deploy"]
    assert node.answer is Answer.NO and node.confidence is Confidence.MEDIUM

    window = evaluate(DecisionInput(app=STALE, window_minutes=240), now=NOW).results["recent_deploy"]
    assert window.answer is Answer.YES and window.question == "Did a deploy land in the last 240 minutes?"


def test_s3_node_facts() -> None:
    node = evaluate(DecisionInput(app=STALE, s3=s3_evidence(missing=7)), now=NOW).results["s3_missing"]
    assert node.answer is Answer.YES and node.confidence is Confidence.HIGH
    assert node.evidence[0].fact.startswith("7 objects deleted since 2026-05-20 08:27 UTC")
    assert node.evidence[1].fact == "tenants/acme-books/covers/0.jpg deleted 40m ago (restorable)"
    assert len(node.evidence) <= 6
    truncated = dataclasses.replace(s3_evidence(missing=0), truncated=True)
    node = evaluate(DecisionInput(app=STALE, s3=truncated), now=NOW).results["s3_missing"]
    assert node.answer is Answer.NO and node.confidence is Confidence.LOW


def test_pre_flight_strip() -> None:
    blast = blast_radius(FRESH, context="us-east")
    snapshot = DecisionInput(app=FRESH, flag=FLAG_ON, migrations=DATA_FIRST, blast=blast)
    flag, migration, blast = pre_flight(evaluate(snapshot, now=NOW))
    assert flag.text == "Flag flip? yes — flag catalog_v2_search_engine is ON (value 'meilisearch_v1')"
    assert migration.answer == "yes" and "DATA rollback first" in migration.text
    assert "ALTER TABLE orders DROP COLUMN legacy_status" in migration.text
    assert blast.text == f"Blast radius? one tenant — namespace {NS} on https://kubernetes.default.svc in us-east"
    flag, migration, blast = pre_flight(evaluate(DecisionInput(app=FRESH, migrations=SAFE), now=NOW))
    assert flag.answer == "unknown" and "ask" in flag.detail
    assert migration.answer == "no" and "all additive" in migration.detail
    assert blast.answer == "unknown"


def test_nodes_are_a_tree_over_the_leaves() -> None:
    seen: set[str] = set()
    stack = [ROOT]
    while stack:
        node = stack.pop()
        if node in LEAVES:
            continue
        assert node in NODES and node not in seen
        seen.add(node)
        spec = NODES[node]
        assert spec.question and len(spec.why) > 80
        stack += [spec.yes, spec.no]
    assert seen == set(NODES)
    assert {leaf.layer for leaf in LEAVES.values()} == set(RollbackLayer)


def test_history_layers() -> None:
    assert history_layers("image tag catalog v1.5.0 → v1.5.1") == ({"code"}, False)
    assert history_layers("chart values") == ({"config"}, False)
    assert history_layers("image tag catalog v1 → v2, chart values") == ({"code", "config"}, False)
    assert history_layers("kustomize patches") == ({"config"}, False)
    assert history_layers("revision only (catalog, values)") == (set(), False)
    assert history_layers("first entry") == (set(), False)
    assert history_layers("catalog: image tag catalog v1 → v2; values: chart values") == ({"code", "config"}, False)
    assert history_layers("chart version 1.2.0 → 1.3.0") == (set(), True)


def test_flag_shapes() -> None:
    assert parse_flag({"enabled": True}, None, "u").enabled is True
    bare = parse_flag({"enabled": False, "value": 3}, "search", "u")
    assert (bare.name, bare.enabled, bare.value) == ("search", False, 3)
    flags = [{"feature": {"name": "a"}, "enabled": False}, {"feature": {"name": "b"}, "enabled": True}]
    listed = parse_flag({"flags": flags}, "b")
    assert listed.name == "b" and listed.enabled is True
    assert parse_flag({"features": [{"name": "x", "enabled": "yes"}]}, "x").enabled is None
    two = [{"feature": {"name": "a"}}, {"feature": {"name": "b"}}]
    for bad, key in ((two, None), ([{"name": "a"}], "zz"), ("x", None)):
        with pytest.raises(SourceError):
            parse_flag(bad, key, "u")
    assert isinstance(FLAG_ON, FlagState) and len(FLAG_ON.raw_excerpt) <= 300


def test_namespace_states() -> None:
    assert NS_MISSING.state is NamespaceState.MISSING and NS_MISSING.gone is True
    assert NS_TERMINATING.state is NamespaceState.TERMINATING and NS_TERMINATING.gone is True
    assert NS_ACTIVE.state is NamespaceState.ACTIVE and NS_ACTIVE.gone is False
    odd = namespace_state({"metadata": {"name": NS}, "status": {"phase": 7}})
    assert odd.state is NamespaceState.UNKNOWN and odd.gone is None
    unclear = evaluate(DecisionInput(app=STALE, namespace=odd, s3=s3_evidence(missing=0)), now=NOW)
    assert unclear.blocked_at == "no_deploy_symptom"


def test_preflight_verdicts_used_here_are_what_they_say() -> None:
    assert (SAFE.verdict, DATA_FIRST.verdict, READ_IT.verdict) == (Verdict.SAFE, Verdict.DATA_FIRST, Verdict.UNKNOWN)


def test_a_diff_without_manifests_asks_rather_than_guesses() -> None:
    docs_only = change(Layer.NONE, ChangedFile("README.md", "M", "other", "not a manifest"))
    ev = evaluate(DecisionInput(app=REVISION_ONLY, flag=FLAG_OFF, change=docs_only), now=NOW)
    assert ev.blocked_at == "what_changed" and ev.leaf is None
    assert "no manifest decides the layer" in ev.ask and "--gitops-repo" not in ev.ask


def test_long_flag_values_are_cut() -> None:
    big = dataclasses.replace(FLAG_ON, value={"rules": ["x" * 50] * 10})
    fact = evaluate(DecisionInput(app=FRESH, flag=big), now=NOW).results["flag_flip"].evidence[0].fact
    assert len(fact) < 140 and fact.endswith("…)")


def test_data_rolled_back_moves_the_tree_to_the_code_rollback() -> None:
    """The seed's order: DATA first, then CODE -- once the PITR run is done, the code leaf is recommended."""
    before = evaluate(DecisionInput(app=FRESH, flag=FLAG_OFF, migrations=DATA_FIRST), now=NOW)
    assert before.leaf.id == "data-rollback-postgres-pitr"
    done = SessionDone(data_rolled_back_to=NOW - timedelta(minutes=20), data_rollback_detail="rolled back by PITR")
    after = evaluate(DecisionInput(app=FRESH, flag=FLAG_OFF, migrations=DATA_FIRST, done=done), now=NOW)
    assert after.leaf.id == "code-rollback-argocd"
    assert after.leaf_evidence[0].fact == "rolled back by PITR"
    # the question itself still answers yes: the release did carry the migration
    assert after.results["migration"].answer is Answer.YES


def test_not_mitigated_is_said_and_the_leaf_stays() -> None:
    done = SessionDone(mitigation="not-mitigated", mitigation_detail="p99 still 1.2 s")
    ev = evaluate(DecisionInput(app=FRESH, flag=FLAG_OFF, migrations=SAFE, done=done), now=NOW)
    assert ev.outcome == "NOT MITIGATED" and ev.outcome_detail == "p99 still 1.2 s"
    assert ev.leaf.id == "code-rollback-argocd"
