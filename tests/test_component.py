"""The `SqlMlProject` Dagster Component: found by `dg`, scaffolded into a working project,
configured from defs.yaml with the same results as `build_defs`, mistakes reported as
diagnostics with defs.yaml:line:col. The `dg`/`dagster` CLIs run for real, in subprocesses."""

from __future__ import annotations

import importlib
import json
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster.components.testing import create_defs_folder_sandbox

from sqlml_dagster import (
    DuckDBWarehouse,
    KubernetesLauncher,
    LocalLauncher,
    SqlMlCompileError,
    SqlMlProject,
    SqlMlStorage,
    build_defs,
)
from sqlml_dagster.cli import main
from sqlml_dagster.component import (
    SCAFFOLD_SQL,
    KubernetesLauncherAttributes,
    LocalLauncherAttributes,
    WarehouseAttributes,
)
from sqlml_dagster.definitions import project_manifests

from .conftest import EXAMPLE, REPO, ok, run_cli, write_component

# -- dg finds the component ----------------------------------------------------------------


@pytest.mark.slow
def test_dg_list_components_shows_the_component(tmp_path: Path) -> None:
    listed = json.loads(ok(run_cli("dg", "list", "components", "--json", cwd=tmp_path)))
    found = {item["key"]: item for item in listed["items"]}
    assert "sqlml_dagster.SqlMlProject" in found
    assert "TO TRAIN" in found["sqlml_dagster.SqlMlProject"]["summary"]


# -- dg scaffold defs → a project that checks and materializes -----------------------------


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A fresh dg project (written as `dg scaffold project` would, without uv) with
    `dg scaffold defs sqlml_dagster.SqlMlProject my_sql` run in it."""
    root = tmp_path_factory.mktemp("dg_project")
    package = f"sqlml_scaffold_{uuid.uuid4().hex[:8]}"
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""
            [project]
            name = "{package}"
            version = "0.1.0"

            [tool.dg]
            directory_type = "project"

            [tool.dg.project]
            root_module = "{package}"
        """)
    )
    (root / package / "defs").mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "defs" / "__init__.py").write_text("")
    (root / package / "definitions.py").write_text(
        "from pathlib import Path\n\nimport dagster as dg\n\n"
        "defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)\n"
    )
    ok(run_cli("dg", "scaffold", "defs", "sqlml_dagster.SqlMlProject", "my_sql", cwd=root))
    return root, package


@pytest.mark.slow
def test_scaffold_writes_defs_yaml_and_an_example_sql(scaffolded: tuple[Path, str]) -> None:
    root, package = scaffolded
    folder = root / package / "defs" / "my_sql"
    assert (folder / "defs.yaml").read_text().startswith("type: sqlml_dagster.SqlMlProject\n")
    assert (folder / "sql" / "example.sql").read_text() == SCAFFOLD_SQL


@pytest.mark.slow
def test_dg_check_defs_and_list_defs_on_the_scaffold(scaffolded: tuple[Path, str]) -> None:
    root, _ = scaffolded
    assert "All definitions loaded successfully." in ok(run_cli("dg", "check", "defs", cwd=root))
    listed = json.loads(ok(run_cli("dg", "list", "defs", "--json", cwd=root)))
    assert {a["asset_key"]: a["dependency_keys"] for a in listed["assets"]} == {
        "example_points": [],
        "example_model": ["example_points"],
        "example_predictions": ["example_model", "example_points"],
    }


@pytest.mark.slow
def test_the_scaffolded_project_materializes(
    scaffolded: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, package = scaffolded
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("SQLML_STATE_DIR", raising=False)
    defs = dg.load_from_defs_folder(path_within_project=root)
    result = dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    state = root / ".sqlml"  # at the project root, where .gitignore ignores it
    assert ".sqlml/" in (root / ".gitignore").read_text().splitlines()
    assert not (root / package / "defs" / "my_sql" / ".sqlml").exists()  # not in the package
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        (accuracy,) = con.execute(
            "SELECT avg(CASE WHEN p.label = t.label THEN 1 ELSE 0 END) "
            "FROM example_predictions p JOIN example_points t USING (id)"
        ).fetchone() or (0.0,)
    assert accuracy > 0.85
    assert (state / "models" / "example_model" / "1" / "manifest.json").is_file()


# -- example_repo is a dg project ----------------------------------------------------------


@pytest.mark.slow
def test_dg_check_defs_on_example_repo() -> None:
    out = ok(run_cli("dg", "check", "defs", cwd=REPO))
    assert "All component YAML validated successfully." in out
    assert "All definitions loaded successfully." in out


@pytest.mark.slow
def test_dg_list_defs_on_example_repo_equals_build_defs(tmp_path: Path) -> None:
    """The component and build_defs share one code path: the same assets, the same deps."""
    listed = json.loads(ok(run_cli("dg", "list", "defs", "--json", cwd=REPO)))
    from_dg = {a["asset_key"]: sorted(a["dependency_keys"]) for a in listed["assets"]}
    defs = build_defs(EXAMPLE / "sql", state_dir=tmp_path)
    from_python = {
        s.key.to_user_string(): sorted(d.asset_key.to_user_string() for d in s.deps)
        for s in defs.resolve_all_asset_specs()
    }
    assert from_dg == from_python


@pytest.mark.slow
def test_dagster_definitions_validate_on_example_repo() -> None:
    """No -m: pyproject's [tool.dagster] points at example_repo.definitions, which loads the
    defs folder."""
    ok(run_cli("dagster", "definitions", "validate", cwd=REPO))


@pytest.mark.parametrize("state_env", ["elsewhere", None])  # the default last: it stays loaded
@pytest.mark.slow
def test_example_state_stays_in_example_repo(
    state_env: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo`/`make dev` state in example_repo/.sqlml unless $SQLML_STATE_DIR says."""
    if state_env is None:
        monkeypatch.delenv("SQLML_STATE_DIR", raising=False)
        state = (EXAMPLE / ".sqlml").resolve()
    else:
        monkeypatch.setenv("SQLML_STATE_DIR", str(tmp_path / state_env))
        state = (tmp_path / state_env).resolve()
    defs = importlib.reload(importlib.import_module("example_repo.definitions")).defs
    assert defs.resources["sqlml_storage"].model_store == str(state / "models")
    assert defs.resources["sqlml_warehouse"].database == str(state / "warehouse.duckdb")


# -- defs.yaml attributes, loaded by Dagster's own component loader -----------------------


@contextmanager
def component(
    attributes: str, files: dict[str, str] | None = None
) -> Iterator[tuple[dg.Definitions, Path]]:
    """Build the Definitions of a defs.yaml with these attributes (and the scaffold's example
    SQL unless ``files`` replaces it) in a throwaway dg project."""
    with create_defs_folder_sandbox() as sandbox:
        folder = write_component(
            sandbox.defs_folder_path / "ml", attributes, files or {"example.sql": SCAFFOLD_SQL}
        )
        with sandbox.load_component_and_build_defs(defs_path=folder) as (_, defs):
            yield defs, folder


def compile_error(attributes: str, files: dict[str, str] | None = None) -> str:
    """The SqlMlCompileError text a defs.yaml produces (Dagster wraps it while loading)."""
    with pytest.raises(Exception) as info, component(attributes, files):
        pass
    error: BaseException | None = info.value
    while error is not None and not isinstance(error, SqlMlCompileError):
        error = error.__cause__ or error.__context__
    assert error is not None, f"no SqlMlCompileError in {info.value!r}"
    return str(error)


K8S = """
launcher:
  kind: kubernetes
  namespace: ml-jobs
  default_image: ghcr.io/acme/sqlml:1.0
  allowed_images: [ghcr.io/acme/]
  gpu_resource_name: amd.com/gpu
  node_selector: {pool: gpu, nvidia.com/gpu.present: "true"}
  tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]
  service_account_name: trainer
  env_from_secrets: [s3-credentials]
  kubeconfig: kube/config
"""


@pytest.mark.parametrize(
    ("attributes", "resource_key", "expected"),
    [
        (
            K8S,
            "sqlml_launcher",
            lambda folder: KubernetesLauncher(
                namespace="ml-jobs",
                default_image="ghcr.io/acme/sqlml:1.0",
                allowed_images=["ghcr.io/acme/"],
                gpu_resource_name="amd.com/gpu",
                node_selector={"pool": "gpu", "nvidia.com/gpu.present": "true"},
                tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
                service_account_name="trainer",
                env_from_secrets=["s3-credentials"],
                kubeconfig=str(folder / "kube" / "config"),
            ),
        ),
        (
            "launcher: {kind: local, pythonpath: [lib], env: {OMP_NUM_THREADS: '1', DEBUG: 'true'}}",
            "sqlml_launcher",
            lambda folder: LocalLauncher(
                pythonpath=[str(folder / "lib")], env={"OMP_NUM_THREADS": "1", "DEBUG": "true"}
            ),
        ),
        (
            "state_dir: state\nwarehouse: {lock_timeout_seconds: 5}",
            "sqlml_warehouse",
            lambda folder: DuckDBWarehouse(
                database=str(folder / "state" / "warehouse.duckdb"), lock_timeout_seconds=5
            ),
        ),
        (
            "warehouse: {database: ':memory:'}",
            "sqlml_warehouse",
            lambda folder: DuckDBWarehouse(database=":memory:"),
        ),
        (
            "state_dir: state\ndata_retention_hours: null",
            "sqlml_storage",
            lambda folder: SqlMlStorage(
                model_store=str(folder / "state" / "models"),
                data_store=str(folder / "state" / "data"),
                data_retention_hours=None,
            ),
        ),
        (
            "state_dir: state\nstep_data_format: parquet",
            "sqlml_storage",
            lambda folder: SqlMlStorage(
                model_store=str(folder / "state" / "models"),
                data_store=str(folder / "state" / "data"),
                step_data_format="parquet",
            ),
        ),
        (
            "model_store: s3://bucket/models\ndata_store: ../shared/data\n"
            "storage_options: {endpoint_url: 'http://minio:9000'}",
            "sqlml_storage",
            lambda folder: SqlMlStorage(
                model_store="s3://bucket/models",
                data_store=str(folder.parent / "shared" / "data"),
                storage_options={"endpoint_url": "http://minio:9000"},
            ),
        ),
    ],
    ids=["kubernetes", "local", "state-dir", "memory", "retention", "data-format", "s3"],
)
def test_attributes_reach_the_resources(
    attributes: str, resource_key: str, expected: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SQLML_STATE_DIR", raising=False)
    monkeypatch.delenv("SQLML_LAUNCHER", raising=False)
    with component(attributes) as (defs, folder):
        assert defs.resources[resource_key] == expected(folder.resolve())


def test_without_a_launcher_the_environment_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """As with build_defs: moving to a cluster is a change of environment, not of YAML."""
    monkeypatch.setenv("SQLML_LAUNCHER", "kubernetes")
    monkeypatch.setenv("SQLML_K8S_NAMESPACE", "from-env")
    with component("sql_dir: sql") as (defs, _):
        assert defs.resources["sqlml_launcher"].namespace == "from-env"


def test_templates_render_in_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_NAMESPACE", "templated")
    with component("launcher: {kind: kubernetes, namespace: '{{ env.ML_NAMESPACE }}'}") as (
        defs,
        _,
    ):
        assert defs.resources["sqlml_launcher"].namespace == "templated"


def test_kubernetes_allow_list_is_checked_at_compile_time() -> None:
    text = compile_error(
        "launcher: {kind: kubernetes, allowed_images: [ghcr.io/acme/]}",
        {
            "a.sql": "SELECT 1 AS x, 0 AS y\nTO TRAIN docker.io/evil/img:1/sklearn.tree.DecisionTreeClassifier\nLABEL y INTO m;\n"
        },
    )
    assert "error[SQLML208]" in text and "sql/a.sql:2:" in text


def asset_keys_groups(defs: dg.Definitions) -> dict[str, tuple[str | None, list[str]]]:
    return {
        s.key.to_user_string(): (s.group_name, sorted(d.asset_key.to_user_string() for d in s.deps))
        for s in defs.resolve_all_asset_specs()
    }


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (
            "asset_key_prefix: [analytics, ml]",
            {
                "analytics/ml/example_points": ("example", []),
                "analytics/ml/example_model": ("example", ["analytics/ml/example_points"]),
                "analytics/ml/example_predictions": (
                    "example",
                    ["analytics/ml/example_model", "analytics/ml/example_points"],
                ),
            },
        ),
        (
            "asset_key_prefix: warehouse\ngroup_name: ml",
            {
                "warehouse/example_points": ("ml", []),
                "warehouse/example_model": ("ml", ["warehouse/example_points"]),
                "warehouse/example_predictions": (
                    "ml",
                    ["warehouse/example_model", "warehouse/example_points"],
                ),
            },
        ),
    ],
    ids=["prefix-list", "prefix-string-and-group"],
)
def test_keys_and_groups_change_without_python(
    attributes: str, expected: dict[str, tuple[str | None, list[str]]]
) -> None:
    with component(attributes) as (defs, _):
        assert asset_keys_groups(defs) == expected


def test_translator_hook_is_a_class_by_import_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's SqlMlTranslator subclass, with the YAML prefix layered on top of it."""
    module = f"my_translators_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent("""
            from sqlml_dagster import SqlMlTranslator

            class Owned(SqlMlTranslator):
                def get_group_name(self, node):
                    return "team_" + node.kind.value
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with component(f"translator: '{module}:Owned'\nasset_key_prefix: t") as (defs, _):
        assert asset_keys_groups(defs) == {
            "t/example_points": ("team_table", []),
            "t/example_model": ("team_model", ["t/example_points"]),
            "t/example_predictions": ("team_prediction", ["t/example_model", "t/example_points"]),
        }


# -- mistakes: diagnostics, never a traceback of ours --------------------------------------


@pytest.mark.parametrize(
    ("attributes", "files", "expected"),
    [
        (
            "sql_dir: sql",
            {"bad.sql": "CREATE TABLE ok AS SELECT 1;\nSELECT a FORM t WHERE;\n"},
            [
                "error[SQLML101]",
                "sql/bad.sql:2:15",
                "2 | SELECT a FORM t WHERE;",
                "  |               ^",
            ],
        ),
        (
            "sql_dir: sqll",
            None,
            ["error[SQLML002]", "defs.yaml:4:12", "4 |   sql_dir: sqll", "  |            ^^^^"],
        ),
        (
            "sql_dir: sql\ndialect: postgress",
            None,
            ["error[SQLML301]", "defs.yaml:5:12", "^^^^^^^^^", "did you mean 'postgres'?"],
        ),
        (
            "translator: nowhere.module:Thing",
            None,
            ["error[SQLML302]", "defs.yaml:4:15", "No module named 'nowhere'"],
        ),
        (
            "translator: sqlml_dagster:build_defs",
            None,
            ["error[SQLML302]", "is not a SqlMlTranslator subclass"],
        ),
    ],
    ids=[
        "bad-sql",
        "missing-sql-dir",
        "unknown-dialect",
        "unimportable-translator",
        "not-a-translator",
    ],
)
def test_mistakes_are_diagnostics(
    attributes: str, files: dict[str, str] | None, expected: list[str]
) -> None:
    text = compile_error(attributes, files)
    for fragment in expected:
        assert fragment in text, text
    assert "Traceback" not in text


# -- `sqlml check` on a component compiles it as Dagster loads it --------------------------

#: Valid T-SQL (a bracketed name), a syntax error in DuckDB's dialect.
TSQL = {"a.sql": "CREATE TABLE t AS SELECT [first name] AS n FROM src;\n"}
#: A statement whose image is outside ghcr.io/acme/.
FOREIGN_IMAGE = {
    "a.sql": "SELECT 1 AS x, 0 AS y\n"
    "TO TRAIN docker.io/evil/img:1/sklearn.tree.DecisionTreeClassifier\nLABEL y INTO m;\n"
}


@pytest.mark.parametrize(
    ("attributes", "files", "environ", "expected"),
    [
        ("dialect: tsql", TSQL, {}, []),
        ("sql_dir: sql", TSQL, {}, ["SQLML101 sql/a.sql:1:33"]),
        ("dialect: '{{ env.SQL_DIALECT }}'", TSQL, {"SQL_DIALECT": "tsql"}, []),
        ("dialect: postgress", TSQL, {}, ["SQLML301 ml/defs.yaml:4:12"]),
        (
            "sql_dir: sqll\ndialect: postgress",
            TSQL,
            {},
            ["SQLML002 ml/defs.yaml:4:12", "SQLML301 ml/defs.yaml:5:12"],
        ),
        (
            "launcher: {kind: kubernetes, allowed_images: [ghcr.io/acme/]}",
            FOREIGN_IMAGE,
            {"SQLML_K8S_ALLOWED_IMAGES": "docker.io/"},
            ["SQLML208 sql/a.sql:2:10"],
        ),
        (
            "launcher: {kind: kubernetes, allowed_images: ['{{ env.REGISTRY }}/acme/']}",
            FOREIGN_IMAGE,
            {"REGISTRY": "ghcr.io"},
            ["SQLML208 sql/a.sql:2:10"],
        ),
        (
            "launcher: {kind: kubernetes}",
            FOREIGN_IMAGE,
            {"SQLML_K8S_ALLOWED_IMAGES": "ghcr.io/"},
            [],
        ),
        ("launcher: {kind: local}", FOREIGN_IMAGE, {"SQLML_K8S_ALLOWED_IMAGES": "ghcr.io/"}, []),
        (
            "sql_dir: sql",
            FOREIGN_IMAGE,
            {"SQLML_LAUNCHER": "kubernetes", "SQLML_K8S_ALLOWED_IMAGES": "ghcr.io/acme/"},
            ["SQLML208 sql/a.sql:2:10"],
        ),
    ],
    ids=[
        "dialect",
        "default-dialect",
        "templated-dialect",
        "unknown-dialect",
        "missing-sql-dir-and-unknown-dialect",
        "allow-list-over-the-environment",
        "templated-allow-list",
        "kubernetes-without-allow-list",
        "local-launcher-checks-no-image",
        "environment-allow-list",
    ],
)
def test_sqlml_check_on_a_component_agrees_with_dagster(
    attributes: str,
    files: dict[str, str],
    environ: dict[str, str],
    expected: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same errors at the same places from `sqlml check FOLDER` and from Dagster
    loading the component: a dialect, allow-list or SQL folder in defs.yaml is honoured
    by both, or the check would pass what `dg dev` refuses."""
    for name in ("SQLML_LAUNCHER", "SQLML_K8S_ALLOWED_IMAGES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with create_defs_folder_sandbox() as sandbox:
        folder = write_component(sandbox.defs_folder_path / "ml", attributes, files)
        try:
            with sandbox.load_component_and_build_defs(defs_path=folder):
                loaded: list[Any] = []
        except Exception as e:  # Dagster wraps the compile error
            error: BaseException | None = e
            while error is not None and not isinstance(error, SqlMlCompileError):
                error = error.__cause__ or error.__context__
            assert error is not None, f"no SqlMlCompileError in {e!r}"
            loaded = [d.to_json() for d in error.diagnostics if d.is_error]
        capsys.readouterr()
        main(["check", str(folder), "--no-deep", "--format", "json"])
        checked = json.loads(capsys.readouterr().out)["diagnostics"]

    def where(diagnostics: list[Any]) -> list[str]:  # the file's folder and name
        return sorted(
            f"{d['code']} {'/'.join(Path(d['file']).parts[-2:])}:{d['line']}:{d['column']}"
            for d in diagnostics
        )

    assert where(checked) == where(loaded) == sorted(expected)


def test_yaml_settings_mirror_the_resources() -> None:
    """Every resource setting is a YAML attribute with the same default, so the YAML can do
    whatever Python can (a field added to a resource fails here until it is exposed)."""

    def defaults(model: Any, skip: set[str]) -> dict[str, Any]:
        return {
            name: field.get_default(call_default_factory=True)
            for name, field in model.model_fields.items()
            if name not in skip
        }

    assert defaults(KubernetesLauncherAttributes, {"kind"}) == defaults(KubernetesLauncher, set())
    assert defaults(LocalLauncherAttributes, {"kind"}) == defaults(LocalLauncher, set())
    assert defaults(WarehouseAttributes, {"database"}) == defaults(DuckDBWarehouse, {"database"})
    storage = defaults(SqlMlStorage, {"model_store", "data_store"})
    assert defaults(SqlMlProject, set()).items() >= storage.items()


def test_python_scaffold_builds_the_same_project() -> None:
    """`dg scaffold defs … --format python` writes a component.py that works as it is."""
    with create_defs_folder_sandbox() as sandbox:
        folder = sandbox.scaffold_component(
            component_cls=SqlMlProject, defs_path="ml", scaffold_format="python"
        )
        assert (folder / "sql" / "example.sql").is_file()
        with sandbox.load_component_and_build_defs(defs_path=folder) as (_, defs):
            assert sorted(k.to_user_string() for k in defs.resolve_all_asset_keys()) == [
                "example_model",
                "example_points",
                "example_predictions",
            ]


@pytest.mark.slow
def test_projects_sharing_their_state_live_in_one_code_location(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dagster merges components' resources by identity: equal settings, one instance; each
    project's manifest under a key of its own."""
    monkeypatch.delenv("SQLML_LAUNCHER", raising=False)
    with create_defs_folder_sandbox() as sandbox:
        for name in ("churn", "fraud"):
            folder = sandbox.defs_folder_path / name
            (folder / "sql").mkdir(parents=True)
            (folder / "sql" / f"{name}.sql").write_text(
                SCAFFOLD_SQL.replace("example_", f"{name}_")
            )
            (folder / "defs.yaml").write_text(
                "type: sqlml_dagster.SqlMlProject\nattributes:\n  state_dir: ../.sqlml\n"
            )
        with sandbox.build_all_defs() as defs:
            assert len(defs.resolve_all_asset_keys()) == 6
            assert defs.resources["sqlml_warehouse"].database == str(
                (sandbox.defs_folder_path / ".sqlml" / "warehouse.duckdb").resolve()
            )
            # each project's manifest travels with the merged Definitions, for the CLI
            assert sorted(m.models for m in project_manifests(defs)) == [
                ("churn_model",),
                ("fraud_model",),
            ]
