"""What `sqlml check PATH` compiles: which SqlMlProject components a path means, and the
dialect and image allow-list each is compiled with (defs.yaml, command line, environment).

One dg project holds every kind of layout; each row names a checked path and options and
lists every compilation, as (path, dialect, allowed images, defs.yaml)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sqlml_dagster.component import SqlMlProject
from sqlml_dagster.component_settings import (
    COMPONENT_TYPES,
    DEFAULT_DIALECT,
    DEFAULT_SQL_DIR,
    check_targets,
    read_defs_yaml,
)

from .conftest import EXAMPLE, write_component

PROJECT = {
    "pyproject.toml": '[tool.dg]\ndirectory_type = "project"\n\n'
    '[tool.dg.project]\nroot_module = "proj"\n',
    "proj/defs/churn/defs.yaml": """
        type: sqlml_dagster.SqlMlProject
        attributes:
          dialect: tsql
    """,
    "proj/defs/churn/sql/a.sql": "SELECT 1;",
    "proj/defs/churn/sql/marts/b.sql": "SELECT 1;",
    # A component whose SQL lives outside its folder, run on Kubernetes.
    "proj/defs/shared/defs.yaml": """
        type: sqlml_dagster.SqlMlProject
        attributes:
          sql_dir: ../../../warehouse_sql
          launcher: {kind: kubernetes, allowed_images: [ghcr.io/acme/]}
    """,
    "warehouse_sql/c.sql": "SELECT 1;",
    # Two documents in one defs.yaml: only the SqlMlProject one is ours.
    "proj/defs/two/defs.yaml": """
        type: dagster.DefinitionsComponent
        attributes: {path: other.py}
        ---
        type: sqlml_dagster.SqlMlProject
        attributes:
          dialect: snowflake
          launcher: {kind: local}
    """,
    "proj/defs/two/sql/d.sql": "SELECT 1;",
    "loose/e.sql": "SELECT 1;",
}

CHURN = ("proj/defs/churn/sql", "tsql", ("registry.local/",), "proj/defs/churn/defs.yaml")
SHARED = ("warehouse_sql", "duckdb", ("ghcr.io/acme/",), "proj/defs/shared/defs.yaml")
TWO = ("proj/defs/two/sql", "snowflake", (), "proj/defs/two/defs.yaml")

# (checked path, --dialect, --allowed-image, every compilation)
CASES = [
    pytest.param("proj/defs/churn", None, None, [CHURN], id="component-folder"),
    pytest.param("proj/defs/churn/sql", None, None, [CHURN], id="its-sql-dir"),
    pytest.param(
        "proj/defs/churn/sql/marts/b.sql",
        None,
        None,
        [("proj/defs/churn/sql/marts/b.sql", *CHURN[1:])],
        id="a-file-in-its-sql-dir",
    ),
    pytest.param("warehouse_sql", None, None, [SHARED], id="sql-dir-outside-the-component"),
    pytest.param(".", None, None, [CHURN, SHARED, TWO], id="dg-project-root"),
    pytest.param("proj/defs", None, None, [CHURN, SHARED, TWO], id="defs-folder"),
    pytest.param(
        "loose", None, None, [("loose", "duckdb", ("registry.local/",), None)], id="plain-folder"
    ),
    pytest.param(
        "proj/defs/churn", "duckdb", None, [(*CHURN[:1], "duckdb", *CHURN[2:])], id="dialect-flag"
    ),
    pytest.param(
        "warehouse_sql", None, ["x.io/"], [(*SHARED[:2], ("x.io/",), SHARED[3])], id="image-flag"
    ),
    pytest.param("loose", "tsql", [], [("loose", "tsql", (), None)], id="flags-on-a-plain-folder"),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in PROJECT.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return tmp_path.resolve()


@pytest.mark.parametrize(("path", "dialect", "images", "expected"), CASES)
def test_what_a_path_compiles_with(
    project: Path,
    path: str,
    dialect: str | None,
    images: list[str] | None,
    expected: list[tuple[str, str, tuple[str, ...], str | None]],
) -> None:
    targets = check_targets(
        project / path,
        dialect=dialect,
        allowed_images=images,
        environ={"SQLML_K8S_ALLOWED_IMAGES": "registry.local/"},
    )

    def relative(p: Path | None) -> str | None:
        return None if p is None else p.resolve().relative_to(project).as_posix()

    assert [
        (relative(t.path), t.dialect, t.allowed_images, relative(t.component)) for t in targets
    ] == expected
    assert all(t.compiles and not t.diagnostics for t in targets)


# (attributes, environment, "CODE line:col message" of every problem; compiles)
PROBLEMS = [
    pytest.param(
        "dialect: '{{ env.SQL_DIALECT }}'\nsql_dir: '{{ context.project_root }}/extra/sql'",
        {"SQL_DIALECT": "tsql"},
        [],
        True,
        id="templates-render",
    ),
    pytest.param("dialect: \"{{ env('SQL_DIALECT', 'tsql') }}\"", {}, [], True, id="env-default"),
    pytest.param(
        "dialect: '{{ env.SQL_DIALECT }}'",
        {},
        ["SQLML303 4:12 '{{ env.SQL_DIALECT }}': the environment variable SQL_DIALECT is not set"],
        False,
        id="unset-variable",
    ),
    pytest.param(
        "dialect: '{{ dg.AutomationCondition }}'",
        {},
        ["SQLML303 4:12 '{{ dg.AutomationCondition }}' names something only Dagster knows"],
        False,
        id="dagster-only-scope",
    ),
    pytest.param(
        "launcher: {kind: kubernetes, allowed_images: ghcr.io/}",
        {},
        ["SQLML303 4:48 allowed_images must be a list of image prefixes"],
        True,
        id="allow-list-not-a-list",
    ),
    pytest.param(
        "launcher: {kind: slurm}",
        {},
        ["SQLML303 4:20 launcher.kind must be 'local' or 'kubernetes'"],
        True,
        id="unknown-launcher",
    ),
    pytest.param(
        "dialect: [duckdb]", {}, ["SQLML303 4:12 expected a string here"], False, id="not-a-string"
    ),
    pytest.param(
        "dialect: postgress",
        {},
        ["SQLML301 4:12 unknown SQL dialect 'postgress'"],
        False,
        id="unknown-dialect",
    ),
    pytest.param(
        "sql_dir: nowhere",
        {},
        ["SQLML002 4:12 the SQL folder"],
        False,
        id="missing-sql-dir",
    ),
    pytest.param(
        "dialect: [duckdb",
        {},
        ["SQLML303 5:1 defs.yaml is not valid YAML"],
        False,
        id="invalid-yaml",
    ),
]


@pytest.mark.parametrize(("attributes", "environ", "expected", "compiles"), PROBLEMS)
def test_defs_yaml_problems_are_diagnostics_at_their_value(
    project: Path, attributes: str, environ: dict[str, str], expected: list[str], compiles: bool
) -> None:
    """A value sqlml check cannot tell is a diagnostic where it is written, never a guess
    (and never a traceback); a bad allow-list still lets the SQL be checked."""
    folder = write_component(project / "extra", attributes, {"a.sql": "SELECT 1;"})
    (target,) = check_targets(folder, dialect=None, allowed_images=None, environ=environ)
    found = [
        f"{d.code} {d.span.line}:{d.span.col} {d.message}" if d.span else d.message
        for d in target.diagnostics
    ]
    assert len(found) == len(expected)
    for line, fragment in zip(found, expected, strict=True):
        assert line.startswith(fragment), line
    assert target.compiles is compiles


def test_a_flag_replaces_an_unreadable_value(project: Path) -> None:
    """--dialect makes the defs.yaml's dialect irrelevant, and its problem with it."""
    folder = write_component(project / "extra", "dialect: '{{ env.NOPE }}'", {"a.sql": "SELECT 1;"})
    (target,) = check_targets(folder, dialect="tsql", allowed_images=None, environ={})
    assert (target.dialect, target.diagnostics, target.compiles) == ("tsql", (), True)


def test_defaults_are_the_components() -> None:
    """The reader's defaults and type names are the component's own."""
    fields = SqlMlProject.model_fields
    assert (fields["sql_dir"].default, fields["dialect"].default) == (
        DEFAULT_SQL_DIR,
        DEFAULT_DIALECT,
    )
    assert f"{SqlMlProject.__module__.split('.')[0]}.{SqlMlProject.__name__}" in COMPONENT_TYPES
    assert f"{SqlMlProject.__module__}.{SqlMlProject.__name__}" in COMPONENT_TYPES


def test_other_component_types_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "defs.yaml").write_text("type: my_pkg.MyProject\nattributes: {dialect: tsql}\n")
    assert read_defs_yaml(tmp_path / "defs.yaml", {}) == []


def test_project_root_outside_a_dg_project_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "defs.yaml").write_text(
        "type: sqlml_dagster.SqlMlProject\n"
        "attributes: {sql_dir: '{{ context.project_root }}/sql'}\n"
    )
    (component,) = read_defs_yaml(tmp_path / "defs.yaml", {})
    ((name, problem),) = component.problems
    assert (name, problem.code, component.sql_dir) == ("sql_dir", "SQLML303", None)
    assert "this defs.yaml is in no dg project" in problem.message


@pytest.mark.slow
def test_reading_components_imports_no_dagster() -> None:
    """`sqlml check` stays fast: the example's component is read without Dagster."""
    code = (
        "import sys; from pathlib import Path\n"
        "from sqlml_dagster.component_settings import check_targets\n"
        f"(t,) = check_targets(Path({str(EXAMPLE / 'sql')!r}), dialect=None,"
        " allowed_images=None, environ={})\n"
        "assert t.component is not None and t.component.name == 'defs.yaml', t\n"
        "assert 'dagster' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
