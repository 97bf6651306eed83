"""Config rollback against real repositories (bare origin + clone): ``git revert`` on a new branch, checked on a
scratch branch first, pushed to origin; the person's own checkout is never touched."""

from __future__ import annotations

import pytest

from cockpit.actions import gitops
from cockpit.actions.gateway import Gateway, Outcome
from cockpit.actions.requests import ActionRefused, Risk
from tests.plugins.actions import audit_log, clock, gateway  # noqa: F401 - fixtures
from tests.plugins.git import run_git


def _refs(path):
    return run_git(path, "for-each-ref", "--format=%(refname) %(objectname)").splitlines()


def _worktrees(repo):
    return [line for line in run_git(repo.work, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")]


def test_revert_is_pushed_on_a_new_branch(gitops_repo, gateway, audit_log):
    bad = gitops_repo.shas["values_change"]
    head_before = gitops_repo.git("rev-parse", "HEAD").strip()
    action = gitops.revert(str(gitops_repo.work), bad)
    branch = f"revert-{bad[:7]}"
    assert (action.target, action.risk, action.confirm_word) == (bad[:7], Risk.DESTRUCTIVE, bad[:7])
    assert "catalog: CPU request 500m" in action.summary and "values.yaml" in action.preview
    assert f"--head {branch}" in action.follow_up
    assert any("no user.name/user.email" in w for w in action.warnings)  # the test HOME has no identity
    planned = gateway.plan(action)
    assert planned.command.splitlines() == [
        f"git switch -c {branch} {gitops_repo.shas['migration_release']}",
        f"git revert --no-edit {bad}",
        f"git push origin {branch}:refs/heads/{branch}",
    ]

    check = gateway.preflight(planned)
    assert check.ok, check.lines()
    assert "reverts cleanly on main" in check.dry_run[0].summary
    assert not any("cockpit-scratch" in ref for ref in _refs(gitops_repo.work))  # scratch branch removed
    assert len(_worktrees(gitops_repo)) == 1
    assert not any(branch in ref for ref in _refs(gitops_repo.origin))  # the dry-run pushed nothing

    result = gateway.execute(planned, "alice", typed=bad[:7])

    assert result.ok, result.message
    pushed = run_git(gitops_repo.origin, "rev-parse", f"refs/heads/{branch}").strip()
    assert run_git(gitops_repo.origin, "rev-parse", f"{pushed}^").strip() == gitops_repo.shas["migration_release"]
    assert f"This reverts commit {bad}." in run_git(gitops_repo.origin, "log", "-1", "--format=%B", pushed)
    values = run_git(gitops_repo.origin, "show", f"{pushed}:apps/catalog/values.yaml")
    assert "cpu: 250m" in values
    assert run_git(gitops_repo.origin, "rev-parse", "refs/heads/main").strip() == gitops_repo.shas["migration_release"]
    # The person's checkout is exactly as it was; the local branch is kept for them to look at.
    assert gitops_repo.git("rev-parse", "HEAD").strip() == head_before
    assert gitops_repo.git("status", "--porcelain") == ""
    assert gitops_repo.git("rev-parse", branch).strip() == pushed
    assert len(_worktrees(gitops_repo)) == 1
    before, after = audit_log.records()
    assert before["request"]["backend"] == "git" and after["result"]["commit"] == pushed


def test_a_conflicting_revert_is_caught_by_the_dry_run(gitops_repo, gateway):
    # image_bump set newTag v1.5.1; migration_release changed the same line to v1.6.0 afterwards.
    origin_refs = _refs(gitops_repo.origin)
    planned = gateway.plan(gitops.revert(str(gitops_repo.work), gitops_repo.shas["image_bump"]))
    check = gateway.preflight(planned)
    assert not check.ok
    assert "conflicts in apps/catalog/kustomization.yaml" in check.dry_run[0].summary
    result = gateway.execute(planned, "alice", typed=gitops_repo.shas["image_bump"][:7])
    assert result.outcome is Outcome.REFUSED
    assert _refs(gitops_repo.origin) == origin_refs
    assert len(_worktrees(gitops_repo)) == 1


def test_refusals(gitops_repo, tmp_path):
    side = gitops_repo.commit("side", {"README.md": "# local only\n"}, "not pushed", push=False)
    with pytest.raises(ActionRefused, match="is not on origin/main"):
        gitops.revert(str(gitops_repo.work), side)
    with pytest.raises(ActionRefused, match="not a commit"):
        gitops.revert(str(gitops_repo.work), "0" * 40)
    with pytest.raises(ActionRefused, match="not a usable git revision"):
        gitops.revert(str(gitops_repo.work), "--upload-pack=evil")
    with pytest.raises(ActionRefused, match="does not exist"):
        gitops.revert(str(tmp_path / "nowhere"), "HEAD")


def test_branch_name_already_taken_gets_a_suffix(gitops_repo):
    bad = gitops_repo.shas["netpol_change"]
    gitops_repo.git("branch", f"revert-{bad[:7]}", "HEAD")
    action = gitops.revert(str(gitops_repo.work), bad)
    assert action.writes[0].branch == f"revert-{bad[:7]}-2"


def test_revert_landed_after_the_pr_merges(gitops_repo, gateway):
    bad = gitops_repo.shas["netpol_change"]
    assert gitops.revert_landed(str(gitops_repo.work), bad) is False
    planned = gateway.plan(gitops.revert(str(gitops_repo.work), bad))
    assert gateway.execute(planned, "alice", typed=bad[:7]).ok
    branch = planned.writes[0].branch
    run_git(gitops_repo.origin, "update-ref", "refs/heads/main", f"refs/heads/{branch}")  # the PR merges
    assert gitops.revert_landed(str(gitops_repo.work), bad) is True


def test_read_only_pushes_nothing(gitops_repo, audit_log, clock):
    gw = Gateway(read_only_reason=lambda context: "--read-only", audit=audit_log, clock=clock)
    origin_refs = _refs(gitops_repo.origin)
    planned = gw.plan(gitops.revert(str(gitops_repo.work), gitops_repo.shas["values_change"]))
    assert gw.preflight(planned).refused
    assert gw.execute(planned, "alice", typed=planned.confirm_word).outcome is Outcome.REFUSED
    assert _refs(gitops_repo.origin) == origin_refs
    assert not any("revert-" in ref for ref in _refs(gitops_repo.work))


def test_pr_hint_for_github_and_ssh_remotes():
    hint = gitops.pr_hint("git@github.com:acme/bookstore-platform-config.git", "main", "revert-a1b2c3d",
                          "a1b2c3d" + "0" * 33, "catalog ResourceQuota cpu cap")
    assert "https://github.com/acme/bookstore-platform-config/compare/main...revert-a1b2c3d?expand=1" in hint
    assert "gh pr create --base main --head revert-a1b2c3d --title 'Revert: catalog ResourceQuota cpu cap'" in hint


def _user_refs(path):
    """Everything of the person's: branches, remote-tracking refs, tags, HEAD, FETCH_HEAD (not refs/cockpit/*)."""
    refs = [line for line in _refs(path) if not line.startswith("refs/cockpit/")]
    fetch_head = path / ".git" / "FETCH_HEAD"
    return refs, run_git(path, "rev-parse", "HEAD"), fetch_head.read_bytes() if fetch_head.exists() else None


def test_planning_a_revert_never_moves_the_persons_refs(gitops_repo, audit_log, clock):
    """Read-only: the plan sees origin's newest state, but refs/remotes/*, tags and FETCH_HEAD stay as they were."""
    stale = gitops_repo.git("rev-parse", "refs/remotes/origin/main").strip()
    newer = gitops_repo.commit("hotfix", {"README.md": "# hotfix\n"}, "hotfix on main")  # pushed to origin ...
    gitops_repo.git("update-ref", "refs/remotes/origin/main", stale)  # ... but this clone has not fetched it
    run_git(gitops_repo.origin, "tag", "v9.9.9", newer)  # a tag a plain fetch would bring along
    before = _user_refs(gitops_repo.work)

    gw = Gateway(read_only_reason=lambda context: "--read-only", audit=audit_log, clock=clock)
    action = gitops.revert(str(gitops_repo.work), gitops_repo.shas["values_change"])
    assert action.writes[0].base == newer  # planned from origin's real tip, freshly fetched
    planned = gw.plan(action)
    assert gw.preflight(planned).refused
    assert gw.execute(planned, "alice", typed=planned.confirm_word).outcome is Outcome.REFUSED
    assert gitops.revert_landed(str(gitops_repo.work), gitops_repo.shas["values_change"]) is False

    assert _user_refs(gitops_repo.work) == before
    assert gitops_repo.git("rev-parse", "refs/remotes/origin/main").strip() == stale
    assert "v9.9.9" not in gitops_repo.git("tag", "--list")
    assert gitops_repo.git("rev-parse", "refs/cockpit/remotes/origin/main").strip() == newer


def test_a_remote_name_is_never_an_option(gitops_repo, tmp_path):
    marker = tmp_path / "pwned"  # a runbook parameter once reached `git fetch` as an option: --upload-pack ran
    for remote in (f"--upload-pack=touch {marker}", "-oProxyCommand=x", "../x", "nosuchremote"):
        with pytest.raises(ActionRefused):
            gitops.revert(str(gitops_repo.work), gitops_repo.shas["values_change"], remote=remote)
    assert gitops.revert_landed(str(gitops_repo.work), gitops_repo.shas["values_change"],
                                remote=f"--upload-pack=touch {marker}") is None
    assert not marker.exists()
