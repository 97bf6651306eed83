"""Argo CD ``Application`` objects (raw dicts from the API) -> :class:`cockpit.models.ArgoApp`.

Pure functions, no I/O.  The object is untrusted: any field may be missing, null or of the wrong
type, and strings are kept exactly as received (rendering sanitises them later).  A field of the
wrong type reads as its default, so a half-written or hostile object still yields a pane.

The part that needs care is :func:`describe_change`: ``argocd app history`` shows only revisions,
but the first question in an incident is *what did the last deploy change?*  Each
``status.history[]`` entry carries the full ``ApplicationSource`` it synced, so comparing an entry
with the one before it tells an image-tag bump from a values change from a plain new commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from cockpit.models import AppHold, ArgoApp, HistoryEntry
from cockpit.timefmt import parse_time
from cockpit.sources.raw import as_map as _map, as_text as _text, as_items as _items

ARROW = "→"
_MAX_VALUES_TEXT = 256 * 1024  # helm `values` strings longer than this are compared as text only
_MAX_NODES = 50_000  # walking budget for values trees (a YAML alias bomb expands without bound)
_MAX_DEPTH = 64

# The auto-sync hold (cockpit.actions.hold writes them; every cockpit watching the app reads them back).
HOLD_PREFIX = "cockpit.dev/hold-"
HOLD_BY = "cockpit.dev/hold-by"  # who placed the hold
HOLD_SINCE = "cockpit.dev/hold-since"  # when, RFC 3339 UTC
HOLD_REASON = "cockpit.dev/hold-reason"  # why, as the person typed it
HOLD_INCIDENT = "cockpit.dev/hold-incident"  # the incident it belongs to (may be empty)
HOLD_REVISION = "cockpit.dev/hold-revision"  # the revision the app is pinned at (the rollback target, once rolled back)
HOLD_BAD_REVISION = "cockpit.dev/hold-bad-revision"  # what was live when the hold was placed: the revert must undo it
HOLD_ANNOTATIONS = (HOLD_BY, HOLD_SINCE, HOLD_REASON, HOLD_INCIDENT, HOLD_REVISION, HOLD_BAD_REVISION)
_MAX_HOLD_TEXT = 1024

Leaves = dict[tuple[str, ...], Any]  # values tree flattened: path -> scalar
ImageRef = tuple[str, str, str]  # (label shown, reference without tag, tag or digest)


# --------------------------------------------------------------------------- raw field access


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


# --------------------------------------------------------------------------- the Application


def is_auto_sync_enabled(obj: Any) -> bool:
    """Argo CD's own test: ``automated`` present and ``enabled`` absent or true.

    This is the condition under which ``argocd app rollback`` is refused (MECHANICS (a) 2).
    An ``enabled`` of the wrong type reads as absent, i.e. *on*: overstating auto-sync only
    makes the cockpit switch it off before a rollback, understating it makes the rollback fail.
    """
    automated = _map(_map(_map(_map(obj).get("spec")).get("syncPolicy"))).get("automated")
    if not isinstance(automated, dict):
        return False
    enabled = automated.get("enabled")
    return enabled is not False


def parse_application(obj: Any) -> ArgoApp:
    """An :class:`ArgoApp` from an Application object; never raises.

    The repo/path/target revision are those of Argo CD's ``ApplicationSpec.GetSource`` (pkg/apis/application/
    v1alpha1/types.go): the source hydrator's sync source (repo from the dry source when the sync source names none,
    the target branch as revision), else the first of ``spec.sources``, else ``spec.source``.  ``dest_server`` is the destination server URL, or the cluster name when the app targets its
    cluster by name.  History entries without an integer ``id`` cannot be rolled back to and
    are left out.
    """
    obj = _map(obj)
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    source = app_source(spec)
    destination = _map(spec.get("destination"))
    automated = _map(_map(spec.get("syncPolicy")).get("automated"))
    health = _map(status.get("health"))
    operation_state = _map(status.get("operationState"))
    return ArgoApp(
        name=_text(meta.get("name")),
        namespace=_text(meta.get("namespace")),
        project=_text(spec.get("project")),
        repo_url=_text(source.get("repoURL")),
        path=_text(source.get("path")),
        target_revision=_text(source.get("targetRevision")),
        dest_server=_text(destination.get("server")) or _text(destination.get("name")),
        dest_namespace=_text(destination.get("namespace")),
        sync_status=_text(_map(status.get("sync")).get("status")),
        health_status=_text(health.get("status")),
        health_message=_text(health.get("message")),
        auto_sync=is_auto_sync_enabled(obj),
        self_heal=automated.get("selfHeal") is True,
        prune=automated.get("prune") is True,
        operation_running=isinstance(obj.get("operation"), dict),
        operation_phase=_text(operation_state.get("phase")),
        operation_message=_text(operation_state.get("message")),
        history=parse_history(status.get("history")),
        owner_appset=_owner_appset(meta),
        conditions=tuple(
            f"{_text(cond.get('type'))}: {_text(cond.get('message'))}" for cond in _items(status.get("conditions"))
        ),
        resource_version=_text(meta.get("resourceVersion")),
        has_status=bool(status),
        hold=parse_hold(meta.get("annotations")),
    )


def app_source(spec: Any) -> dict[str, Any]:
    """types.go ``ApplicationSpec.GetSource``: hydrator sync source, else ``sources[0]``, else ``source``."""
    spec = _map(spec)
    hydrator = spec.get("sourceHydrator")
    if isinstance(hydrator, dict):  # SourceHydrator.GetSyncSource
        dry, sync = _map(hydrator.get("drySource")), _map(hydrator.get("syncSource"))
        return {"repoURL": _text(sync.get("repoURL")) or _text(dry.get("repoURL")), "path": _text(sync.get("path")),
                "targetRevision": _text(sync.get("targetBranch"))}
    sources = _items(spec.get("sources"))
    if sources:  # HasMultipleSources
        return sources[0]
    return _map(spec.get("source"))


def parse_hold(annotations: Any) -> AppHold | None:
    """The auto-sync hold recorded in an object's annotations; None when ``cockpit.dev/hold-by`` is absent.

    Annotation values are untrusted and cut to a kilobyte each; a ``since`` that does not parse reads as None.
    """
    annotations = _map(annotations)
    by = annotations.get(HOLD_BY)
    if not isinstance(by, str) or not by.strip():
        return None

    def text(key: str) -> str:
        value = annotations.get(key)
        return value[:_MAX_HOLD_TEXT] if isinstance(value, str) else ""

    return AppHold(by=text(HOLD_BY), since=parse_time(annotations.get(HOLD_SINCE)), reason=text(HOLD_REASON),
                   incident=text(HOLD_INCIDENT), revision=text(HOLD_REVISION),
                   bad_revision=text(HOLD_BAD_REVISION))


def _owner_appset(meta: dict[str, Any]) -> str:
    for ref in _items(meta.get("ownerReferences")):
        if ref.get("kind") == "ApplicationSet":
            return _text(ref.get("name"))
    return ""


def parse_history(raw: Any) -> tuple[HistoryEntry, ...]:
    """``status.history`` newest first, each entry with what it changed vs the one before it."""
    entries = [entry for entry in _items(raw) if _history_id(entry) is not None]
    entries.sort(key=lambda entry: _history_id(entry) or 0)  # oldest first; stable for equal ids
    parsed: list[HistoryEntry] = []
    previous: dict[str, Any] | None = None
    for entry in entries:
        parsed.append(_history_entry(entry, describe_change(previous, entry)))
        previous = entry
    parsed.reverse()
    return tuple(parsed)


def _history_id(entry: dict[str, Any]) -> int | None:
    value = entry.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _history_entry(entry: dict[str, Any], change: str) -> HistoryEntry:
    return HistoryEntry(
        id=_history_id(entry) or 0,
        deployed_at=parse_time(entry.get("deployedAt")),
        deploy_started_at=parse_time(entry.get("deployStartedAt")),
        revision=_text(entry.get("revision")),
        revisions=_strings(entry.get("revisions")),
        source=_map(entry.get("source")),
        sources=tuple(_items(entry.get("sources"))),
        initiated_by=_initiated_by(entry.get("initiatedBy")),
        change=change,
    )


def _initiated_by(raw: Any) -> str:
    raw = _map(raw)
    username = _text(raw.get("username"))
    if username:
        return username
    return "automated" if raw.get("automated") is True else ""


# --------------------------------------------------------------------------- what changed


def describe_change(prev_entry: Any, entry: Any) -> str:
    """What ``entry``'s source(s) changed compared with the older ``prev_entry``, in words.

    ``first entry`` when there is no older entry; ``no changes`` when source and revision are
    identical; ``revision only`` when only the synced git revision differs; otherwise a
    comma-separated list such as ``image tag catalog v1.5.0 → v1.5.1, chart values``.
    Multi-source entries are compared source by source and prefixed with the source's name.
    Never raises.
    """
    if not isinstance(prev_entry, dict):
        return "first entry"
    entry = _map(entry)
    try:
        return _describe_entries(prev_entry, entry)
    except RecursionError:  # absurdly deep values trees: say so rather than break the pane
        return "source changed (too deeply nested to compare)"


def _pairs(entry: dict[str, Any]) -> tuple[bool, list[tuple[dict[str, Any], str]]]:
    """(multi-source?, [(source, revision)]) for one history entry."""
    sources = _items(entry.get("sources"))
    if sources:
        revisions = list(_strings(entry.get("revisions")))
        revisions += [""] * (len(sources) - len(revisions))
        return True, list(zip(sources, revisions))
    return False, [(_map(entry.get("source")), _text(entry.get("revision")))]


def _describe_entries(prev_entry: dict[str, Any], entry: dict[str, Any]) -> str:
    prev_multi, prev_pairs = _pairs(prev_entry)
    multi, pairs = _pairs(entry)
    if not prev_multi and not multi:
        (old, old_rev), (new, new_rev) = prev_pairs[0], pairs[0]
        return _describe_source(old, old_rev, new, new_rev)
    parts: list[str] = []
    if len(prev_pairs) != len(pairs) or prev_multi != multi:
        parts.append(f"sources {_count_sources(prev_multi, prev_pairs)} {ARROW} {_count_sources(multi, pairs)}")
    for index, ((old, old_rev), (new, new_rev)) in enumerate(zip(prev_pairs, pairs)):
        change = _describe_source(old, old_rev, new, new_rev)
        if change != "no changes":
            parts.append(f"{_source_label(new, index)}: {change}")
    return "; ".join(parts) or "no changes"


def _count_sources(multi: bool, pairs: list[tuple[dict[str, Any], str]]) -> str:
    return str(len(pairs)) if multi else "1 (single-source)"


def _source_label(source: dict[str, Any], index: int) -> str:
    """A short name for a source of a multi-source app, as an on-call would recognise it."""
    for key in ("name", "chart", "path", "ref"):
        label = _text(source.get(key))
        if label:
            return label
    repo = _text(source.get("repoURL")).rstrip("/").rsplit("/", 1)[-1]
    return repo.removesuffix(".git") or f"source {index + 1}"


def _describe_source(old: dict[str, Any], old_rev: str, new: dict[str, Any], new_rev: str) -> str:
    """One source vs its predecessor; the phrases join with ', '."""
    if old == new:
        return "revision only" if old_rev != new_rev else "no changes"
    phrases: list[str] = []
    seen = {"repoURL", "path", "chart", "targetRevision", "helm", "kustomize", "plugin", "directory"}
    if old.get("repoURL") != new.get("repoURL"):
        phrases.append(f"repo {_shown(old.get('repoURL'))} {ARROW} {_shown(new.get('repoURL'))}")
    if old.get("path") != new.get("path"):
        phrases.append(f"path {_shown(old.get('path'))} {ARROW} {_shown(new.get('path'))}")
    if old.get("chart") != new.get("chart"):
        phrases.append(f"chart {_shown(old.get('chart'))} {ARROW} {_shown(new.get('chart'))}")
    if old.get("targetRevision") != new.get("targetRevision"):
        what = "chart version" if new.get("chart") or old.get("chart") else "target revision"
        phrases.append(f"{what} {_shown(old.get('targetRevision'))} {ARROW} {_shown(new.get('targetRevision'))}")
    phrases += _describe_kustomize(_map(old.get("kustomize")), _map(new.get("kustomize")))
    phrases += _describe_helm(_map(old.get("helm")), _map(new.get("helm")))
    for key, words in (("plugin", "plugin settings"), ("directory", "directory settings")):
        if old.get(key) != new.get(key):
            phrases.append(words)
    other = sorted(str(key) for key in set(old) | set(new) if key not in seen and old.get(key) != new.get(key))
    if other:
        phrases.append("source " + ", ".join(other))
    if phrases:
        return ", ".join(phrases)
    return "revision only" if old_rev != new_rev else "no changes"


def _shown(value: Any) -> str:
    """A field value as text for a sentence; absent shows as ``(none)``."""
    if value is None or value == "":
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, default=str, skipkeys=True)


# --------------------------------------------------------------------------- kustomize


def _describe_kustomize(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    if old == new:
        return []
    phrases = _describe_images(_kustomize_images(old.get("images")), _kustomize_images(new.get("images")))
    if old.get("patches") != new.get("patches"):
        phrases.append("kustomize patches")
    other = sorted(
        str(key) for key in set(old) | set(new) if key not in ("images", "patches") and old.get(key) != new.get(key)
    )
    if other:
        phrases.append("kustomize " + ", ".join(other))
    return phrases


def _kustomize_images(raw: Any) -> dict[str, ImageRef]:
    """``images`` overrides keyed by image name -> (label, reference without tag, tag).

    Entries look like ``ghcr.io/acme/catalog:v1.5.1``, ``name=new/name:tag`` or ``name@sha256:…``.
    """
    images: dict[str, ImageRef] = {}
    for entry in _strings(raw):
        name, _, override = entry.partition("=")
        reference, tag = _split_tag(override or name)
        key = _split_tag(name)[0] if override else reference
        images[key] = (_basename(key), reference, tag)
    return images


def _split_tag(image: str) -> tuple[str, str]:
    """(reference, tag-or-digest) of an image string; the tag is "" when there is none."""
    if "@" in image:
        reference, _, digest = image.partition("@")
        return reference, digest
    head, slash, last = image.rpartition("/")
    if ":" in last:
        name, _, tag = last.partition(":")
        return head + slash + name, tag
    return image, ""


def _basename(reference: str) -> str:
    return reference.rstrip("/").rsplit("/", 1)[-1] or reference


def _describe_images(old: Mapping[Any, ImageRef], new: Mapping[Any, ImageRef]) -> list[str]:
    """``image tag catalog v1.5.0 → v1.5.1`` for each image whose tag or reference moved."""
    phrases: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            label, reference, tag = new[key]
            phrases.append(f"image{_spaced(label)} added ({_joined(reference, tag) or '(none)'})")
        elif key not in new:
            phrases.append(f"image{_spaced(old[key][0])} removed")
        elif old[key] != new[key]:
            (label, old_ref, old_tag), (_, new_ref, new_tag) = old[key], new[key]
            if old_ref == new_ref:
                phrases.append(f"image tag{_spaced(label)} {old_tag or '(none)'} {ARROW} {new_tag or '(none)'}")
            else:
                phrases.append(
                    f"image{_spaced(label)} {_joined(old_ref, old_tag)} {ARROW} {_joined(new_ref, new_tag)}"
                )
    return phrases


def _spaced(label: str) -> str:
    return f" {label}" if label else ""


def _joined(reference: str, tag: str) -> str:
    if not tag:
        return reference
    return f"{reference}@{tag}" if tag.startswith("sha256:") else f"{reference}:{tag}"


# --------------------------------------------------------------------------- helm


def _describe_helm(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Image tags set through parameters or values, then ``chart values`` for anything else."""
    if old == new:
        return []
    old_leaves, new_leaves = _helm_leaves(old), _helm_leaves(new)
    if old_leaves is None or new_leaves is None:  # too big to walk: compare as a whole
        values_keys = ("values", "valuesObject", "parameters", "valueFiles")
        changed = any(old.get(key) != new.get(key) for key in values_keys)
        phrases = ["chart values"] if changed else []
    else:
        old_tags, new_tags = _image_tags(old_leaves), _image_tags(new_leaves)
        phrases = _describe_images(old_tags, new_tags)
        old_rest = {path: value for path, value in old_leaves.items() if path not in old_tags}
        new_rest = {path: value for path, value in new_leaves.items() if path not in new_tags}
        changed = old_rest != new_rest or old.get("valueFiles") != new.get("valueFiles")
        if changed:
            phrases.append("chart values")
    handled = {"values", "valuesObject", "parameters", "valueFiles"}
    other = sorted(str(key) for key in set(old) | set(new) if key not in handled and old.get(key) != new.get(key))
    if other:
        phrases.append("helm " + ", ".join(other))
    return phrases


def _helm_leaves(helm: dict[str, Any]) -> Leaves | None:
    """Every scalar the chart receives, keyed by its dotted path; None when too big to walk.

    ``values`` (a YAML string), ``valuesObject`` and ``parameters`` all land in one tree, as
    Helm merges them, so a tag moved from values into a parameter reads as the same path.
    """
    leaves: Leaves = {}
    budget = [_MAX_NODES]
    values = helm.get("values")
    if isinstance(values, str) and values.strip():
        if len(values) > _MAX_VALUES_TEXT:
            return None
        try:
            loaded = yaml.safe_load(values)
        except (yaml.YAMLError, RecursionError, ValueError, TypeError):
            loaded = {"(unparsable values)": values}
        if not _flatten(loaded, (), leaves, budget):
            return None
    elif isinstance(values, dict):  # some tools write values as an object
        if not _flatten(values, (), leaves, budget):
            return None
    if not _flatten(helm.get("valuesObject"), (), leaves, budget):
        return None
    for param in _items(helm.get("parameters")):
        name = _text(param.get("name"))
        if name:
            leaves[tuple(_split_param(name))] = param.get("value")
    return leaves


def _split_param(name: str) -> list[str]:
    r"""``a.b\.c.d`` -> ``["a", "b.c", "d"]`` (Helm's --set escapes dots with a backslash)."""
    parts, current, escaped = [], "", False
    for char in name:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _flatten(tree: Any, path: tuple[str, ...], leaves: Leaves, budget: list[int]) -> bool:
    """Collect scalar leaves of ``tree`` into ``leaves``; False when the walk exceeds its budget."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(tree, path)]
    while stack:
        node, where = stack.pop()
        budget[0] -= 1
        if budget[0] < 0 or len(where) > _MAX_DEPTH:
            return False
        if isinstance(node, dict):
            stack.extend((child, (*where, str(key))) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, (*where, str(index))) for index, child in enumerate(node))
        elif node is not None:
            leaves[where or ("(root)",)] = node
    return True


def _image_tags(leaves: Leaves) -> dict[tuple[str, ...], ImageRef]:
    """The leaves that are image tags, keyed by path -> (label, repository, tag).

    Recognised: ``…image.tag`` (label = the repository's last segment, else the key above
    ``image``), ``…imageTag``, and ``…image: repo:tag`` strings.
    """
    tags: dict[tuple[str, ...], ImageRef] = {}
    for path, value in leaves.items():
        key = path[-1].lower()
        parent = path[-2].lower() if len(path) > 1 else ""
        if key == "tag" and parent.endswith("image"):
            repository = _text(leaves.get((*path[:-1], "repository")))
            label = _basename(repository) if repository else (path[-3] if len(path) > 2 else "")
            tags[path] = (label, repository, str(value))
        elif key.endswith("imagetag"):
            tags[path] = (path[-2] if len(path) > 1 else "", "", str(value))
        elif key.endswith("image") and isinstance(value, str):
            reference, tag = _split_tag(value)
            if tag:
                tags[path] = (_basename(reference), reference, tag)
    return tags
