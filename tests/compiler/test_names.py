"""The naming rule (``sqlml_dagster/contract/names.py``): every table and model name a
project writes is held to it at compile time — SQLML117 at the name, with a caret and a
hint — and two names that become one asset key collide (SQLML210, naming both places).
A name that escapes the model store (``INTO "../../../x"``), that Dagster refuses
(non-ASCII) or that a file system or Kubernetes label cannot hold (300 characters) never
gets past ``sqlml check``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.compiler import SqlMlCompileError, check_project, compile_project, parse_sql_file
from sqlml_dagster.contract.names import NAME_MAX, key_problem, name_problem, normalized

TRAIN = "SELECT * FROM src TO TRAIN sklearn.svm.SVC LABEL y INTO"
LONG = "x" * 300

# (SQL of one file, the diagnostic as "CODE file:line:col", a fragment of its message)
REFUSED = [
    pytest.param(
        f'{TRAIN} "../../../x";', "SQLML117 sql/a.sql:1:57", "'/' (a path", id="train-into-dotdot"
    ),
    pytest.param(
        f'{TRAIN} "/etc/cron.d/x";',
        "SQLML117 sql/a.sql:1:57",
        "'/' (a path",
        id="train-into-absolute",
    ),
    pytest.param(
        f'{TRAIN} "a\\b";', "SQLML117 sql/a.sql:1:57", "'\\' (a path", id="train-into-backslash"
    ),
    pytest.param(
        f'{TRAIN} "a\x00b";', "SQLML117 sql/a.sql:1:57", "a NUL character", id="train-into-nul"
    ),
    pytest.param(
        f'{TRAIN} "\u0456ris_rf";',
        "SQLML117 sql/a.sql:1:57",
        "U+0456",
        id="train-into-cyrillic-lookalike",
    ),
    pytest.param(
        f'{TRAIN} "caf\u00e9";', "SQLML117 sql/a.sql:1:57", "U+00E9", id="train-into-accent"
    ),
    pytest.param(
        f'{TRAIN} "{LONG}";',
        "SQLML117 sql/a.sql:1:57",
        "300 characters long",
        id="train-into-300-chars",
    ),
    pytest.param(
        f'{TRAIN} "{"y" * (NAME_MAX + 1)}";',
        "SQLML117 sql/a.sql:1:57",
        "64 characters",
        id="train-into-64-chars",
    ),
    pytest.param(
        f"{TRAIN} a.b.c.d;", "SQLML117 sql/a.sql:1:57", "has 4 parts", id="train-into-4-parts"
    ),
    pytest.param(
        f'{TRAIN} "-rf";',
        "SQLML117 sql/a.sql:1:57",
        "starts with '-'",
        id="train-into-leading-dash",
    ),
    pytest.param(f'{TRAIN} "a b";', "SQLML117 sql/a.sql:1:57", "whitespace", id="train-into-space"),
    pytest.param(
        f'{TRAIN} main."x.y";', "SQLML117 sql/a.sql:1:57", "part 'x.y'", id="train-into-dot-in-part"
    ),
    pytest.param(
        "CREATE MODEL \"../../victim\" USING 'm.skops';",
        "SQLML117 sql/a.sql:1:14",
        "'/'",
        id="create-model",
    ),
    pytest.param(
        'SELECT * FROM src TO PREDICT "../out".y USING m;',
        "SQLML117 sql/a.sql:1:30",
        "'/'",
        id="predict-into",
    ),
    pytest.param(
        'SELECT * FROM src TO PREDICT out.y USING "../m";',
        "SQLML117 sql/a.sql:1:42",
        "'/'",
        id="predict-using",
    ),
    pytest.param(
        'SELECT * FROM src TO EVALUATE "../m" LABEL y INTO e;',
        "SQLML117 sql/a.sql:1:31",
        "'/'",
        id="evaluate-model",
    ),
    pytest.param(
        'SELECT * FROM src TO EVALUATE m LABEL y INTO "../e";',
        "SQLML117 sql/a.sql:1:46",
        "'/'",
        id="evaluate-into",
    ),
    pytest.param(
        'SELECT * FROM src TO EXPLAIN m INTO "../e";',
        "SQLML117 sql/a.sql:1:37",
        "'/'",
        id="explain-into",
    ),
    pytest.param(
        'CREATE TABLE t AS SELECT ML_PREDICT("../../m", x) AS p FROM src;',
        "SQLML117 sql/a.sql:1:37",
        "'/'",
        id="ml-predict",
    ),
    pytest.param(
        'CREATE TABLE "../t" AS SELECT 1 AS x;', "SQLML117 sql/a.sql:1:14", "'/'", id="create-table"
    ),
    pytest.param(
        'CREATE TABLE "donn\u00e9es" AS SELECT 1 AS x;',
        "SQLML117 sql/a.sql:1:14",
        "U+00E9",
        id="create-table-non-ascii",
    ),
    pytest.param(
        'INSERT INTO "t\u00e9" SELECT 1;', "SQLML117 sql/a.sql:1:13", "U+00E9", id="insert-into"
    ),
    pytest.param(
        'CREATE TABLE t AS SELECT * FROM "s\u00e9";',
        "SQLML117 sql/a.sql:1:33",
        "U+00E9",
        id="source-read",
    ),
    pytest.param(
        f'SELECT * FROM "{LONG}" TO TRAIN sklearn.svm.SVC LABEL y INTO m;',
        "SQLML117 sql/a.sql:1:15",
        "300",
        id="train-reads",
    ),
    pytest.param(
        "SELECT * FROM src TO TRAIN sklearn.svm.SVC WITH validation.select = 'SELECT * FROM \"v\u00e9\"' LABEL y INTO m;",
        "SQLML117 sql/a.sql:1:49",
        "U+00E9",
        id="validation-select-reads",
    ),
]


@pytest.mark.parametrize(("sql", "expected", "message"), REFUSED)
def test_a_name_outside_the_rule_is_refused_where_it_is_written(
    write_project: Callable[[dict[str, str]], Path], sql: str, expected: str, message: str
) -> None:
    _, diagnostics = check_project(write_project({"a.sql": sql + "\n"}))
    found = [d for d in diagnostics if d.code == "SQLML117"]
    assert [f"{d.code} {d.span.location()}" for d in found if d.span] == [expected]
    assert message in found[0].message
    assert found[0].hint is not None and "ASCII letters, digits" in found[0].hint
    rendered = found[0].render()
    assert "^" in rendered and "Traceback" not in rendered


ACCEPTED = [
    "m",
    "Iris_RF",
    "a-b",
    "_private",
    "3d_model",
    "main.iris_rf",
    "cat.schema.t",
    "y" * NAME_MAX,
]


@pytest.mark.parametrize("name", ACCEPTED)
def test_names_inside_the_rule_compile(
    write_project: Callable[[dict[str, str]], Path], name: str
) -> None:
    quoted = ".".join(f'"{part}"' for part in name.split("."))
    project = compile_project(write_project({"a.sql": f"{TRAIN} {quoted};\n"}))
    assert [n.name.key for n in project.models] == [name.lower()]


@pytest.mark.parametrize(
    ("sql", "location"),
    [
        pytest.param('DROP MODEL "../../../victim"', "<sql>:1:12", id="drop-model"),
        pytest.param('DROP MODEL IF EXISTS "/tmp/victim"', "<sql>:1:22", id="drop-model-absolute"),
        pytest.param('DESCRIBE MODEL "../x"@2', "<sql>:1:16", id="describe-model"),
        pytest.param('SHOW TRAIN "..\\x"', "<sql>:1:12", id="show-train"),
        pytest.param('SELECT ML_PREDICT("../x", 1)', "<sql>:1:19", id="ml-predict"),
    ],
)
def test_catalog_statements_typed_into_the_shell_are_held_to_the_rule(
    sql: str, location: str
) -> None:
    """``sqlml sql``/``run-sql`` parse with the same parser: the name never reaches the store."""
    _, diagnostics = parse_sql_file("<sql>", sql, "duckdb")
    assert [(d.code, d.span.location() if d.span else "") for d in diagnostics] == [
        ("SQLML117", location)
    ]


COLLISIONS = [
    pytest.param(
        {"a.sql": 'CREATE TABLE "a-b" AS SELECT 1 AS x;\nCREATE TABLE a_b AS SELECT 2 AS x;\n'},
        "sql/a.sql:2:1",
        "sql/a.sql:1:1",
        id="quoted-dash-and-underscore",
    ),
    pytest.param(
        {
            "a.sql": f'{TRAIN} "iris-rf";\n',
            "b.sql": "CREATE TABLE Iris_Rf AS SELECT 1 AS x;\n",
        },
        "sql/b.sql:1:1",
        "sql/a.sql:1:57",
        id="model-and-table-in-two-files",
    ),
    pytest.param(
        {"a.sql": 'CREATE TABLE t AS SELECT * FROM "s-1";\nCREATE TABLE s_1 AS SELECT 1 AS x;\n'},
        "sql/a.sql:2:1",
        "sql/a.sql:1:1",
        id="a-source-and-a-table",
    ),
]


@pytest.mark.parametrize(("files", "second", "first"), COLLISIONS)
def test_names_that_become_one_asset_key_collide_naming_both_places(
    write_project: Callable[[dict[str, str]], Path],
    files: dict[str, str],
    second: str,
    first: str,
) -> None:
    with pytest.raises(SqlMlCompileError) as raised:
        compile_project(write_project(files))
    (collision,) = [d for d in raised.value.diagnostics if d.code == "SQLML210"]
    assert collision.span is not None and collision.span.location() == second
    assert "one asset key" in collision.message
    assert collision.hint is not None and f"named at {first}" in collision.hint


def test_the_rule_names_the_offending_part() -> None:
    assert name_problem(["main", "x/y"]) == (
        "has a part 'x/y' that contains '/' (a path separator); "
        "a name holds ASCII letters, digits, '_' and '-' only"
    )
    assert name_problem(["a\x00"]) is not None and "NUL" in str(name_problem(["a\x00"]))
    assert name_problem(["ok", "fine"]) is None


def test_a_name_s_asset_key_form_is_lower_case_with_underscores() -> None:
    assert normalized(("Sales", "Churn-Model")) == ("sales", "churn_model")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("zoo.churn", None),  # a dotted store key: '.' separates parts
        (
            "../x",
            "contains '/' (a path separator); a name holds ASCII letters, digits, '_' and '-' only",
        ),
        ("a..b", "has a part '' that is empty"),
    ],
)
def test_a_store_key_names_a_wrong_character_before_its_parts(
    key: str, problem: str | None
) -> None:
    assert key_problem(key) == problem
