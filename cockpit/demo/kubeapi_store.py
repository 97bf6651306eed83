"""Object storage for the Kubernetes API emulator: objects, the global resourceVersion, watch history.

Like etcd behind the apiserver, every committed write gets the next value of one global counter as
its ``resourceVersion`` and becomes a watch event.  Stored objects are never mutated after commit
(each write stores a new dict), so a list can hand out references and their pre-serialised JSON
(``Entry.raw``) without copying: a list of 10 000 objects is one ``b",".join``.

History is kept per resource type (the apiserver's watch cache is per type too), trimmed to
``history_limit`` events; a watch that resumes from a resourceVersion older than what is retained
gets :class:`Expired` (the server turns it into an ``ERROR`` event with a 410 ``Status``).
"""

from __future__ import annotations

import json
import queue
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cockpit.demo.kubeapi_kinds import ResourceType

Matcher = Callable[[dict[str, Any]], bool]


def dump(obj: Any) -> bytes:
    """Compact JSON, the only serialisation the emulator uses for bodies and stored objects."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Entry:
    obj: dict[str, Any]  # never mutated once stored
    raw: bytes  # dump(obj)
    rv: int


@dataclass(frozen=True)
class WatchEvent:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    obj: dict[str, Any]
    raw: bytes
    old: dict[str, Any] | None  # the previous state, to notice objects leaving a selector


class Expired(Exception):
    """The requested resourceVersion is older than the retained watch history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


STOP = object()  # queued to a watcher to end its stream (server stopping)
END = object()  # queued to a watcher to end its stream cleanly (its resource type is no longer served)


@dataclass(eq=False)
class Watcher:
    """One open watch: a queue the store fills under its lock, drained by the serving thread."""

    rt: ResourceType
    namespace: str | None
    matcher: Matcher
    events: queue.SimpleQueue[Any] = field(default_factory=queue.SimpleQueue)

    def _visible(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and (obj.get("metadata") or {}).get("namespace") != self.namespace:
            return False
        return self.matcher(obj)

    def translate(self, event: WatchEvent) -> tuple[str, bytes] | None:
        """What this watcher's client sees for a stored event, honouring its selectors.

        An object that stops matching is reported as DELETED (its last matching state at the new
        resourceVersion) and one that starts matching as ADDED, as the apiserver's watch cache does.
        """
        if event.type == "DELETED":
            return ("DELETED", event.raw) if self._visible(event.obj) else None
        now, before = self._visible(event.obj), self._visible(event.old)
        if now:
            return ("MODIFIED" if before and event.type == "MODIFIED" else "ADDED", event.raw)
        if before and event.old is not None:
            gone = dict(event.old)
            gone["metadata"] = {**event.old["metadata"], "resourceVersion": str(event.rv)}
            return ("DELETED", dump(gone))
        return None


class Store:
    """All objects of all served types, guarded by one re-entrant lock.

    Callers that read-modify-write (the apiserver semantics in ``kubeapi_ops``) hold ``lock``
    around the whole operation so checks such as "resourceVersion is current" cannot race.
    """

    def __init__(self, history_limit: int = 1000) -> None:
        self.lock = threading.RLock()
        self.history_limit = max(1, history_limit)
        self._rv = 0
        self._objects: dict[ResourceType, dict[tuple[str, str], Entry]] = defaultdict(dict)
        self._history: dict[ResourceType, deque[WatchEvent]] = defaultdict(deque)
        self._floor: dict[ResourceType, int] = defaultdict(int)  # every event after it is retained
        self._watchers: dict[ResourceType, set[Watcher]] = defaultdict(set)
        self._expired_at = 0  # expire_history(): nothing before this is resumable, for any type

    @property
    def resource_version(self) -> int:
        with self.lock:
            return self._rv

    # ------------------------------------------------------------------ reads

    def get(self, rt: ResourceType, namespace: str, name: str) -> Entry | None:
        with self.lock:
            return self._objects[rt].get((namespace, name))

    def list(self, rt: ResourceType, namespace: str | None, matcher: Matcher) -> tuple[list[Entry], int]:
        """Matching entries sorted by namespace/name, and the resourceVersion they are current at."""
        with self.lock:
            entries = list(self._objects[rt].items())
            rv = self._rv
        selected = [
            entry
            for (ns, _), entry in sorted(entries, key=lambda item: item[0])
            if (namespace is None or ns == namespace) and matcher(entry.obj)
        ]
        return selected, rv

    def count(self, rt: ResourceType) -> int:
        with self.lock:
            return len(self._objects[rt])

    # ------------------------------------------------------------------ writes

    def commit(self, rt: ResourceType, event_type: str, obj: dict[str, Any]) -> Entry:
        """Store *obj* (now owned by the store) under the next resourceVersion and fan the event out.

        For DELETED, *obj* is the object's final state; it is removed from storage.
        """
        with self.lock:
            meta = obj["metadata"]
            key = (meta.get("namespace") or "", meta["name"])
            self._rv += 1
            meta["resourceVersion"] = str(self._rv)
            raw = dump(obj)
            entry = Entry(obj, raw, self._rv)
            previous = self._objects[rt].get(key)
            if event_type == "DELETED":
                self._objects[rt].pop(key, None)
            else:
                self._objects[rt][key] = entry
            event = WatchEvent(self._rv, event_type, obj, raw, previous.obj if previous else None)
            history = self._history[rt]
            history.append(event)
            while len(history) > self.history_limit:
                self._floor[rt] = history.popleft().rv
            for watcher in self._watchers[rt]:
                watcher.events.put(event)
            return entry

    # ------------------------------------------------------------------ watches

    def watch(
        self, rt: ResourceType, namespace: str | None, matcher: Matcher, resource_version: str | None
    ) -> tuple[Watcher, list[tuple[str, bytes]]]:
        """Register a watcher and return the events it must send before live ones.

        ``resource_version`` None/""/"0": every current object as ADDED.  Otherwise the retained
        events after it (raises :class:`Expired` if some were already forgotten, ``ValueError`` if it
        is not a number).
        """
        watcher = Watcher(rt, namespace, matcher)
        with self.lock:
            if resource_version in (None, "", "0"):
                entries = sorted(self._objects[rt].values(), key=lambda e: e.rv)
                initial = [("ADDED", e.raw) for e in entries if watcher._visible(e.obj)]
            else:
                since = int(resource_version)
                floor = max(self._floor[rt], self._expired_at)
                if since < floor:
                    raise Expired(since, floor + 1)
                initial = []
                for event in self._history[rt]:
                    if event.rv > since and (seen := watcher.translate(event)) is not None:
                        initial.append(seen)
            self._watchers[rt].add(watcher)
        return watcher, initial

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            self._watchers[watcher.rt].discard(watcher)

    def idle(self, watcher: Watcher) -> int | None:
        """The current resourceVersion if *watcher* has nothing queued (safe to send a BOOKMARK)."""
        with self.lock:
            return self._rv if watcher.events.empty() else None

    def stop_watchers(self) -> None:
        with self.lock:
            for watchers in self._watchers.values():
                for watcher in watchers:
                    watcher.events.put(STOP)

    def end_watchers(self, rt: ResourceType) -> None:
        """End every open watch on ``rt`` cleanly (its CRD was deleted); forget its history."""
        with self.lock:
            for watcher in self._watchers[rt]:
                watcher.events.put(END)
            self._history[rt].clear()

    def expire_history(self) -> None:
        """Forget all watch history: resuming from any resourceVersion before now gets 410."""
        with self.lock:
            for history in self._history.values():
                history.clear()
            self._expired_at = self._rv
