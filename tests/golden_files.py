"""Golden files: ``UPDATE_GOLDEN=1`` rewrites them from the current output, on a
developer's machine only. Under CI (``CI`` set, as ``.ci/run`` sets it) the variable would
make every golden test pass whatever the code does, so it is refused."""

from __future__ import annotations

import os

import pytest


def updating_golden() -> bool:
    """Whether this run rewrites golden files (fails the test when asked to under CI)."""
    if not os.environ.get("UPDATE_GOLDEN"):
        return False
    if os.environ.get("CI"):
        pytest.fail("UPDATE_GOLDEN is refused under CI: it would make golden tests pass blindly")
    return True
