"""Files written safely (cockpit/safefile.py) and the drill report's read-only and repository rules (cockpit/drill.py).

The issue "Nothing escapes": a planted ``incident.postmortem.md -> anything`` made the cockpit overwrite the link's
target; a drill under ``--read-only`` committed its report into whatever repository contained the folder
(``$HOME``'s dotfiles repository included).
"""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from cockpit.drill import Verdict, analyse, write_report
from cockpit.safefile import (
    NotOurs,
    is_sealed,
    replace_own,
    seal,
    write_new,
    write_new_numbered,
    write_postmortem_stub,
)
from tests.unit.test_drill import as_events, drill_meta, scripted_drill

VICTIM = "victim's data\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / ".bashrc"
    path.write_text(VICTIM)
    return path


def _plant(kind: str, at: Path, victim: Path) -> None:
    if kind == "link-to-file":
        at.symlink_to(victim)
    elif kind == "dangling-link":
        at.symlink_to(victim.parent / "does-not-exist-yet")
    elif kind == "link-to-dir":
        at.symlink_to(victim.parent, target_is_directory=True)
    elif kind == "foreign-file":
        at.write_text("someone's own notes\n")
    elif kind == "directory":
        at.mkdir()
    elif kind == "fifo":
        os.mkfifo(at)


PLANTS = ["link-to-file", "dangling-link", "link-to-dir", "foreign-file", "directory", "fifo"]


def _untouched(victim: Path) -> None:
    assert victim.read_text() == VICTIM
    assert sorted(p.name for p in victim.parent.iterdir()) == [".bashrc"]  # nothing created beside it either


@pytest.mark.parametrize("plant", PLANTS)
def test_write_new_never_writes_through_anything(tmp_path: Path, victim: Path, plant: str) -> None:
    target = tmp_path / "incident.postmortem.md"
    _plant(plant, target, victim)
    with pytest.raises(OSError):
        write_new(target, "stub")
    _untouched(victim)


@pytest.mark.parametrize("plant", PLANTS)
def test_the_postmortem_stub_goes_beside_a_planted_name(tmp_path: Path, victim: Path, plant: str) -> None:
    target = tmp_path / "incident.postmortem.md"
    _plant(plant, target, victim)
    before = os.lstat(target)
    written = write_postmortem_stub(target, "# Postmortem\n")
    assert written == tmp_path / "incident.postmortem-2.md"
    assert written.read_text().startswith("# Postmortem\n") and is_sealed(written.read_bytes())
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    _untouched(victim)
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino, after.st_mtime_ns) == (before.st_mode, before.st_ino, before.st_mtime_ns)


def test_the_cockpits_own_stub_is_updated_an_edited_one_is_not(tmp_path: Path) -> None:
    target = tmp_path / "incident.postmortem.md"
    assert write_postmortem_stub(target, "# first runbook\n") == target
    assert write_postmortem_stub(target, "# first and second runbook\n") == target  # unedited: brought up to date
    assert target.read_text().startswith("# first and second runbook\n")
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed, not left behind

    target.write_text(target.read_text().replace("second runbook", "second runbook\n\nRoot cause: a typo"))
    written = write_postmortem_stub(target, "# third\n")
    assert written.name == "incident.postmortem-2.md"  # the person's edits are never overwritten
    assert "Root cause: a typo" in target.read_text()


def test_another_users_file_is_not_ours(tmp_path: Path) -> None:
    target = tmp_path / "r.md"
    target.write_text(seal("sealed, but not by us\n"))
    if os.geteuid() == 0:
        os.chown(target, 65534, 65534)
        with pytest.raises(NotOurs, match="another user"):
            replace_own(target, seal("new"))
    else:
        assert target.stat().st_uid == os.geteuid()  # cannot make a foreign-owned file without root
    assert target.read_text() == seal("sealed, but not by us\n")


def test_numbered_names_skip_whatever_is_taken(tmp_path: Path, victim: Path) -> None:
    (tmp_path / "dr-drill-2026-05.md").symlink_to(victim)
    (tmp_path / "dr-drill-2026-05-2.md").symlink_to(tmp_path / "nowhere")
    (tmp_path / "dr-drill-2026-05-3.md").mkdir()
    written = write_new_numbered(tmp_path / "dr-drill-2026-05.md", "report", mode=0o644)
    assert written.name == "dr-drill-2026-05-4.md" and written.read_text() == "report"
    _untouched(victim)


def _in_read_only_dir(action) -> tuple[bool, str]:
    """Run ``action(dir)`` against a folder the process may not write: as another user when we are root."""
    directory = Path(tempfile.mkdtemp(prefix="cockpit-ro-"))
    try:
        directory.chmod(0o555)
        if os.geteuid() != 0:
            try:
                action(directory)
            except OSError as err:
                return True, str(err)
            return False, "written"
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child drops to nobody, for whom the folder is read-only
            os.close(read)
            code = 3
            try:
                os.setgid(65534)
                os.setuid(65534)
                action(directory)
                code = 1
            except OSError as err:
                os.write(write, str(err).encode()[:500])
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        message = os.read(read, 1000).decode()
        os.close(read)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0, message
    finally:
        directory.chmod(0o755)
        leftovers = list(directory.iterdir())
        for path in leftovers:
            path.unlink()
        directory.rmdir()
        assert leftovers == []


def test_a_read_only_folder_is_an_error_and_nothing_is_left() -> None:
    refused, message = _in_read_only_dir(lambda d: write_postmortem_stub(d / "x.postmortem.md", "# stub\n"))
    assert refused and "Permission denied" in message
    refused, message = _in_read_only_dir(lambda d: write_new_numbered(d / "dr-drill-2026-05.md", "r"))
    assert refused and "Permission denied" in message


# --------------------------------------------------------------------------- the drill report


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x.invalid"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "-q")
    _git(path, "config", "user.name", "Drill Bot")
    _git(path, "config", "user.email", "drill@example.invalid")
    _git(path, "config", "commit.gpgsign", "false")
    (path / "README.md").write_text("x\n")
    _git(path, "add", "README.md")
    _git(path, "commit", "-q", "-m", "init")
    return path


def _head(repo: Path) -> str:
    return _git(repo, "rev-parse", "HEAD").strip()


def _result():
    return analyse(as_events(scripted_drill()), meta=drill_meta())


def test_read_only_drill_writes_its_report_and_commits_nothing(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "drills")
    head = _head(repo)
    written = write_report(_result(), repo, verdict=Verdict.WORKED, commit=True, read_only=True)
    assert written.path.exists() and not written.committed
    assert "read-only" in written.message and "not committed" in written.message
    assert _head(repo) == head and _git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_read_only_is_the_default(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "drills")
    head = _head(repo)
    written = write_report(_result(), repo, verdict=Verdict.WORKED, commit=True)
    assert not written.committed and _head(repo) == head


def test_a_parent_repository_is_never_committed_to(tmp_path: Path) -> None:
    home = _repo(tmp_path / "home")  # a $HOME dotfiles repository
    head = _head(home)
    reports = home / ".local" / "share" / "cockpit" / "drills"
    written = write_report(_result(), reports, verdict=Verdict.WORKED, commit=True, read_only=False)
    assert written.path.exists() and not written.committed
    assert "not the top of its own git repository" in written.message or "not its top" in written.message
    assert _head(home) == head and _git(home, "diff", "--cached", "--name-only") == ""


def test_git_dir_in_the_environment_does_not_redirect_the_commit(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    dotfiles = _repo(tmp_path / "dotfiles")
    head = _head(dotfiles)
    monkeypatch.setenv("GIT_DIR", str(dotfiles / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path))
    written = write_report(_result(), tmp_path / "plain-folder", verdict=Verdict.WORKED, commit=True,
                           read_only=False)
    assert not written.committed
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert _head(dotfiles) == head


def test_without_an_explicit_drill_dir_nothing_is_committed(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "drills")
    head = _head(repo)
    written = write_report(_result(), repo, verdict=Verdict.WORKED, read_only=False)
    assert not written.committed and "--drill-dir" in written.message and _head(repo) == head


def test_a_planted_link_at_the_report_name_is_not_followed(tmp_path: Path, victim: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "dr-drill-2026-05.md").symlink_to(victim)
    written = write_report(_result(), reports, verdict=Verdict.WORKED)
    assert written.path.name == "dr-drill-2026-05-2.md"
    _untouched(victim)
