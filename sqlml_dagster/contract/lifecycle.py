"""A model's lifecycle as every layer spells it: named aliases (``m@champion``), how a
pin is written (``m@3``, ``m@champion``, ``m@latest``), promotion policies (``-- sqlml:
promote = best_score(val_auc)``) and which way a metric gets better.

The compiler checks what SQL writes against these rules (``sqlml check``), the model
store keeps aliases under names that pass them, the CLI parses ``M@V`` and ``M@alias``
with them — one rule, so a name ``sqlml check`` accepts is one the store can keep.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from .trials import MAXIMIZED, MINIMIZED, TRAINING_METRICS, metric_direction

#: A model use's version: a number (``m@3``), an alias (``m@champion``) or ``None``
#: (``m`` or ``m@latest``: what ``@latest`` resolves to).
Pin: TypeAlias = int | str | None

#: The alias the promotion policies move and champion-relative gates compare with.
CHAMPION = "champion"
#: ``@latest`` is the default, not an alias one could move.
LATEST = "latest"
#: The longest alias: it is a file name in the store and a word in SQL.
ALIAS_MAX = 63
#: One SQL word: lower-case letters, digits and ``_``, starting with a letter (so no alias
#: reads as a version number and each is one token in every dialect).
_ALIAS = re.compile(r"[a-z][a-z0-9_]*")

ALIAS_HINT = (
    "an alias is one word of lower-case letters, digits and '_' that starts with a letter "
    f"(at most {ALIAS_MAX} characters), e.g. m@champion; a version is a positive number (m@3)"
)


def alias_problem(name: str) -> str | None:
    """Why ``name`` (as written, any case) cannot be an alias (``None``: it can)."""
    if not name:
        return "is empty"
    if len(name) > ALIAS_MAX:
        return f"is {len(name)} characters long; an alias has at most {ALIAS_MAX}"
    if name.lower() == LATEST:
        return "is 'latest', which always means the newest (or promoted) version"
    if not _ALIAS.fullmatch(name.lower()):
        return "is not one word of letters, digits and '_' starting with a letter"
    return None


def pin_text(pin: Pin) -> str:
    """``@3``, ``@champion`` or ``""`` (``@latest``): how SQL and messages write a pin."""
    return "" if pin is None else f"@{pin}"


def gate_condition(metric: str, op: str, threshold: float, baseline: str | None) -> str:
    """``accuracy >= 0.9``, ``auc >= champion.auc + 0.01`` or ``rmse <= champion.rmse``: a
    quality gate as the UI, the catalog, messages and the canonical SQL write it."""
    if not baseline:
        return f"{metric} {op} {threshold!r}"
    return f"{metric} {op} {baseline}.{metric}{margin_text(threshold)}"


def margin_text(margin: float) -> str:
    """`` + 0.01``, `` - 0.5`` or nothing for a zero margin."""
    if not margin:
        return ""
    return f" + {margin!r}" if margin > 0 else f" - {-margin!r}"


# -- metrics: which way is better (contract/trials.py says it for searches too) ------------


def known_metrics() -> list[str]:
    """Every metric a ``best_score`` may name, for hints (``val_`` forms left out)."""
    return sorted(MAXIMIZED | MINIMIZED)


def recorded_by_training(metric: str) -> bool:
    """Whether a training records ``metric`` on its version (``manifest.json``'s
    ``metrics``): scikit-learn on its training rows, the deep-learning flavors per epoch
    and on validation rows (``val_``)."""
    return metric.removeprefix("val_") in TRAINING_METRICS


# -- promotion policies ---------------------------------------------------------------

BEST_SCORE = "best_score"
MOST_RECENT = "most_recent"
MANUAL = "manual"
POLICIES = (BEST_SCORE, MOST_RECENT, MANUAL)


@dataclass(frozen=True)
class PromotionPolicy:
    """``-- sqlml: promote = …`` on a model: which version becomes ``@champion``.

    ``best_score(metric)``: the passing version with the best recorded ``metric``
    (maximized or minimized, as :func:`metric_direction` says); ``most_recent``: the newest passing
    version; ``manual``: only ``sqlml models alias`` moves it. "Passing" is what the
    model's quality gates say (every version passes a model without gates)."""

    kind: str
    metric: str | None = None

    @property
    def text(self) -> str:
        return f"{self.kind}({self.metric})" if self.metric else self.kind

    @property
    def automatic(self) -> bool:
        return self.kind != MANUAL

    @classmethod
    def parse(cls, text: str) -> PromotionPolicy:
        """The policy in its :attr:`text` form (a manifest's), or :class:`ValueError`."""
        match = re.fullmatch(r"\s*(\w+)\s*(?:\(\s*(\w+)\s*\))?\s*", text)
        if match is None or match.group(1) not in POLICIES:
            raise ValueError(f"'{text}' is not a promotion policy ({', '.join(POLICIES)})")
        kind, metric = match.group(1), match.group(2)
        if (kind == BEST_SCORE) != (metric is not None):
            raise ValueError(f"'{text}': best_score takes one metric, the others none")
        return cls(kind, metric)


__all__ = [
    "ALIAS_HINT",
    "ALIAS_MAX",
    "BEST_SCORE",
    "CHAMPION",
    "LATEST",
    "MANUAL",
    "MOST_RECENT",
    "POLICIES",
    "Pin",
    "PromotionPolicy",
    "alias_problem",
    "gate_condition",
    "known_metrics",
    "margin_text",
    "metric_direction",
    "pin_text",
    "recorded_by_training",
]
