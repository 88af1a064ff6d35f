"""``UPDATE_GOLDEN=1`` under CI fails the golden tests instead of rewriting the files and
passing whatever the code does (tests/golden_files.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO

GOLDEN_TEST = "tests/compiler/test_project.py::test_example_project_matches_golden_file"


@pytest.mark.slow
def test_update_golden_is_refused_under_ci() -> None:
    golden = REPO / "tests" / "golden" / "example_repo.json"
    before = golden.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", GOLDEN_TEST],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true", "UPDATE_GOLDEN": "1"},
        timeout=300,
    )
    assert done.returncode == 1, done.stdout
    assert "UPDATE_GOLDEN is refused under CI" in done.stdout
    assert golden.read_bytes() == before
