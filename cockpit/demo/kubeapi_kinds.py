"""Which kinds the Kubernetes API emulator serves: the built-in core kinds plus one per CRD file.

The vendored CRDs are large (up to 460 kB of YAML, almost all of it ``openAPIV3Schema``).  Discovery
only needs each CRD's names, scope and subresources, so :func:`scan_crd_dir` cuts the ``schema:``
blocks out of the text before parsing it; the schema itself is parsed later, on first use
(``kubeapi_schema``).  Both results are cached per process, keyed by file path, size and mtime, so a
test that starts many emulators pays the cost once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CRD_DIR = Path(__file__).with_name("crds")

STANDARD_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    """One served resource: enough to route URLs, answer discovery and apply apiserver rules."""

    group: str  # "" for the core group
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False  # writes to .status only via .../name/status
    has_generation: bool = True  # metadata.generation is maintained
    crd_path: Path | None = None  # None: built-in, validated on metadata only (unless builtin_schema)
    crd_version_index: int = 0
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    verbs: tuple[str, ...] = STANDARD_VERBS
    builtin_schema: bool = False  # a built-in kind decoded, pruned and validated like the apiserver's (Lease)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> tuple[str, str]:
        return (self.group, self.version)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """``rollouts.argoproj.io`` / ``pods``: the resource name used in apiserver messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


def _builtin(group: str, version: str, plural: str, kind: str, **extra: Any) -> ResourceType:
    return ResourceType(group=group, version=version, plural=plural, singular=kind.lower(), kind=kind, **extra)


SSAR = _builtin(
    "authorization.k8s.io",
    "v1",
    "selfsubjectaccessreviews",
    "SelfSubjectAccessReview",
    namespaced=False,
    has_generation=False,
    verbs=("create",),
)

CRD_KIND = _builtin(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    namespaced=False,
    short_names=("crd", "crds"),
    categories=("api-extensions",),
    status_subresource=True,
)

BUILTIN_KINDS: tuple[ResourceType, ...] = (
    _builtin("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
             status_subresource=True, has_generation=False),
    _builtin("", "v1", "secrets", "Secret", has_generation=False),
    _builtin("", "v1", "configmaps", "ConfigMap", short_names=("cm",), has_generation=False),
    _builtin("", "v1", "pods", "Pod", short_names=("po",), categories=("all",),
             status_subresource=True, has_generation=False),
    _builtin("", "v1", "events", "Event", short_names=("ev",), has_generation=False),
    _builtin("", "v1", "services", "Service", short_names=("svc",), categories=("all",),
             status_subresource=True, has_generation=False),
    _builtin("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",), categories=("all",),
             status_subresource=True),
    _builtin("apps", "v1", "deployments", "Deployment", short_names=("deploy",), categories=("all",),
             status_subresource=True),
    _builtin("", "v1", "resourcequotas", "ResourceQuota", short_names=("quota",), status_subresource=True,
             has_generation=False),
    _builtin("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=("netpol",),
             has_generation=True),
    CRD_KIND,
    # the driver lease of a cockpit session (cockpit/lease.py); schema and rules in kubeapi_leases
    _builtin("coordination.k8s.io", "v1", "leases", "Lease", has_generation=False, builtin_schema=True,
             printer_columns=({"name": "Holder", "type": "string", "jsonPath": ".spec.holderIdentity"},)),
    SSAR,
)

# ``schema:`` at the start of a line (optionally as the first key of a list item), and nothing else on it.
_SCHEMA_KEY = re.compile(r"^( *)(- )?schema:[ \t]*$", re.MULTILINE)


def strip_schema_blocks(text: str) -> str:
    """Drop every ``schema:`` block (the key line stays, as ``schema: {}``).

    A block ends at the first non-blank, non-comment line indented no deeper than its key, which
    is exactly YAML's rule for a block mapping value.  Regex-driven so a 460 kB file takes ~1 ms.
    """
    out: list[str] = []
    pos = 0
    while match := _SCHEMA_KEY.search(text, pos):
        key_col = len(match.group(1)) + (2 if match.group(2) else 0)
        out.append(text[pos : match.start()])
        out.append(f"{match.group(1)}{match.group(2) or ''}schema: {{}}\n")
        end = re.compile(rf"^ {{0,{key_col}}}[^ \n#]", re.MULTILINE).search(text, match.end() + 1)
        pos = end.start() if end else len(text)
    out.append(text[pos:])
    return "".join(out)


def _types_from_crd(doc: dict[str, Any], path: Path) -> list[ResourceType]:
    spec = doc.get("spec") or {}
    names = spec.get("names") or {}
    versions = spec.get("versions") or []
    served = [(i, v) for i, v in enumerate(versions) if v.get("served", True)]
    if not served:
        return []
    # Serve the storage version (what a real cluster lists by default); else the first served one.
    index, version = next(((i, v) for i, v in served if v.get("storage")), served[0])
    subresources = version.get("subresources") or {}
    return [
        ResourceType(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            singular=names.get("singular") or names["kind"].lower(),
            kind=names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            status_subresource="status" in subresources,
            crd_path=path,
            crd_version_index=index,
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
        )
    ]


_scan_cache: dict[tuple[str, int, int], list[ResourceType]] = {}
_scan_lock = threading.Lock()


def scan_crd_file(path: Path) -> list[ResourceType]:
    """The resource types one CRD file defines (cached per path/size/mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _scan_lock:
        if key in _scan_cache:
            return _scan_cache[key]
    text = strip_schema_blocks(path.read_text(encoding="utf-8"))
    found: list[ResourceType] = []
    for doc in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
            found.extend(_types_from_crd(doc, path))
    with _scan_lock:
        _scan_cache[key] = found
    return found


def scan_crd_dir(crd_dir: Path) -> list[ResourceType]:
    """Every CRD in ``crd_dir/*.yaml`` / ``*.yml``, in file-name order."""
    paths = sorted(p for p in crd_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [rt for path in paths for rt in scan_crd_file(path)]


class KindRegistry:
    """Lookup of served resource types by URL parts, by apiVersion+kind, or by a kubectl-style name.

    :meth:`remove` and :meth:`add` change what is served while requests are being answered (a CRD uninstalled or
    installed): each builds new tables and swaps them in, so a reader never sees a half-updated registry."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self._build(list(types))

    def _build(self, types: list[ResourceType]) -> None:
        kept: list[ResourceType] = []
        by_path: dict[tuple[str, str, str], ResourceType] = {}
        by_kind: dict[tuple[str, str], ResourceType] = {}
        for rt in types:
            key = (rt.group, rt.version, rt.plural)
            if key in by_path:  # a later CRD file for the same resource replaces a built-in
                kept.remove(by_path[key])
            kept.append(rt)
            by_path[key] = rt
            by_kind[(rt.api_version, rt.kind)] = rt
        self.types, self._by_path, self._by_kind = kept, by_path, by_kind

    def add(self, rt: ResourceType) -> None:
        self._build([*self.types, rt])

    def remove(self, rt: ResourceType) -> None:
        self._build([t for t in self.types if t is not rt and t != rt])

    def by_path(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((api_version, kind))

    def resolve(self, api_version: str, kind_or_plural: str) -> ResourceType:
        """Find a type by apiVersion plus its Kind, plural, singular or short name."""
        group, _, version = api_version.rpartition("/")
        for rt in self.types:
            if rt.group == group and rt.version == version and kind_or_plural in (
                rt.kind,
                rt.plural,
                rt.singular,
                *rt.short_names,
            ):
                return rt
        raise KeyError(f"the emulator serves no {kind_or_plural!r} in {api_version!r}")

    def group_versions(self) -> dict[str, list[str]]:
        """Group name -> served versions, in registration order ("" is the core group)."""
        result: dict[str, list[str]] = {}
        for rt in self.types:
            versions = result.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return result

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self.types if rt.group == group and rt.version == version]


def crd_object(rt: ResourceType) -> dict[str, Any]:
    """The ``CustomResourceDefinition`` object behind a CRD-served type, as the API server lists it (without the
    schema: the emulator keeps that in the file and reads it on first use).  Established and accepted."""
    names: dict[str, Any] = {"plural": rt.plural, "singular": rt.singular, "kind": rt.kind, "listKind": rt.list_kind}
    if rt.short_names:
        names["shortNames"] = list(rt.short_names)
    if rt.categories:
        names["categories"] = list(rt.categories)
    version: dict[str, Any] = {"name": rt.version, "served": True, "storage": True}
    if rt.status_subresource:
        version["subresources"] = {"status": {}}
    if rt.printer_columns:
        version["additionalPrinterColumns"] = [dict(column) for column in rt.printer_columns]
    conditions = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted"},
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": rt.qualified},
        "spec": {"group": rt.group, "names": names, "scope": "Namespaced" if rt.namespaced else "Cluster",
                 "versions": [version]},
        "status": {"acceptedNames": names, "storedVersions": [rt.version], "conditions": conditions},
    }
