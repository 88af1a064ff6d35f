"""What every materializer is: how a statement kind becomes steps.

A materializer has two halves. ``step_spec`` is pure: the StepSpec a node's step runs,
from where its files go (:class:`StepInputs`) — the Dagster asset calls it with real
URIs, ``sqlml compile --k8s`` with placeholders, so the dry run shows exactly what a
materialization launches. ``run`` is the materialization itself (export, launch,
publish, load) and yields what the asset's op yields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from ...compiler.project import Node
from ...contract import StepSpec
from ..places import StepInputs

if TYPE_CHECKING:
    from ..step import AssetStep

StepResults = Iterator[dg.MaterializeResult | dg.AssetCheckResult | dg.AssetObservation]


@dataclass(frozen=True)
class Materializer:
    """How one statement kind materializes. ``step_spec`` is None for kinds that run in
    the warehouse alone (tables)."""

    kind: str
    run: Callable[[AssetStep], StepResults]
    step_spec: Callable[[Node, StepInputs], StepSpec] | None = None

    @property
    def launches_steps(self) -> bool:
        return self.step_spec is not None
