"""Shared fixtures: small SQL projects written into temporary folders."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example_repo"


@pytest.fixture
def write_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write ``{"iris.sql": "..."}`` under ``tmp_path/sql`` and return that folder."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "sql"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        return root

    return write


def materialize_all(root: Path, state: Path, **build_options: Any) -> dg.ExecuteInProcessResult:
    """Materialize every asset of the SQL folder ``root`` with state in ``state``; failures
    come back in the result (see :func:`failure_reasons`), not as exceptions."""
    from sqlml_dagster import build_defs

    defs = build_defs(root, state_dir=state, **build_options)
    return dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def failure_reasons(result: dg.ExecuteInProcessResult) -> str:
    """The descriptions users see for each failed step, one per line."""
    reasons = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            user = event.step_failure_data.user_failure_data
            reasons.append(
                user.description
                if user and user.description
                else str(event.step_failure_data.error)
            )
    return "\n".join(str(r) for r in reasons)
