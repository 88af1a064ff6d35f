"""One materializer per statement kind (``base.Materializer``), found by the kind.

Adding a statement kind is its compiler module, its materializer here and its runtime
step; this registry is the one line that connects the materializer.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...compiler.ir import Statement
from ..places import ScoredModel, StepInputs
from . import evaluate, explain, optimize, predict, register, run, table, train
from .base import Materializer

MATERIALIZERS: Mapping[str, Materializer] = {
    m.MATERIALIZER.kind: m.MATERIALIZER
    for m in (table, train, register, predict, evaluate, explain, run, optimize)
}


def materializer_for(statement: Statement) -> Materializer:
    """The materializer of a statement's kind (every kind that becomes an asset has one)."""
    try:
        return MATERIALIZERS[statement.KIND]
    except KeyError:
        raise LookupError(f"no materializer for statements of kind {statement.KIND!r}") from None


__all__ = ["MATERIALIZERS", "Materializer", "ScoredModel", "StepInputs", "materializer_for"]
