"""Gather the decision tree's evidence from the live sources (blocking: call it from a worker thread).

The store already holds what the panes show (the Argo CD app, the Rollout); this adds what only the decision needs:
the git diff between the last two deployed revisions, the migration pre-flight over that diff, the feature flag, S3
delete markers and the tenant namespace.  Each read that fails leaves its piece out and says why in ``problems``:
the tree then answers that node "unknown" and asks the person, which is the honest outcome.

S3 is read again on every gather, and a bucket listing can fail for a while (an endpoint down, expired
credentials).  The last good answer is remembered per context and bucket and quoted in the problem line, marked
stale with its age, so the person keeps what was known; it is not fed to the tree, which must not answer "no
objects deleted" from a listing that may be out of date.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cockpit.decide import DecisionInput
from cockpit.models import ArgoApp, RolloutView
from cockpit.sources.errors import SourceError
from cockpit.textsafe import clean


# boto3 client settings for the S3 evidence (read per gather, so a test can shorten them): the house timeouts.
S3_CLIENT: dict[str, Any] = {"connect_timeout": 3, "read_timeout": 10, "max_attempts": 2}

_last_s3: dict[tuple[str, str, str, str], tuple[Any, datetime]] = {}  # last good S3Evidence and when it was read
_last_s3_lock = threading.Lock()


@dataclass(frozen=True)
class Gathered:
    decision: DecisionInput
    problems: tuple[str, ...] = field(default_factory=tuple)  # one line per evidence source that failed


def gather(
    settings: Any,
    *,
    context: str,
    contexts: tuple[str, ...],
    app: ArgoApp | None,
    rollout: RolloutView | None,
    kube: Any | None,
    now: datetime,
    watched_namespaces: dict[str, Any] | None = None,
) -> Gathered:
    from cockpit.preflight import blast_radius, preflight

    problems: list[str] = []
    change = migrations = flag = s3 = namespace = None

    if settings.gitops_repo and app is not None:
        from cockpit.sources.gitrepo import change_report, last_two_revisions, migration_diff

        pair = last_two_revisions(app)
        if pair is None:
            problems.append("git: fewer than two deploys in the Argo CD history: nothing to diff")
        else:
            old, new = pair
            paths = (app.path,) if app.path and app.path not in (".", "/") else ()
            try:
                change = change_report(settings.gitops_repo, old, new, paths=paths,
                                       migrations_dir=settings.migrations_dir)
                migrations = preflight(migration_diff(settings.gitops_repo, new, old, settings.migrations_dir))
            except SourceError as err:
                problems.append(f"git: {err}")

    if settings.flag_url:
        from cockpit.sources.flags import fetch_flag

        try:
            flag = fetch_flag(settings.flag_url, settings.flag_key)
        except SourceError as err:
            problems.append(f"flag: {err}")
        else:
            flag = _flag_changed_at(settings, flag, problems)

    if settings.s3_bucket:
        from cockpit.sources.s3 import S3Source

        key = (context, settings.s3_endpoint or "", settings.s3_bucket, settings.s3_prefix)
        try:
            source = S3Source(endpoint_url=settings.s3_endpoint, **S3_CLIENT)
            s3 = source.delete_markers(settings.s3_bucket, settings.s3_prefix,
                                       now - timedelta(hours=settings.s3_window_hours))
        except SourceError as err:
            problems.append(f"S3: {err}{_stale_s3(key, now)}")
        except (ValueError, TypeError) as err:  # botocore refuses the endpoint itself ("Invalid endpoint: …")
            problems.append(f"S3: cannot use endpoint {settings.s3_endpoint!r}: {err}")
        else:
            with _last_s3_lock:
                _last_s3[key] = (s3, now)

    tenant = settings.tenant_namespace or (app.dest_namespace if app is not None else None)
    if tenant and watched_namespaces is not None and tenant in watched_namespaces:
        # the store watches the tenant namespace: no request here (None = the watch says it does not exist)
        from cockpit.sources.s3 import namespace_state

        namespace = namespace_state(watched_namespaces[tenant], tenant)
    elif tenant and kube is not None:
        from cockpit.sources.kube import NAMESPACES
        from cockpit.sources.s3 import namespace_state

        try:
            namespace = namespace_state(kube.get(NAMESPACES, None, tenant), tenant)
        except SourceError as err:
            problems.append(f"namespace {tenant}: {err}")

    helm_release, helm_revisions = None, ()
    if getattr(settings, "helm_release", None) and kube is not None:
        from cockpit.actions import helm
        from cockpit.actions.requests import ActionRefused

        namespace_of_release = settings.namespace or getattr(kube, "namespace", None) or "default"
        try:
            helm_revisions = helm.history(kube, namespace_of_release, settings.helm_release)
        except ActionRefused as err:
            problems.append(f"helm: {err}")
        else:
            if helm_revisions:
                helm_release = settings.helm_release
            else:
                problems.append(f"helm: no release Secrets of {settings.helm_release} in {namespace_of_release}")

    decision = DecisionInput(
        app=app,
        rollout=rollout,
        helm_release=helm_release,
        helm_revisions=tuple(helm_revisions),
        change=change,
        migrations=migrations,
        flag=flag,
        s3=s3,
        namespace=namespace,
        blast=blast_radius(app, context=context, contexts=contexts),
        window_minutes=settings.recent_deploy_minutes,
    )
    # Problem lines quote what servers said (git's stderr, an S3 error message, flag names): printable, bounded.
    return Gathered(decision, tuple(clean(problem, limit=600) for problem in problems))


def _flag_changed_at(settings: Any, flag: Any, problems: list[str]) -> Any:
    """When the flag last changed, from the provider's admin API (the SDK answer does not say): a flag turned on
    minutes before the regression is a change like a deploy.  Needs the admin URL and its token (read only)."""
    if not (getattr(settings, "flag_admin_url", None) and getattr(settings, "flag_environment_key", None)):
        return flag
    import dataclasses

    from cockpit.actions import flags as admin
    from cockpit.actions.requests import ActionRefused
    from cockpit.timefmt import parse_time

    scheme, token, _ = admin.token_from_env(getattr(settings, "flag_admin_token_env", None))
    if not token:
        return flag
    try:
        states = admin.feature_states(settings.flag_admin_url, settings.flag_environment_key,
                                      flag.name or settings.flag_key or "", scheme=scheme, token=token)
    except ActionRefused as err:
        problems.append(f"flag history: {err}")
        return flag
    changed = parse_time(states[0].get("updated_at")) if len(states) == 1 else None
    return dataclasses.replace(flag, changed_at=changed) if changed is not None else flag


def _stale_s3(key: tuple[str, str, str, str], now: datetime) -> str:
    """The last good S3 answer for ``key`` in words, marked stale, or "" when there never was one."""
    from cockpit.timefmt import ago

    with _last_s3_lock:
        last = _last_s3.get(key)
    if last is None:
        return ""
    evidence, when = last
    missing = len(evidence.missing)
    found = f"{missing} objects read as deleted" if missing else "no object deleted"
    return f"; last good read {ago(when, now)}: {found} ({evidence.scanned} versions scanned) -- stale, not used"
