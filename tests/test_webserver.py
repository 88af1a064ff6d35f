"""The example project in a real Dagster webserver: every compiled asset — sources too —
reaches the UI's GraphQL API with its kinds, group and SQL description.

``dagster-webserver -m example_repo.definitions`` runs as a subprocess on loopback with a
temporary ``DAGSTER_HOME`` and project state; nothing is materialized and no network or
browser is needed. The expected assets come from compiling the SQL folder in the test, so
the check follows the example as it grows.
"""

from __future__ import annotations

import importlib
import runpy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sqlml_dagster import SqlMlTranslator
from sqlml_dagster.compiler import compile_project

from .conftest import EXAMPLE, REPO
from .dagster_ui import Webserver, dagster_webserver

pytest.importorskip("dagster_webserver")

ASSET_NODES = """
{
  assetNodes {
    assetKey { path }
    kinds
    groupName
    description
    isMaterializable
  }
}
"""


#: A project whose tables read sources (the example reads CSV files, so has none), with
#: schema-qualified names: ``raw.events`` is an external asset ``["raw", "events"]``.
SOURCED_SQL = """
CREATE TABLE analytics.daily AS SELECT day, count(*) AS n FROM raw.events GROUP BY day;
SELECT day, n FROM analytics.daily
TO TRAIN sklearn.linear_model.LinearRegression LABEL n INTO analytics.trend;
"""


@dataclass(frozen=True)
class Served:
    """A project in a running webserver: what the UI shows and what compiling it gives."""

    server: Webserver
    sql_dir: Path
    specs: dict[tuple[str, ...], dg.AssetSpec]

    @cached_property
    def shown(self) -> dict[tuple[str, ...], dict[str, Any]]:
        nodes = self.server.graphql(ASSET_NODES)["assetNodes"]
        return {tuple(n["assetKey"]["path"]): n for n in nodes}


def serve(
    tmp_path_factory: pytest.TempPathFactory, sql_dir: Path, defs: dg.Definitions, **target: Any
) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("dagster_home")
    env = {"SQLML_STATE_DIR": str(tmp_path_factory.mktemp("state")), "SQLML_LAUNCHER": ""}
    specs = {tuple(s.key.path): s for s in defs.resolve_all_asset_specs()}
    with dagster_webserver(dagster_home=home, env=env, **target) as server:
        yield Served(server, sql_dir, specs)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``dagster-webserver -m example_repo.definitions``, as ``make dev`` runs it."""
    defs = importlib.import_module("example_repo.definitions").defs
    yield from serve(
        tmp_path_factory, EXAMPLE / "sql", defs, module="example_repo.definitions", cwd=REPO
    )


@pytest.fixture(scope="module")
def sourced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``dagster-webserver -f definitions.py`` on a project that reads a source table."""
    root = tmp_path_factory.mktemp("sourced")
    (root / "sql").mkdir()
    (root / "sql" / "events.sql").write_text(SOURCED_SQL)
    entry = root / "definitions.py"
    entry.write_text('from sqlml_dagster import build_defs\n\ndefs = build_defs("sql/")\n')
    defs = runpy.run_path(str(entry))["defs"]
    yield from serve(tmp_path_factory, root / "sql", defs, python_file=entry, cwd=root)


@pytest.mark.parametrize("project", ["example", "sourced"])
@pytest.mark.slow
def test_every_compiled_asset_and_source_is_in_the_ui(
    request: pytest.FixtureRequest, project: str
) -> None:
    served: Served = request.getfixturevalue(project)
    compiled = compile_project(served.sql_dir)
    translator = SqlMlTranslator()
    produced = {tuple(translator.get_asset_key(n.name).path) for n in compiled.nodes}
    sources = {tuple(translator.get_asset_key(s.name).path) for s in compiled.sources}
    assert produced
    assert set(served.shown) == produced | sources == set(served.specs)
    assert not any(served.shown[key]["isMaterializable"] for key in sources)  # external
    assert all(served.shown[key]["isMaterializable"] for key in produced)


@pytest.mark.parametrize("project", ["example", "sourced"])
def test_each_asset_shows_its_kinds_group_and_description(
    request: pytest.FixtureRequest, project: str
) -> None:
    served: Served = request.getfixturevalue(project)
    for key, spec in served.specs.items():
        node = served.shown[key]
        assert set(node["kinds"]) == set(spec.kinds), key
        assert node["groupName"] == spec.group_name, key
        assert node["description"] == spec.description, key


def test_sources_are_shown_as_external_duckdb_tables(sourced: Served) -> None:
    source = sourced.shown[("raw", "events")]
    assert source["kinds"] == ["duckdb"] and source["groupName"] == "sources"
    assert source["description"].startswith("Source table `raw.events`, read by the project")
    assert set(sourced.shown[("analytics", "trend")]["kinds"]) == {"sqlml", "scikitlearn"}


@pytest.mark.parametrize(
    ("key", "kinds"),
    [
        ("raw_iris", {"sql", "duckdb"}),
        ("iris_rf", {"sqlml", "scikitlearn"}),
        ("house_price_net", {"sqlml", "python"}),
        ("iris_predictions", {"sqlml", "duckdb"}),
        ("iris_disagreements", {"sql", "sqlml", "duckdb"}),  # ML_PREDICT in plain SQL
    ],
)
def test_kinds_in_the_ui_are_the_icon_names(example: Served, key: str, kinds: set[str]) -> None:
    assert set(example.shown[(key,)]["kinds"]) == kinds


@pytest.mark.slow
def test_model_descriptions_carry_the_statement_as_sql(example: Served) -> None:
    description = example.shown[("iris_rf",)]["description"]
    assert description.startswith("Model `iris_rf` from `sql/iris.sql`:\n\n```sql\n")
    assert "TO TRAIN sklearn.ensemble.RandomForestClassifier" in description
