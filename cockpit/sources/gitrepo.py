"""What a deploy changed, read from the GitOps repository between two revisions.

Argo CD's history says *which* revisions were deployed; only the repository says *what* moved between them,
and that decides the rollback layer (seed, Diagram A):

* only ``image:`` / ``newTag:`` / ``tag:`` lines moved in kustomizations, Helm values or manifests: a new
  binary, so a CODE rollback (after the migration pre-flight);
* Helm values, Kustomize patches, NetworkPolicy, ResourceQuota, LimitRange or a Crossplane Composition: the
  binary is fine and the configuration is not, so a CONFIG rollback (git revert + sync);
* both at once: both are listed and the person decides which one broke.

GitPython is imported inside the functions (the cockpit starts without touching git), every git process runs
with ``kill_after_timeout``, and each call opens a short-lived ``Repo`` and closes it (GitPython leaks in
long-running processes).  Revisions come from the cluster, so they are untrusted: they are checked, resolved
to commit SHAs with ``--end-of-options`` and only the SHAs are used after that.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cockpit.models import ArgoApp
from cockpit.sources.errors import ErrorKind, SourceError

GIT_TIMEOUT = 10.0  # seconds per git process
MAX_BLOB_BYTES = 2_000_000  # bigger files are not parsed for their kind, only listed
IMAGE_KEYS = frozenset({"image", "newTag", "tag", "newName", "digest"})
YAML_SUFFIXES = (".yaml", ".yml", ".json")
CONFIG_KINDS = {
    "NetworkPolicy": "NetworkPolicy",
    "ResourceQuota": "ResourceQuota",
    "LimitRange": "LimitRange",
    "Composition": "Crossplane Composition",
    "CompositeResourceDefinition": "Crossplane XRD",
}


class Layer(str, Enum):
    CODE = "code"  # image tags only (migrations ride along with the image)
    CONFIG = "config"
    MIXED = "mixed"  # image tags and configuration both changed
    NONE = "none"  # nothing that decides a layer (docs, files outside the app)


@dataclass(frozen=True)
class ChangedFile:
    path: str  # untrusted text from the repository
    status: str  # git's letter: A added, M modified, D deleted, R renamed, T type change
    kind: str  # image | config | migration | other
    detail: str  # e.g. "newTag: v1.5.0 → v1.5.1", "Helm values", "NetworkPolicy"


@dataclass(frozen=True)
class ChangeReport:
    repo_path: str
    old_rev: str  # full SHA
    new_rev: str  # full SHA
    files: tuple[ChangedFile, ...]
    layer: Layer

    @property
    def image_files(self) -> tuple[ChangedFile, ...]:
        return tuple(item for item in self.files if item.kind == "image")

    @property
    def config_files(self) -> tuple[ChangedFile, ...]:
        return tuple(item for item in self.files if item.kind == "config")

    @property
    def migration_files(self) -> tuple[ChangedFile, ...]:
        return tuple(item for item in self.files if item.kind == "migration")

    @property
    def range(self) -> str:
        return f"{self.old_rev[:7]}..{self.new_rev[:7]}"

    @property
    def summary(self) -> str:
        """One line: the layer and the files that decided it."""
        if not self.files:
            return f"git {self.range}: no files changed"
        migrations = ", ".join(item.path for item in self.migration_files)
        with_migrations = f"; with migrations {migrations}" if migrations else ""
        if self.layer is Layer.CODE:
            shown = ", ".join(f"{item.path} ({item.detail})" for item in self.image_files)
            return f"git {self.range}: image tags only: {shown}{with_migrations}"
        if self.layer is Layer.CONFIG:
            shown = ", ".join(f"{item.path} ({item.detail})" for item in self.config_files)
            return f"git {self.range}: configuration: {shown}"
        if self.layer is Layer.MIXED:
            images = ", ".join(item.path for item in self.image_files)
            config = ", ".join(f"{item.path} ({item.detail})" for item in self.config_files)
            return f"git {self.range}: image tags ({images}) AND configuration ({config})"
        return f"git {self.range}: {len(self.files)} files, none deciding a layer"


# --------------------------------------------------------------------------- git plumbing


@contextmanager
def _open(repo_path: str) -> Iterator[Any]:
    """A short-lived ``Repo``, closed on the way out (its cat-file helpers too)."""
    from cockpit.sources import IMPORT_LOCK

    with IMPORT_LOCK:
        import git

    try:
        repo = git.Repo(os.fspath(repo_path))
    except git.NoSuchPathError:
        raise SourceError(ErrorKind.CONFIG, f"GitOps repository {repo_path} does not exist") from None
    except git.InvalidGitRepositoryError:
        raise SourceError(ErrorKind.CONFIG, f"{repo_path} is not a git repository") from None
    try:
        yield repo
    finally:
        repo.close()


def _run(repo: Any, *args: str, timeout: float) -> bytes:
    """One git command in ``repo``, killed after ``timeout`` seconds; stdout as bytes."""
    from cockpit.sources import IMPORT_LOCK, limits

    with IMPORT_LOCK:
        import git

    command = [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *args]
    deadline = limits.current()  # a caller's total budget (planning) or cancel: no git command outlives it
    if deadline is not None:
        deadline.check()
        timeout = min(timeout, max(0.1, deadline.remaining()))
    try:
        return repo.git.execute(
            command,
            kill_after_timeout=timeout,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            env={"GIT_TERMINAL_PROMPT": "0"},
        )
    except git.GitCommandNotFound:
        raise SourceError(ErrorKind.CONFIG, "the git program is not installed") from None
    except git.GitCommandError as err:
        stderr = (err.stderr or "").strip().removeprefix("stderr:").strip(" '\n")
        if "Timeout" in str(err):
            if deadline is not None and deadline.fired:
                raise deadline.error() from None
            raise SourceError(ErrorKind.TIMEOUT, f"git {args[0]} took longer than {timeout:g}s") from None
        raise SourceError(ErrorKind.BAD_DATA, f"git {args[0]} failed: {stderr or err.status}") from None


def _resolve(repo: Any, rev: str, *, timeout: float) -> str:
    """The full commit SHA that ``rev`` names; SourceError with words when it names none."""
    if not isinstance(rev, str) or not rev or rev.startswith("-") or len(rev) > 256:
        raise SourceError(ErrorKind.BAD_DATA, f"{rev!r} is not a usable git revision")
    if any(char in rev for char in "\0\n\r") or rev.isspace():
        raise SourceError(ErrorKind.BAD_DATA, f"{rev!r} is not a usable git revision")
    try:
        out = _run(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", timeout=timeout)
    except SourceError as err:
        if err.kind is ErrorKind.TIMEOUT:
            raise
        raise SourceError(
            ErrorKind.NOT_FOUND,
            f"revision {rev} is not a commit in {repo.git_dir} (not fetched yet, or a shallow clone?)",
        ) from None
    return out.decode("ascii", "replace").strip()


def _name_status(repo: Any, old: str, new: str, *, timeout: float) -> list[tuple[str, str]]:
    """(status letter, path) for every file that differs between two commits; renames as the new path."""
    out = _run(
        repo, "diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", old, new, "--", timeout=timeout
    )
    fields = [os.fsdecode(part) for part in out.split(b"\0")]
    changes: list[tuple[str, str]] = []
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index][:1]
        if status in ("R", "C"):  # R100 \0 old \0 new
            changes.append((status, fields[index + 2]))
            index += 3
        else:
            changes.append((status, fields[index + 1]))
            index += 2
    return changes


def _blob(repo: Any, rev: str, path: str, *, timeout: float) -> bytes:
    return _run(repo, "cat-file", "blob", f"{rev}:{path}", timeout=timeout)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- classification


def image_only_change(old_text: str, new_text: str) -> tuple[bool, str]:
    """(True, "newTag: v1 → v2") when the only lines that differ set an image, a tag or a digest.

    Blank and comment lines are ignored.  The key is the text before the first ``:`` on the line, after an
    optional ``- `` list marker and quotes, so ``image: repo:tag``, ``- image: …``, ``newTag: …`` and ``tag: …``
    all count.  (False, "") when anything else changed, or nothing did.
    """
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    removed: list[str] = []
    added: list[str] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op != "equal":
            removed += [line for line in old_lines[a0:a1] if _meaningful(line)]
            added += [line for line in new_lines[b0:b1] if _meaningful(line)]
    if not removed and not added:
        return False, ""
    if not all(_yaml_key(line) in IMAGE_KEYS for line in removed + added):
        return False, ""
    if len(removed) == 1 and len(added) == 1:
        key = _yaml_key(added[0])
        return True, f"{key}: {_yaml_value(removed[0])} → {_yaml_value(added[0])}"
    return True, ", ".join(f"{_yaml_key(line)}: {_yaml_value(line)}" for line in added) or "image lines removed"


def _meaningful(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _yaml_key(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith("- "):
        stripped = stripped[2:].lstrip()
    key, colon, _ = stripped.partition(":")
    return key.strip().strip("'\"") if colon else ""


def _yaml_value(line: str) -> str:
    value = line.partition(":")[2].strip()
    if " #" in value:
        value = value.split(" #", 1)[0].rstrip()
    return value.strip("'\"") or "(empty)"


def _config_kind(path: str, text: str) -> str:
    """What kind of configuration a YAML file is, in the words an on-call uses."""
    import yaml

    name = path.rsplit("/", 1)[-1].lower()
    kinds: list[str] = []
    if len(text) <= MAX_BLOB_BYTES:
        try:
            for index, doc in enumerate(yaml.safe_load_all(text)):
                if index > 200:
                    break
                if isinstance(doc, dict) and isinstance(doc.get("kind"), str):
                    kinds.append(doc["kind"])
        except (yaml.YAMLError, RecursionError, ValueError):
            pass
    for kind in kinds:
        if kind in CONFIG_KINDS:
            return CONFIG_KINDS[kind]
    if "values" in name:
        return "Helm values"
    if "patch" in name or "/patches/" in f"/{path.lower()}":
        return "Kustomize patch"
    if name in ("kustomization.yaml", "kustomization.yml", "kustomization"):
        return "Kustomization"
    if kinds:
        return kinds[0] + " manifest"
    return "manifest"


def _classify(
    repo: Any, status: str, path: str, old: str, new: str, migrations_dir: str, *, timeout: float
) -> ChangedFile:
    lower = path.lower()
    if _under(path, migrations_dir) and lower.endswith(".sql"):
        return ChangedFile(path, status, "migration", "SQL migration")
    if not lower.endswith(YAML_SUFFIXES) and lower.rsplit("/", 1)[-1] != "kustomization":
        return ChangedFile(path, status, "other", "not a manifest")
    old_text = _text(_blob(repo, old, path, timeout=timeout)) if status in ("M", "T", "D") else ""
    new_text = _text(_blob(repo, new, path, timeout=timeout)) if status != "D" else ""
    if status == "D":
        return ChangedFile(path, status, "config", f"{_config_kind(path, old_text)} deleted")
    if status in ("M", "T"):
        only_images, detail = image_only_change(old_text, new_text)
        if only_images:
            return ChangedFile(path, status, "image", detail)
    kind = _config_kind(path, new_text)
    return ChangedFile(path, status, "config", f"{kind} added" if status == "A" else kind)


def _under(path: str, directory: str) -> bool:
    prefix = directory.strip()
    while prefix.startswith("./"):
        prefix = prefix[2:]
    prefix = prefix.strip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def _layer(files: Sequence[ChangedFile]) -> Layer:
    kinds = {item.kind for item in files}
    if "image" in kinds and "config" in kinds:
        return Layer.MIXED
    if "image" in kinds:
        return Layer.CODE
    if "config" in kinds:
        return Layer.CONFIG
    return Layer.NONE


# --------------------------------------------------------------------------- public API


def change_report(
    repo_path: str,
    old_rev: str,
    new_rev: str,
    *,
    paths: Sequence[str] = (),
    migrations_dir: str = "migrations/",
    timeout: float = GIT_TIMEOUT,
) -> ChangeReport:
    """What changed from ``old_rev`` (the last good deploy) to ``new_rev`` (the bad one).

    ``paths`` limits the report to files under those directories (an app's ``path`` in a monorepo);
    migrations under ``migrations_dir`` are always kept, they ride along with the release.
    Raises SourceError for a missing repository or a revision that is not a commit in it.
    """
    with _open(repo_path) as repo:
        old = _resolve(repo, old_rev, timeout=timeout)
        new = _resolve(repo, new_rev, timeout=timeout)
        files: list[ChangedFile] = []
        for status, path in _name_status(repo, old, new, timeout=timeout):
            if paths and not any(_under(path, prefix) for prefix in paths) and not _under(path, migrations_dir):
                continue
            files.append(_classify(repo, status, path, old, new, migrations_dir, timeout=timeout))
    return ChangeReport(os.fspath(repo_path), old, new, tuple(files), _layer(files))


def migration_diff(
    repo_path: str,
    bad_rev: str,
    target_rev: str,
    migrations_dir: str = "migrations/",
    *,
    timeout: float = GIT_TIMEOUT,
) -> dict[str, str]:
    """The ``.sql`` files under ``migrations_dir`` added or changed from ``target_rev`` to ``bad_rev``.

    Keys are repository paths, values the file's text at ``bad_rev`` (what ran against the database).
    Renamed files count as added.  Raises SourceError for a missing repository or unknown revision.
    """
    with _open(repo_path) as repo:
        bad = _resolve(repo, bad_rev, timeout=timeout)
        target = _resolve(repo, target_rev, timeout=timeout)
        changed: dict[str, str] = {}
        for status, path in _name_status(repo, target, bad, timeout=timeout):
            if status in ("A", "M", "R", "C", "T") and _under(path, migrations_dir) and path.lower().endswith(".sql"):
                changed[path] = _text(_blob(repo, bad, path, timeout=timeout))
    return changed


def last_two_revisions(app: ArgoApp | None) -> tuple[str, str] | None:
    """(previous, newest) revisions from Argo CD's history, the pair to diff; None with fewer than two.

    For a multi-source app the first source's revision is used (the GitOps repository is one of them).
    """
    if app is None or len(app.history) < 2:
        return None
    newest, previous = app.history[0], app.history[1]
    new = newest.revision or next(iter(newest.revisions), "")
    old = previous.revision or next(iter(previous.revisions), "")
    return (old, new) if old and new else None


# --------------------------------------------------------------------------- what a write would change (pre-mortem)

MAX_DIFF_BYTES = 256 * 1024  # the hunks shown before a rollback; a bigger diff is cut and says so
MAX_TREE_FILES = 400  # manifests read at one revision (hooks, image tags)


@dataclass(frozen=True)
class Hunk:
    header: str  # "@@ -3,2 +3,2 @@ images:"
    lines: tuple[str, ...]  # "-    newTag: v1.5.1", "+    newTag: v1.5.0", " context" (untrusted text)


@dataclass(frozen=True)
class FileDiff:
    path: str
    status: str  # A added, D deleted, M modified, R renamed (from git's headers)
    hunks: tuple[Hunk, ...]

    @property
    def changed_lines(self) -> tuple[str, ...]:
        return tuple(line for hunk in self.hunks for line in hunk.lines if line[:1] in "+-")


@dataclass(frozen=True)
class Diff:
    old_rev: str
    new_rev: str
    files: tuple[FileDiff, ...]
    truncated: bool  # the diff was longer than MAX_DIFF_BYTES: only its start is here


def diff(repo_path: str, old_rev: str, new_rev: str, *, paths: Sequence[str] = (), context_lines: int = 1,
         timeout: float = GIT_TIMEOUT, limit: int = MAX_DIFF_BYTES) -> Diff:
    """The unified diff from ``old_rev`` to ``new_rev`` (files and hunks), limited to ``paths`` when given.

    What a rollback from ``old_rev`` (live) to ``new_rev`` (the target) would change in the repository.  Binary
    files are listed without hunks.  Raises SourceError like :func:`change_report`.
    """
    with _open(repo_path) as repo:
        old = _resolve(repo, old_rev, timeout=timeout)
        new = _resolve(repo, new_rev, timeout=timeout)
        wanted = [path.strip("/") for path in paths if path and path.strip("/") and not path.startswith("-")]
        out = _run(repo, "diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M",
                   f"--unified={max(0, min(context_lines, 5))}", old, new, "--", *wanted, timeout=timeout)
    truncated = len(out) > limit
    return Diff(old, new, parse_unified(_text(out[:limit])), truncated)


def parse_unified(text: str) -> tuple[FileDiff, ...]:
    """Files and hunks of ``git diff`` output (pure)."""
    files: list[FileDiff] = []
    path, status, hunks, header, lines = "", "M", [], "", []

    def close_hunk() -> None:
        nonlocal header, lines
        if header:
            hunks.append(Hunk(header, tuple(lines)))
        header, lines = "", []

    def close_file() -> None:
        nonlocal path, status, hunks
        close_hunk()
        if path:
            files.append(FileDiff(path, status, tuple(hunks)))
        path, status, hunks = "", "M", []

    for line in text.splitlines():
        if line.startswith("diff --git "):
            close_file()
            path = line.rsplit(" b/", 1)[-1] if " b/" in line else line[len("diff --git "):]
        elif not header and line.startswith("new file mode"):
            status = "A"
        elif not header and line.startswith("deleted file mode"):
            status = "D"
        elif not header and line.startswith("rename to "):
            status, path = "R", line[len("rename to "):]
        elif not header and line.startswith("+++ ") and line[4:] != "/dev/null":
            path = line[4:].removeprefix("b/")
        elif line.startswith("@@"):
            close_hunk()
            header = line
        elif header and line[:1] in "+- \\":
            lines.append(line)
    close_file()
    return tuple(files)


def files_at(repo_path: str, rev: str, *, paths: Sequence[str] = (), suffixes: tuple[str, ...] = YAML_SUFFIXES,
             timeout: float = GIT_TIMEOUT, max_files: int = MAX_TREE_FILES) -> tuple[str, dict[str, str]]:
    """(commit SHA, {path: text}) of the files under ``paths`` ending in ``suffixes`` at ``rev``.

    At most ``max_files`` files of at most ``MAX_BLOB_BYTES`` each are read (bigger ones are left out).
    """
    with _open(repo_path) as repo:
        sha = _resolve(repo, rev, timeout=timeout)
        wanted = [path.strip("/") for path in paths if path and path.strip("/") and not path.startswith("-")]
        listing = _run(repo, "ls-tree", "-r", "-z", "-l", sha, "--", *wanted, timeout=timeout)
        texts: dict[str, str] = {}
        for entry in listing.split(b"\0"):
            if not entry or b"\t" not in entry:
                continue
            info, raw_path = entry.split(b"\t", 1)
            parts = info.split()
            path = os.fsdecode(raw_path)
            if len(parts) < 4 or parts[1] != b"blob" or not path.lower().endswith(suffixes):
                continue
            size = int(parts[3]) if parts[3].isdigit() else MAX_BLOB_BYTES + 1
            if size > MAX_BLOB_BYTES:
                continue
            if len(texts) >= max_files:
                break
            texts[path] = _text(_blob(repo, sha, path, timeout=timeout))
    return sha, texts
