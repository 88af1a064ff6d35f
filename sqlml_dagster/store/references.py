"""A model reference as a person writes it outside SQL — ``churn``, ``churn@7``,
``churn@latest``, ``churn@champion`` — and the one function that turns it into a version.

``sqlml serve`` resolves what it serves here, and again each time it polls the store, so
a reference that moves (``@latest``, an alias) is followed by everything that resolves it
through :func:`resolve_reference`. A name after ``@`` that is neither a number nor
``latest`` is an *alias* (the rule is ``contract/lifecycle.py``'s, as in SQL), resolved
to the version its newest move names (``ModelStore.alias``; a missing one fails naming the
aliases there are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..contract.lifecycle import Pin, alias_problem
from ..contract.names import key_problem
from .gates import Gate
from .models import ModelStore
from .records import ModelVersion

__all__ = ["BadReference", "ModelReference", "parse_reference", "resolve_reference"]


class BadReference(ValueError):
    """A reference that does not read: its model name or what follows ``@``."""


@dataclass(frozen=True)
class ModelReference:
    """``model`` at a ``version`` (a number), or an ``alias``; neither: ``@latest``."""

    model: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.model}@{self.version}"
        return f"{self.model}@{self.alias or 'latest'}"

    @property
    def pin(self) -> Pin:
        """The version or alias as every layer writes a pin (``None``: ``@latest``)."""
        return self.version if self.version is not None else self.alias

    @property
    def moves(self) -> bool:
        """Whether the version it names can change (``@latest``, an alias), so a server
        must keep resolving it; a number names one version forever."""
        return self.version is None


def parse_reference(text: str) -> ModelReference:
    """``churn``, ``churn@7``, ``churn@latest`` or ``churn@champion``; :class:`BadReference`
    saying what is wrong otherwise."""
    model, at, after = text.strip().partition("@")
    model = model.strip()
    problem = key_problem(model) if model else "is empty"
    if problem is not None:
        raise BadReference(f"'{text}': the model name {problem}")
    if not at or after.lower() == "latest":
        return ModelReference(model.lower())
    if after.isdigit():
        if int(after) < 1:
            raise BadReference(f"'{text}': versions count from 1")
        return ModelReference(model.lower(), version=int(after))
    if alias_problem(after) is not None:
        raise BadReference(
            f"'{text}': after '@' comes a version number, 'latest' or an alias "
            "(a letter, then letters, digits or '_')"
        )
    return ModelReference(model.lower(), alias=after.lower())


def resolve_reference(
    store: ModelStore, reference: ModelReference | str, *, gates: Sequence[Gate] = ()
) -> ModelVersion:
    """The version ``reference`` names in ``store`` now: a number as it is, ``@latest`` as
    every consumer resolves it (with the model's ``gates``: the newest version that passed,
    a promotion winning). Raises :class:`ModelNotFound` (naming what exists),
    ``CorruptVersion`` or ``GateNotPassed`` like :meth:`ModelStore.get` (an alias:
    ``AliasNotFound`` naming the aliases there are)."""
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    return store.get(ref.model, ref.pin, gates=gates)
