"""The cache of compiled dataclass methods (cockpit/codecache.py): same classes, no compile at the next launch, and a
file that is not plainly this user's own is never used."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit import codecache
from cockpit.codecache import CodeCache

SOURCE = "def __create_fn__():\n def __init__(self, a):\n  self.a = a\n return __init__"


def made(cache: CodeCache, source: str = SOURCE) -> object:
    ns: dict = {}
    cache.exec(source, {}, ns)
    return ns["__create_fn__"]()


def test_a_saved_table_is_loaded_and_hit(tmp_path):
    path = tmp_path / "cache" / "codes.bin"
    first = CodeCache(path)
    made(first)
    assert (first.missed, first.hits) == (1, 0)
    assert first.save()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"

    second = CodeCache(path)
    second.load()
    assert second.problem == ""
    init = made(second)
    assert (second.missed, second.hits) == (0, 1)
    obj = type("T", (), {"__init__": init})(5)
    assert obj.a == 5
    assert not second.save()  # nothing missed: nothing written


def test_a_changed_source_misses(tmp_path):
    path = tmp_path / "codes.bin"
    first = CodeCache(path)
    made(first)
    first.save()
    second = CodeCache(path)
    second.load()
    made(second, SOURCE.replace("self.a = a", "self.a = a * 2"))
    assert (second.missed, second.hits) == (1, 0)


def test_dataclasses_made_through_the_cache_behave_the_same(tmp_path):
    cache = CodeCache(tmp_path / "codes.bin")
    saved = dataclasses.__dict__.get("exec")
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    try:
        @dataclasses.dataclass(frozen=True)
        class Point:
            x: int
            y: int = 2
            tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)
    finally:
        if saved is None:
            del dataclasses.exec  # type: ignore[attr-defined]
        else:
            dataclasses.exec = saved  # type: ignore[attr-defined]
    assert cache.missed >= 5  # __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
    point = Point(1)
    assert (point, repr(point), hash(point) == hash(Point(1))) == (Point(1, 2, ()), repr(Point(1, 2, ())), True)
    assert repr(point).endswith("Point(x=1, y=2, tags=())")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]


@pytest.mark.parametrize("damage", ["group-writable", "symlink", "garbage", "other-header", "too-large", "directory"])
def test_a_file_not_plainly_ours_is_ignored(tmp_path, damage, monkeypatch):
    path = tmp_path / "codes.bin"
    good = CodeCache(path)
    made(good)
    good.save()
    if damage == "group-writable":
        path.chmod(0o620)
    elif damage == "symlink":
        real = tmp_path / "elsewhere.bin"
        path.rename(real)
        path.symlink_to(real)
    elif damage == "garbage":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] + b"\xff" * 64)
    elif damage == "other-header":
        path.write_bytes(path.read_bytes().replace(b"cockpit-codecache 1", b"cockpit-codecache 0"))
    elif damage == "too-large":
        monkeypatch.setattr(codecache, "MAX_BYTES", 16)
    elif damage == "directory":
        path.unlink()
        path.mkdir()
    cache = CodeCache(path)
    cache.load()  # never raises
    assert cache.codes == {}
    assert cache.problem
    made(cache)
    assert cache.missed == 1  # compiled as exec would


def test_an_unwritable_directory_only_costs_the_compile(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the directory should be")
    cache = CodeCache(blocked / "cockpit" / "codes.bin")
    made(cache)
    assert cache.save() is False  # no exception, nothing written


def run(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          check=True)
    return done.stdout.strip()


def test_the_second_launch_compiles_nothing(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("COCKPIT_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    report = ("import cockpit.app, cockpit.codecache as c; i = c._INSTALLED; "
              "print(i.hits, i.missed, i.problem or '-', i.path)")
    hits, missed, _problem, path = run(report, env).split()
    assert int(missed) > 200 and int(hits) < int(missed)  # (a few classes share a method text)
    assert Path(path).is_file() and Path(path).parent == tmp_path / "xdg" / "cockpit"
    hits, missed, problem, _path = run(report, env).split()
    assert int(missed) == 0 and int(hits) > 200 and problem == "-"


def test_off_leaves_dataclasses_alone(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("COCKPIT_")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), COCKPIT_CODE_CACHE="off")
    assert run("import cockpit.app, dataclasses; print('exec' in vars(dataclasses))", env) == "False"
    assert not (tmp_path / "xdg").exists()
