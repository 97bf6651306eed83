"""Files the cockpit writes next to a recording: created new, never through a symlink, never over another file."""

from __future__ import annotations

import os
from pathlib import Path


def write_beside(recording: Path, suffix: str, text: str) -> Path:
    """Write ``text`` to ``<recording><suffix>`` (or ``…-2<suffix>`` …) as a new file; returns its path."""
    from cockpit.safefile import write_new

    base = Path(recording).with_suffix("")
    for attempt in range(1, 100):
        path = Path(f"{base}{suffix}") if attempt == 1 else Path(f"{base}-{attempt}{suffix}")
        try:
            write_new(path, text)
            return path
        except FileExistsError:
            continue
    raise OSError(f"no free file name for {base}{suffix}")
