"""A project as ``create-dagster project`` makes it, a ``SqlMlProject`` scaffolded into it
with ``dg scaffold defs``, and every ``sqlml`` command run in it with no ``-m`` — the way a
Dagster user starts (docs/component.md). Real CLIs throughout: create-dagster, dg, sqlml.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from sqlml_dagster.cli import main
from sqlml_dagster.cli.code_location import load_definitions
from sqlml_dagster.cli.errors import CliError
from sqlml_dagster.contract.logs import is_framework_banner

from .conftest import ok, run_cli

SCAFFOLDED_KEYS = {"example_points", "example_model", "example_predictions"}


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``create-dagster project <name>`` (its @dg.definitions definitions.py, src/ layout,
    [tool.dg]), then ``dg scaffold defs sqlml_dagster.SqlMlProject my_sql`` inside it."""
    package = f"sqlml_created_{uuid.uuid4().hex[:8]}"  # one module name per test session
    parent = tmp_path_factory.mktemp("created")
    ok(run_cli("create-dagster", "project", "--no-uv-sync", package, cwd=parent))
    root = parent / package
    assert "@definitions" in (root / "src" / package / "definitions.py").read_text()
    ok(run_cli("dg", "scaffold", "defs", "sqlml_dagster.SqlMlProject", "my_sql", cwd=root))
    return root, package


@pytest.fixture
def inside(
    created: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[Path, str]:
    """The working directory in the created project (not installed: as after a clone),
    state in a folder of this test's own, ``sys.path`` restored afterwards."""
    root, package = created
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("SQLML_STATE_DIR", str(tmp_path / "state"))
    return root, package


def asset_keys(defs: object) -> set[str]:
    return {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "module",
    [
        None,  # no -m: the dg project around the working directory
        "{package}.definitions",  # its @dg.definitions function
        "{package}",  # the project's root package: what [tool.dg] names
        "{package}.defs",  # the defs package: its components
        "{package}.defs.my_sql",  # one component's folder
    ],
)
@pytest.mark.slow
def test_every_way_to_name_a_dg_project_loads_its_definitions(
    inside: tuple[Path, str], module: str | None
) -> None:
    _, package = inside
    name = module.format(package=package) if module else None
    _, defs = load_definitions(name)
    assert asset_keys(defs) == SCAFFOLDED_KEYS


@pytest.mark.parametrize(
    ("module", "attribute", "message"),
    [
        ("{package}.definitions", "nope", "{package}.definitions has no attribute 'nope'"),
        ("{package}.contextual", None, "takes a ComponentLoadContext"),
        ("{package}.empty", None, "{package}.empty has no dagster.Definitions"),
        ("{package}.empty", None, "-m {package} (or no -m inside it)"),
        ("{package}.missing", None, "cannot import {package}.missing"),
    ],
)
def test_modules_without_definitions_are_one_line_errors(
    inside: tuple[Path, str], module: str, attribute: str | None, message: str
) -> None:
    root, package = inside
    src = root / "src" / package
    (src / "contextual.py").write_text(
        "import dagster as dg\n\n\n@dg.definitions\ndef defs(context: dg.ComponentLoadContext):\n"
        "    return dg.Definitions()\n"
    )
    (src / "empty.py").write_text("X = 1\n")
    with pytest.raises(CliError) as raised:
        load_definitions(module.format(package=package), attribute)
    assert message.format(package=package) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_no_module_outside_a_dg_project_says_how_to_name_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CliError, match=r"in no dg project .*-m my_project\.definitions"):
        load_definitions(None)
    assert main(["check"]) == 2


@pytest.mark.parametrize(
    ("selection", "code"),
    [
        ("kind:(", "SQLML220"),  # not Dagster's syntax
        ("group:nowhere", "SQLML221"),  # parses, selects nothing
        ("no_such_asset", "SQLML221"),  # a key that is no asset
    ],
)
@pytest.mark.slow
def test_a_bad_selection_is_one_line_before_anything_runs(
    inside: tuple[Path, str],
    selection: str,
    code: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["materialize", "--select", selection]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sqlml: {code}: ") and err.count("\n") == 1
    assert not (Path(os.environ["SQLML_STATE_DIR"]) / "models").exists()  # nothing ran


@pytest.mark.slow  # four sqlml processes, one training step
def test_check_materialize_by_selection_and_list_models_with_no_module(
    created: tuple[Path, str],
) -> None:
    root, _ = created

    def sqlml(*args: str) -> str:
        done = run_cli("sqlml", *args, cwd=root)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        noise = [
            line
            for line in output.splitlines()
            if is_framework_banner(line.encode()) or "Warning" in line
        ]
        assert noise == []  # no framework banner, no Dagster beta/preview warning
        return done.stdout

    assert "ok — 1 file(s), 1 table, 1 model, 1 prediction" in sqlml("check")
    # `sqlml plan` (issue 19, item 3) belongs here: what the runs below would do.
    assert "example_points  200 rows" in sqlml("materialize", "--select", "example_points")
    trained = sqlml("materialize", "--select", "kind:scikitlearn")
    assert "materialized 1 asset(s)" in trained
    assert "example_model  v1  trained  sklearn.linear_model.LogisticRegression" in trained
    assert "example_predictions" not in trained  # selected: the model alone
    listed = sqlml("models", "list").splitlines()
    assert listed[2].split()[:3] == ["example_model", "1", "1"]
    # State at the project root, where .gitignore ignores it; nothing in the package.
    assert (root / ".sqlml" / "models" / "example_model" / "1" / "manifest.json").is_file()
    assert ".sqlml/" in (root / ".gitignore").read_text().splitlines()
    assert not list((root / "src").rglob(".sqlml"))


def test_compile_with_no_path_compiles_the_dg_project_it_runs_in(
    inside: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, package = inside
    assert main(["compile"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert {node["name"] for node in manifest["nodes"]} == SCAFFOLDED_KEYS
    # the same project by -m, and a PATH and -m together refused
    assert main(["compile", "-m", f"{package}.definitions"]) == 0
    assert json.loads(capsys.readouterr().out) == manifest
    assert main(["compile", "sql", "-m", package]) == 2
    assert capsys.readouterr().err == "sqlml: compile takes PATH or -m MODULE, not both\n"


def test_compile_with_no_path_outside_a_dg_project_says_how_to_name_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["compile"]) == 2
    err = capsys.readouterr().err
    assert "in no dg project" in err and err.count("\n") == 1
