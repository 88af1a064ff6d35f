"""TO EXPLAIN without INTO in the compiler: an asset of kind ``explanation_plot`` named
``<model>_explanation`` or by ``-- sqlml: asset``, depending on the tables its SELECT reads
and on its model; every mistake is one diagnostic with a caret and a hint (a clash hints
at the directive)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.cli.check import check_report
from sqlml_dagster.compiler import check_project, compile_project
from sqlml_dagster.compiler.ir import ObjectKind, QualifiedName

from .test_run_optimize import assert_one_located_error

TRAIN = "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m;\n"
EXPLAIN = "SELECT * FROM t TO EXPLAIN m USING TreeExplainer;"
LONG = "m" * 60  # a valid model name whose explanation's name is over 63 characters

# (one file's SQL, code, the text under the caret, a fragment of the message, of the hint)
ERRORS = [
    pytest.param("CREATE TABLE m_explanation AS SELECT 1 AS x;\n" + TRAIN + EXPLAIN, "SQLML201", "m", "'m_explanation' is already produced", "-- sqlml: asset = <name>", id="named-like-a-table"),
    pytest.param(TRAIN + EXPLAIN + "\nSELECT * FROM u TO EXPLAIN m;", "SQLML201", "m", "'m_explanation' is already produced", "named after its model", id="two-explanations-of-one-model"),
    pytest.param('CREATE TABLE "m-explanation" AS SELECT 1 AS x;\n' + TRAIN + EXPLAIN, "SQLML210", "m", "one asset key", "-- sqlml: asset = <name>", id="key-collides-once-normalized"),
    pytest.param(TRAIN + "-- sqlml: asset = s\nSELECT * FROM s TO EXPLAIN m;", "SQLML206", "asset = s", "'s' would overwrite", "-- sqlml: asset = <name>", id="named-like-its-input"),
    pytest.param(TRAIN.replace(" m;", f" {LONG};") + f"SELECT * FROM t TO EXPLAIN {LONG};", "SQLML142", LONG, "(named after its model) is not a valid one", "-- sqlml: asset = <name>", id="model-name-too-long-for-its-explanation"),
    pytest.param(TRAIN + '-- sqlml: asset = "a b"\n' + EXPLAIN, "SQLML142", 'asset = "a b"', "'a b' (the asset directive's value) is not a valid one", "INTO <table>", id="asset-directive-no-name"),
    pytest.param(TRAIN + "-- sqlml: asset = [1, 2]\n" + EXPLAIN, "SQLML142", "asset = [1, 2]", "is no name", "-- sqlml: asset = <name>", id="asset-directive-a-list"),
    pytest.param(TRAIN + "-- sqlml: asset = e\n" + EXPLAIN.replace(";", " INTO x;"), "SQLML141", "asset = e", "named in its SQL", "TO EXPLAIN … without INTO", id="asset-directive-with-into"),
    pytest.param("-- sqlml-file: asset = e\n" + TRAIN + EXPLAIN, "SQLML141", "asset = e", "not every statement of a file", "right above", id="asset-directive-file-wide"),
    pytest.param(TRAIN + EXPLAIN + "\nCREATE TABLE o AS SELECT * FROM m_explanation;", "SQLML204", "CREATE TABLE o AS SELECT * FROM m_explanation", "'m_explanation' is a model's explanation chart", "add INTO to the TO EXPLAIN at sql/a.sql:2:1", id="reading-an-explanation-chart"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "code", "culprit", "message", "hint"), ERRORS)
def test_each_mistake_is_one_located_diagnostic(
    write_project: Callable[[dict[str, str]], Path],
    sql: str,
    code: str,
    culprit: str,
    message: str,
    hint: str,
) -> None:
    _, diagnostics = check_project(write_project({"a.sql": sql}))
    assert_one_located_error(diagnostics, sql, code, culprit, message, hint)


def test_an_explanation_without_into_is_an_asset_named_after_its_model_or_its_directive(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "a.sql": """
            CREATE TABLE iris.test AS SELECT 1.0 AS x, 0 AS class;
            SELECT * FROM iris.test TO TRAIN sklearn.svm.SVC LABEL class
            INTO sqlflow_models.my_model;

            SELECT * FROM iris.test TO EXPLAIN sqlflow_models.my_model USING TreeExplainer;

            -- sqlml: asset = reports.pinned_chart, on_new_model = eager
            SELECT * FROM iris.test TO EXPLAIN sqlflow_models.my_model@1;
            """
        }
    )
    project = compile_project(root)
    assert project.warnings == ()
    default = project.node("sqlflow_models.my_model_explanation")
    named = project.node("reports.pinned_chart")
    assert (default.kind, default.outputs, default.deps) == (
        ObjectKind.EXPLANATION_PLOT,
        (QualifiedName(("sqlflow_models", "my_model_explanation")),),
        (QualifiedName(("iris", "test")), QualifiedName(("sqlflow_models", "my_model"))),
    )
    assert (named.kind, named.directives.on_new_model) == (ObjectKind.EXPLANATION_PLOT, "eager")
    assets = check_report([project], [], ok=True)["assets"]
    assert [(a["key"], a["kind"]) for a in assets][2:] == [
        (["sqlflow_models", "my_model_explanation"], "explanation_plot"),
        (["reports", "pinned_chart"], "explanation_plot"),
    ]


def test_an_explanation_with_into_stays_a_table(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = compile_project(write_project({"a.sql": TRAIN + EXPLAIN.replace(";", " INTO x;")}))
    assert project.node("x").kind is ObjectKind.EXPLANATION
    assert [n.name.key for n in project.nodes if n.kind is ObjectKind.EXPLANATION_PLOT] == []
