"""``paused_gc``: no automatic collection while a project is built, and the collector is
left exactly as it was found (nested pauses leave it to the outermost)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sqlml_dagster.compiler.gc_pause import paused_gc


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled_before", [True, False])
def test_paused_inside_and_restored_after(enabled_before: bool) -> None:
    if enabled_before:
        gc.enable()
    else:
        gc.disable()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause does not re-enable it
    assert gc.isenabled() is enabled_before


def test_restored_when_the_build_fails() -> None:
    gc.enable()
    with pytest.raises(ValueError), paused_gc():
        raise ValueError("a compile error")
    assert gc.isenabled()


def test_objects_made_while_paused_are_not_frozen() -> None:
    """The freeze/unfreeze hand-over only moves them to the oldest generation: they are
    still collectable afterwards (nothing leaks into the permanent generation)."""
    gc.enable()
    frozen = gc.get_freeze_count()
    with paused_gc():
        cycle: list[object] = []
        cycle.append(cycle)
    assert gc.get_freeze_count() == frozen
    del cycle
    assert gc.collect() >= 1


def test_a_decorated_function_runs_paused() -> None:
    @paused_gc()
    def build() -> bool:
        return gc.isenabled()

    gc.enable()
    assert build() is False
    assert gc.isenabled()
