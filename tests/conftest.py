"""Shared fixtures: small SQL projects written into temporary folders."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

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
