"""Promotion policies: which version ``@champion`` should name, and the move that makes it so.

``-- sqlml: promote = …`` on a model's TO TRAIN (``contract/lifecycle.py``):

- ``best_score(metric)``: among the *passing* versions, the one whose recorded ``metric``
  is best — higher for accuracy/auc/r2/f1…, lower for loss/rmse/mae…; a tie goes to the
  newer version; versions that recorded no such metric are not candidates;
- ``most_recent``: the newest passing version;
- ``manual``: nothing here moves it (only ``sqlml models alias``).

"Passing" is what the model's quality gates say about a version, exactly as ``@latest``
judges it for consumers (every usable version passes a model without gates). A version's
*recorded* metric is what an evaluation measured on it (held-out rows: the better
evidence), else its training's (``manifest.json``'s ``metrics``).

The policy is applied after a training publishes (or reuses) a version and after a gated
evaluation records its outcomes — the two moments "passing" or "best" can change. Two
appliers that race (two evaluations finishing at once) both decide from what they read
and create the alias's next record; the loser reads again and decides again, so the
alias ends where a policy applied to the final state puts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..contract.lifecycle import (
    BEST_SCORE,
    CHAMPION,
    MOST_RECENT,
    PromotionPolicy,
    metric_direction,
)
from .aliases import AliasMove
from .errors import AliasConflict
from .gates import Gate
from .models import ModelStore
from .records import Listing, ModelVersion

#: How often a policy re-decides after losing a race for the alias.
ATTEMPTS = 5


@dataclass(frozen=True)
class Decision:
    """What a policy concluded: the version it wants (``None``: none qualifies), and why."""

    version: int | None
    why: str


def recorded_metric(store: ModelStore, version: ModelVersion, metric: str) -> float | None:
    """``metric`` as recorded on ``version``: what an evaluation measured on it (its
    ``evaluations/`` record, else a gate's outcome, newest first), else the training's
    (``None``: nothing recorded it, or it is not a number)."""
    measured = [
        (r.evaluated_at, r.metrics[metric])
        for r in store.evaluations(version.model, version.version).values()
        if metric in r.metrics
    ] + [
        (r.evaluated_at, r.value)
        for r in store.gate_results(version.model, version.version).values()
        if r.metric == metric and r.value is not None
    ]
    value: object = max(measured)[1] if measured else version.manifest.metrics.get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def decide(
    store: ModelStore,
    model: str,
    policy: PromotionPolicy,
    gates: Sequence[Gate],
    listing: Listing | None = None,
) -> Decision:
    """The version ``policy`` makes ``@champion`` now."""
    listing = listing if listing is not None else store.listing(model)
    passing = [
        v
        for v in listing.versions
        if not gates or store.gate_status(model, v.version, gates).passed
    ]
    if not passing:
        why = "no version passes its quality gates" if gates else "no usable version"
        return Decision(None, why)
    if policy.kind == MOST_RECENT:
        return Decision(passing[-1].version, f"the newest passing version ({policy.text})")
    if policy.kind != BEST_SCORE or policy.metric is None:
        return Decision(None, f"promote = {policy.text}: only `sqlml models alias` moves it")
    metric = policy.metric
    lower = metric_direction(metric) == "minimize"
    scored = [
        (value, v.version)
        for v in passing
        if (value := recorded_metric(store, v, metric)) is not None
    ]
    if not scored:
        return Decision(None, f"no passing version records {metric}")
    # the best value; among equals the newest version
    value, best = max(scored, key=lambda pair: ((-pair[0] if lower else pair[0]), pair[1]))
    return Decision(best, f"best {metric} = {value:.4g} among passing versions ({policy.text})")


def apply_policy(
    store: ModelStore,
    model: str,
    policy: PromotionPolicy | None,
    gates: Sequence[Gate],
    *,
    run_id: str | None = None,
) -> tuple[AliasMove | None, str]:
    """Move ``@champion`` where ``policy`` says (nothing for ``manual`` or no policy); the
    move made (``None``: none was needed or possible) and a sentence saying why."""
    if policy is None or not policy.automatic:
        return None, "no promotion policy moves @champion" if policy is None else policy.text
    for _ in range(ATTEMPTS):
        decision = decide(store, model, policy, gates)
        current = store.aliases(model).get(CHAMPION)
        if decision.version is None:
            return None, f"@{CHAMPION} stays: {decision.why}"
        if current is not None and current.version == decision.version:
            return None, f"@{CHAMPION} stays at version {current.version}: {decision.why}"
        try:
            move = store.move_alias(
                model,
                CHAMPION,
                decision.version,
                reason=f"promote = {policy.text}",
                note=decision.why,
                run_id=run_id,
                expected=current.seq if current is not None else 0,
            )
        except AliasConflict:
            continue  # another applier moved it first: read again, decide again
        return move, f"@{CHAMPION} → version {move.version}: {decision.why}"
    return None, f"@{CHAMPION} kept moving under this run ({ATTEMPTS} tries); left as it is"


__all__ = ["ATTEMPTS", "Decision", "apply_policy", "decide", "recorded_metric"]
