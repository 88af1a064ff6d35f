"""Finding the ``dagster.Definitions`` in a user's module, for the commands that run or
inspect a code location (``materialize`` and the catalog commands)."""

from __future__ import annotations

from typing import Any


def find_definitions(module: Any, attribute: str | None) -> Any:
    """The module's ``Definitions`` (or its ``attribute``), loading a ``@dg.definitions``
    function as Dagster does: that is what ``create-dagster project`` writes into
    ``definitions.py`` (docs/deploy.md), so ``sqlml materialize -m my_project.definitions``
    must find the same project ``dg dev`` loads. Loading compiles the SQL: callers handle
    its errors as they handle an import's."""
    import dagster as dg

    values: list[Any] = (
        [getattr(module, attribute, None)] if attribute else [*vars(module).values()]
    )
    for value in values:
        if _is_definitions_function(value):
            value = value()
        if attribute or isinstance(value, dg.Definitions):
            return value
    return None


def _is_definitions_function(value: Any) -> bool:
    """A ``@dg.definitions`` function that takes no load context (one that does can only be
    loaded from a ``defs`` folder, by Dagster's component tree)."""
    try:
        from dagster.components.definitions import LazyDefinitions
    except ImportError:  # a Dagster without components: no such functions
        return False
    return isinstance(value, LazyDefinitions) and not value.has_context_arg
