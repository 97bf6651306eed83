"""The demo's scenarios: one per regression class of the seed's decision tree, each the place where one runbook is
the right answer.

===================  ==============================================================  ==============================
scenario             what is seeded                                                  runbook
===================  ==============================================================  ==============================
forward-only         #42 5 min ago: image v1.5.1 + ``DROP COLUMN`` migration;         data-rollback-postgres-pitr
                     canary paused at 4/8; p99 1.2 s                                 (then a code rollback)
rollouts-abort       #42 5 min ago: image v1.5.1 + an additive migration; canary       code-rollback-rollouts
                     paused at 4/8; p99 1.2 s
argocd-rollback      #42 25 min ago: image + additive migration; the canary passed    code-rollback-argocd
                     and promoted 6 min ago; Rollout Healthy; p99 1.1 s
config-revert        #42 6 min ago: ResourceQuota cpu 10 -> 2 in git; pods cannot     config-rollback-argocd-app
                     scale; manual sync; p99 1.4 s
flag-flip            no deploy for 3 h; flag catalog_v2_search_engine turned on 7 min  flag-flip
                     ago; p99 0.95 s
s3-restore           no deploy; five covers under the tenant prefix deleted (delete    data-rollback-s3-versioning
                     markers) in a versioned bucket (moto); p99 0.9 s
velero-restore       no deploy; the tenant namespace was deleted 9 min ago; Completed  data-rollback-velero
                     daily Velero backups of it; p99 has no data
helm-rollback        Helm release catalog-search revision 3 (1.5.1) 6 min ago over    code-rollback-helm
                     1.5.0; no Argo CD app, no Rollout; p99 1.3 s
===================  ==============================================================  ==============================

Pure data: :class:`Scenario` says what a scenario is; ``cockpit.demo.platform`` seeds and plays it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

DEFAULT_SCENARIO = "forward-only"

# Argo CD history ages: the three shapes the scenarios use
RECENT = {39: timedelta(days=2, hours=1), 40: timedelta(hours=20, minutes=45), 41: timedelta(hours=3, minutes=19),
          42: timedelta(minutes=5)}
PROMOTED = {**RECENT, 42: timedelta(minutes=25)}
CONFIG = {**RECENT, 42: timedelta(minutes=6)}
OLD = {39: timedelta(days=3, hours=2), 40: timedelta(days=2, hours=1), 41: timedelta(hours=20, minutes=45),
       42: timedelta(hours=3, minutes=19)}


@dataclass(frozen=True)
class Scenario:
    name: str
    runbook: str  # the runbook this scenario is the right answer for
    regression: str  # the seed's regression class, in words
    description: str  # what the on-call finds, in two sentences
    release: str = "additive"  # what history #42 did in git (cockpit.demo.gitops.RELEASES)
    ages: dict[int, timedelta] = field(default_factory=lambda: dict(RECENT))
    workload: str = "canary"  # canary | promoted | quota | gone | helm
    flag_on: bool = False  # catalog_v2_search_engine is on
    flag_on_ago: timedelta | None = None  # when it was turned on (the regression's start in flag-flip)
    s3: str = ""  # "" | "optional" | "required": moto's S3 with the tenant's uploads
    cures: frozenset[str] = frozenset()  # controller events that bring the p99 back
    peak: float = 1.2  # p99 at its worst, seconds
    regress_ago: timedelta | None = None  # when the p99 started climbing (default: history #42)
    auto_sync: bool = True
    then: str = ""  # the runbook that follows (DATA first, then CODE)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "forward-only", "data-rollback-postgres-pitr",
            "a code release with a forward-only (non-additive) SQL migration",
            "Deploy #42 bumped catalog to v1.5.1 and dropped orders.legacy_status; the canary is paused at 4/8 with "
            "p99 at 1.2 s. v1.5.0 cannot run on that schema: restore the data first (PITR), then roll the code back.",
            release="forward-only", flag_on=False, cures=frozenset({"abort", "rollback-image"}),
            then="code-rollback-rollouts",
        ),
        Scenario(
            "rollouts-abort", "code-rollback-rollouts",
            "a code regression caught inside the canary",
            "Deploy #42 bumped catalog to v1.5.1 with an additive migration only; the canary is paused at step 4/8 "
            "and its analysis fails on p99. Abort: stable v1.5.0 still serves 75% and takes everything back.",
            cures=frozenset({"abort", "rollback-image"}),
        ),
        Scenario(
            "argocd-rollback", "code-rollback-argocd",
            "a code regression that rode past the canary (fully promoted)",
            "Deploy #42 (v1.5.1, additive migration) passed its canary and was promoted 6 minutes ago; at 100% the "
            "p99 climbed to 1.1 s. Nothing is left to abort: roll the Argo CD app back to #41, then revert in git.",
            ages=dict(PROMOTED), workload="promoted", cures=frozenset({"rollback-image"}), peak=1.1,
            regress_ago=timedelta(minutes=6),
        ),
        Scenario(
            "config-revert", "config-rollback-argocd-app",
            "a bad configuration change (values / ResourceQuota / NetworkPolicy)",
            "Deploy #42 changed no image: it cut the tenant's ResourceQuota from 10 to 2 CPUs, so catalog cannot "
            "scale past 4 pods and p99 is 1.4 s. Revert the commit in git, merge, sync.",
            release="quota", ages=dict(CONFIG), workload="quota", cures=frozenset({"quota"}), peak=1.4,
            auto_sync=False,
        ),
        Scenario(
            "flag-flip", "flag-flip",
            "a regression behind a feature flag (no deploy)",
            "Nothing deployed for three hours; catalog_v2_search_engine was turned on for acme-books 7 minutes ago "
            "and p99 went to 0.95 s. Turn the flag off: a one-minute mitigation.",
            ages=dict(OLD), workload="promoted", flag_on=True, flag_on_ago=timedelta(minutes=7),
            cures=frozenset({"flag-off"}), peak=0.95, regress_ago=timedelta(minutes=7),
        ),
        Scenario(
            "s3-restore", "data-rollback-s3-versioning",
            "customer data deleted from S3 (no deploy)",
            "Nothing deployed; a cleanup script deleted five of acme-books' cover images from the versioned uploads "
            "bucket and catalog retries the missing objects (p99 0.9 s). Remove the delete markers.",
            ages=dict(OLD), workload="promoted", s3="required", cures=frozenset({"s3"}), peak=0.9,
            regress_ago=timedelta(minutes=4),  # moto stamps the markers "now": the cleanup ran at start
        ),
        Scenario(
            "velero-restore", "data-rollback-velero",
            "a whole tenant namespace deleted (no deploy)",
            "Nothing deployed; the tenant namespace bookstore-platform-acme-books was deleted 9 minutes ago with "
            "everything in it. Restore it from last night's Completed Velero backup.",
            ages=dict(OLD), workload="gone", s3="optional", cures=frozenset({"namespace"}), auto_sync=False,
            regress_ago=timedelta(minutes=9),
        ),
        Scenario(
            "helm-rollback", "code-rollback-helm",
            "a code regression in a raw Helm release",
            "catalog-search is installed with helm, not Argo CD: revision 3 (1.5.1) went out 6 minutes ago and p99 "
            "is 1.3 s. helm rollback to revision 2 -- it needs the helm binary.",
            ages=dict(OLD), workload="helm", cures=frozenset({"helm"}), peak=1.3,
            regress_ago=timedelta(minutes=6),
        ),
    )
}

SCENARIO_FOR_RUNBOOK: dict[str, str] = {s.runbook: s.name for s in SCENARIOS.values()}


def scenario_for(name: str) -> Scenario:
    """The scenario called ``name``; ValueError naming the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown demo scenario {name!r} (known: {', '.join(SCENARIOS)})") from None
