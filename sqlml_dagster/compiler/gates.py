"""Quality gates as the compiler knows them: which thresholds each evaluation sets on which
model, and the one project rule about them (SQLML113).

``SELECT … TO EVALUATE m WITH check.accuracy >= 0.9 … INTO m_eval`` declares a gate on
``m``. The compiler names and locates it here, once; the manifest records it under the
model's store key (``QualifiedName.key``), Dagster turns it into a blocking check
(``ops/checks.py``) and the model store's ``@latest`` judges versions by it
(``store.Gate``) — so every reader keys gates the way the model store keys models.

The order rule lives here rather than where Definitions are built so that ``sqlml check``
refuses what ``dagster dev`` would refuse, with file:line:col.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import codes
from .directives import Report
from .ir import EvaluateStatement

if TYPE_CHECKING:
    from .project import Node


@dataclass(frozen=True)
class GateSpec:
    """One declared gate: check ``name`` passes when the evaluated ``metric`` compares to
    ``threshold`` as ``op`` says. The fields are those of ``store.Gate``, which adds the
    judging; ``evaluation`` is the key of the node that scores it, ``location`` where the
    threshold is written (file:line:col)."""

    name: str
    metric: str
    op: str
    threshold: float
    evaluation: str
    location: str
    #: ``champion`` for ``check.auc >= champion.auc + δ`` (``threshold`` is then δ).
    baseline: str = ""


def node_gates(node: Node) -> tuple[GateSpec, ...]:
    """The gates an evaluation node sets on its model (none for other nodes).

    A gate's check name is ``<evaluation>_<metric>`` (``iris_eval_accuracy``): unique on
    the model, since one evaluation sets one threshold per metric (SQLML104), and stable
    while the evaluation keeps its name — outcomes recorded on versions are found by it.
    """
    statement = node.statement
    if not isinstance(statement, EvaluateStatement):
        return ()
    return tuple(
        GateSpec(
            name="_".join([*node.name.asset_path, check.metric]),
            metric=check.metric,
            op=check.op,
            threshold=check.threshold,
            evaluation=node.name.key,
            location=check.span.location() if check.span is not None else "",
            baseline=check.baseline or "",
        )
        for check in statement.checks
    )


def project_gates(nodes: Iterable[Node]) -> dict[str, tuple[GateSpec, ...]]:
    """Every gated model's gates, by model key (``QualifiedName.key``, the store's key)."""
    gates: dict[str, tuple[GateSpec, ...]] = {}
    for node in nodes:
        found = node_gates(node)
        if found:
            assert isinstance(node.statement, EvaluateStatement)
            key = node.statement.model.key
            gates[key] = (*gates.get(key, ()), *found)
    return gates


def check_gate_order(nodes: Sequence[Node], report: Report) -> None:
    """SQLML113 for a gate that would wait for what it gates.

    Every step that uses a gated model waits for the model's gates in the same run. An
    evaluation whose SELECT reads (directly or not) a table computed *with* that model —
    ``ML_PREDICT(m, …)``, a prediction of ``m`` — would therefore wait for itself.
    """
    by_key = {n.name.key: n for n in nodes}
    for node in nodes:
        statement = node.statement
        if not isinstance(statement, EvaluateStatement) or not statement.checks:
            continue
        model = statement.model.key
        seen: set[str] = set()
        stack = [d.key for d in node.deps if d.key != model]
        while stack:
            key = stack.pop()
            if key in seen or key not in by_key:
                continue
            seen.add(key)
            upstream = by_key[key]
            if any(d.key == model for d in upstream.deps) and not _gates(upstream, model):
                first = statement.checks[0]
                report(
                    codes.BAD_CHECK,
                    f"the quality gates on '{statement.model}' read '{upstream.name}', "
                    f"which is computed with '{statement.model}' and so waits for them",
                    first.span or statement.span,
                    "evaluate on data that does not use the gated model, or move "
                    "the thresholds to an evaluation that does not",
                )
                break
            stack.extend(d.key for d in upstream.deps)


def _gates(node: Node, model: str) -> bool:
    """Whether ``node`` is an evaluation with gates on ``model``: Dagster exempts it from
    waiting on the model's gates, so reading its table waits for nothing gated."""
    statement = node.statement
    return (
        isinstance(statement, EvaluateStatement)
        and bool(statement.checks)
        and statement.model.key == model
    )


__all__ = ["GateSpec", "check_gate_order", "node_gates", "project_gates"]
