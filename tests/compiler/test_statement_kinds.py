"""Statement kinds: each statement class says which kind it is (``KIND``), the registry
finds every kind, and what the project graph asks of a statement comes from its kind."""

from __future__ import annotations

import pytest

from sqlml_dagster.compiler import ir, parse_sql_file
from sqlml_dagster.compiler.statements import STATEMENT_KINDS

#: The contract the materializers dispatch on: class → KIND.
KINDS = [
    (ir.SqlStatement, "sql"),
    (ir.TrainStatement, "train"),
    (ir.PredictStatement, "predict"),
    (ir.EvaluateStatement, "evaluate"),
    (ir.ExplainStatement, "explain"),
    (ir.RunStatement, "run"),
    (ir.OptimizeStatement, "optimize"),
    (ir.CreateModelStatement, "create_model"),
    (ir.ShowModelsStatement, "show_models"),
    (ir.DescribeModelStatement, "describe_model"),
    (ir.ShowTrainStatement, "show_train"),
    (ir.DropModelStatement, "drop_model"),
]


@pytest.mark.parametrize(("cls", "kind"), KINDS, ids=[k for _, k in KINDS])
def test_each_statement_class_names_its_kind(cls: type[ir.Statement], kind: str) -> None:
    assert kind == cls.KIND
    assert STATEMENT_KINDS[kind] is cls


def test_the_registry_holds_exactly_these_kinds() -> None:
    assert set(STATEMENT_KINDS) == {kind for _, kind in KINDS}


#: One statement of each kind → (KIND, what it produces, its object kind, the text a
#: diagnostic about what it produces points at, the models it pins with their versions).
STATEMENTS = [
    ("CREATE TABLE t AS SELECT ML_PREDICT(m@2, a) AS p FROM s", "sql", "t", "table", "CREATE TABLE t AS SELECT ML_PREDICT(m@2, a) AS p FROM s", [("m", 2)]),
    ("CREATE VIEW v AS SELECT a FROM s", "sql", "v", "view", "CREATE VIEW v AS SELECT a FROM s", []),
    ("SET threads = 2", "sql", None, "table", "SET threads = 2", []),
    ("SELECT * FROM s TO TRAIN sklearn.svm.SVC LABEL y INTO m", "train", "m", "model", "m", []),
    ("SELECT * FROM s TO PREDICT p.y USING m@3", "predict", "p", "prediction", "p.y", [("m", 3)]),
    ("SELECT * FROM s TO EVALUATE m LABEL y INTO e", "evaluate", "e", "evaluation", "e", [("m", None)]),
    ("SELECT * FROM s TO EXPLAIN m@1 INTO x", "explain", "x", "explanation", "x", [("m", 1)]),
    ("SELECT * FROM s TO EXPLAIN ml.m@1 USING TreeExplainer", "explain", "ml.m_explanation", "explanation_plot", "ml.m", [("ml.m", 1)]),
    ('SELECT * FROM s TO RUN img:1 CMD "p.py" INTO o, o2', "run", "o", "program_output", "o", []),
    ('SELECT * FROM s TO RUN img:1 CMD "tools/p.py", "-v"', "run", "p", "program_run", '"tools/p.py", "-v"', []),
    ('SELECT * FROM s TO MINIMIZE SUM(c * x) CONSTRAINT SUM(x) >= 1 WITH variables = "x(k)", var_type = "Reals" INTO o', "optimize", "o", "solution", "o", []),
    ("CREATE MODEL r USING 'r.skops'", "create_model", "r", "model", "r", []),
    ("SHOW MODELS", "show_models", None, "table", "SHOW MODELS", []),
    ("DESCRIBE MODEL m@2", "describe_model", None, "table", "DESCRIBE MODEL m@2", []),
    ("SHOW TRAIN m", "show_train", None, "table", "SHOW TRAIN m", []),
    ("DROP MODEL IF EXISTS m", "drop_model", None, "table", "DROP MODEL IF EXISTS m", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("sql", "kind", "produces", "object_kind", "named_at", "pins"),
    STATEMENTS,
    ids=[s[0] for s in STATEMENTS],
)
def test_what_the_graph_asks_comes_from_the_kind(
    sql: str,
    kind: str,
    produces: str | None,
    object_kind: str,
    named_at: str,
    pins: list[tuple[str, int | None]],
) -> None:
    sql_file, diagnostics = parse_sql_file("k.sql", sql + ";")
    assert [d.render() for d in diagnostics if d.is_error] == []
    (statement,) = sql_file.statements
    assert kind == statement.KIND
    assert (str(statement.produces) if statement.produces else None) == produces
    assert statement.object_kind.value == object_kind
    span = statement.produces_span
    assert sql[span.start : span.end] == named_at
    assert [(str(m), v) for m, v in statement.model_pins()] == pins
