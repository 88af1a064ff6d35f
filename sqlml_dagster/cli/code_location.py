"""Finding the ``dagster.Definitions`` in a user's module, for the commands that run or
inspect a code location (``materialize`` and the catalog commands)."""

from __future__ import annotations

from typing import Any


def find_definitions(module: Any, attribute: str | None) -> Any:
    import dagster as dg

    if attribute:
        return getattr(module, attribute, None)
    for value in vars(module).values():
        if isinstance(value, dg.Definitions):
            return value
    return None
