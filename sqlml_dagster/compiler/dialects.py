"""SQL dialect names: whether sqlglot knows one, and what to say when it does not.

A dialect comes from ``build_defs(dialect=…)``, a component's ``defs.yaml`` or
``sqlml check --dialect``; all three report a wrong name the same way (SQLML301) instead of
sqlglot's ``ValueError``."""

from __future__ import annotations

import difflib

from sqlglot.dialects.dialect import Dialect, Dialects

_DIALECTS = frozenset(d.value for d in Dialects if d.value)


def unknown_dialect(name: str) -> tuple[str, str] | None:
    """``(message, hint)`` when ``name`` is no dialect the compiler accepts, else None.
    Accepted is what sqlglot's own lookup accepts: plugin dialects and settings such as
    ``"mysql, normalization_strategy = lowercase"`` included."""
    try:
        Dialect.get_or_raise(name)
    except ValueError:
        close = difflib.get_close_matches(name.lower(), sorted(_DIALECTS), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "see sqlglot's dialects"
        return f"unknown SQL dialect '{name}'", hint
    return None
