"""The write gateway: the one place the cockpit sends anything that changes a cluster, a bucket or a repository.

Upstream CLIs do every rollback step with no prompt and no dry-run (MECHANICS (a) 7, (b); ASKS "confirmation").
This class adds, in one choke point, what they lack::

    planned = gateway.plan(action)               # pure: stamps id, time, read-only state; sends nothing
    check = gateway.preflight(planned)           # RBAC SelfSubjectAccessReview + server-side dry-run
    ...the modal shows planned + check, the person confirms...
    result = gateway.execute(planned, confirmed_by="alice", typed="catalog")

* **read-only** (``--read-only``, a context's ``read_only = true``, replay) is enforced here, not by hiding keys
  (MECHANICS "What follows" 1; k9s#2604 shows UI-only read-only leaking): ``preflight`` and ``execute`` send
  nothing at all -- not even a dry-run or an access review -- and say why.
* **RBAC**: one SelfSubjectAccessReview per distinct (verb, resource, subresource, namespace, name), so the UI
  can show an action as not permitted, and why, before anyone confirms it.
* **dry-run**: ``dryRun=All`` for Kubernetes; for S3 a listing that proves the delete marker is still the latest
  version; for git the revert on a scratch branch in a throwaway worktree; for helm ``helm rollback --dry-run``;
  for other HTTP APIs (a flag provider) there is none, and the pre-check says so.
* **audit**: one fsync'd record before each request is sent and one after its answer (``cockpit.actions.audit``);
  when the "before" record cannot be written the request is not sent.
* **conflicts**: writes carry the resourceVersion they were built from; a 409 (or a failed JSON-patch ``test``
  of ``/metadata/resourceVersion``, which the apiserver answers with 422) comes back as ``Outcome.CONFLICT``.
  It is never retried: the person looks again and re-plans.

Every method blocks (HTTP, subprocesses, git): call them from a worker thread.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from cockpit.actions.audit import AuditError, AuditLog
from cockpit.actions.requests import (
    MASKED_NOTE,
    AccessCheck,
    Action,
    CommandWrite,
    GitWrite,
    HttpWrite,
    KubeWrite,
    Risk,
    S3Write,
    Write,
    masks_secrets,
)
from cockpit.clock import Clock
from cockpit.redact import REDACTED, redact_text, redact_value
from cockpit.sources.errors import ErrorKind, SourceError

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
_MAX_CHANGES = 24
_IGNORED_META = ("resourceVersion", "generation", "managedFields", "uid", "creationTimestamp", "selfLink")


class Outcome(str, Enum):
    OK = "ok"
    REFUSED = "refused"  # not sent: read-only, unconfirmed, dry-run failed, audit log unwritable
    DENIED = "denied"  # not permitted (RBAC), by the pre-check or by the server
    CONFLICT = "conflict"  # the object changed since the plan was made: nothing written, look again
    FAILED = "failed"  # the server (or tool) said no, or did not answer
    PARTIAL = "partial"  # a multi-request action stopped after some requests succeeded


@dataclass(frozen=True)
class PlannedWrite:
    """An action ready to be shown, pre-checked and confirmed.  Frozen: what is confirmed is what is sent."""

    id: str
    action: Action
    planned_at: datetime
    read_only: str | None  # why writes are refused here, None when they are allowed
    # The pre-mortem (cockpit.premortem.Premortem) when the session assessed this write: it goes into every audit
    # record of it, and a RISKY/UNSAFE one is not sent without the person's typed reason.
    premortem: Any = field(default=None, compare=False)

    # -- what the modal shows ---------------------------------------------------------------------------------
    @property
    def verb(self) -> str:
        return self.action.verb

    @property
    def kind(self) -> str:
        return self.action.kind

    @property
    def target(self) -> str:
        return self.action.target

    @property
    def namespace(self) -> str:
        return self.action.namespace

    @property
    def context(self) -> str:
        return self.action.context

    @property
    def user(self) -> str:
        return self.action.user

    @property
    def risk(self) -> Risk:
        return self.action.risk

    @property
    def confirm_word(self) -> str:
        return self.action.confirm_word

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(redact_text(text) for text in self.action.warnings)

    @property
    def writes(self) -> tuple[Write, ...]:
        return self.action.writes

    # What is shown is masked by the one redactor; ``action`` keeps the exact values that are sent.
    @property
    def summary(self) -> str:
        return redact_text(self.action.summary)

    @property
    def preview(self) -> str:
        return redact_text(self.action.preview)

    @property
    def follow_up(self) -> str:
        return redact_text(self.action.follow_up)

    # The first request's parts, for the common one-request case (every request is in ``writes``).
    @property
    def method(self) -> str:
        first = self.writes[0] if self.writes else None
        return first.method if isinstance(first, KubeWrite) else ""

    @property
    def path(self) -> str:
        first = self.writes[0] if self.writes else None
        return first.path if isinstance(first, KubeWrite) else ""

    @property
    def content_type(self) -> str | None:
        first = self.writes[0] if self.writes else None
        return first.content_type if isinstance(first, KubeWrite) else None

    @property
    def body(self) -> Any:
        first = self.writes[0] if self.writes else None
        return first.body if isinstance(first, KubeWrite) else None

    @property
    def command(self) -> str:
        """Non-Kubernetes requests as the command line a person would type; "" for Kubernetes ones."""
        return "\n".join(w.display() for w in self.writes if not isinstance(w, KubeWrite))

    def requests_text(self) -> str:
        """Every request as it will be sent, numbered when there is more than one, credentials masked.

        When something was masked (an undo's pod template with ``DB_PASSWORD``) the last line says so.
        """
        if len(self.writes) == 1:
            text = self.writes[0].display()
        else:
            text = "\n\n".join(f"[{index}/{len(self.writes)}] {w.display()}" for index, w in
                                 enumerate(self.writes, start=1))
        if self.masked:
            text += "\n" + MASKED_NOTE
        return text

    @property
    def masked(self) -> bool:
        """Were secret values masked in what is shown, audited and recorded?"""
        return any(masks_secrets(write) for write in self.writes)

    def headline(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {self.kind} {self.target}{where} (context {self.context}, as {self.user or '?'})"


@dataclass(frozen=True)
class AccessResult:
    check: AccessCheck
    allowed: bool | None  # None: the review itself failed, so we cannot tell
    reason: str


@dataclass(frozen=True)
class DryRunResult:
    ok: bool | None  # None: no dry-run exists for this request (nothing was checked)
    summary: str
    changes: tuple[str, ...] = ()  # "status.abort: (unset) → true"
    conflict: bool = False


@dataclass(frozen=True)
class Preflight:
    """What the pre-checks found; nothing here was written."""

    plan_id: str
    refused: str | None  # read-only: nothing was checked or sent
    access: tuple[AccessResult, ...] = ()
    dry_run: tuple[DryRunResult, ...] = ()

    @property
    def permitted(self) -> bool | None:
        if self.refused:
            return False
        if any(item.allowed is False for item in self.access):
            return False
        if any(item.allowed is None for item in self.access):
            return None
        return True

    @property
    def ok(self) -> bool:
        """May this be sent?  (read-only off, not denied, no dry-run said it would fail)."""
        return self.permitted is not False and all(item.ok is not False for item in self.dry_run)

    @property
    def reason(self) -> str:
        """The first thing that stops it, in words; "" when nothing does."""
        if self.refused:
            return self.refused
        for item in self.access:
            if item.allowed is False:
                return f"not permitted: {item.check.words()}" + (f" ({item.reason})" if item.reason else "")
        for item in self.dry_run:
            if item.ok is False:
                return f"dry-run failed: {item.summary}"
        return ""

    def lines(self) -> list[str]:
        """For the modal: one line per access check and per dry-run."""
        if self.refused:
            return [self.refused]
        out = []
        for item in self.access:
            state = {True: "allowed", False: "NOT permitted", None: "unknown"}[item.allowed]
            out.append(f"RBAC {item.check.words()}: {state}" + (f" ({item.reason})" if item.reason else ""))
        for index, item in enumerate(self.dry_run, start=1):
            label = "dry-run" if len(self.dry_run) == 1 else f"dry-run {index}"
            state = {True: "ok", False: "FAILED", None: "not available"}[item.ok]
            out.append(f"{label}: {state}: {item.summary}")
            out += [f"  {change}" for change in item.changes]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "refused": self.refused,
            "access": [
                {"check": item.check.attributes(), "allowed": item.allowed, "reason": item.reason}
                for item in self.access
            ],
            "dry_run": [
                {"ok": item.ok, "summary": item.summary, "changes": list(item.changes)} for item in self.dry_run
            ],
        }


@dataclass(frozen=True)
class WriteResult:
    plan_id: str
    outcome: Outcome
    message: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    sent: int = 0  # requests that got a successful answer
    responses: tuple[Any, ...] = field(default=(), compare=False, repr=False)  # parsed answers, in order

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


ReadOnlyReason = Callable[[str], str | None]
CommandRunner = Callable[..., subprocess.CompletedProcess]


class Gateway:
    """Every write goes through one instance of this class (one per app)."""

    def __init__(
        self,
        *,
        read_only_reason: ReadOnlyReason = lambda context: None,
        audit: AuditLog | None = None,
        clock: Clock | None = None,
        run_command: CommandRunner = subprocess.run,
        on_record: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._read_only_reason = read_only_reason
        self._on_record = on_record
        self.audit = audit if audit is not None else AuditLog()
        self.clock = clock or Clock()
        self._run = run_command
        self._lock = threading.Lock()
        self._preflights: dict[str, Preflight] = {}

    # ------------------------------------------------------------------------------------------------ plan

    def read_only(self, context: str) -> str | None:
        """Why writes to ``context`` are refused, or None.  Also what ``check_action`` can ask to dim keys."""
        reason = self._read_only_reason(context)
        return f"read-only: {reason}; nothing was sent" if reason else None

    def plan(self, action: Action) -> PlannedWrite:
        """Stamp an action for showing; sends nothing (the action's builder already did its reads)."""
        if not action.writes:
            raise ValueError(f"action {action.name} has no requests")
        return PlannedWrite(uuid.uuid4().hex[:16], action, self.clock.now(), self.read_only(action.context))

    # ------------------------------------------------------------------------------------------------ preflight

    def preflight(self, planned: PlannedWrite) -> Preflight:
        """RBAC pre-check, then the dry-run of every request.  In read-only mode: nothing is sent at all."""
        refused = self.read_only(planned.context)
        if refused:
            result = Preflight(planned.id, refused)
        else:
            access = self._access(planned)
            if any(item.allowed is False for item in access):
                dry: tuple[DryRunResult, ...] = ()  # denied: a dry-run would only be refused too
            else:
                dry = tuple(self._dry_run(write, planned) for write in planned.writes)
            result = Preflight(planned.id, None, access, dry)
        with self._lock:
            self._preflights[planned.id] = result
        return result

    def _access(self, planned: PlannedWrite) -> tuple[AccessResult, ...]:
        seen: dict[AccessCheck, Any] = {}
        for write in planned.writes:
            if isinstance(write, KubeWrite) and write.access is not None:
                seen.setdefault(write.access, write.context)
            elif isinstance(write, CommandWrite) and write.context is not None:
                for check in write.access:
                    seen.setdefault(check, write.context)
        return tuple(self._review(ctx, check) for check, ctx in seen.items())

    @staticmethod
    def _review(ctx: Any, check: AccessCheck) -> AccessResult:
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": check.attributes()},
        }
        try:
            answer = ctx.request("POST", SSAR_PATH, body=body, content_type="application/json")
        except SourceError as err:
            return AccessResult(check, None, f"access review failed: {err}")
        status = answer.get("status") if isinstance(answer, dict) else None
        if not isinstance(status, dict):
            return AccessResult(check, None, "access review answered without a status")
        allowed = status.get("allowed") is True and status.get("denied") is not True
        reason = str(status.get("reason") or status.get("evaluationError") or "")
        return AccessResult(check, allowed, reason)

    def _dry_run(self, write: Write, planned: PlannedWrite) -> DryRunResult:
        if isinstance(write, KubeWrite):
            return self._dry_run_kube(write, planned)
        if isinstance(write, S3Write):
            from cockpit.actions import s3

            return s3.preview_delete(write)
        if isinstance(write, GitWrite):
            from cockpit.actions import gitops

            return gitops.dry_run(write)
        if isinstance(write, CommandWrite):
            return self._dry_run_command(write)
        if isinstance(write, HttpWrite):
            note = f"; {write.dry_run_note}" if write.dry_run_note else ""
            return DryRunResult(None, f"no server-side dry-run for this API ({write.api}): nothing was checked on "
                                      f"the server{note}")
        return DryRunResult(None, "no dry-run for this request")

    def _dry_run_kube(self, write: KubeWrite, planned: PlannedWrite) -> DryRunResult:
        try:
            answer = write.context.request(
                write.method, write.path, query=[*write.query, ("dryRun", "All")], body=write.body,
                content_type=write.content_type,
            )
        except SourceError as err:
            if _is_conflict(err, write):
                return DryRunResult(False, _conflict_text(planned, write), conflict=True)
            return DryRunResult(False, f"the server would refuse it: {err}")
        if write.method == "POST":
            return DryRunResult(True, f"the server would create {planned.kind} {_name_of(answer) or planned.target}")
        changes = _changes(planned.action.current, answer)
        if not changes:
            return DryRunResult(True, "accepted; it changes nothing the server stores")
        return DryRunResult(True, "accepted by the server (nothing stored)", tuple(changes))

    def _dry_run_command(self, write: CommandWrite) -> DryRunResult:
        if not write.dry_run_argv:
            return DryRunResult(None, f"{write.argv[0]} has no dry-run for this command")
        if shutil.which(write.dry_run_argv[0]) is None:
            return DryRunResult(False, f"{write.dry_run_argv[0]} is not installed (not found on PATH)")
        try:
            done = self._run(list(write.dry_run_argv), capture_output=True, text=True, timeout=min(write.timeout, 120))
        except subprocess.TimeoutExpired:
            return DryRunResult(False, f"{write.dry_run_argv[0]} --dry-run did not finish in time")
        except OSError as err:
            return DryRunResult(False, f"cannot run {write.dry_run_argv[0]}: {err.strerror or err}")
        text = _tail(done.stdout) or _tail(done.stderr)
        if done.returncode != 0:
            return DryRunResult(False, f"exit {done.returncode}: {_tail(done.stderr) or text}")
        return DryRunResult(True, text or "dry-run succeeded")

    # ------------------------------------------------------------------------------------------------ execute

    def execute(self, planned: PlannedWrite, confirmed_by: str, *, typed: str | None = None,
                reason: str | None = None) -> WriteResult:
        """Send the planned requests, in order, with an audit record before and after each one.

        ``confirmed_by`` names the person who confirmed; ``typed`` is what they typed in the modal: the target's
        name for destructive actions (required), ``y`` (or nothing) for low-risk ones.  ``reason`` is why they
        went ahead: required when the write's pre-mortem is RISKY or UNSAFE (``cockpit.premortem.needs_reason``).
        """
        refusal = self._refusal(planned, confirmed_by, typed)
        if refusal is None:
            refusal = self._premortem_refusal(planned, reason)
        if refusal is not None:
            return refusal
        with self._lock:
            check = self._preflights.get(planned.id)
        if check is None:
            check = self.preflight(planned)
        if check.refused:
            return WriteResult(planned.id, Outcome.REFUSED, check.refused)
        if check.permitted is False:
            return WriteResult(planned.id, Outcome.DENIED, f"{check.reason}; nothing was sent")
        for item in check.dry_run:
            if item.conflict:
                return WriteResult(planned.id, Outcome.CONFLICT, item.summary)
            if item.ok is False:
                return WriteResult(planned.id, Outcome.REFUSED, f"dry-run failed, nothing was sent: {item.summary}")
        with self._lock:
            self._preflights.pop(planned.id, None)  # sending the same plan again re-runs the checks first

        started = self.clock.now()
        responses: list[Any] = []
        last = ""
        total = len(planned.writes)
        for index, write in enumerate(planned.writes):
            dry = check.dry_run[index] if index < len(check.dry_run) else None
            base = self._record_base(planned, write, index, total, confirmed_by, check, dry)
            base.update(_premortem_fields(planned, reason))
            try:
                self._append({"time": self.clock.now().isoformat(), "event": "before", **base,
                              "outcome": "sending"})
            except AuditError as err:
                outcome = Outcome.PARTIAL if responses else Outcome.REFUSED
                return WriteResult(planned.id, outcome, f"{err}; request {index + 1} was not sent", started,
                                   self.clock.now(), len(responses), tuple(responses))
            outcome, message, answer, status = self._send(write, planned)
            after = {"time": self.clock.now().isoformat(), "event": "after", **base, "outcome": outcome.value,
                     "status": status, "message": message, "result": _result_summary(answer)}
            try:
                self._append(after)
            except AuditError as err:
                message = f"{message} (and the audit record of the answer failed: {err})"
            if outcome is not Outcome.OK:
                if responses and outcome is not Outcome.CONFLICT:
                    outcome = Outcome.PARTIAL
                    message = f"request {index + 1} of {total} failed after {index} succeeded: {message}"
                return WriteResult(planned.id, outcome, message, started, self.clock.now(), len(responses),
                                   tuple(responses))
            responses.append(answer)
            last = message
        done = f"{planned.verb} {planned.kind} {planned.target}: done"
        if last and last != "ok":  # what the tool said (helm's output, the pushed branch, the restored key)
            done += f" ({last})" if total == 1 else f" ({total} requests; last: {last})"
        return WriteResult(planned.id, Outcome.OK, done, started, self.clock.now(), len(responses), tuple(responses))

    def _refusal(self, planned: PlannedWrite, confirmed_by: str, typed: str | None) -> WriteResult | None:
        refused = self.read_only(planned.context)
        if refused:
            return WriteResult(planned.id, Outcome.REFUSED, refused)
        if not confirmed_by or not confirmed_by.strip():
            return WriteResult(planned.id, Outcome.REFUSED, "not confirmed: nothing was sent")
        if planned.risk is Risk.DESTRUCTIVE and (typed or "").strip() != planned.confirm_word:
            return WriteResult(
                planned.id, Outcome.REFUSED, f"type {planned.confirm_word} to confirm: nothing was sent"
            )
        if planned.risk is Risk.LOW and typed is not None and typed.strip().lower() not in ("y", "yes"):
            return WriteResult(planned.id, Outcome.REFUSED, "not confirmed: nothing was sent")
        return None

    @staticmethod
    def _premortem_refusal(planned: PlannedWrite, reason: str | None) -> WriteResult | None:
        if planned.premortem is None:
            return None
        from cockpit.premortem import needs_reason

        if needs_reason(planned.premortem) and not (reason or "").strip():
            verdict = getattr(getattr(planned.premortem, "verdict", None), "value", "?")
            return WriteResult(planned.id, Outcome.REFUSED, f"the pre-mortem says {verdict.upper()}: type why you "
                                                            "go ahead anyway; nothing was sent")
        return None

    def _record_base(
        self,
        planned: PlannedWrite,
        write: Write,
        index: int,
        total: int,
        confirmed_by: str,
        check: Preflight,
        dry: DryRunResult | None,
    ) -> dict[str, Any]:
        return {
            "plan_id": planned.id,
            "request_no": index + 1,
            "requests": total,
            "context": planned.context,
            "user": planned.user,
            "confirmed_by": confirmed_by,
            "action": planned.action.name,
            "verb": planned.verb,
            "kind": planned.kind,
            "target": planned.target,
            "namespace": planned.namespace,
            "risk": planned.risk.value,
            "request": write.describe(),
            "precondition": getattr(write, "precondition", "") or None,
            "access": [
                {"check": item.check.attributes(), "allowed": item.allowed, "reason": item.reason}
                for item in check.access
            ],
            "dry_run": None if dry is None else {"ok": dry.ok, "summary": dry.summary, "changes": list(dry.changes)},
        }

    def _send(self, write: Write, planned: PlannedWrite) -> tuple[Outcome, str, Any, int | None]:
        if isinstance(write, KubeWrite):
            try:
                answer = write.context.request(
                    write.method, write.path, query=list(write.query) or None, body=write.body,
                    content_type=write.content_type,
                )
            except SourceError as err:
                if _is_conflict(err, write):
                    return Outcome.CONFLICT, _conflict_text(planned, write), None, err.status
                if err.kind in (ErrorKind.FORBIDDEN, ErrorKind.AUTH):
                    return Outcome.DENIED, str(err), None, err.status
                return Outcome.FAILED, str(err), None, err.status
            return Outcome.OK, "ok", answer, 200
        if isinstance(write, S3Write):
            from cockpit.actions import s3

            return s3.send_delete(write)
        if isinstance(write, GitWrite):
            from cockpit.actions import gitops

            return gitops.send_revert(write)
        if isinstance(write, CommandWrite):
            return self._send_command(write)
        if isinstance(write, HttpWrite):
            from cockpit.actions import http

            return http.send(write)
        return Outcome.FAILED, f"unknown request type {type(write).__name__}", None, None

    def _send_command(self, write: CommandWrite) -> tuple[Outcome, str, Any, int | None]:
        if shutil.which(write.argv[0]) is None:
            return Outcome.FAILED, f"{write.argv[0]} is not installed (not found on PATH)", None, None
        try:
            done = self._run(list(write.argv), capture_output=True, text=True, timeout=write.timeout)
        except subprocess.TimeoutExpired:
            return Outcome.FAILED, f"{write.argv[0]} did not finish in {write.timeout:g}s", None, None
        except OSError as err:
            return Outcome.FAILED, f"cannot run {write.argv[0]}: {err.strerror or err}", None, None
        if done.returncode != 0:
            return Outcome.FAILED, f"exit {done.returncode}: {_tail(done.stderr) or _tail(done.stdout)}", None, \
                done.returncode
        return Outcome.OK, _tail(done.stdout) or "ok", {"stdout": _tail(done.stdout, 2000)}, 0

    def _append(self, record: dict[str, Any]) -> dict[str, Any]:
        written = self.audit.append(record)
        if self._on_record is not None:
            try:
                self._on_record(written)  # e.g. the recorder's "audit" event; never allowed to stop a write
            except Exception:  # noqa: BLE001
                pass
        return written

    # ------------------------------------------------------------------------------------------------ manual

    def record_manual(
        self, *, context: str, runbook: str, step: str, instruction: str, done_by: str, note: str = ""
    ) -> dict[str, Any]:
        """One audit record for a manual step the person marked done (a flag flip, a PR merge, a page).

        Nothing is sent anywhere, so this is allowed in read-only mode too: it records what a person did.
        """
        return self._append(
            {
                "time": self.clock.now().isoformat(),
                "event": "manual",
                "context": context,
                "action": "manual",
                "runbook": runbook,
                "target": step,
                "instruction": instruction,
                "confirmed_by": done_by,
                "note": note,
                "outcome": "done",
            }
        )


# --------------------------------------------------------------------------- helpers


def _premortem_fields(planned: PlannedWrite, reason: str | None) -> dict[str, Any]:
    """What the audit record adds for an assessed write: the verdict with its reasons, and the person's reason."""
    out: dict[str, Any] = {}
    if planned.premortem is not None:
        out["premortem"] = planned.premortem.to_dict()
    if reason and reason.strip():
        out["reason"] = redact_text(reason.strip()[:1000])
    if planned.action.audit_note:
        out["note"] = redact_text(planned.action.audit_note)
    return out


def _is_conflict(err: SourceError, write: KubeWrite) -> bool:
    if err.kind is ErrorKind.CONFLICT:
        return True
    # A failed JSON-patch ``test`` op is answered 422 by the apiserver (GenericServerResponse in patch.go).
    return err.kind is ErrorKind.INVALID and write.uses_json_patch_test and "test" in err.message.lower()


def _conflict_text(planned: PlannedWrite, write: KubeWrite) -> str:
    since = f" (it was at resourceVersion {write.precondition})" if write.precondition else ""
    return (
        f"conflict: {planned.kind} {planned.target} changed since it was read{since}; nothing was written. "
        "Look at it again and re-plan."
    )


def _name_of(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return str(meta.get("name") or "") if isinstance(meta, dict) else ""


def _result_summary(answer: Any) -> Any:
    """What the audit keeps of an answer: identity and version, not the whole object."""
    if isinstance(answer, dict) and isinstance(answer.get("metadata"), dict):
        meta = answer["metadata"]
        return {
            "kind": answer.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "resourceVersion": meta.get("resourceVersion"),
            "generation": meta.get("generation"),
        }
    return answer


def _tail(text: str | None, limit: int = 400) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "(unset)"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


_MISSING = object()


def _changes(before: Any, after: Any) -> list[str]:
    """"path: old → new" for every leaf that differs (server-managed metadata ignored), at most a screenful.

    The values shown are the redacted ones (an env entry's ``DB_PASSWORD`` value is ``[REDACTED]``); a change
    that is only in a masked value still shows up, as "a masked value changed".
    """
    out: list[str] = []
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    _walk_changes(before, after, redact_value(before), redact_value(after), "", out)
    if len(out) > _MAX_CHANGES:
        out = out[:_MAX_CHANGES] + [f"… and {len(out) - _MAX_CHANGES} more"]
    return [redact_text(line) for line in out]


def _walk_changes(before: Any, after: Any, shown_before: Any, shown_after: Any, path: str, out: list[str]) -> None:
    """Walk the exact objects to find what differs; show the redacted twins (same shape) of what differs."""
    if len(out) > _MAX_CHANGES * 4:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in list(before) + [k for k in after if k not in before]:
            if path == "metadata" and key in _IGNORED_META:
                continue
            child = f"{path}.{key}" if path else str(key)
            _walk_changes(before.get(key, _MISSING), after.get(key, _MISSING), _twin(shown_before, key),
                          _twin(shown_after, key), child, out)
        return
    if before != after:
        old, new = _shown(_masked_twin(before, shown_before)), _shown(_masked_twin(after, shown_after))
        note = " (a masked value changed)" if old == new else ""
        out.append(f"{path}: {old} → {new}{note}")


def _twin(shown: Any, key: str) -> Any:
    """The redacted counterpart of ``before[key]``: a masked sub-tree is masked all the way down."""
    if isinstance(shown, dict):
        return shown.get(key, _MISSING)
    return shown if shown is _MISSING else REDACTED


def _masked_twin(exact: Any, shown: Any) -> Any:
    if exact is _MISSING:
        return _MISSING
    return REDACTED if shown is _MISSING else shown
