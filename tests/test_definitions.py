"""`build_defs`: one asset per produced table/model/prediction, wired and described as promised."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from sqlml_dagster import SqlMlCompileError, SqlMlTranslator, build_defs
from sqlml_dagster.compiler import compile_project
from sqlml_dagster.translator import code_reference

from .conftest import EXAMPLE, REPO


@pytest.fixture(scope="module")
def example_specs(tmp_path_factory: pytest.TempPathFactory) -> dict[dg.AssetKey, dg.AssetSpec]:
    defs = build_defs(EXAMPLE / "sql", state_dir=tmp_path_factory.mktemp("state"))
    return {spec.key: spec for spec in defs.resolve_all_asset_specs()}


def test_one_asset_per_produced_object(example_specs: dict[dg.AssetKey, dg.AssetSpec]) -> None:
    assert sorted(k.to_user_string() for k in example_specs) == [
        "house_features",
        "house_net_predictions",
        "house_price_gbr",
        "house_price_net",
        "house_price_predictions",
        "iris_disagreements",
        "iris_dnn",
        "iris_dnn_predictions",
        "iris_evaluation",
        "iris_predictions",
        "iris_rf",
        "iris_rf_explanation",
        "iris_train",
        "raw_houses",
        "raw_iris",
    ]


@pytest.mark.parametrize(
    ("key", "group", "kinds", "deps"),
    [
        ("raw_iris", "iris", {"sql", "duckdb"}, set()),
        ("iris_train", "iris", {"sql", "duckdb"}, {"raw_iris"}),
        ("iris_rf", "iris", {"sqlml", "scikitlearn"}, {"iris_train"}),
        ("iris_predictions", "iris", {"sqlml", "duckdb"}, {"raw_iris", "iris_rf"}),
        ("iris_evaluation", "iris", {"sqlml", "duckdb"}, {"raw_iris", "iris_rf"}),
        ("iris_disagreements", "iris", {"sql", "sqlml", "duckdb"}, {"raw_iris", "iris_rf"}),
        ("house_features", "houses", {"sql", "duckdb"}, {"raw_houses"}),
        (
            "house_price_predictions",
            "houses",
            {"sqlml", "duckdb"},
            {"house_features", "house_price_gbr"},
        ),
        # a user's class (house_net.HouseNet): the framework is known when it runs
        ("house_price_net", "houses", {"sqlml", "python"}, {"house_features"}),
        ("iris_dnn", "iris", {"sqlml", "python"}, {"iris_train"}),
        ("iris_rf_explanation", "iris", {"sqlml", "duckdb"}, {"raw_iris", "iris_rf"}),
    ],
)
def test_asset_shape(
    example_specs: dict[dg.AssetKey, dg.AssetSpec],
    key: str,
    group: str,
    kinds: set[str],
    deps: set[str],
) -> None:
    spec = example_specs[dg.AssetKey(key)]
    assert spec.group_name == group
    assert spec.kinds == kinds
    assert {d.asset_key.to_user_string() for d in spec.deps} == deps


def test_description_code_version_and_code_reference(
    example_specs: dict[dg.AssetKey, dg.AssetSpec],
) -> None:
    spec = example_specs[dg.AssetKey("iris_rf")]
    node = compile_project(EXAMPLE / "sql").node("iris_rf")
    assert spec.description is not None and "```sql\nSELECT sepal_length" in spec.description
    assert "TO TRAIN sklearn.ensemble.RandomForestClassifier" in spec.description
    assert spec.code_version == node.fingerprint
    reference = spec.metadata["dagster/code_references"].code_references[0]
    assert reference.file_path == str(EXAMPLE / "sql" / "iris.sql")
    assert reference.line_number == node.statement.span.line


def test_schema_qualified_names_and_sources(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project({"m.sql": "CREATE TABLE analytics.daily AS SELECT * FROM raw.events;"})
    defs = build_defs(root, state_dir=tmp_path / "state")
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    assert set(specs) == {dg.AssetKey(["analytics", "daily"]), dg.AssetKey(["raw", "events"])}
    source = next(a for a in defs.assets or [] if isinstance(a, dg.AssetSpec))
    assert source.key == dg.AssetKey(
        ["raw", "events"]
    )  # an external asset: observed, not materialized
    assert {d.asset_key for d in specs[dg.AssetKey(["analytics", "daily"])].deps} == {
        dg.AssetKey(["raw", "events"])
    }


def test_translator_overrides_one_method(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    class Prefixed(SqlMlTranslator):
        def get_asset_key(self, name):  # type: ignore[no-untyped-def]
            return super().get_asset_key(name).with_prefix("wh")

    root = write_project({"m.sql": "CREATE TABLE t AS SELECT * FROM s;"})
    defs = build_defs(root, state_dir=tmp_path / "state", translator=Prefixed())
    assert {s.key for s in defs.resolve_all_asset_specs()} == {
        dg.AssetKey(["wh", "t"]),
        dg.AssetKey(["wh", "s"]),
    }


def test_syntax_error_is_one_readable_error(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project({"bad.sql": "CREATE TABLE ok AS SELECT 1;\nSELECT a FORM t WHERE;\n"})
    with pytest.raises(SqlMlCompileError) as info:
        build_defs(root, state_dir=tmp_path / "state")
    text = str(info.value)
    assert "sql/bad.sql:2:15" in text
    assert "2 | SELECT a FORM t WHERE;" in text
    assert "  |               ^" in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.slow
def test_dagster_definitions_validate_passes_from_any_directory(tmp_path: Path) -> None:
    """`build_defs("sql/")` resolves against definitions.py, not the working directory."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SQLML_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "example_repo.definitions",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- what loading costs and prints (bench/bench_definitions.py measures the time) ---------

#: Every directive, a quality gate, ML_PREDICT and pinned versions: each kind of asset and
#: check that build_defs makes.
EVERY_FEATURE = {
    "f.sql": """
        -- sqlml-file: owner = "team-ml@example.com", tags.domain = "demo"
        CREATE TABLE t AS SELECT range AS x, range % 2 AS y,
            TIMESTAMP '2026-01-01' + to_hours(range) AS ts FROM range(100);
        -- sqlml: schedule = "0 3 * * *", timezone = "Europe/Berlin", freshness = "2d", group = nightly
        SELECT x, y FROM t TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;
        -- sqlml: on_new_model = eager, partition_by = day(ts), partition_start = "2026-01-01"
        SELECT * FROM t TO PREDICT p.y USING m;
        -- sqlml: automation = eager
        SELECT x, y FROM t TO EVALUATE m WITH check.accuracy >= 0.5 LABEL y INTO e;
        -- sqlml: automation = on_missing
        CREATE TABLE d AS SELECT x, ML_PREDICT(m@2, x) AS yy FROM t;
        SELECT * FROM t TO PREDICT p3.y USING m@3;
    """
}


@pytest.mark.parametrize("project", ["example_repo", "every feature"])
def test_building_definitions_prints_no_dagster_beta_or_preview_warning(
    project: str, write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """The beta APIs we use on purpose (code references) are silenced where we call them,
    so a project's load is quiet — without hiding warnings about the user's own code."""
    root = EXAMPLE / "sql" if project == "example_repo" else write_project(EVERY_FEATURE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        defs = build_defs(root, state_dir=tmp_path / "state")
        defs.resolve_asset_graph()
    assert [
        f"{w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, (dg.BetaWarning, dg.PreviewWarning))
    ] == []


def test_a_users_beta_warnings_still_show() -> None:
    """The silencing is local: outside our calls, Dagster's warnings reach the user."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code_reference(Path("sql/f.sql"), 3)
        dg.LocalFileCodeReference(file_path="sql/f.sql", line_number=3)
    assert [w.category for w in caught] == [dg.BetaWarning]


def test_pinned_versions_reach_the_model_asset(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(EVERY_FEATURE)
    project = compile_project(root)
    assert project.pinned_versions() == {"m": frozenset({2, 3})}
    # one scan of the statements per project, not one per model asked about
    assert project.pinned_versions() is project.pinned_versions()
    specs = {s.key: s for s in build_defs(root, state_dir=tmp_path).resolve_all_asset_specs()}
    assert specs[dg.AssetKey("m")].metadata["sqlml/pinned_versions"].value == [2, 3]
    assert "sqlml/pinned_versions" not in specs[dg.AssetKey("t")].metadata


@pytest.mark.slow
def test_run_config_force_retrains(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """The launchpad's ``force: true`` (SqlMlRunConfig) reaches the step."""
    root = write_project(EVERY_FEATURE)
    defs = build_defs(root, state_dir=tmp_path / "state")
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    config = defs.resolve_assets_def("m").op.config_schema.config_type
    assert config is not None and set(config.fields) == {"force"}

    def version(**config: object) -> int:
        result = dg.materialize(
            assets,
            resources=defs.resources,
            instance=dg.DagsterInstance.ephemeral(),
            selection=["t", "m"],
            run_config={"ops": {"sqlml__m": {"config": config}}} if config else None,
        )
        assert result.success
        # trained or reused, a model's materialization is tagged with its version
        return int(
            result.asset_materializations_for_node("sqlml__m")[0].tags["sqlml/model_version"]
        )

    assert [version(), version(), version(force=False), version(force=True)] == [1, 1, 1, 2]


@pytest.mark.slow
def test_sqlml_materialize_prints_no_dagster_beta_or_preview_warning(tmp_path: Path) -> None:
    """Without a process-wide filter: loading the example's components, resolving them and
    running a launched step (a training) print none, even with every warning shown."""
    module = ["-m", "example_repo.definitions"]
    select = ["--select", "raw_iris", "iris_train", "iris_rf"]
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.cli", "materialize", *module, *select],
        cwd=REPO,
        env={**os.environ, "SQLML_STATE_DIR": str(tmp_path), "PYTHONWARNINGS": "always"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "iris_rf  v1  trained" in done.stdout
    assert [
        line
        for line in done.stderr.splitlines()
        if "BetaWarning" in line or "PreviewWarning" in line
    ] == []
