"""Every mistake is a diagnostic with a code, file:line:col, a caret excerpt and a hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.compiler import SqlMlCompileError, check_project, compile_project

# (files, code, "file:line:col", a fragment of the message, a fragment of the hint)
CASES = [
    pytest.param(
        {"a.sql": "SELECT a FORM t WHERE;"},
        "SQLML101",
        "sql/a.sql:1:15",
        "syntax error",
        "FROM",
        id="sql-syntax",
    ),
    pytest.param(
        {"a.sql": "SELECT 1;\nSELECT 'unterminated;\n"},
        "SQLML100",
        "sql/a.sql:2:8",
        "unterminated",
        "close",
        id="unterminated-string",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t\nTO TRAIN sklearn.svm.SVC LABEL y INT m;"},
        "SQLML102",
        "sql/a.sql:2:34",
        "expected INTO",
        "did you mean INTO",
        id="misspelled-into",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC WITH model.C 1 LABEL y INTO m;"},
        "SQLML102",
        "sql/a.sql:1:55",
        "'='",
        "model.C = <value>",
        id="missing-equals",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC WITH modle.C = 1 LABEL y INTO m;"},
        "SQLML103",
        "sql/a.sql:1:47",
        "unknown attribute namespace 'modle'",
        "did you mean 'model.C'",
        id="unknown-namespace",
    ),
    pytest.param(
        {
            "a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC WITH model.C = 1, model.C = 2 LABEL y INTO m;"
        },
        "SQLML104",
        "sql/a.sql:1:60",
        "set twice",
        "sql/a.sql:1:47",
        id="duplicate-param",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m extra;"},
        "SQLML102",
        "sql/a.sql:1:57",
        "end of the statement",
        "';'",
        id="trailing-tokens",
    ),
    pytest.param(
        {
            "a.sql": "SELECT * FROM t TO PREDICT out.y USING nope;",
            "b.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO nop;",
        },
        "SQLML203",
        "sql/a.sql:1:40",
        "unknown model 'nope'",
        "did you mean 'nop'",
        id="unknown-model",
    ),
    pytest.param(
        {"a.sql": "CREATE TABLE x AS SELECT 1;", "b.sql": "CREATE TABLE x AS SELECT 2;"},
        "SQLML201",
        "sql/b.sql:1:1",
        "already produced",
        "sql/a.sql:1:1",
        id="duplicate-producer",
    ),
    pytest.param(
        {"a.sql": "CREATE TABLE x AS SELECT * FROM y;\nCREATE TABLE y AS SELECT * FROM x;"},
        "SQLML202",
        "sql/a.sql:1:1",
        "dependency cycle",
        "break the loop",
        id="cycle",
    ),
    pytest.param(
        {
            "a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m;\nCREATE TABLE x AS SELECT * FROM m;"
        },
        "SQLML204",
        "sql/a.sql:2:1",
        "is a model, not a table",
        "TO PREDICT",
        id="model-read-as-table",
    ),
    pytest.param(
        {"a.sql": "CREATE TABLE x AS SELECT 1;", "b.sql": "INSERT INTO x SELECT 2;"},
        "SQLML205",
        "sql/b.sql:1:1",
        "modified here",
        "move this statement",
        id="modified-in-another-file",
    ),
    pytest.param(
        {"a.sql": "CREATE TABLE x AS SELECT 1 TO TRAIN sklearn.svm.SVC INTO m;"},
        "SQLML102",
        "sql/a.sql:1:1",
        "must be a query",
        "SELECT",
        id="train-after-ddl",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN Registry.io/Team/pkg.M LABEL y INTO m;"},
        "SQLML107",
        "sql/a.sql:1:26",
        "not a valid container image reference",
        "repository[:tag]",
        id="bad-image",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN ghcr.io/x@sha256:beef/pkg.M LABEL y INTO m;"},
        "SQLML107",
        "sql/a.sql:1:26",
        "64 lower-case hex digits",
        "@sha256",
        id="bad-digest",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN reg.io/img:1/2pkg.M LABEL y INTO m;"},
        "SQLML102",
        "sql/a.sql:1:39",
        "not a Python reference",
        "dotted Python name",
        id="bad-reference-after-image",
    ),
    pytest.param(
        {
            "a.sql": "SELECT * FROM t TO PREDICT t.y USING m;\nSELECT * FROM s TO TRAIN sklearn.svm.SVC LABEL y INTO m;"
        },
        "SQLML206",
        "sql/a.sql:1:28",
        "overwrite",
        "different table",
        id="predict-overwrites-its-input",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO EVALUATE m LABEL y INTO e;"},
        "SQLML203",
        "sql/a.sql:1:29",
        "unknown model 'm'",
        "train it first",
        id="evaluate-unknown-model",
    ),
]


@pytest.mark.parametrize(("files", "code", "location", "message", "hint"), CASES)
def test_diagnostic(
    write_project: Callable[[dict[str, str]], Path],
    files: dict[str, str],
    code: str,
    location: str,
    message: str,
    hint: str,
) -> None:
    root = write_project(files)
    _, diagnostics = check_project(root)
    errors = [d for d in diagnostics if d.is_error]
    assert [d.code for d in errors] == [code], [d.render() for d in errors]
    (d,) = errors
    assert d.span is not None and d.span.location() == location
    assert message in d.message
    assert d.hint is not None and hint in d.hint


# The grammar beyond TRAIN/PREDICT: (one file's SQL, code, location, message, hint).
LANGUAGE_CASES = [
    pytest.param(
        "SELECT * FROM t TO PREDICT out.c USING m@0;",
        "SQLML102",
        "sql/a.sql:1:42",
        "expected a version number, an alias or 'latest' after '@', found '0'",
        "pin a version with model@3",
        id="pin-version-zero",
    ),
    pytest.param(
        "SELECT * FROM t TO PREDICT out.c USING m@;",
        "SQLML102",
        "sql/a.sql:1:41",
        "expected a version number, an alias or 'latest' after '@', found 'the end'",
        "name an alias with model@champion",
        id="pin-version-missing",
    ),
    pytest.param(
        "CREATE TABLE s AS SELECT ML_PREDICT(m@'newest', a) AS p FROM t;",
        "SQLML150",
        "sql/a.sql:1:39",
        "'newest' is not an alias: it is quoted",
        "an alias is one word of lower-case letters",
        id="ml-predict-quoted-alias",
    ),
    pytest.param(
        "SELECT * FROM t TO PREDICT out.c USING m@_champion;",
        "SQLML150",
        "sql/a.sql:1:42",
        "'_champion' is not an alias: it is not one word",
        "starts with a letter",
        id="alias-leading-underscore",
    ),
    pytest.param(
        "SELECT * FROM t TO EVALUATE m@" + "c" * 64 + " LABEL y INTO e;",
        "SQLML150",
        "sql/a.sql:1:31",
        "is 64 characters long; an alias has at most 63",
        "e.g. m@champion",
        id="alias-too-long",
    ),
    pytest.param(
        'DESCRIBE MODEL m@"Champion";',
        "SQLML150",
        "sql/a.sql:1:18",
        "'Champion' is not an alias: it is quoted",
        "a version is a positive number",
        id="describe-quoted-alias",
    ),
    pytest.param(
        "SELECT * FROM t TO EVALUATE m WITH check.auc >= champion.accuracy LABEL y INTO e;",
        "SQLML153",
        "sql/a.sql:1:49",
        "'check.auc' is compared with the champion's accuracy",
        "check.auc >= champion.auc + 0.01",
        id="champion-gate-other-metric",
    ),
    pytest.param(
        "SELECT * FROM t TO EVALUATE m WITH check.auc >= staging.auc LABEL y INTO e;",
        "SQLML153",
        "sql/a.sql:1:49",
        "a gate compares with champion.<metric> or a number, not 'staging.auc'",
        "scored on the same rows",
        id="champion-gate-other-alias",
    ),
    pytest.param(
        "SELECT * FROM t TO EVALUATE m WITH check.auc >= champion.auc + x LABEL y INTO e;",
        "SQLML153",
        "sql/a.sql:1:64",
        "the margin after 'champion.auc +' must be a number",
        "champion.auc + 0.01",
        id="champion-gate-margin-not-a-number",
    ),
    pytest.param(
        "SELECT * FROM t TO EVALUATE m WITH check.auc >= champion.acu LABEL y INTO e;",
        "SQLML113",
        "sql/a.sql:1:58",
        "unknown metric 'acu' in a quality gate",
        "did you mean 'auc'?",
        id="champion-gate-unknown-metric",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m;\n"
        "SELECT * FROM t TO PREDICT p.y WITH check.auc >= champion.auc USING m;",
        "SQLML112",
        "sql/a.sql:2:37",
        "quality gate 'check.auc >= champion.auc' outside TO EVALUATE",
        "a gate judges an evaluation",
        id="champion-gate-outside-evaluate",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN DNNClassifier COLUMN EMBEDING(c, 8) LABEL y INTO m;",
        "SQLML109",
        "sql/a.sql:1:47",
        "unknown feature column 'EMBEDING'",
        "did you mean EMBEDDING?",
        id="unknown-feature-column",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN DNNClassifier COLUMN EMBEDDING(CATEGORY_ID(c, 10)) LABEL y INTO m;",
        "SQLML110",
        "sql/a.sql:1:75",
        "EMBEDDING needs its dimension argument",
        "the form is EMBEDDING(category, dimensio",
        id="feature-missing-argument",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN DNNClassifier COLUMN BUCKET(NUMERIC(age, 1), [30, 18]) LABEL y INTO m;",
        "SQLML110",
        "sql/a.sql:1:71",
        "BUCKET's boundaries must be in ascending order, found '[30, ",
        "the form is BUCKET(source, boundaries)",
        id="bucket-boundaries-unsorted",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN DNNClassifier COLUMN CATEGORY_ID(c, 'ten') LABEL y INTO m;",
        "SQLML110",
        "sql/a.sql:1:62",
        "CATEGORY_ID's bucket_size must be a positive integer, found ",
        "the form is CATEGORY_ID(key, bucket_size",
        id="bucket-size-not-integer",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN DNNClassifier COLUMN NUMERIC(a, 1, 2) LABEL y INTO m;",
        "SQLML110",
        "sql/a.sql:1:61",
        "NUMERIC takes at most 2 arguments",
        "the form is NUMERIC(key[, shape])",
        id="feature-too-many-arguments",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN DNNClassifier COLUMN a, 42 LABEL y INTO m;",
        "SQLML102",
        "sql/a.sql:1:50",
        "expected a column or a feature column such as NUMERIC(x, 1),",
        "feature columns: NUMERIC, CATEGORY_ID, S",
        id="literal-as-feature-column",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN DNNClassifier COLUMN a FOR deep COLUMN b FOR deep LABEL y INTO m;",
        "SQLML104",
        "sql/a.sql:1:58",
        "a second COLUMN clause for 'deep'",
        "list all columns of one model argument i",
        id="two-column-clauses-for-one-argument",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m;\nSELECT * FROM t TO EVALUATE m INTO e;",
        "SQLML102",
        "sql/a.sql:2:31",
        "expected LABEL, found 'INTO'",
        "the form is: TO EVALUATE <model> [WITH v",
        id="evaluate-without-label",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m;\nSELECT * FROM t TO EXPLAIN m USING TreeExplainer INTO e extra;",
        "SQLML102",
        "sql/a.sql:2:57",
        "expected the end of the statement, found 'extra'",
        "is a ';' missing before this? The form i",
        id="explain-trailing-tokens",
    ),
    pytest.param(
        "SELECT * FROM t TO RUN img:1 CMD verbose INTO out;",
        "SQLML102",
        "sql/a.sql:1:34",
        "expected a quoted program or argument, found 'verbose'",
        'CMD takes quoted strings: CMD "program.py", "--flag=value"',
        id="run-unquoted-cmd",
    ),
    pytest.param(
        "CREATE OR REPLACE MODEL IF NOT EXISTS m USING 'm.skops';",
        "SQLML102",
        "sql/a.sql:1:25",
        "OR REPLACE and IF NOT EXISTS cannot be combined",
        "OR REPLACE always replaces the model; IF",
        id="create-model-replace-and-if-not-exists",
    ),
    pytest.param(
        "CREATE MODEL m OPTIONS (model_type = 'linear_reg') AS SELECT * FROM t;",
        "SQLML102",
        "sql/a.sql:1:52",
        "expected the end of the statement, found 'AS'",
        "CREATE MODEL registers a model trained e",
        id="bigquery-ml-create-model",
    ),
    pytest.param(
        "CREATE MODEL m USING models.m;",
        "SQLML102",
        "sql/a.sql:1:22",
        "expected a quoted model URI, found 'models'",
        "write USING 'path/to/model.skops'",
        id="create-model-unquoted-uri",
    ),
    pytest.param(
        "CREATE MODEL m FLAVOR pytorch MODEL_TYPE resnet50;",
        "SQLML105",
        "sql/a.sql:1:14",
        "CREATE MODEL m needs USING '<uri>'",
        "pretrained model types are not downloade",
        id="create-model-without-uri",
    ),
    pytest.param(
        "CREATE MODEL m USING 'tfhub://google/imagenet/resnet_v2';",
        "SQLML105",
        "sql/a.sql:1:22",
        "the TensorFlow Hub (tfhub://) cannot be registered: steps never download",
        "download the model where you build, save it to a file",
        id="create-model-tfhub",
    ),
    pytest.param(
        "CREATE MODEL m FLAVOR xgboost USING 'models/m.json';",
        "SQLML105",
        "sql/a.sql:1:37",
        "cannot register FLAVOR xgboost: the registrable flavors are sklearn, pytorch, keras",
        "save a scikit-learn model with skops.io.dump(model,",
        id="create-model-unsupported-flavor",
    ),
    pytest.param(
        "CREATE MODEL m USING 'mlflow://iris/1/2';",
        "SQLML105",
        "sql/a.sql:1:22",
        "'mlflow://iris/1/2' is not an MLflow model URI",
        "mlflow://<model>/<version>, mlflow://<model>/<stage> or mlflow://<model>@<alias>",
        id="create-model-bad-mlflow-uri",
    ),
    pytest.param(
        "CREATE MODEL m USING 'torchhub://pytorch/vision';",
        "SQLML105",
        "sql/a.sql:1:22",
        "'torchhub://pytorch/vision' is not a torch hub model URI",
        "write torchhub://<owner>/<repo>[:<ref>]/<entrypoint>",
        id="create-model-torchhub-without-entrypoint",
    ),
    pytest.param(
        "CREATE MODEL m FLAVOR sklearn USING 'models/m.pkl';",
        "SQLML105",
        "sql/a.sql:1:37",
        "cannot register a .pkl file: a pickle file runs arbitrary code when it loads",
        "save a scikit-learn model with skops.io.dump",
        id="create-model-pickle-file",
    ),
    pytest.param(
        "CREATE MODEL m FLAVOR keras USING 'models/net.pt';",
        "SQLML105",
        "sql/a.sql:1:35",
        "FLAVOR keras cannot register a .pt file (pytorch saves those)",
        "save a Keras model with model.save('model.keras')",
        id="create-model-flavor-extension-mismatch",
    ),
    pytest.param(
        "CREATE MODEL m RETURNS STRUCT<a int> USING 'm.skops';",
        "SQLML102",
        "sql/a.sql:1:33",
        "expected ':' between a field name and its type, found 'int'",
        "write STRUCT<name:type, …>",
        id="returns-missing-colon",
    ),
    pytest.param(
        "CREATE MODEL m RETURNS STRUCT<label:string, confidence:float> USING 'm.skops';\n"
        "CREATE TABLE t AS SELECT ML_PREDICT(m, 1.0) AS v;",
        "SQLML136",
        "sql/a.sql:1:24",
        "RETURNS struct<label:string, confidence:float>: field 'confidence' is not one "
        "ML_PREDICT fills (it fills label, prediction, score, probability, probabilities)",
        "ML_PREDICT returns the prediction as a scalar type",
        id="returns-unknown-field",
    ),
    pytest.param(
        "CREATE MODEL m RETURNS STRUCT<label:int, score:string> USING 'm.skops';\n"
        "CREATE TABLE t AS SELECT ML_PREDICT(m, 1.0) AS v;",
        "SQLML136",
        "sql/a.sql:1:24",
        "field 'score' is string: a probability is float or double",
        "a struct of label/prediction, score/probability and probabilities fields",
        id="returns-score-not-a-float",
    ),
    pytest.param(
        "CREATE MODEL m RETURNS ARRAY<STRUCT<box:box2d, score:float>> USING 'm.skops';\n"
        "CREATE TABLE t AS SELECT ML_PREDICT(m, 1.0) AS v;",
        "SQLML136",
        "sql/a.sql:1:24",
        "the value is array<struct<box:box2d, score:float>>: class probabilities are "
        "array<float> or array<double>",
        "the class probabilities as array<float>",
        id="returns-a-type-ml-predict-cannot-fill",
    ),
    pytest.param(
        "CREATE MODEL m OPTIONS (a 1) USING 'm.skops';",
        "SQLML102",
        "sql/a.sql:1:27",
        "expected '=' after the option name, found '1'",
        "write a = <value>",
        id="options-missing-equals",
    ),
    pytest.param(
        "CREATE TABLE s AS SELECT ML_PREDICT(m) AS p FROM t;",
        "SQLML102",
        "sql/a.sql:1:26",
        "ML_PREDICT needs a model and at least one input",
        "write ML_PREDICT(<model>, <column>, …)",
        id="ml-predict-one-argument",
    ),
    pytest.param(
        "CREATE TABLE s AS SELECT ML_PREDICT('m.skops', a) AS p FROM t;",
        "SQLML105",
        "sql/a.sql:1:37",
        "ML_PREDICT's first argument must name a model of the project",
        "register a model file with CREATE MODEL ",
        id="ml-predict-uri",
    ),
    pytest.param(
        "CREATE MODEL m USING 'm.skops';\nCREATE VIEW v AS SELECT ML_PREDICT(m, a) AS p FROM t;",
        "SQLML207",
        "sql/a.sql:2:36",
        "ML_PREDICT cannot be used in a view",
        "a model runs when its table materializes",
        id="ml-predict-in-view",
    ),
    pytest.param(
        "CREATE MODEL iris_rf USING 'm.skops';\nCREATE TABLE s AS SELECT id, ML_PREDICT(iris_fr, a, b) AS p FROM t;",
        "SQLML203",
        "sql/a.sql:2:41",
        "unknown model 'iris_fr'",
        "did you mean 'iris_rf'?",
        id="ml-predict-unknown-model",
    ),
    pytest.param(
        "CREATE TABLE m AS SELECT 1 AS a;\nSELECT * FROM t TO PREDICT o.y USING m;",
        "SQLML203",
        "sql/a.sql:2:38",
        "'m' is a table, not a model",
        "models come from TO TRAIN … INTO <name> ",
        id="predict-using-a-table",
    ),
    pytest.param(
        "SHOW TRAIN m now;",
        "SQLML102",
        "sql/a.sql:1:14",
        "expected the end of the statement, found 'now'",
        "is a ';' missing before this? The form i",
        id="show-train-trailing-tokens",
    ),
    pytest.param(
        "DROP MODEL;",
        "SQLML102",
        "sql/a.sql:1:10",
        "expected a model name but the statement ends",
        "the form is: DROP MODEL <model>",
        id="drop-model-without-name",
    ),
    pytest.param(
        'SELECT * FROM t TO TRAIN DNNClassifier WITH validation.select = "SELEC * FROM v" '
        "LABEL y INTO m;",
        "SQLML101",
        "sql/a.sql:1:45",
        "validation.select is not valid SQL",
        "a SELECT in the file's dialect",
        id="validation-select-syntax",
    ),
    pytest.param(
        "SELECT * FROM t TO TRAIN DNNClassifier WITH validation.select = 3 LABEL y INTO m;",
        "SQLML110",
        "sql/a.sql:1:45",
        "validation.select must be a quoted SELECT",
        'validation.select = "SELECT * FROM iris_validation"',
        id="validation-select-not-a-string",
    ),
    pytest.param(
        'SELECT * FROM t TO TRAIN DNNClassifier WITH validation.select = "DROP TABLE t" '
        "LABEL y INTO m;",
        "SQLML110",
        "sql/a.sql:1:45",
        "validation.select must be a query",
        "SELECT * FROM iris_validation",
        id="validation-select-not-a-query",
    ),
]


@pytest.mark.parametrize(("sql", "code", "location", "message", "hint"), LANGUAGE_CASES)
def test_language_diagnostic(
    write_project: Callable[[dict[str, str]], Path],
    sql: str,
    code: str,
    location: str,
    message: str,
    hint: str,
) -> None:
    test_diagnostic(write_project, {"a.sql": sql}, code, location, message, hint)


def test_there_are_at_least_thirty_error_cases() -> None:
    assert len(CASES) + len(LANGUAGE_CASES) >= 30


def test_rendered_error_has_location_line_and_caret(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "iris.sql": "CREATE TABLE a AS SELECT 1;\n\nSELECT x FROM a\nTO PREDICT out.y USING iris_rff;\n"
        }
    )
    with pytest.raises(SqlMlCompileError) as info:
        compile_project(root)
    text = str(info.value)
    assert "error[SQLML203]: unknown model 'iris_rff'" in text
    assert " --> sql/iris.sql:4:24" in text
    assert "4 | TO PREDICT out.y USING iris_rff;" in text
    assert "  |                        ^^^^^^^^" in text
    assert "Traceback" not in text


def test_all_errors_are_reported_together(write_project: Callable[[dict[str, str]], Path]) -> None:
    root = write_project(
        {
            "a.sql": "SELECT FROM WHERE;\nSELECT * FROM t TO PREDICT o.y USING m1;",
            "b.sql": "SELECT 'open",
        }
    )
    with pytest.raises(SqlMlCompileError) as info:
        compile_project(root)
    assert [d.code for d in info.value.diagnostics] == ["SQLML101", "SQLML203", "SQLML100"]
    assert str(info.value).startswith("sqlml: 3 errors in SQL project")


@pytest.mark.parametrize(
    ("sql", "code", "message"),
    [
        ("SELECT 1;", "SQLML106", "produces nothing"),
        ("DROP TABLE IF EXISTS t;", "SQLML106", "DROP is ignored"),
        ("SHOW MODELS;", "SQLML106", "SHOW MODELS asks the model catalog"),
        ("DESC MODEL m;", "SQLML106", "DESCRIBE MODEL asks the model catalog"),
        ("DROP MODEL m;", "SQLML106", "DROP MODEL asks the model catalog"),
        ("SHOW TRAIN m;", "SQLML106", "SHOW TRAIN asks the model catalog"),
    ],
)
def test_warnings_do_not_fail(
    write_project: Callable[[dict[str, str]], Path], sql: str, code: str, message: str
) -> None:
    project = compile_project(write_project({"a.sql": sql}))
    assert [d.code for d in project.warnings] == [code]
    assert message in project.warnings[0].message


def test_missing_folder(tmp_path: Path) -> None:
    _, diagnostics = check_project(tmp_path / "nope")
    assert [d.code for d in diagnostics] == ["SQLML002"]
