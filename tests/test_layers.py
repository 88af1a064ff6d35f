"""The layers hold at import time: each runs where the layers above it are not installed.

ruff's per-layer ``banned-api`` (``sqlml_dagster/compiler/ruff.toml``,
``sqlml_dagster/runtime/ruff.toml``) reads the source; these tests run it. Each starts a
Python whose import system refuses the packages a layer must do without, exactly as a
machine that never installed them would (``ModuleNotFoundError``), and records every
attempt, so an import that a ``try``/``except ImportError`` swallows still fails the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Runs first in the child: an import-system hook that makes the `blocked` patterns (module
# names or their dotted prefixes, fnmatch-style) unimportable, except the `allowed` ones.
_UNINSTALL = """
import fnmatch, json, sys

class Uninstalled:
    def __init__(self, blocked, allowed):
        self.blocked, self.allowed, self.tried = blocked, allowed, []

    def _matches(self, name, patterns):
        parts = name.split(".")
        prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
        return any(fnmatch.fnmatchcase(p, pattern) for p in prefixes for pattern in patterns)

    def find_spec(self, name, path=None, target=None):
        if self._matches(name, self.blocked) and not self._matches(name, self.allowed):
            self.tried.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (not installed here)", name=name)
        return None

uninstalled = Uninstalled(BLOCKED, ALLOWED)
assert not [m for m in sys.modules if uninstalled._matches(m, BLOCKED)], "loaded at startup"
sys.meta_path.insert(0, uninstalled)
"""


def _run_without(
    blocked: Sequence[str], body: str, *args: str, allowed: Sequence[str] = ()
) -> dict[str, Any]:
    """Run ``body`` in a fresh Python where ``blocked`` cannot be imported; its JSON result.

    ``body`` ends by printing one JSON object; ``uninstalled.tried`` lists what it asked for.
    """
    code = (
        f"BLOCKED, ALLOWED = {list(blocked)!r}, {list(allowed)!r}\n"
        + _UNINSTALL
        + textwrap.dedent(body)
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the compiler: no Dagster ---------------------------------------------------------------

_COMPILE = """
from sqlml_dagster.compiler import check_project, compile_project

project = compile_project(sys.argv[1])
_, diagnostics = check_project(sys.argv[2])
print(json.dumps({
    "schedules": {str(node.name): node.directives.schedule for node in project.nodes},
    "errors": [
        [d.code, d.message, d.span.line, d.span.col] for d in diagnostics if d.is_error
    ],
    "tried": uninstalled.tried,
}))
"""

TRAIN = (
    "CREATE TABLE t AS SELECT range AS x, range % 2 AS y FROM range(10);\n"
    '-- sqlml: schedule = "{cron}"\n'
    "SELECT x, y FROM t TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;\n"
)


def _sql(folder: Path, text: str) -> Path:
    folder.mkdir()
    (folder / "f.sql").write_text(text)
    return folder


@pytest.mark.slow
def test_the_compiler_checks_schedules_where_dagster_is_not_installed(tmp_path: Path) -> None:
    good = _sql(tmp_path / "good", TRAIN.format(cron="0 3 * * *"))
    bad = _sql(tmp_path / "bad", TRAIN.format(cron="0 25 * * *"))

    result = _run_without(["dagster", "dagster_*"], _COMPILE, str(good), str(bad))

    assert result == {
        "schedules": {"t": None, "m": "0 3 * * *"},
        "errors": [["SQLML111", "invalid cron string '0 25 * * *'", 2, 11]],
        "tried": [],
    }


# -- the runtime: what a step image with `sqlml-dagster[runtime]` alone can import ----------

_IMPORT_RUNTIME = """
import importlib, pkgutil
import sqlml_dagster.runtime

missing = {}
for module in pkgutil.walk_packages(sqlml_dagster.runtime.__path__, "sqlml_dagster.runtime."):
    try:
        importlib.import_module(module.name)
    except ModuleNotFoundError as e:
        missing[module.name] = e.name
print(json.dumps({"missing": missing, "tried": uninstalled.tried}))
"""

#: What the orchestrator installs and a step image does not (`[runtime]` has dagster-pipes).
ORCHESTRATOR = [
    "dagster",
    "dagster_*",
    "sqlglot",
    "duckdb",
    "sqlml_dagster.compiler",
    "sqlml_dagster.ops",
    "sqlml_dagster.warehouses",
    "sqlml_dagster.launchers",
    "sqlml_dagster.definitions",
    "sqlml_dagster.translator",
    "sqlml_dagster.component",
]
#: The `[pytorch]` and `[keras]` extras: an image installs the one its flavor needs.
FRAMEWORKS = ["torch", "safetensors", "keras", "tensorflow", "tf_keras"]


@pytest.mark.slow
def test_the_runtime_imports_with_the_runtime_extra_alone() -> None:
    """Every runtime module imports without the orchestrator's packages, and the framework
    glue fails only for want of its own framework."""
    result = _run_without(
        ORCHESTRATOR + FRAMEWORKS, _IMPORT_RUNTIME, allowed=["dagster_pipes", "dagster_pipes.*"]
    )

    assert [name for name in result["tried"] if name.split(".")[0] not in FRAMEWORKS] == []
    assert all(name.split(".")[0] in FRAMEWORKS for name in result["missing"].values())
    assert "sqlml_dagster.runtime.__main__" not in result["missing"]
    assert "sqlml_dagster.runtime.flavors.sklearn" not in result["missing"]


@pytest.mark.parametrize(
    ("blocked", "body", "needs"),
    [
        (["dagster"], "import dagster", "dagster"),
        (["dagster_*"], "import dagster_k8s", "dagster_k8s"),
        (["sqlml_dagster.ops"], "from sqlml_dagster.ops import steps", "sqlml_dagster.ops"),
    ],
)
def test_an_import_of_a_blocked_package_fails_as_if_not_installed(
    blocked: list[str], body: str, needs: str
) -> None:
    """The hook itself: without it the tests above would pass for the wrong reason."""
    code = f"BLOCKED, ALLOWED = {blocked!r}, []\n" + _UNINSTALL + body
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 1
    assert f"ModuleNotFoundError: No module named '{needs}' (not installed here)" in done.stderr
