"""Files the cockpit writes next to a recording or into a report folder, written without following symlinks.

The issue "Nothing escapes" planted ``incident.postmortem.md -> ~/.bashrc`` next to a recording, and the cockpit's
plain ``write_text`` overwrote the link's target.  The rules here:

* **create, never open an existing name**: a new file is made with ``O_CREAT | O_EXCL | O_NOFOLLOW``, so a
  symlink at that name (to a file, to a directory, dangling), a directory, a fifo or any existing file makes the
  creation fail instead of writing through it.  :func:`write_new_numbered` then takes the next free name
  (``dr-drill-2026-05-2.md``), so the cockpit's own file is written and nothing else is touched.
* **update only the cockpit's own, unedited file**: a file the cockpit may rewrite (the postmortem stub, which
  grows as a session runs several runbooks) carries a seal -- a last line ``<!-- cockpit: sha256 … -->`` over
  the text above it.  :func:`replace_own` replaces a file only when it is a regular file (``lstat``: not a
  symlink), owned by this user, and its seal still matches its text (nobody edited it since the cockpit wrote
  it).  The new text goes to a temporary file created ``O_EXCL`` in the same folder, is ``fsync``'d, and is
  renamed over the name with ``os.replace``: a rename replaces the *name* (a symlink planted in the meantime is
  replaced, its target untouched), and a reader sees the old file or the new one, never half of one.
* anything else -- an edited stub, someone else's file, a link -- is left exactly as it is, and the text goes to
  the next free numbered name instead.

Files are created ``0600`` unless the caller asks otherwise (a drill report meant for a team's repository is
``0644``).  Every function raises ``OSError`` when the folder cannot be written (read-only, full); a partial file
it created itself is removed first.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

_SEAL_RE = re.compile(rb"\n<!-- cockpit: sha256 ([0-9a-f]{64}) -->\n\Z")
_MAX_OWN_BYTES = 8 * 1024 * 1024  # the cockpit never writes a stub or report this large
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_new(path: str | Path, data: str | bytes, *, mode: int = 0o600) -> Path:
    """Create ``path`` and write ``data``; ``FileExistsError`` when anything (a link included) is there.

    The file appears whole: the text goes to a private temporary name first, then gets the real name with
    ``link()`` (which, like ``O_EXCL``, fails on any existing name, a symlink included) -- a reader never sees a
    half-written report.  Where the filesystem has no hard links, the name is created ``O_EXCL`` directly."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if target.exists() or target.is_symlink():
        raise FileExistsError(errno.EEXIST, "exists", str(target))
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(temporary, _FLAGS, mode)
    except OSError:
        fd = None
    if fd is not None:
        try:
            _write_all(fd, payload)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_quietly(temporary)
            raise
        os.close(fd)
        try:
            os.link(temporary, target, follow_symlinks=False)
        except FileExistsError:
            _unlink_quietly(temporary)
            raise
        except OSError:  # no hard links here: fall back to creating the name itself
            _unlink_quietly(temporary)
        else:
            _unlink_quietly(temporary)
            _fsync_dir(target.parent)
            return target
    fd = os.open(target, _FLAGS, mode)
    try:
        _write_all(fd, payload)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(target)
        raise
    os.close(fd)
    _fsync_dir(target.parent)
    return target


def numbered(path: str | Path, number: int) -> Path:
    """``report.md`` -> ``report-2.md``; ``x.postmortem.md`` -> ``x.postmortem-2.md`` (number 1 is the path)."""
    target = Path(path)
    if number <= 1:
        return target
    return target.with_name(f"{target.stem}-{number}{target.suffix}")


def write_new_numbered(path: str | Path, data: str | bytes, *, mode: int = 0o600, tries: int = 1000) -> Path:
    """Create ``path``, or ``path-2``, ``path-3`` ... whichever is free first; the path written is returned."""
    for number in range(1, tries + 1):
        candidate = numbered(path, number)
        try:
            return write_new(candidate, data, mode=mode)
        except FileExistsError:
            continue
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.EISDIR):  # O_NOFOLLOW met a link, or a folder: taken
                continue
            raise
    raise FileExistsError(f"{path}: {tries} names taken already")


# --------------------------------------------------------------------------- sealed files the cockpit may update


def seal(text: str) -> str:
    """``text`` with the cockpit's seal as its last line (an HTML comment: invisible in rendered Markdown)."""
    body = text if text.endswith("\n") else text + "\n"
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f"{body}\n<!-- cockpit: sha256 {digest} -->\n"


def is_sealed(data: bytes) -> bool:
    """Was ``data`` written by :func:`seal` and not edited since?"""
    match = _SEAL_RE.search(data)
    return bool(match) and hashlib.sha256(data[: match.start()]).hexdigest() == match.group(1).decode()


class NotOurs(OSError):
    """The file at that name is not one the cockpit may replace (a link, someone else's, edited since)."""


def replace_own(path: str | Path, data: str | bytes, *, owned: Callable[[bytes], bool] = is_sealed,
                mode: int = 0o600) -> Path:
    """Write ``data`` at ``path``: created when free, replaced when the file there is the cockpit's own.

    ``NotOurs`` when something else is there (see the module docstring); the caller picks another name.
    """
    target = Path(path)
    try:
        current = _read_own(target)
    except FileNotFoundError:
        return write_new(target, data, mode=mode)
    content, file_mode = current
    if not owned(content):
        raise NotOurs(f"{target} was not written by the cockpit, or was edited since: left alone")
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    write_new(temp, data, mode=file_mode)
    try:
        os.replace(temp, target)  # replaces the name: whatever is there now, nothing is written through it
    except BaseException:
        _unlink_quietly(temp)
        raise
    _fsync_dir(target.parent)
    return target


def write_postmortem_stub(path: str | Path, text: str) -> Path:
    """Write the postmortem stub at ``path`` (next to the recording); the path actually written is returned.

    The cockpit's own unedited stub there is brought up to date; anything else at that name (a planted link, a
    stub the person already filled in, someone else's file) is left alone and the stub goes to
    ``<name>-2.md``, ``-3`` ... (never following a link).
    """
    sealed = seal(text)
    try:
        return replace_own(path, sealed)
    except NotOurs:
        pass
    target = Path(path)
    for number in range(2, 1000):
        candidate = numbered(target, number)
        try:
            return replace_own(candidate, sealed)
        except NotOurs:
            continue
    raise FileExistsError(f"{path}: no free name for the postmortem stub")


# --------------------------------------------------------------------------- helpers


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(f"short write ({len(payload) - len(view)} of {len(payload)} bytes)")
        view = view[written:]


def _read_own(path: Path) -> tuple[bytes, int]:
    """The content and permission bits of the regular file at ``path``, owned by this user; never via a link.

    ``FileNotFoundError`` when nothing is there; ``NotOurs`` for a link, a folder, a fifo, a device, a file of
    another user or one too large to be the cockpit's.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if os.path.lexists(path):  # a dangling link
            raise NotOurs(f"{path} is a link: left alone") from None
        raise
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EACCES, errno.EPERM):
            raise NotOurs(f"{path} is not a file the cockpit may replace ({err.strerror}): left alone") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotOurs(f"{path} is not a regular file: left alone")
        if info.st_uid != os.geteuid():
            raise NotOurs(f"{path} belongs to another user: left alone")
        if info.st_size > _MAX_OWN_BYTES:
            raise NotOurs(f"{path} is too large to be the cockpit's: left alone")
        chunks = []
        remaining = _MAX_OWN_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks), stat.S_IMODE(info.st_mode)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
