"""Golden files: ``UPDATE_GOLDEN=1`` rewrites them from the current output, on a
developer's machine only. Under CI (``CI`` set, as ``.ci/run`` sets it) the variable would
make every golden test pass whatever the code does, so it is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def updating_golden() -> bool:
    """Whether this run rewrites golden files (fails the test when asked to under CI)."""
    if not os.environ.get("UPDATE_GOLDEN"):
        return False
    if os.environ.get("CI"):
        pytest.fail("UPDATE_GOLDEN is refused under CI: it would make golden tests pass blindly")
    return True


def assert_matches_golden(golden: Path, actual: list[dict[str, Any]]) -> None:
    """``actual`` — one entry per statement, each with its ``line`` — equals the golden
    file's, entry by entry (rewritten first under ``UPDATE_GOLDEN=1``)."""
    if updating_golden():
        golden.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    expected = json.loads(golden.read_text())
    assert [e["line"] for e in actual] == [e["line"] for e in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got == want, f"{golden.name}:{want['line']}"
