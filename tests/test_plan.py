"""``sqlml plan`` and ``sqlml materialize --changed``: what a run would do to each asset,
and why — decided by the same function the steps decide with, without running anything.

One small project is materialized once (a table from a CSV file, a model trained on a
source table, a prediction of the table with the model); each case changes one thing,
asks for the plan, and puts the thing back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from sqlml_dagster import build_defs
from sqlml_dagster.cli.plan import plan_of
from sqlml_dagster.compiler import compile_project
from sqlml_dagster.ops.changes import AssetInputs, file_version
from sqlml_dagster.ops.materializers.versions import ModelInputs, differences
from sqlml_dagster.ops.plan import Plan, training_size
from sqlml_dagster.store import ModelManifest
from sqlml_dagster.store.builds import BuildRecord

from .conftest import REPO, failure_reasons

SQL = """\
CREATE TABLE d AS SELECT * FROM read_csv('../data/d.csv');

SELECT x, y FROM src
TO TRAIN sklearn.linear_model.LogisticRegression WITH model.C = 1.0
LABEL y INTO m;

SELECT x FROM d TO PREDICT p.y USING m;
"""
CSV = "x\n1.0\n2.0\n3.0\n"
SOURCE = "CREATE TABLE src AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40)"


@dataclass(frozen=True)
class Project:
    folder: Path
    state: Path

    @property
    def sql(self) -> Path:
        return self.folder / "sql" / "t.sql"

    @property
    def csv(self) -> Path:
        return self.folder / "data" / "d.csv"

    def plan(self) -> Plan:
        return plan_of(build_defs(self.folder / "sql", state_dir=self.state))  # type: ignore[no-any-return]

    def warehouse(self, statement: str) -> None:
        with duckdb.connect(str(self.state / "warehouse.duckdb")) as con:
            con.execute(statement)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sqlml_dagster.cli", *args, "-m", "proj.definitions"],
            cwd=self.folder.parent,
            env={
                **os.environ,
                "SQLML_STATE_DIR": str(self.state),
                "PYTHONPATH": os.pathsep.join([str(REPO), str(self.folder.parent)]),
            },
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """The project, materialized once (every later change is put back after its case)."""
    folder = tmp_path_factory.mktemp("plan") / "proj"
    (folder / "sql").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "definitions.py").write_text(
        'from sqlml_dagster import build_defs\n\ndefs = build_defs("sql/")\n'
    )
    p = Project(folder, folder.parent / "state")
    p.sql.write_text(SQL)
    p.csv.write_text(CSV)
    p.state.mkdir()
    p.warehouse(SOURCE)
    defs = build_defs(folder / "sql", state_dir=p.state)
    result = dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success, failure_reasons(result)
    yield p


def comment(p: Project) -> None:
    p.sql.write_text(
        SQL.replace("SELECT x, y FROM src", "-- trained nightly\nSELECT x, y FROM src")
    )


def param(p: Project) -> None:
    p.sql.write_text(SQL.replace("model.C = 1.0", "model.C = 0.5"))


def source_rows(p: Project) -> None:
    p.warehouse("INSERT INTO src VALUES (40.0, 0)")


def file_rows(p: Project) -> None:
    p.csv.write_text(CSV + "4.0\n")


def undo(p: Project) -> None:
    p.sql.write_text(SQL)
    p.csv.write_text(CSV)
    p.warehouse("DELETE FROM src WHERE x >= 40")


UNCHANGED = {"d": ("unchanged", {"unchanged"}), "m": ("reuse", {"unchanged"})}
CASES = [
    # (what changes, how, {asset: (verdict, reason codes)})
    ("nothing", None, {**UNCHANGED, "p": ("unchanged", {"unchanged"})}),
    ("a comment", comment, {**UNCHANGED, "p": ("unchanged", {"unchanged"})}),
    (
        "a model parameter",
        param,
        {
            "d": ("unchanged", {"unchanged"}),
            "m": ("retrain", {"statement"}),
            "p": ("recompute", {"model_version"}),
        },
    ),
    (
        "new rows in the source table the model trains on",
        source_rows,
        {
            "d": ("unchanged", {"unchanged"}),
            "m": ("retrain", {"data"}),
            "p": ("recompute", {"model_version"}),
        },
    ),
    (
        "new rows in the file the table reads",
        file_rows,
        {
            "d": ("recompute", {"file"}),
            "m": ("reuse", {"unchanged"}),
            "p": ("recompute", {"upstream"}),  # d's new data version: its file's content
        },
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("change", "how", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_plan_s_verdicts_and_reasons(
    project: Project, change: str, how: object, expected: dict[str, tuple[str, set[str]]]
) -> None:
    stores_before = _files(project.state / "models") | _files(project.state / "data")
    if callable(how):
        how(project)
    try:
        plan = project.plan()
    finally:
        undo(project)
    judged = {a.name: (a.verdict, {r.code for r in a.reasons}) for a in plan.assets}
    assert judged == expected
    # nothing was written: no version, no step folder, no build record
    assert _files(project.state / "models") | _files(project.state / "data") == stores_before


@pytest.mark.slow
def test_sqlml_plan_prints_json_and_materialize_changed_runs_only_what_changed(
    project: Project,
) -> None:
    """Runs after the verdict cases: it changes the project's state (a new version)."""
    done = project.cli("plan", "--format", "json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert {a["name"]: a["verdict"] for a in plan["assets"]} == {
        "d": "unchanged",
        "m": "reuse",
        "p": "unchanged",
    }
    assert plan["assets"][1]["version"] == 1 and plan["counts"] == {"unchanged": 2, "reuse": 1}

    done = project.cli("materialize", "--changed")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sqlml: nothing changed; skipped 3 asset(s)")
    assert "m  v1 reused" in done.stdout

    param(project)
    try:
        done = project.cli("materialize", "--changed")
    finally:
        undo(project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sqlml: materialized 2 asset(s)")
    assert "m  v2  trained" in done.stdout
    assert "skipped (unchanged since their last build; --changed)\n  d  unchanged" in done.stdout


def test_training_size_counts_the_steps_of_the_rows_it_fits_and_the_gpus_it_asks(
    tmp_path: Path,
) -> None:
    """40 rows, a quarter held out: 30 fitted in batches of 16 (2 steps an epoch), 3 epochs."""
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "t.sql").write_text(
        "SELECT x, y FROM src TO TRAIN DNNClassifier WITH train.epoch = 3, "
        "train.batch_size = 16, validation.split = 0.25, resources.gpu = 1 LABEL y INTO m;\n"
    )
    node = compile_project(tmp_path / "sql").node("m")
    size = training_size(node, 40, None)
    assert (size.epochs, size.batch_size, size.steps, size.gpus) == (3, 16, 6, 1.0)
    assert size.text == "40 rows, 3 epochs of 16-row batches = 6 steps, 1 GPU"


def _files(folder: Path) -> set[tuple[str, int]]:
    return {(str(p), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


BUILT = BuildRecord(
    asset="p",
    data_version=AssetInputs("c1", (("file:data/d.csv", "f1"), ("model:m", "1:aa"))).data_version
    or "",
    code_version="c1",
    inputs={"file:data/d.csv": "f1", "model:m": "1:aa"},
)


@pytest.mark.parametrize(
    ("now", "reasons"),
    [
        (AssetInputs("c1", (("file:data/d.csv", "f1"), ("model:m", "1:aa"))), []),
        (
            AssetInputs("c2", (("file:data/d.csv", "f1"), ("model:m", "1:aa"))),
            [("statement", "statement changed")],
        ),
        (
            AssetInputs("c1", (("file:data/d.csv", "f2"), ("model:m", "2:bb"))),
            [("file", "file data/d.csv changed"), ("model_version", "model m changed")],
        ),
        (
            AssetInputs("c1", (("file:data/d.csv", "f1"), ("model:m", None))),
            [("unknown", "model m runs first: its new version is not known yet")],
        ),
        (
            AssetInputs("c1", (("file:data/d.csv", "f2"), ("model:m", None))),
            [
                ("file", "file data/d.csv changed"),
                ("unknown", "model m runs first: its new version is not known yet"),
            ],
        ),
        (
            AssetInputs("c1", (("file:data/d.csv", "f1"),)),
            [("model_version", "no longer reads model m")],
        ),
        (
            AssetInputs("c1", (("file:data/d.csv", "f1"),), always="TO RUN: …"),
            [("always", "TO RUN: …")],
        ),
    ],
)
def test_what_changed_since_the_last_build(
    now: AssetInputs, reasons: list[tuple[str, str]]
) -> None:
    assert [(r.code, r.text) for r in now.changes_since(BUILT)] == reasons
    # never built: that, and what is not known yet (an asset with no account: always)
    unknown = ["unknown" for _, version in now.inputs if version is None]
    expected = ["always"] if now.always else ["never", *unknown]
    assert [r.code for r in now.changes_since(None)] == expected


def test_a_retrain_names_what_changed_even_against_a_manifest_without_parts() -> None:
    """Versions trained before the manifest kept its parts are compared by the fields
    they have (statement fingerprint, training data, model reference, image)."""
    older = ModelManifest(
        model="m",
        version=3,
        created_at="",
        flavor="sklearn",
        model_reference="sklearn.svm.SVC",
        fingerprint="old",
        statement_fingerprint="s1",
        training_data_fingerprint="d1",
        image="ghcr.io/a:1",
    )
    inputs = ModelInputs(
        parts=(
            ("statement", "x"),
            ("data", "d2"),
            ("model", "sklearn.svm.SVC"),
            ("image", "ghcr.io/a:2"),
        ),
        fingerprint="new",
    )
    assert [(r.code, r.text) for r in differences(older, inputs, "s1")] == [
        ("data", "training data changed since version 3"),
        ("image", "image changed: ghcr.io/a:1 → ghcr.io/a:2"),
    ]
    newer = replace(older, inputs=dict(inputs.parts))
    assert differences(newer, replace(inputs, parts=(("data", "d3"),)), "s1")[0].code == "data"


def test_a_file_s_version_is_its_content_wherever_the_project_lies(tmp_path: Path) -> None:
    """The same project checked out in another folder reads the same versions; a glob's
    version also changes when a file joins it or is renamed."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.csv").write_text("x\n1\n")
    assert file_version(str(tmp_path / "a" / "x.csv")) == file_version(
        str(tmp_path / "b" / "x.csv")
    )
    assert file_version(str(tmp_path / "a" / "*.csv")) == file_version(
        str(tmp_path / "b" / "*.csv")
    )
    before = file_version(str(tmp_path / "a" / "*.csv"))
    (tmp_path / "a" / "x.csv").rename(tmp_path / "a" / "y.csv")
    assert file_version(str(tmp_path / "a" / "*.csv")) != before
    assert file_version("s3://bucket/x.csv") is None  # only the warehouse reads it
