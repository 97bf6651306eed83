"""The kube contexts a session shows, resolved from the kubeconfig before the first frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ContextTarget:
    """One kube context as the dashboard shows it."""

    name: str
    kubeconfig: Path
    namespace: str
    production: bool
    read_only: bool
    prometheus_url: str | None
    recent_minutes: int = 30
    note: str = ""  # e.g. "demo platform"


def connect(settings: Any, *, note: str = "") -> list[ContextTarget]:
    """Check the kubeconfig and contexts before the first frame (cheap: YAML only, no kubernetes import)."""
    from cockpit.sources.kube import kubeconfig_path, resolve_contexts

    path = kubeconfig_path(settings.kubeconfig)
    targets = []
    for name, default_ns in resolve_contexts(path, settings.contexts):
        ctx = settings.context(name)
        targets.append(
            ContextTarget(
                name=name,
                kubeconfig=path,
                namespace=ctx.namespace or settings.namespace or default_ns or "default",
                production=ctx.production,
                read_only=settings.is_read_only(name),
                prometheus_url=ctx.prometheus_url or settings.prometheus_url,
                recent_minutes=settings.recent_deploy_minutes,
                note=note,
            )
        )
    return targets
