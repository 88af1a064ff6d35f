"""How every versioned JSON document of the project reads: the StepSpec, the StepResult,
the project manifest, a model version's manifest.

A reader keeps the fields it knows (a newer writer may add some) and refuses a document
whose version is newer than it understands, saying what to upgrade — the same rule in
every document, so a mixed fleet of images and orchestrators fails in one clear way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


def known_fields(cls: type, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``raw`` that are fields of the dataclass ``cls``."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in raw.items() if key in names}


def check_version(
    version: object,
    current: int,
    *,
    what: str,
    reader: str,
    upgrade: str,
    error: type[Exception],
) -> None:
    """Raise ``error`` unless ``version`` is an int this ``reader`` (the runtime, the
    orchestrator…) understands (≤ ``current``)."""
    if not isinstance(version, int) or isinstance(version, bool) or version > current:
        raise error(
            f"{what} version {version!r} is newer than this {reader} understands "
            f"(≤ {current}); {upgrade}"
        )
