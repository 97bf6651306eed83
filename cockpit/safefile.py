"""Create files without following symlinks and without overwriting anything (placeholder until the safety branch
lands its module of the same name)."""

from __future__ import annotations

import os
from pathlib import Path


def write_new(path: Path | str, text: str, *, mode: int = 0o600) -> Path:
    """Create ``path`` (O_CREAT|O_EXCL|O_NOFOLLOW) and write ``text``; FileExistsError when anything is there."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path
