"""A model's promotion policy applied in the run that can change its answer: after a
training publishes (or reuses) a version, and after a gated evaluation records its
outcomes (``store/promotion.py`` decides; this reports it in Dagster's terms).

Moving ``@champion`` is what refreshes the consumers of ``m@champion`` (the alias sensor,
``definitions.py``), never a new version by itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..contract.lifecycle import CHAMPION
from ..store.errors import CorruptVersion
from ..store.promotion import apply_policy

if TYPE_CHECKING:
    from .step import AssetStep


def promote(step: AssetStep, model: str) -> dict[str, Any]:
    """Apply ``model``'s policy (if it has one) and say what happened, as metadata of the
    step's materialization (``champion``: ``v2``, the version ``@champion`` names
    afterwards)."""
    policy = step.policies.get(model)
    if policy is None:
        return {}
    store = step.storage.models()
    try:
        move, why = apply_policy(
            store, model, policy, step.gates.get(model, ()), run_id=step.context.run_id
        )
        current = store.aliases(model).get(CHAMPION)
    except CorruptVersion as e:  # an unreadable alias record: said, never hidden
        step.context.log.warning(f"{model}: promote = {policy.text} did not run: {e}")
        return {"promotion": f"not applied: {e}"}
    step.context.log.info(f"{model}: promote = {policy.text}: {why}")
    metadata: dict[str, Any] = {"promotion": why}
    if current is not None:  # text: a reused version's materialization plots no numbers
        metadata["champion"] = f"v{current.version}"
    if move is not None:
        metadata["champion_moved"] = True
    return metadata


__all__ = ["promote"]
