"""A cache of the code ``dataclasses`` generates, so a launch does not compile it again.

Every dataclass has its ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` (and, frozen, ``__setattr__`` and
``__delattr__``) written as source text and compiled by ``exec`` when its class statement runs.  The cockpit and
Textual define about 140 of them on the way to the first frame: about 700 compiles, 80-110 ms of a launch here (a
third of its imports), every launch, for the same texts.  Python keeps the compiled modules in ``__pycache__``; it
keeps nothing for these.

:func:`install` makes the ``dataclasses`` module's ``exec`` (a module global; the builtin is untouched) look the
source up in a dictionary of code objects loaded from the cockpit's cache directory, and compile on a miss exactly as
``exec`` would (``compile(source, "<string>", "exec")``, no inherited flags: ``dataclasses`` has no ``__future__``
imports).  The lookup key is the BLAKE2b digest of the whole source text, so a changed class, field or default can
only miss.  At exit the cache is written again if anything missed (atomically, mode 0600).

The file is trusted as Python trusts ``__pycache__``: it is used only if it is a regular file owned by this user and
writable by no one else (not a link), at most :data:`MAX_BYTES`, and written by the same Python (magic number and
version in its header) and the same cockpit version; anything else is ignored and rewritten.  ``COCKPIT_CODE_CACHE=off``
turns it off; :func:`fill` fills it ahead (imports every cockpit module), as ``compileall`` does for ``__pycache__``.
"""

from __future__ import annotations

import builtins
import hashlib
import marshal
import os
import stat
import sys
import threading
from pathlib import Path
from types import CodeType
from typing import Any

MAX_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 8192  # beyond this only the entries this process used are written back
FILE_NAME = f"dataclass-code.{sys.implementation.cache_tag}.bin"


def _header() -> bytes:
    import importlib.util

    from cockpit import __version__

    return b"cockpit-codecache 1\n" + importlib.util.MAGIC_NUMBER + f"\n{sys.version}\n{__version__}\n".encode()


class CodeCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes: dict[bytes, CodeType] = {}
        self.used: set[bytes] = set()
        self.missed = 0
        self.hits = 0
        self.problem = ""  # why the file on disk was not used, for the curious (python -m cockpit.codecache)
        self._lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------------------------------
    def load(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return
        except OSError as err:
            self.problem = f"cannot open: {err.strerror}"
            return
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self.problem = "not a regular file"
                return
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                self.problem = "owned by another user"
                return
            if info.st_mode & 0o022:
                self.problem = "writable by group or others"
                return
            if info.st_size > MAX_BYTES:
                self.problem = f"larger than {MAX_BYTES} bytes"
                return
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(MAX_BYTES + 1)
        finally:
            os.close(fd)
        header = _header()
        if not data.startswith(header):
            self.problem = "written by another Python or cockpit version"
            return
        try:
            codes = marshal.loads(data[len(header):])
        except (EOFError, ValueError, TypeError) as err:
            self.problem = f"unreadable: {err}"
            return
        if not isinstance(codes, dict):
            self.problem = "unreadable: not a table"
            return
        self.codes = {key: code for key, code in codes.items()
                      if isinstance(key, bytes) and len(key) == 16 and isinstance(code, CodeType)}

    # -- the hook -------------------------------------------------------------------------------------------------
    def code_for(self, source: str) -> CodeType:
        key = hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        code = self.codes.get(key)
        if code is None:
            code = compile(source, "<string>", "exec", dont_inherit=True)
            with self._lock:
                self.codes[key] = code
                self.missed += 1
        else:
            self.hits += 1
        self.used.add(key)
        return code

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:  # noqa: A002 - exec's names
        if isinstance(source, str):
            source = self.code_for(source)
        builtins.exec(source, globals, locals)

    # -- writing --------------------------------------------------------------------------------------------------
    def save(self, *, force: bool = False) -> bool:
        """Write the table if something missed (or ``force``).  Never raises: a cache that cannot be written is only
        slower next time."""
        if not (self.missed or force):
            return False
        with self._lock:
            codes = dict(self.codes)
        if len(codes) > MAX_ENTRIES:
            codes = {key: code for key, code in codes.items() if key in self.used}
        data = _header() + marshal.dumps(codes)
        if len(data) > MAX_BYTES:
            return False
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                with os.fdopen(fd, "wb", closefd=False) as handle:
                    handle.write(data)
            finally:
                os.close(fd)
            os.replace(temp, self.path)
        except OSError:
            try:
                temp.unlink()
            except OSError:
                pass
            return False
        self.missed = 0
        return True


_INSTALLED: CodeCache | None = None


def cache_path() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("cockpit", appauthor=False) / FILE_NAME


def install() -> CodeCache | None:
    """Put the cache in front of ``dataclasses``' compiles (once per process).  Off with ``COCKPIT_CODE_CACHE=off``."""
    global _INSTALLED
    if _INSTALLED is not None:
        return _INSTALLED
    if os.environ.get("COCKPIT_CODE_CACHE", "").lower() in ("off", "0", "no", "false"):
        return None
    import dataclasses

    if dataclasses.__dict__.get("exec", builtins.exec) is not builtins.exec:
        return None  # someone else already replaced it: leave theirs alone
    try:
        cache = CodeCache(cache_path())
    except Exception:  # noqa: BLE001 - no cache dir (no HOME): run without the cache
        return None
    cache.load()
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    import atexit

    atexit.register(cache.save)
    _INSTALLED = cache
    return cache


def fill() -> CodeCache | None:
    """Import every cockpit module (and what they import) and write the cache now."""
    import importlib
    import pkgutil

    cache = install()
    if cache is None:
        return None
    for top in ("cockpit", "cockpit.screens", "cockpit.widgets"):  # (the last two live apart in the repository)
        try:
            package = importlib.import_module(top)
        except ImportError:
            continue
        for module in pkgutil.walk_packages(package.__path__, f"{top}."):
            if module.name.endswith("__main__") or module.name == "cockpit.codecache":
                continue
            try:
                importlib.import_module(module.name)
            except Exception:  # noqa: BLE001 - an optional backend missing here: its classes compile when used
                continue
    cache.save(force=True)
    return cache

