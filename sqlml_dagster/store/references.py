"""A model reference as a person writes it outside SQL — ``churn``, ``churn@7``,
``churn@latest``, ``churn@champion`` — and the one function that turns it into a version.

``sqlml serve`` resolves what it serves here, and again each time it polls the store, so
a reference that moves (``@latest``, an alias) is followed by everything that resolves it
through :func:`resolve_reference`. A name after ``@`` that is neither a number nor
``latest`` is an *alias*; this store resolves none yet, so naming one fails with a
message saying so — the seam where aliases plug in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..contract.names import key_problem
from .errors import ModelNotFound
from .gates import Gate
from .models import ModelStore
from .records import ModelVersion

__all__ = ["BadReference", "ModelReference", "parse_reference", "resolve_reference"]

_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,62}$")


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
    if not _ALIAS.match(after):
        raise BadReference(
            f"'{text}': after '@' comes a version number, 'latest' or an alias "
            "(a letter, then letters, digits, '_' or '-')"
        )
    return ModelReference(model.lower(), alias=after.lower())


def resolve_reference(
    store: ModelStore, reference: ModelReference | str, *, gates: Sequence[Gate] = ()
) -> ModelVersion:
    """The version ``reference`` names in ``store`` now: a number as it is, ``@latest`` as
    every consumer resolves it (with the model's ``gates``: the newest version that passed,
    a promotion winning). Raises :class:`ModelNotFound` (naming what exists),
    ``CorruptVersion`` or ``GateNotPassed`` like :meth:`ModelStore.get`."""
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    if ref.alias is not None:
        return _resolve_alias(store, ref)
    return store.get(ref.model, ref.version, gates=gates)


def _resolve_alias(store: ModelStore, ref: ModelReference) -> ModelVersion:
    numbers = store.listing(ref.model).numbers
    raise ModelNotFound(
        f"model '{ref.model}' has no alias '{ref.alias}': this store resolves no aliases; "
        f"name a version ({ref.model}@{numbers[-1] if numbers else 1}) or @latest"
    )
