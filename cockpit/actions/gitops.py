"""Config rollback: ``git revert`` of the bad commit on a new branch of the GitOps repository, pushed to origin.

The seed's config layer: revert (never reset: history stays), push a branch, open a PR, and let Argo CD sync the
merge.  The cockpit does the git part with GitPython, in a throwaway ``git worktree`` so the person's own checkout
(its HEAD, its uncommitted edits) is never touched:

* **plan**: fetch the remote into the cockpit's own ref namespace (``refs/cockpit/remotes/<remote>/*``: the
  person's ``refs/remotes/*``, tags and ``FETCH_HEAD`` are never moved, so planning changes nothing they see, in
  read-only mode too), resolve the base branch's tip and the bad commit (untrusted text, resolved with
  ``--end-of-options``), check the commit is on that branch, pick a branch name nobody uses yet;
* **dry-run** (gateway preflight): the same revert on a scratch branch in a scratch worktree -- conflicts show
  up here, before anyone confirms -- plus ``git push --dry-run``; the scratch branch and worktree are removed;
* **send**: the revert on the new branch in a fresh worktree, ``git push <remote> <branch>``.  The local branch
  stays, so the person can look at it (``git switch revert-…``).

The PR itself is not opened (no forge API here): :func:`pr_hint` prints the ``gh`` command and the compare URL.
Every git process runs with ``kill_after_timeout`` and without a terminal prompt.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cockpit.actions.gateway import DryRunResult, Outcome
from cockpit.actions.requests import Action, ActionRefused, GitWrite, Risk

GIT_TIMEOUT = 30.0  # per git process; push/fetch over a slow link take a while
PRIVATE_REFS = "refs/cockpit/remotes"  # where the cockpit fetches to: never the person's refs/remotes/*
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
FALLBACK_IDENTITY = ("cockpit", "cockpit@localhost")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class GitError(Exception):
    """A git command failed; the message (git's stderr quotes remote URLs) is redacted."""

    def __init__(self, message: str) -> None:
        from cockpit.redact import redact_text

        super().__init__(redact_text(str(message)))


def _git(cwd: str, *args: str, timeout: float = GIT_TIMEOUT, identity: tuple[str, str] = ()) -> str:
    """One git command in ``cwd`` through GitPython, killed after ``timeout``; stdout as text."""
    import git

    command = [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git"]
    if identity:
        command += ["-c", f"user.name={identity[0]}", "-c", f"user.email={identity[1]}"]
    command += list(args)
    try:
        out = git.Git(cwd).execute(
            command, kill_after_timeout=timeout, stdout_as_string=True, strip_newline_in_stdout=True,
            env={"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_MERGE_AUTOEDIT": "no"},
        )
    except git.GitCommandNotFound:
        raise GitError("the git program is not installed") from None
    except git.GitCommandError as err:
        stderr = (err.stderr or "").strip().removeprefix("stderr:").strip(" '\n")
        if "Timeout" in str(err) or "timeout" in stderr.lower():
            raise GitError(f"git {args[0]} took longer than {timeout:g}s") from None
        raise GitError(f"git {args[0]} failed: {stderr or err.status}") from None
    return out if isinstance(out, str) else ""


def _resolve_branch(repo: str, remote: str, branch: str, fetched: bool) -> str:
    """The tip of ``remote``'s ``branch`` (the cockpit's fresh copy, else the person's last fetch)."""
    if not branch or branch.startswith("-") or any(ch in branch for ch in "\0\n\r ~^:?*[\\") or ".." in branch:
        raise ActionRefused(f"{branch!r} is not a usable branch name")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options",
                    f"{_tracking(repo, remote, branch, fetched)}^{{commit}}").strip()
    except GitError:
        raise ActionRefused(f"{remote}/{branch} is not a commit in {repo} (not fetched yet?)") from None


def _resolve(repo: str, rev: str) -> str:
    if not rev or rev.startswith("-") or any(ch in rev for ch in "\0\n\r ") or len(rev) > 256:
        raise ActionRefused(f"{rev!r} is not a usable git revision")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}").strip()
    except GitError:
        raise ActionRefused(f"{rev} is not a commit in {repo} (not fetched yet?)") from None


def _check_remote(repo: str, remote: str) -> None:
    """``remote`` is a configured remote's name (never an option, a URL or a path)."""
    if not _REMOTE_NAME.match(remote or "") or ".." in remote or remote.endswith(".lock"):
        raise ActionRefused(f"{remote!r} is not a usable git remote name")
    try:
        _git(repo, "config", "--get", f"remote.{remote}.url")
    except GitError:
        raise ActionRefused(f"the repository has no remote named {remote}") from None


def fetch_private(repo: str, remote: str) -> None:
    """Fetch ``remote``'s branches into ``refs/cockpit/remotes/<remote>/*`` and nowhere else.

    ``--refmap=`` stops git's "opportunistic" update of the configured ``refs/remotes/<remote>/*``; ``--no-tags``
    keeps tags out; ``--no-write-fetch-head`` leaves ``FETCH_HEAD`` alone; no auto-maintenance (gc) is started.
    Only objects are added to the repository (content-addressed: nothing the person sees changes).
    """
    _git(repo, "fetch", "--quiet", "--no-tags", "--prune", "--refmap=", "--no-write-fetch-head",
         "--no-auto-maintenance", "--no-recurse-submodules", "--end-of-options", remote,
         f"+refs/heads/*:{PRIVATE_REFS}/{remote}/*")


def _tracking(repo: str, remote: str, branch: str, fetched: bool) -> str:
    """The ref holding ``remote``'s ``branch``: the cockpit's fresh copy when the fetch worked."""
    if fetched:
        return f"{PRIVATE_REFS}/{remote}/{branch}"
    return f"refs/remotes/{remote}/{branch}"


def _branch_exists(repo: str, remote: str, branch: str) -> bool:
    for ref in (f"refs/heads/{branch}", f"refs/remotes/{remote}/{branch}", f"{PRIVATE_REFS}/{remote}/{branch}"):
        try:
            _git(repo, "rev-parse", "--verify", "--quiet", ref)
            return True
        except GitError:
            continue
    return False


def _default_branch(repo: str, remote: str) -> str:
    try:
        ref = _git(repo, "symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD").strip()
        return ref.removeprefix(f"refs/remotes/{remote}/")
    except GitError:
        pass
    for name in ("main", "master"):
        for ref in (f"{PRIVATE_REFS}/{remote}/{name}", f"refs/remotes/{remote}/{name}"):
            try:
                _git(repo, "rev-parse", "--verify", "--quiet", ref)
                return name
            except GitError:
                continue
    return "main"


def _identity(repo: str) -> tuple[tuple[str, str], bool]:
    """(name, email) git will commit as, and whether it is the cockpit's fallback (git has none configured)."""
    try:
        name = _git(repo, "config", "user.name").strip()
        email = _git(repo, "config", "user.email").strip()
    except GitError:
        name = email = ""
    if name and email:
        return (name, email), False
    return FALLBACK_IDENTITY, True


def revert(
    repo_path: str,
    bad_sha: str,
    *,
    remote: str = "origin",
    base_branch: str | None = None,
    branch: str | None = None,
    context: str = "git",
    fetch: bool = True,
) -> Action:
    """Plan ``git revert BAD`` on a new branch from ``<remote>/<base_branch>``, pushed to ``remote``."""
    repo = os.fspath(repo_path)
    if not os.path.isdir(repo):
        raise ActionRefused(f"GitOps repository {repo} does not exist")
    try:
        _git(repo, "rev-parse", "--git-dir")
    except GitError:
        raise ActionRefused(f"{repo} is not a git repository") from None
    _check_remote(repo, remote)
    warnings: list[str] = []
    fetched = False
    if fetch:
        try:
            fetch_private(repo, remote)
            fetched = True
        except GitError as err:
            warnings.append(f"could not fetch {remote} ({err}): planning from the last fetched state")
    base_branch = base_branch or _default_branch(repo, remote)
    base = _resolve_branch(repo, remote, base_branch, fetched)
    bad = _resolve(repo, bad_sha)
    try:
        _git(repo, "merge-base", "--is-ancestor", bad, base)
    except GitError:
        raise ActionRefused(f"commit {bad[:7]} is not on {remote}/{base_branch}: nothing to revert there") from None
    parents = _git(repo, "rev-list", "--parents", "-n", "1", bad).split()[1:]
    mainline = 1 if len(parents) > 1 else 0
    if mainline:
        warnings.append(f"{bad[:7]} is a merge commit: it is reverted against its first parent (-m 1), which "
                        f"undoes everything the merged branch brought into {base_branch}")
    subject = _git(repo, "log", "-1", "--format=%s", bad).strip()
    stat = _git(repo, "show", "--stat", "--format=", *(["-m", "--first-parent"] if mainline else []), bad).strip()
    name = branch or f"revert-{bad[:7]}"
    candidate, number = name, 1
    while _branch_exists(repo, remote, candidate):
        number += 1
        candidate = f"{name}-{number}"
    identity, fallback = _identity(repo)
    if fallback:
        warnings.append(f"git has no user.name/user.email here: the revert commit is made as {identity[0]} "
                        f"<{identity[1]}>")
    try:
        from cockpit.redact import redact_text

        remote_url = redact_text(_git(repo, "remote", "get-url", remote).strip())  # shown, never used to send
    except GitError:
        raise ActionRefused(f"the repository has no remote named {remote}") from None
    write = GitWrite(repo_path=repo, remote=remote, base=base, base_branch=base_branch, bad_sha=bad,
                     branch=candidate, remote_url=remote_url, mainline=mainline,
                     identity=identity if fallback else ())
    warnings.append("the push only opens a branch: the revert reaches the cluster when its PR merges and Argo CD syncs")
    return Action(
        name="git.revert", verb="revert", kind="commit", target=bad[:7], namespace=base_branch, context=context,
        user=f"{identity[0]} <{identity[1]}>", writes=(write,), risk=Risk.DESTRUCTIVE, warnings=tuple(warnings),
        summary=f"revert {bad[:7]} \u201c{subject}\u201d on new branch {candidate} from {remote}/{base_branch} "
                f"and push it to {remote}",
        preview=f"commit {bad[:7]} {subject}\n{stat}",
        follow_up=pr_hint(remote_url, base_branch, candidate, bad, subject),
    )


def pr_hint(remote_url: str, base_branch: str, branch: str, bad_sha: str, subject: str) -> str:
    """What to do after the push: open the PR (``gh`` command and compare URL), merge, let Argo CD sync."""
    title = f"Revert: {subject}" if subject else f"Revert {bad_sha[:7]}"
    lines = [f"Open a pull request {branch} → {base_branch}:"]
    web = _web_url(remote_url)
    if web and "gitlab" in web:
        lines.append(f"  {web}/-/merge_requests/new?merge_request[source_branch]={branch}"
                     f"&merge_request[target_branch]={base_branch}")
    elif web:
        lines.append(f"  {web}/compare/{base_branch}...{branch}?expand=1")
    import shlex

    lines.append("  " + shlex.join(["gh", "pr", "create", "--base", base_branch, "--head", branch, "--title", title,
                                    "--body", f"Reverts {bad_sha}."]))
    lines.append("After it merges Argo CD syncs the revert (or sync the app), then re-enable auto-sync if it is off.")
    return "\n".join(lines)


def _web_url(remote_url: str) -> str:
    url = remote_url.strip()
    match = re.match(r"^(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?$", url)
    if match:
        return f"https://{match.group(1)}/{match.group(2)}"
    match = re.match(r"^https?://(?:[^/@]*@)?([^/@]+)/(.+?)(?:\.git)?/?$", url)  # user-info is not part of a link
    if match:
        return f"https://{match.group(1)}/{match.group(2)}"
    return ""


# --------------------------------------------------------------------------- used by the gateway only


@contextmanager
def _worktree(repo: str, branch: str, base: str) -> Iterator[str]:
    """A fresh worktree of ``base`` on new branch ``branch`` in a temp dir; removed on the way out."""
    parent = tempfile.mkdtemp(prefix="cockpit-git-")
    path = os.path.join(parent, "wt")
    try:
        _git(repo, "worktree", "add", "--quiet", "-b", branch, path, base)
        yield path
    finally:
        try:
            _git(repo, "worktree", "remove", "--force", path)
        except GitError:
            pass
        try:
            _git(repo, "worktree", "prune")
        except GitError:
            pass
        shutil.rmtree(parent, ignore_errors=True)


def _revert_in(path: str, write: GitWrite) -> None:
    args = ["revert", "--no-edit"]
    if write.mainline:
        args += ["-m", str(write.mainline)]
    args.append(write.bad_sha)
    _git(path, *args, identity=write.identity)


def _conflicts(path: str) -> list[str]:
    try:
        return [line for line in _git(path, "diff", "--name-only", "--diff-filter=U").splitlines() if line]
    except GitError:
        return []


def dry_run(write: GitWrite) -> DryRunResult:
    """The revert on a scratch branch in a scratch worktree, and ``git push --dry-run``; nothing is kept."""
    scratch = f"cockpit-scratch-{uuid.uuid4().hex[:8]}"
    try:
        with _worktree(write.repo_path, scratch, write.base) as path:
            try:
                _revert_in(path, write)
            except GitError as err:
                files = _conflicts(path)
                if files:
                    return DryRunResult(False, "the revert conflicts in " + ", ".join(files[:10]) +
                                        ": resolve it by hand in a clone")
                return DryRunResult(False, str(err))
            stat = _git(path, "show", "--stat", "--format=", "HEAD").strip().splitlines()
            try:
                _git(path, "push", "--dry-run", "--porcelain", write.remote,
                     f"HEAD:refs/heads/{write.branch}")
            except GitError as err:
                return DryRunResult(False, f"the revert applies, but a push to {write.remote} would fail: {err}")
    except GitError as err:
        return DryRunResult(False, str(err))
    finally:
        try:
            _git(write.repo_path, "branch", "-D", scratch)
        except GitError:
            pass
    summary = f"reverts cleanly on {write.base_branch}; {write.remote} accepts branch {write.branch}"
    return DryRunResult(True, summary, tuple(stat[-6:]))


def send_revert(write: GitWrite) -> tuple[Outcome, str, Any, int | None]:
    """Revert on ``write.branch`` in a fresh worktree and push it; the local branch is kept when it worked."""
    failure = ""
    commit = ""
    try:
        with _worktree(write.repo_path, write.branch, write.base) as path:
            try:
                _revert_in(path, write)
            except GitError as err:
                files = _conflicts(path)
                failure = ("conflicts in " + ", ".join(files[:10])) if files else str(err)
            else:
                commit = _git(path, "rev-parse", "HEAD").strip()
                _git(path, "push", "--porcelain", write.remote, f"{write.branch}:refs/heads/{write.branch}")
    except GitError as err:
        failure = failure or str(err)
    if failure or not _SHA.match(commit):
        try:
            _git(write.repo_path, "branch", "-D", write.branch)
        except GitError:
            pass
        detail = failure or "the revert commit could not be read back"
        return Outcome.FAILED, f"revert of {write.bad_sha[:7]} failed ({detail}); nothing was pushed", None, None
    message = f"pushed {write.branch} ({commit[:7]} reverts {write.bad_sha[:7]}) to {write.remote}"
    return Outcome.OK, message, {"branch": write.branch, "commit": commit, "remote": write.remote}, 0


def revert_landed(repo_path: str, bad_sha: str, *, remote: str = "origin", base_branch: str | None = None,
                  fetch: bool = True) -> bool | None:
    """Has a commit reverting ``bad_sha`` reached ``<remote>/<base_branch>``?  None when git cannot tell.

    ``git revert`` writes "This reverts commit <full sha>." into the message; that line survives merges and
    squash-merges of the PR, so it is what is looked for (the fact ``git.revert_merged``).
    """
    found = revert_commit(repo_path, bad_sha, remote=remote, base_branch=base_branch, fetch=fetch)
    return None if found is None else bool(found)


def revert_commit(repo_path: str, bad_sha: str, *, remote: str = "origin", base_branch: str | None = None,
                  fetch: bool = True) -> str | None:
    """The newest commit on ``<remote>/<base_branch>`` reverting ``bad_sha`` ("" when there is none); None when
    git cannot tell (no such remote, branch or commit)."""
    repo = os.fspath(repo_path)
    try:
        _check_remote(repo, remote)
        fetched = False
        if fetch:
            try:
                fetch_private(repo, remote)
                fetched = True
            except GitError:
                pass  # answer from the last fetched state
        branch = base_branch or _default_branch(repo, remote)
        tip = _resolve_branch(repo, remote, branch, fetched)
        bad = _resolve(repo, bad_sha)
        found = _git(repo, "log", tip, "--format=%H", "-n", "1", "--fixed-strings",
                     f"--grep=This reverts commit {bad}")
    except (GitError, ActionRefused):
        return None
    return found.strip()


def contains(repo_path: str, ancestor: str, descendant: str) -> bool | None:
    """Is commit ``ancestor`` in the history of ``descendant`` (or the same commit)?  None when git cannot tell
    (either is not a commit of the clone: not fetched yet)."""
    repo = os.fspath(repo_path)
    try:
        first, second = _resolve(repo, ancestor), _resolve(repo, descendant)
    except (GitError, ActionRefused):
        return None
    if first == second:
        return True
    try:
        base = _git(repo, "merge-base", first, second).strip()  # both resolved SHAs
    except GitError:
        return False  # no common history at all
    return base == first
