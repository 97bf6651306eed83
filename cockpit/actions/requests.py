"""The shapes of a write: what an action intends (:class:`Action`) and the exact requests it needs.

Action modules (``rollouts``, ``argocd``, ``helm``, ``cnpg``, ``s3``, ``velero``, ``gitops``, ``flags``) only *build* these
objects; nothing here sends anything.  Sending is the gateway's job alone (``cockpit.actions.gateway``), so the
read-only switch, the RBAC pre-check, the dry-run and the audit log cannot be bypassed by a new action.

Each request kind can describe itself twice: ``describe()`` is the exact request as data (it goes into the audit
log, after redaction) and ``display()`` is the same thing as text for the confirmation modal, with credentials
masked by the one redactor (:mod:`cockpit.redact`): an undo's pod template shows ``DB_PASSWORD`` with its value
``[REDACTED]``.  Both are built from the request itself, so what the person confirms is what is sent; only what is
shown, audited and recorded is masked, never what is sent.  :func:`masks_secrets` says whether anything was.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cockpit.redact import redact_text, redact_value
from cockpit.sources.kube import Resource

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
JSON = "application/json"

_VERBS = {"PATCH": "patch", "PUT": "update", "POST": "create", "DELETE": "delete"}


class Risk(str, Enum):
    """How the confirmation is asked: ``y`` for low risk, the target's name for destructive ones."""

    LOW = "low"
    DESTRUCTIVE = "destructive"


class ActionRefused(Exception):
    """The action cannot be planned as asked; ``str(err)`` says why in words a person can act on.

    ``noop`` marks the harmless case "there is nothing to do" (auto-sync already off, template already at that
    revision): a runbook treats it as a step already done, not as a failure.
    """

    def __init__(self, message: str, *, noop: bool = False) -> None:
        message = redact_text(str(message))  # it may quote what a server or a file said
        super().__init__(message)
        self.message = message
        self.noop = noop

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class AccessCheck:
    """The ``resourceAttributes`` of the SelfSubjectAccessReview that asks "may I send this?"."""

    verb: str  # patch | update | create | delete
    group: str
    resource: str  # plural
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    def attributes(self) -> dict[str, str]:
        attrs = {"verb": self.verb, "group": self.group, "resource": self.resource}
        for key in ("namespace", "name", "subresource"):
            if getattr(self, key):
                attrs[key] = getattr(self, key)
        return attrs

    def words(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        if self.group:
            what += f".{self.group}"
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {what}{where}"


# --------------------------------------------------------------------------- request kinds


@dataclass(frozen=True)
class KubeWrite:
    """One Kubernetes API request, sent through the context's official client."""

    context: Any = field(compare=False, repr=False)  # cockpit.sources.kube.KubeContext
    method: str = "PATCH"
    path: str = ""
    body: Any = None
    content_type: str | None = None
    access: AccessCheck | None = None
    query: tuple[tuple[str, str], ...] = ()
    precondition: str = ""  # the resourceVersion this write was built from ("" = none)

    backend = "kubernetes"

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "method": self.method,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "content_type": self.content_type,
            "body": self.body,
        }

    def display(self) -> str:
        query = "?" + "&".join(f"{k}={v}" for k, v in self.query) if self.query else ""
        lines = [redact_text(f"{self.method} {self.path}{query}")]
        if self.content_type:
            lines.append(f"Content-Type: {self.content_type}")
        if self.body is not None:
            lines.append(json.dumps(redact_value(self.body), indent=2, sort_keys=False, default=str))
        return "\n".join(lines)

    @property
    def uses_json_patch_test(self) -> bool:
        return self.content_type == JSON_PATCH and isinstance(self.body, list) and any(
            isinstance(op, dict) and op.get("op") == "test" for op in self.body
        )


def kube_write(
    ctx: Any,
    resource: Resource,
    namespace: str,
    name: str,
    *,
    method: str,
    body: Any,
    content_type: str | None,
    subresource: str = "",
    precondition: str = "",
) -> KubeWrite:
    """A :class:`KubeWrite` on one object (or its collection for POST), with its RBAC question filled in."""
    if method == "POST":
        path = resource.collection_path(namespace)
        object_name = ""
    else:
        path = resource.object_path(namespace, name) + (f"/{subresource}" if subresource else "")
        object_name = name
    access = AccessCheck(
        verb=_VERBS.get(method, method.lower()),
        group=resource.group,
        resource=resource.plural,
        namespace=namespace if resource.namespaced else "",
        name=object_name,
        subresource=subresource,
    )
    return KubeWrite(ctx, method, path, body, content_type, access, precondition=precondition)


@dataclass(frozen=True)
class S3Write:
    """``DeleteObject`` of one version id: the only S3 write the cockpit makes (removing a delete marker)."""

    client: Any = field(compare=False, repr=False)  # a boto3 S3 client
    endpoint: str = ""
    bucket: str = ""
    key: str = ""
    version_id: str = ""

    backend = "s3"

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "operation": "DeleteObject",
            "endpoint": self.endpoint,
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
        }

    def display(self) -> str:
        argv = ["aws", "s3api", "delete-object", "--bucket", self.bucket, "--key", self.key,
                "--version-id", self.version_id]
        if self.endpoint:
            argv += ["--endpoint-url", self.endpoint]
        return redact_text(shlex.join(argv))


@dataclass(frozen=True)
class CommandWrite:
    """A command run as a subprocess (``helm rollback``): the argv is exactly what is shown and run."""

    argv: tuple[str, ...] = ()
    dry_run_argv: tuple[str, ...] = ()  # () when the tool has no dry-run
    timeout: float = 330.0  # helm --wait --timeout 5m, plus a margin
    access: tuple[AccessCheck, ...] = ()  # asked of ``context`` before running (what the tool will need)
    context: Any = field(default=None, compare=False, repr=False)  # KubeContext for the access review

    backend = "command"

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "argv": list(self.argv)}

    def display(self) -> str:
        return redact_text(shlex.join(self.argv))


@dataclass(frozen=True)
class GitWrite:
    """``git revert`` of one commit on a new branch, pushed to the repository's remote."""

    repo_path: str = ""
    remote: str = "origin"
    base: str = ""  # full SHA the branch starts from (the remote's tip of ``base_branch``)
    base_branch: str = ""
    bad_sha: str = ""  # full SHA of the commit to revert
    branch: str = ""  # the new branch pushed to the remote
    remote_url: str = ""  # shown, never used to send (credentials in URLs are stripped)
    mainline: int = 0  # ``-m N`` for a merge commit (1 = the branch it was merged into); 0 for a plain commit
    identity: tuple[str, str] = ()  # (name, email) for the revert commit when git has none configured

    backend = "git"

    def commands(self) -> list[list[str]]:
        """What a person would type for the same effect (the cockpit runs them in a separate worktree)."""
        return [
            ["git", "switch", "-c", self.branch, self.base],
            ["git", "revert", "--no-edit", *(["-m", str(self.mainline)] if self.mainline else []), self.bad_sha],
            ["git", "push", self.remote, f"{self.branch}:refs/heads/{self.branch}"],
        ]

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "repo": self.repo_path,
            "remote": self.remote,
            "remote_url": self.remote_url,
            "base": self.base,
            "bad_sha": self.bad_sha,
            "branch": self.branch,
            "commands": self.commands(),
        }

    def display(self) -> str:
        return redact_text("\n".join(shlex.join(argv) for argv in self.commands()))


@dataclass(frozen=True)
class HttpWrite:
    """One JSON request to an HTTP API that is not Kubernetes (a flag provider's admin API).

    The credential travels in ``secret_header`` (``Authorization``) and is never part of what is shown or audited:
    ``describe()`` and ``display()`` name where it comes from (``secret_source``, e.g. ``$FLAGSMITH_ADMIN_TOKEN``)
    instead.  There is no server-side dry-run for such APIs; ``dry_run_note`` says what the gateway checked instead.
    """

    method: str = "PATCH"
    url: str = ""
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()  # shown and audited: nothing secret here
    secret_header: str = ""  # e.g. "Authorization"
    secret_scheme: str = ""  # e.g. "Token": the header value is "<scheme> <secret>"
    secret: str = field(default="", compare=False, repr=False)
    secret_source: str = ""  # where the secret came from, for the record ("$FLAGSMITH_ADMIN_TOKEN")
    api: str = "HTTP API"  # the service in words ("Flagsmith admin API")
    timeout: float = 10.0
    dry_run_note: str = ""

    backend = "http"

    def _shown_headers(self) -> list[tuple[str, str]]:
        shown = list(self.headers)
        if self.secret_header:
            placeholder = self.secret_source or "<redacted>"
            shown.append((self.secret_header, f"{self.secret_scheme} {placeholder}".strip()))
        if self.body is not None:
            shown.append(("Content-Type", JSON))
        return shown

    def send_headers(self) -> dict[str, str]:
        """The headers as sent (with the secret): for the gateway only, never for display or the audit."""
        headers = {name: value for name, value in self.headers}
        headers["Accept"] = JSON
        if self.body is not None:
            headers["Content-Type"] = JSON
        if self.secret_header:
            headers[self.secret_header] = f"{self.secret_scheme} {self.secret}".strip()
        return headers

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "api": self.api,
            "method": self.method,
            "url": self.url,
            "headers": {name: value for name, value in self._shown_headers()},
            "body": self.body,
        }

    def display(self) -> str:
        argv = ["curl", "-X", self.method, self.url]
        for name, value in self._shown_headers():
            argv += ["-H", f"{name}: {value}"]
        if self.body is not None:
            argv += ["-d", json.dumps(self.body, separators=(",", ":"))]
        return shlex.join(argv)


Write = KubeWrite | S3Write | CommandWrite | GitWrite | HttpWrite

MASKED_NOTE = ("(values that look secret are masked as [REDACTED] here, in the audit log and in the recording; "
               "the request carries them unchanged)")


def masks_secrets(write: Write) -> bool:
    """Does showing (or auditing) ``write`` mask anything?  The modal says so when it does."""
    exact = write.describe()
    return redact_value(exact) != exact


# --------------------------------------------------------------------------- the action


@dataclass(frozen=True)
class Action:
    """What one keypress or runbook step intends, with every request it will send.

    ``name`` is the machine id (``rollouts.abort``) used in the audit log and in runbook files; ``verb``/``kind``/
    ``target`` are what the modal says ("abort Rollout catalog").  ``current`` is the object as read when the
    action was built (for showing what changes); it is never written to the audit log.
    """

    name: str
    verb: str
    kind: str
    target: str
    namespace: str
    context: str
    user: str
    writes: tuple[Write, ...]
    risk: Risk = Risk.LOW
    warnings: tuple[str, ...] = ()
    summary: str = ""
    preview: str = ""  # extra text to show (the YAML of an object to create, the versions listing, ...)
    follow_up: str = ""  # what to do or watch next (a PR hint, the phase to watch)
    current: Any = field(default=None, compare=False, repr=False)
    confirm: str = ""  # what to type when ``target`` is awkward to type (a long S3 key); "" = the target
    audit_note: str = ""  # kept in the audit record of every request (a hold released over its checklist: why)

    @property
    def confirm_word(self) -> str:
        """What the person types to confirm: the target's name for destructive actions, ``y`` otherwise."""
        if self.risk is not Risk.DESTRUCTIVE:
            return "y"
        return self.confirm or self.target
