"""One driver per context: a ``coordination.k8s.io/v1`` Lease that a cockpit takes before it writes.

Two on-call engineers with a cockpit each on the same cluster must not abort and promote the same canary at once.
A live cockpit that is about to write takes the **driver lease** in the incident namespace (``cockpit-driver``),
renews it while the session acts, and every cockpit on that context watches it and says "driven by NAME since T".
While another session holds it, this session's writes are refused with those words; taking over is an explicit,
confirmed write (``Session.plan_takeover``) that the previous driver sees at once -- their next write is refused
with "NAME took over at T", and both audit logs record the hand-over.

The Lease is written the way client-go's leader election writes it (``tools/leaderelection``
``tryAcquireOrRenew``): ``holderIdentity``, ``leaseDurationSeconds``, ``acquireTime`` and ``renewTime`` as
``MicroTime`` (RFC 3339 with six fraction digits, UTC), ``leaseTransitions`` incremented on every change of holder;
a renewal keeps ``acquireTime``; a release clears the holder and sets the duration to one second.  A lease is
valid until the later of its ``renewTime`` and the moment this cockpit saw it change, plus its duration (as
client-go, a remote clock is trusted only within ``SKEW_SECONDS``).

Every Lease write is an :class:`~cockpit.actions.requests.Action` sent through the one gateway: RBAC pre-check,
dry-run, audit before and after, recorded.  Without RBAC for Leases (the access review says no, or the API answers
403 or does not serve the kind) the cockpit says so once, shows no driver and writes as it always did.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from cockpit.actions.requests import JSON, Action, ActionRefused, Risk, kube_write
from cockpit.sources.kube import Resource

log = logging.getLogger("cockpit.lease")

LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", product="Kubernetes")
LEASE_NAME = "cockpit-driver"
LEASE_SECONDS = 120  # how long a lease holds without a renewal
RENEW_SECONDS = 40  # a driver that is acting renews this often (a third of the duration, as client-go's defaults)
ACT_WINDOW_SECONDS = 600  # a driver is "acting" while a runbook runs or for this long after its last write
SKEW_SECONDS = 60  # how far another host's clock may be off before its renewTime is not believed
RELEASE_WAIT_SECONDS = 3.0  # quitting waits this long for the release to be answered
ACTIONS = ("lease.acquire", "lease.renew", "lease.takeover", "lease.release")
_MICRO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_MAX_HOLDER = 256


def micro_time(when: datetime) -> str:
    """``metav1.MicroTime`` as the apiserver and client-go write it: UTC, exactly six fraction digits."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _MICRO.match(value):
        return None
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most six fraction digits
        digits = re.match(r"\d+", rest).group(0)  # type: ignore[union-attr]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
    try:
        return datetime.fromisoformat(text).astimezone(timezone.utc)
    except ValueError:
        return None


def identity(person: str, host: str | None = None, session_id: str | None = None) -> str:
    """``person@host/session``: who drives (shown without the session part) and which cockpit of theirs."""
    return f"{person}@{host or _hostname()}/{session_id or uuid.uuid4().hex[:6]}"


def _hostname() -> str:
    try:
        return socket.gethostname().split(".")[0] or "localhost"
    except OSError:
        return "localhost"


def who(holder: str) -> str:
    """The person and host of a holder identity (``alice@bastion-1``), for the screen."""
    return holder.rsplit("/", 1)[0] if "/" in holder else holder


def hms(when: datetime | None) -> str:
    return f"{when.astimezone(timezone.utc):%H:%M:%S}Z" if when is not None else "?"


# --------------------------------------------------------------------------- the Lease as read


@dataclass(frozen=True)
class LeaseRecord:
    """A Lease's spec as read (untrusted: every field type-checked, the holder bounded)."""

    holder: str
    duration: int
    acquired: datetime | None
    renewed: datetime | None
    transitions: int
    resource_version: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_object(cls, obj: Any) -> LeaseRecord | None:
        if not isinstance(obj, dict):
            return None
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        holder = spec.get("holderIdentity")
        duration = spec.get("leaseDurationSeconds")
        transitions = spec.get("leaseTransitions")
        return cls(
            holder=holder[:_MAX_HOLDER] if isinstance(holder, str) else "",
            duration=duration if isinstance(duration, int) and not isinstance(duration, bool) else 0,
            acquired=parse_time(spec.get("acquireTime")),
            renewed=parse_time(spec.get("renewTime")),
            transitions=transitions if isinstance(transitions, int) and not isinstance(transitions, bool) else 0,
            resource_version=str(meta.get("resourceVersion") or ""),
            raw=obj,
        )

    @property
    def key(self) -> tuple[Any, ...]:
        """What a change of the record is (client-go compares the raw record)."""
        return (self.holder, self.duration, self.acquired, self.renewed, self.transitions)

    def valid(self, now: datetime, observed_at: datetime | None) -> bool:
        """Held by someone and not expired (see the module docstring)."""
        if not self.holder or self.duration <= 0:
            return False
        span = timedelta(seconds=self.duration)
        if self.renewed is not None and self.renewed + span + timedelta(seconds=SKEW_SECONDS) <= now:
            return False  # renewed long ago by any clock: its driver is gone
        latest = max((t for t in (self.renewed, observed_at) if t is not None), default=None)
        return latest is not None and now < latest + span


@dataclass(frozen=True)
class DriverStatus:
    """Who drives a context, for the context bar and ``check_action``.

    ``state``: ``off`` (replay, mirror, or no live context yet), ``checking``, ``unavailable`` (no RBAC for Leases,
    or no Lease API: writes work as before), ``free``, ``mine``, ``other`` (another cockpit drives: writes refused),
    ``taken`` (someone took over from this cockpit: writes refused).
    """

    context: str
    state: str
    holder: str = ""  # person@host of the driver ("" when nobody)
    since: datetime | None = None  # acquireTime, or when it was taken over
    reason: str = ""  # why unavailable

    @property
    def blocks_writes(self) -> bool:
        return self.state in ("other", "taken")

    @property
    def text(self) -> str:
        """One line for the context bar ("" when there is nothing to say).  Quotes the holder: render it cleaned."""
        if self.state == "mine":
            return f"you drive since {hms(self.since)}"
        if self.state == "other":
            return f"driven by {self.holder} since {hms(self.since)}"
        if self.state == "taken":
            return f"{self.holder} took over at {hms(self.since)}: read-only for you"
        if self.state == "free":
            return "no driver"
        if self.state == "unavailable":
            return f"no driver lease ({self.reason})"
        if self.state == "checking":
            return "driver lease: checking"
        return ""

    @property
    def style(self) -> str:
        """A Rich style for the text: others driving is a warning, a take-over an error."""
        return {"mine": "bold green", "other": "bold yellow", "taken": "bold red"}.get(self.state, "dim")

    def refusal(self) -> str | None:
        """Why this session's writes to the context are refused, in words (None: they are not)."""
        if self.state == "taken":
            return (f"{self.holder} took over at {hms(self.since)}: you no longer drive {self.context}; nothing was "
                    "sent (take over again to act)")
        if self.state == "other":
            return (f"{self.context} is driven by {self.holder} since {hms(self.since)}: nothing was sent; take over "
                    "first (it is confirmed, audited, and they see it at once)")
        return None


# --------------------------------------------------------------------------- the writes


def lease_body(namespace: str, *, holder: str, duration: int, acquired: datetime, renewed: datetime,
               transitions: int, resource_version: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": LEASE_NAME, "namespace": namespace}
    if resource_version:
        meta["resourceVersion"] = resource_version
    return {
        "apiVersion": LEASES.api_version,
        "kind": LEASES.kind,
        "metadata": meta,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "acquireTime": micro_time(acquired),
            "renewTime": micro_time(renewed),
            "leaseTransitions": transitions,
        },
    }


def lease_action(kube: Any, namespace: str, me: str, now: datetime, current: LeaseRecord | None, *,
                 kind: str, duration: int = LEASE_SECONDS) -> Action:
    """The Lease write for ``kind`` (``acquire``, ``renew``, ``takeover``, ``release``) from ``current`` (None: the
    Lease does not exist yet, it is created)."""
    if kind not in ("acquire", "renew", "takeover", "release"):
        raise ValueError(f"unknown lease write {kind}")
    context = getattr(kube, "name", "")
    if current is None:
        if kind in ("renew", "release", "takeover"):
            raise ActionRefused(f"there is no driver lease in {namespace} to {kind}")
        body = lease_body(namespace, holder=me, duration=duration, acquired=now, renewed=now, transitions=0)
        write = kube_write(kube, LEASES, namespace, LEASE_NAME, method="POST", body=body, content_type=JSON)
    else:
        if kind == "renew":
            body = lease_body(namespace, holder=me, duration=duration, acquired=current.acquired or now, renewed=now,
                              transitions=current.transitions, resource_version=current.resource_version)
        elif kind == "release":
            body = lease_body(namespace, holder="", duration=1, acquired=now, renewed=now,
                              transitions=current.transitions, resource_version=current.resource_version)
        else:  # a new holder: acquireTime now, one more transition
            body = lease_body(namespace, holder=me, duration=duration, acquired=now, renewed=now,
                              transitions=current.transitions + 1, resource_version=current.resource_version)
        write = kube_write(kube, LEASES, namespace, LEASE_NAME, method="PUT", body=body, content_type=JSON,
                           precondition=current.resource_version)
    previous = who(current.holder) if current is not None else "?"
    words = {
        "acquire": ("take", f"{who(me)} takes the driver lease of {context} before writing"),
        "renew": ("renew", f"{who(me)} still drives {context}"),
        "takeover": ("take over", f"{who(me)} takes over driving {context} from {previous}"),
        "release": ("release", f"{who(me)} stops driving {context}"),
    }[kind]
    warnings: tuple[str, ...] = ()
    if kind == "takeover" and current is not None:
        warnings = (f"{who(current.holder)} drives {context} since {hms(current.acquired)}: their next write will be "
                    "refused, and they see the take-over at once. Tell them (call, chat) before you act.",)
    return Action(
        name=f"lease.{kind}", verb=words[0], kind="Lease", target=LEASE_NAME, namespace=namespace, context=context,
        user=getattr(kube, "user", ""), writes=(write,),
        risk=Risk.DESTRUCTIVE if kind == "takeover" else Risk.LOW, warnings=warnings, summary=words[1],
        current=current.raw if current is not None else None,
        confirm="takeover" if kind == "takeover" else "",
    )


# --------------------------------------------------------------------------- one session's leases


class _Context:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.RLock()  # one lease decision at a time per context
        self.record: LeaseRecord | None = None
        self.observed_at: datetime | None = None  # when this cockpit last saw the record change
        self.synced = False  # the watch (or a read) has told us the state once
        self.unavailable = ""  # why there is no driver lease here ("" = there is)
        self.mine = False  # this session holds the lease (as far as it knows)
        self.taken: tuple[str, datetime] | None = None  # (holder, when) someone took over from this session
        self.last_write: datetime | None = None
        self.watch: Any = None
        self.renewing = False


class DriverLeases:
    """The driver leases of one live session: watched per context, taken and renewed around its writes."""

    def __init__(self, session: Any, *, duration: int = LEASE_SECONDS, renew_seconds: float = RENEW_SECONDS) -> None:
        self.session = session
        self.duration = duration
        self.renew_seconds = renew_seconds
        self.me = identity(session.person)
        self._contexts = {name: _Context(name) for name in session.contexts}
        self._stopped = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Watch every context's lease once it is connected (live sessions only)."""
        for name in self._contexts:
            self.session.scheduler.loop(f"lease:{name}", lambda stopped, n=name: self._watch(n, stopped))

    def stop(self) -> None:
        """Stop the watches; release the leases this session holds (bounded: quitting never hangs on it)."""
        self._stopped.set()
        for ctx in self._contexts.values():
            if ctx.watch is not None:
                ctx.watch.stop()
        held = [ctx for ctx in self._contexts.values() if ctx.mine and not ctx.unavailable]
        if not held:
            return
        thread = threading.Thread(target=lambda: [self._release(ctx) for ctx in held], name="cockpit-lease-release",
                                  daemon=True)
        thread.start()
        thread.join(RELEASE_WAIT_SECONDS)

    # -- what the screen shows -------------------------------------------------------------------------------

    def status(self, context: str) -> DriverStatus:
        ctx = self._contexts.get(context)
        if ctx is None:
            return DriverStatus(context, "off")
        with ctx.lock:
            if ctx.unavailable:
                return DriverStatus(context, "unavailable", reason=ctx.unavailable)
            if not ctx.synced:
                return DriverStatus(context, "checking")
            record, now = ctx.record, self.session.clock.now()
            if record is None or not record.valid(now, ctx.observed_at):
                return DriverStatus(context, "free")
            if record.holder == self.me:
                return DriverStatus(context, "mine", holder=who(record.holder), since=record.acquired)
            if ctx.taken is not None and ctx.taken[0] == who(record.holder):
                return DriverStatus(context, "taken", holder=ctx.taken[0], since=ctx.taken[1])
            return DriverStatus(context, "other", holder=who(record.holder), since=record.acquired)

    # -- the write path ----------------------------------------------------------------------------------------

    def plan_refusal(self, context: str) -> str | None:
        """Words when another cockpit drives ``context`` (no I/O: what the watch last said)."""
        return self.status(context).refusal()

    def before_write(self, planned: Any) -> str | None:
        """Take or renew the lease before ``planned`` is sent (blocking); words when it must not be sent.

        Lease writes themselves pass; a context without a usable Lease API passes (the cockpit says so already)."""
        if planned.action.name in ACTIONS:
            return None
        ctx = self._contexts.get(planned.context)
        if ctx is None or self.session.why_read_only(planned.context):
            return None  # the gateway refuses it with its own words
        with ctx.lock:
            if ctx.unavailable:
                return None
            current = self._read(ctx)
            if ctx.unavailable:
                return None
            refused = self.status(ctx.name).refusal()
            if refused:
                return refused
            kind = "renew" if current is not None and current.holder == self.me else (
                "acquire" if current is None or not current.valid(self.session.clock.now(), ctx.observed_at)
                else "takeover")
            if kind == "takeover":  # (cannot happen: a valid lease of another was refused above)
                return self.status(ctx.name).refusal()
            return self._write(ctx, kind, current)

    def wrote(self, planned: Any) -> None:
        """A write was answered: the session is acting (keep renewing)."""
        ctx = self._contexts.get(planned.context)
        if ctx is not None and planned.action.name not in ACTIONS:
            ctx.last_write = self.session.clock.now()

    def plan_takeover(self, context: str) -> Any:
        """The confirmed take-over, planned through the gateway (blocking: reads the lease).  ActionRefused when
        there is nothing to take over."""
        ctx = self._contexts.get(context)
        if ctx is None:
            raise ActionRefused(f"no context {context}")
        reason = self.session.why_read_only(context)
        if reason:
            raise ActionRefused(f"read-only: {reason}; nothing to take over")
        with ctx.lock:
            current = self._read(ctx)
            if ctx.unavailable:
                raise ActionRefused(f"no driver lease on {context}: {ctx.unavailable}")
            now = self.session.clock.now()
            if current is None or not current.valid(now, ctx.observed_at):
                raise ActionRefused(f"nobody drives {context}: your next write takes the driver lease", noop=True)
            if current.holder == self.me:
                raise ActionRefused(f"you already drive {context}", noop=True)
            state = self.session.contexts[context]
            action = lease_action(state.kube, state.target.namespace, self.me, now, current, kind="takeover",
                                  duration=self.duration)
        return self.session.gateway.plan(action)

    def lease_written(self, planned: Any, result: Any) -> None:
        """After a Lease write through the gateway (a take-over from the UI): what we hold now."""
        if planned.action.name not in ACTIONS:
            return
        ctx = self._contexts.get(planned.context)
        if ctx is None:
            return
        answer = result.responses[-1] if getattr(result, "responses", ()) else None
        record = LeaseRecord.from_object(answer)
        with ctx.lock:
            if result.ok and record is not None:
                self._observe(ctx, record)
                ctx.mine = record.holder == self.me
                if ctx.mine:
                    ctx.taken = None
                    ctx.last_write = self.session.clock.now()
                    self._keep_renewing(ctx)
            elif getattr(result.outcome, "value", "") == "denied":
                ctx.unavailable = self._no_rbac(ctx, str(result.message))
        self._changed(ctx.name)

    # -- internals ------------------------------------------------------------------------------------------

    def _kube(self, ctx: _Context) -> tuple[Any, str]:
        state = self.session.contexts[ctx.name]
        return state.kube, state.target.namespace

    def _read(self, ctx: _Context) -> LeaseRecord | None:
        """The Lease now (a GET); marks the context unavailable on 403 / no API."""
        from cockpit.sources.errors import ErrorKind, SourceError

        kube, namespace = self._kube(ctx)
        if kube is None:
            return ctx.record
        try:
            obj = kube.get(LEASES, namespace, LEASE_NAME)
        except SourceError as err:
            if err.kind in (ErrorKind.FORBIDDEN, ErrorKind.AUTH):
                ctx.unavailable = self._no_rbac(ctx, str(err))
                self._changed(ctx.name)
            elif err.kind is ErrorKind.MISSING:
                ctx.unavailable = "this cluster serves no coordination.k8s.io/v1 Lease"
                self._changed(ctx.name)
            else:
                log.warning("cannot read the driver lease of %s: %s", ctx.name, err)
            return ctx.record
        record = LeaseRecord.from_object(obj) if obj is not None else None
        self._observe(ctx, record)
        return record

    def _observe(self, ctx: _Context, record: LeaseRecord | None) -> None:
        """A new view of the Lease (watch or read): notice a take-over from this session."""
        now = self.session.clock.now()
        old = ctx.record
        if record is None or old is None or record.key != old.key:
            ctx.observed_at = now
        ctx.record, ctx.synced = record, True
        if ctx.mine and (record is None or record.holder != self.me):
            ctx.mine = False
            if record is not None and record.holder:
                since = record.acquired or now
                ctx.taken = (who(record.holder), since)
                self._taken_over(ctx, record, since)

    def _taken_over(self, ctx: _Context, record: LeaseRecord, since: datetime) -> None:
        """Someone took the lease from this session: say it now, audit it, record it."""
        from cockpit.recording.format import marker_payload

        text = f"{who(record.holder)} took over driving {ctx.name} at {hms(since)}"
        session = self.session
        session.notice(f"{text}: your next write will be refused", severity="warning", timeout=12, context=ctx.name)
        session.audit_note("driver-lease", ctx.name, target=LEASE_NAME,
                           detail=f"{text} (leaseTransitions {record.transitions})")
        session.record_event("marker", marker_payload("note", text=f"driver lease: {text}"), context=ctx.name)

    def _write(self, ctx: _Context, kind: str, current: LeaseRecord | None) -> str | None:
        """Acquire or renew through the gateway; None when the write may go on, words when it must not."""
        from cockpit.actions.gateway import Outcome

        kube, namespace = self._kube(ctx)
        session = self.session
        try:
            action = lease_action(kube, namespace, self.me, session.clock.now(), current, kind=kind,
                                  duration=self.duration)
            planned = session.gateway.plan(action)
            result = session.gateway.execute(planned, session.person)
        except ActionRefused as err:
            return str(err)
        if result.ok:
            self.lease_written(planned, result)
            return None
        if result.outcome is Outcome.DENIED:
            ctx.unavailable = self._no_rbac(ctx, result.message)
            self._changed(ctx.name)
            return None  # works as today
        if result.outcome is Outcome.CONFLICT:  # someone wrote the Lease between our read and our write
            self._read(ctx)
            return self.status(ctx.name).refusal() or f"the driver lease changed while taking it: {result.message}"
        if "404" in result.message or "not found" in result.message.lower():
            ctx.unavailable = "this cluster serves no coordination.k8s.io/v1 Lease"
            self._changed(ctx.name)
            return None
        return f"could not take the driver lease of {ctx.name} ({result.message}): nothing was sent"

    def _no_rbac(self, ctx: _Context, why: str) -> str:
        _, namespace = self._kube(ctx)
        text = f"no RBAC for Leases in {namespace}: writes work without a driver lease"
        if not ctx.unavailable:
            self.session.notice(f"{ctx.name}: {text} ({why})", severity="warning", timeout=10, context=ctx.name)
        return text

    def _keep_renewing(self, ctx: _Context) -> None:
        if ctx.renewing:
            return
        ctx.renewing = True
        self.session.scheduler.later(f"lease-renew:{ctx.name}", self.renew_seconds, lambda: self._renew(ctx))

    def _acting(self, ctx: _Context) -> bool:
        runs = [run for run in self.session.run_control.active()
                if getattr(run, "started_at", None) is not None and getattr(run, "context", ctx.name) == ctx.name]
        if runs:
            return True
        last = ctx.last_write
        return last is not None and self.session.clock.now() - last < timedelta(seconds=ACT_WINDOW_SECONDS)

    def _renew(self, ctx: _Context) -> None:
        with ctx.lock:
            ctx.renewing = False
            if self._stopped.is_set() or not ctx.mine or ctx.unavailable:
                return
            if not self._acting(ctx):
                return  # idle: the lease runs out on its own and the context is free again
            current = self._read(ctx)
            if ctx.mine and current is not None and current.holder == self.me:
                self._write(ctx, "renew", current)
            if ctx.mine:
                self._keep_renewing(ctx)

    def _release(self, ctx: _Context) -> None:
        try:
            with ctx.lock:
                current = self._read(ctx)
                if current is None or current.holder != self.me:
                    return
                kube, namespace = self._kube(ctx)
                planned = self.session.gateway.plan(lease_action(kube, namespace, self.me, self.session.clock.now(),
                                                                 current, kind="release", duration=self.duration))
                self.session.gateway.execute(planned, self.session.person)
                ctx.mine = False
        except Exception:  # noqa: BLE001 - quitting: the lease runs out on its own
            log.exception("could not release the driver lease of %s", ctx.name)

    def _changed(self, context: str) -> None:
        from cockpit.session.events import StatusChanged

        self.session.emit(StatusChanged(context))

    def _watch(self, name: str, stopped: threading.Event) -> None:
        """The watch on this context's Lease (a thread): keeps the record current."""
        from cockpit.sources.errors import ErrorKind
        from cockpit.sources.kube import ResourceWatch

        ctx = self._contexts[name]
        state = self.session.contexts[name]
        while not state.connected.wait(0.5):
            if stopped.is_set() or self._stopped.is_set():
                return
        self._check_access(ctx)

        def changed(items: dict[str, dict[str, Any]]) -> None:
            record = next((LeaseRecord.from_object(obj) for obj in items.values()), None)
            with ctx.lock:
                self._observe(ctx, record)
            self._changed(name)

        def watch_state(watch_state: Any) -> None:
            error = watch_state.error
            if error is not None and error.kind in (ErrorKind.FORBIDDEN, ErrorKind.AUTH, ErrorKind.MISSING):
                with ctx.lock:
                    if not ctx.unavailable:
                        ctx.unavailable = ("this cluster serves no coordination.k8s.io/v1 Lease"
                                           if error.kind is ErrorKind.MISSING else self._no_rbac(ctx, str(error)))
                self._changed(name)
                ctx.watch.stop()  # nothing to watch: say so once, write as before

        ctx.watch = ResourceWatch(state.kube, LEASES, state.target.namespace,
                                  field_selector=f"metadata.name={LEASE_NAME}", on_change=changed,
                                  on_state=watch_state)
        if stopped.is_set() or self._stopped.is_set():
            return
        ctx.watch.run(lambda: stopped.is_set() or self._stopped.is_set())

    def _check_access(self, ctx: _Context) -> None:
        """Ask once whether this person may take the lease (a live, writable context only)."""
        from cockpit.actions.gateway import Gateway
        from cockpit.actions.requests import AccessCheck

        if self.session.why_read_only(ctx.name):
            return
        kube, namespace = self._kube(ctx)
        denied = []
        for verb in ("create", "update"):
            answer = Gateway._review(kube, AccessCheck(verb, LEASES.group, LEASES.plural, namespace))
            if answer.allowed is False:
                denied.append(verb)
        if denied:
            with ctx.lock:
                ctx.unavailable = self._no_rbac(ctx, f"the access review says no to {' and '.join(denied)} "
                                                     "leases.coordination.k8s.io")
            self._changed(ctx.name)
