"""A ``SqlMlProject`` as ``DbtProjectComponent`` is configured: ``translation`` (templated
keys, groups, owners, tags, metadata; ``for_<kind>`` blocks), ``select``/``exclude`` in
Dagster's asset selection syntax, Dagster's ``post_processing`` — and the same selection
syntax for ``sqlml materialize --select`` (docs/component.md)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster.components.testing import create_defs_folder_sandbox

from sqlml_dagster import build_defs
from sqlml_dagster.component import SCAFFOLD_SQL
from sqlml_dagster.selection import SelectionError, parse_selection, selected_keys

from .test_component import compile_error, component

#: The scaffold's example (example_points → example_model → example_predictions) and a
#: second file reading a source.
FILES = {
    "example.sql": SCAFFOLD_SQL,
    "other.sql": "CREATE TABLE ml.copied AS SELECT * FROM raw_src;\n",
}


def specs(defs: dg.Definitions) -> dict[str, dg.AssetSpec]:
    return {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}


def materializable(defs: dg.Definitions) -> set[str]:
    return {
        key.to_user_string()
        for asset in defs.assets or []
        if isinstance(asset, dg.AssetsDefinition)
        and not isinstance(asset, dg.AssetChecksDefinition)
        for key in asset.keys
    }


def deps(spec: dg.AssetSpec) -> list[str]:
    return sorted(d.asset_key.to_user_string() for d in spec.deps)


# -- translation ------------------------------------------------------------------------

TRANSLATION = """
translation:
  key: "ml/{{ node.name }}"
  owners: ["team:ml"]
  tags: {team: ml}
  metadata: {defined_in: "{{ node.file }}:{{ node.line }}"}
  for_model:
    group_name: models
    tags: {flavor: "{{ node.flavor }}", statement: "{{ node.statement }}"}
  for_source:
    key: "raw/{{ node.name }}"
"""


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            "ml/example_points",
            {"deps": [], "group": "example", "tags": {"team": "ml", "sqlml/kind": "table"}},
        ),
        (
            "ml/example_model",
            {
                "deps": ["ml/example_points"],  # the renamed table, not example_points
                "group": "models",
                "tags": {"team": "ml", "flavor": "sklearn", "statement": "train"},
                "metadata": {"defined_in": "sql/example.sql:13", "sqlml/flavor": "sklearn"},
            },
        ),
        (
            "ml/example_predictions",
            {"deps": ["ml/example_model", "ml/example_points"], "group": "example"},
        ),
        ("ml/copied", {"deps": ["raw/raw_src"], "group": "other"}),  # ml.copied → its name
        ("raw/raw_src", {"deps": [], "group": "sources", "owners": ["team:ml"]}),
    ],
)
def test_translation_templates_keys_groups_owners_tags_and_metadata_per_kind(
    key: str, expected: dict[str, Any]
) -> None:
    with component(TRANSLATION, FILES) as (defs, _):
        found = specs(defs)
    assert set(found) == {
        "ml/example_points",
        "ml/example_model",
        "ml/example_predictions",
        "ml/copied",
        "raw/raw_src",
    }
    spec = found[key]
    assert deps(spec) == expected["deps"]
    assert spec.group_name == expected["group"]
    assert list(spec.owners) == expected.get("owners", ["team:ml"])
    assert expected.get("tags", {}).items() <= dict(spec.tags).items()
    metadata = {k: getattr(v, "value", v) for k, v in spec.metadata.items()}
    assert expected.get("metadata", {}).items() <= metadata.items()


@pytest.mark.parametrize(
    ("attributes", "keys"),
    [
        # Dagster's key_prefix, once — also on the dependencies
        ("translation: {key_prefix: [team]}", {"team/example_model": ["team/example_points"]}),
        # the YAML prefix first (the user's class's keys), the translation over it
        (
            "asset_key_prefix: [a]\ntranslation: {key_prefix: b}",
            {"b/a/example_model": ["b/a/example_points"]},
        ),
        # a template over the spec so far
        (
            'translation: {key: "{{ spec.key.path[-1] | upper }}"}',
            {"EXAMPLE_MODEL": ["EXAMPLE_POINTS"]},
        ),
    ],
)
def test_translated_keys_are_the_dependencies_keys_too(
    attributes: str, keys: dict[str, list[str]]
) -> None:
    with component(attributes) as (defs, _):
        found = specs(defs)
    for key, expected in keys.items():
        assert deps(found[key]) == expected


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (
            'translation: {key: "same"}',
            ["error[SQLML222]", "defs.yaml:4:16", "one asset key, same", "make the key template"],
        ),
        (
            'translation: {group_name: "{{ node.nope.deeper }}"}',
            ["error[SQLML222]", "the translation of example_points (sql/example.sql:3) failed"],
        ),
    ],
    ids=["two-assets-one-key", "template-error"],
)
def test_translation_mistakes_are_diagnostics(attributes: str, expected: list[str]) -> None:
    text = compile_error(attributes)
    for fragment in expected:
        assert fragment in text, text
    assert "Traceback" not in text


def test_a_python_component_takes_a_translation_function() -> None:
    def translation(spec: dg.AssetSpec, node: Any) -> dg.AssetSpec:
        return spec.replace_attributes(group_name=f"{node.kind}s")

    with create_defs_folder_sandbox() as sandbox:
        folder = sandbox.defs_folder_path / "ml"
        (folder / "sql").mkdir(parents=True)
        (folder / "sql" / "example.sql").write_text(SCAFFOLD_SQL)
        (folder / "component.py").write_text(
            "import dagster as dg\n\nfrom sqlml_dagster import SqlMlProject\n\n\n"
            "@dg.component_instance\ndef load(context):\n"
            "    return SqlMlProject(sql_dir='sql', translation=TRANSLATION)\n"
        )
        import builtins

        builtins.TRANSLATION = translation  # type: ignore[attr-defined]
        try:
            with sandbox.load_component_and_build_defs(defs_path=folder) as (_, defs):
                groups = {k: s.group_name for k, s in specs(defs).items()}
        finally:
            del builtins.TRANSLATION  # type: ignore[attr-defined]
    assert groups == {
        "example_points": "tables",
        "example_model": "models",
        "example_predictions": "predictions",
    }


# -- select / exclude -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ("select: 'group:example'", {"example_points", "example_model", "example_predictions"}),
        ("select: '+example_model'", {"example_points", "example_model"}),
        ("select: 'kind:scikitlearn'", {"example_model"}),
        ("select: 'tag:sqlml/kind=table'", {"example_points", "ml/copied"}),
        ("exclude: 'tag:sqlml/kind=prediction'", {"example_points", "example_model", "ml/copied"}),
        (
            "select: 'group:example'\nexclude: 'example_predictions'",
            {"example_points", "example_model"},
        ),
        ("select: 'key:ml/*'", {"ml/copied"}),
        ("select: '*'", {"example_points", "example_model", "example_predictions", "ml/copied"}),
    ],
)
def test_select_and_exclude_pick_statements_by_dagster_selection(
    attributes: str, expected: set[str]
) -> None:
    with component(attributes, FILES) as (defs, _):
        assert materializable(defs) == expected


def test_assets_left_out_stay_dependencies_and_take_their_checks_with_them() -> None:
    with component("select: 'kind:scikitlearn'") as (defs, _):
        (model,) = [s for s in defs.resolve_all_asset_specs() if s.key.path == ["example_model"]]
        checked = {
            c.asset_key.to_user_string() for c in defs.resolve_asset_graph().asset_check_keys
        }
    assert deps(model) == ["example_points"]  # external now, still upstream
    assert checked == set()  # the data checks on example_points left with it


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ("select: 'kind:('", ["error[SQLML220]", "defs.yaml:4:11", "'kind:(' is not an asset"]),
        (
            "select: 'group:nowhere'",
            ["error[SQLML221]", "defs.yaml:4:11", "leaves none of the project's 3 assets"],
        ),
        ("exclude: '*'", ["error[SQLML221]", "defs.yaml:4:12"]),
    ],
)
def test_selection_mistakes_are_diagnostics(attributes: str, expected: list[str]) -> None:
    text = compile_error(attributes)
    for fragment in expected:
        assert fragment in text, text


def test_build_defs_takes_the_same_selection(write_project: Callable[..., Path]) -> None:
    root = write_project(FILES)
    defs = build_defs(root, state_dir=root.parent / "state", exclude="group:other")
    assert materializable(defs) == {"example_points", "example_model", "example_predictions"}


# -- Dagster's post_processing, unchanged -----------------------------------------------


def test_post_processing_updates_the_assets_a_selection_targets() -> None:
    with create_defs_folder_sandbox() as sandbox:
        folder = sandbox.defs_folder_path / "ml"
        (folder / "sql").mkdir(parents=True)
        (folder / "sql" / "example.sql").write_text(SCAFFOLD_SQL)
        (folder / "defs.yaml").write_text(
            textwrap.dedent("""\
                type: sqlml_dagster.SqlMlProject
                attributes:
                  sql_dir: sql
                post_processing:
                  assets:
                    - target: "kind:scikitlearn"
                      attributes:
                        group_name: trained
                        tags: {reviewed: "yes"}
            """)
        )
        with sandbox.load_component_and_build_defs(defs_path=folder) as (_, defs):
            found = specs(defs)
    assert found["example_model"].group_name == "trained"
    assert found["example_model"].tags["reviewed"] == "yes"
    assert found["example_points"].group_name == "example"


# -- sqlml materialize --select: the same syntax ----------------------------------------


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        (["example_model"], {"example_model"}),
        (["+example_model"], {"example_points", "example_model"}),
        (["example_model+"], {"example_model", "example_predictions"}),
        (["group:other"], {"ml/copied"}),
        (["kind:scikitlearn"], {"example_model"}),
        (["tag:sqlml/kind=prediction"], {"example_predictions"}),
        (["example_points,example_model"], {"example_points", "example_model"}),  # dg launch
        (["example_points", "example_model"], {"example_points", "example_model"}),
        (["ml.copied"], {"ml/copied"}),  # sqlml's earlier dotted spelling
        (["key:example_* and not kind:scikitlearn"], {"example_points", "example_predictions"}),
    ],
)
def test_select_speaks_dagsters_selection_syntax(
    write_project: Callable[..., Path], select: list[str], expected: set[str]
) -> None:
    root = write_project(FILES)
    defs = build_defs(root, state_dir=root.parent / "state")
    graph = defs.resolve_asset_graph()
    keys = selected_keys(parse_selection(select), graph, "--select") & set(
        graph.materializable_asset_keys
    )
    assert {k.to_user_string() for k in keys} == expected


@pytest.mark.parametrize(
    ("select", "code", "message"),
    [
        ("kind:(", "SQLML220", "'kind:(' is not an asset selection"),
        ("", "SQLML220", "the asset selection is empty"),
        ("exampel_model", "SQLML221", "['exampel_model']"),
    ],
)
def test_selection_mistakes_name_the_part(
    write_project: Callable[..., Path], select: str, code: str, message: str
) -> None:
    root = write_project(FILES)
    graph = build_defs(root, state_dir=root.parent / "state").resolve_asset_graph()
    with pytest.raises(SelectionError) as raised:
        selected_keys(parse_selection(select), graph, "--select")
    assert raised.value.code == code
    assert message in raised.value.message
