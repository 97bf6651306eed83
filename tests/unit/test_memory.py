"""cockpit/memory.py: the collector held while the app loads and settled by the session; glibc's allocator
told to give freed memory back."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest

from cockpit import memory


@pytest.fixture(autouse=True)
def _restore_gc():
    enabled = gc.isenabled()
    yield
    memory.release()
    if enabled:
        gc.enable()
    gc.unfreeze()


def test_hold_then_settle_freezes_and_turns_the_collector_back_on() -> None:
    memory.hold()
    assert not gc.isenabled() and memory.held()
    frozen = gc.get_freeze_count()
    assert memory.settle(final=False)  # the first frame: frozen, still off
    assert gc.get_freeze_count() > frozen and not gc.isenabled()
    assert memory.settle()  # the panes answered: on again
    assert gc.isenabled() and not memory.held()
    assert not memory.settle()  # once only


def test_after_start_the_leftovers_are_collected_and_frozen_once() -> None:
    """The start-up's leftovers are collected and what lives is frozen in a quiet moment, once, so the first full
    collection does not come with the person's first keystroke."""
    assert not memory.settle_after_start()  # not a managed command: nothing
    memory.hold()
    assert not memory.settle_after_start()  # still held (the panes have not answered): nothing yet
    memory.settle()

    class Node:
        me: object = None

    node = Node()
    node.me = node  # garbage only a collection frees
    ref = weakref.ref(node)
    del node
    frozen = gc.get_freeze_count()
    assert memory.settle_after_start()
    assert ref() is None  # collected first: garbage is never frozen with what lives
    assert gc.get_freeze_count() > frozen and gc.isenabled()
    assert not memory.settle_after_start()  # once only
    memory.release()
    assert not memory.settle_after_start()  # the command is over


def test_settle_without_hold_does_nothing() -> None:
    """Tests and embedders that never held the collector keep it as it was, nothing frozen."""
    frozen = gc.get_freeze_count()
    assert not memory.settle()
    assert gc.get_freeze_count() == frozen and gc.isenabled()


def test_a_command_that_ends_unsettled_gets_the_collector_back() -> None:
    from cockpit.cli import main

    assert main(["replay", "/nonexistent/recording.cockpit"]) != 0  # held, then refused before any app ran
    assert gc.isenabled() and not memory.held()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_glibc_thresholds_and_trim() -> None:
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    assert memory.tune()
    assert memory.tune()  # once; again is a no-op
    before = memory.trims
    assert memory.trim(force=True)
    assert memory.trims == before + 1
    assert not memory.trim()  # rate-limited: a burst of relists trims once
