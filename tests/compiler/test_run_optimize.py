"""TO RUN and TO MAXIMIZE/MINIMIZE in the compiler: every mistake is one diagnostic with
its code, a caret under the culprit and a hint; several INTO tables are one node."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from sqlml_dagster.cli.check import check_report
from sqlml_dagster.compiler import check_project, compile_project
from sqlml_dagster.compiler.diagnostics import Diagnostic
from sqlml_dagster.compiler.ir import ObjectKind, QualifiedName

W = "SELECT * FROM w TO MAXIMIZE "
WITH = ' WITH variables = "x(k)", var_type = "Integers" INTO r;'
RUN = "SELECT * FROM t TO RUN img:1 "

# (one file's SQL, code, the text under the caret, a fragment of the message, of the hint)
ERRORS = [
    pytest.param(RUN + "INTO o;", "SQLML125", "img:1", "names no program", 'CMD "program.py"', id="run-without-cmd"),
    pytest.param(RUN + 'CMD "/usr/bin/env", "x" INTO o;', "SQLML126", '"/usr/bin/env"', "not absolute", "relative to the project folder", id="run-absolute-program"),
    pytest.param(RUN + 'CMD "../tools/x.py" INTO o;', "SQLML126", '"../tools/x.py"', "climb out", "relative to the project folder", id="run-program-climbs-out"),
    pytest.param('SELECT * FROM t TO RUN "a/b:1" CMD "p.py" INTO o;', "SQLML107", '"a/b:1"', "without quotes", "TO RUN <image>", id="run-quoted-image"),
    pytest.param('SELECT * FROM t TO RUN Team/Img:1 CMD "p.py" INTO o;', "SQLML107", "Team/Img:1", "not a valid container image", "repository[:tag]", id="run-bad-image"),
    pytest.param(RUN + 'CMD "p.py" INTO o, O;', "SQLML201", "O", "named twice in INTO", "named once", id="run-into-twice"),
    pytest.param('SELECT * FROM b TO RUN img:1 CMD "p.py" INTO a, b;', "SQLML206", "b", "'b' would overwrite", "different table", id="run-reads-its-output"),
    pytest.param('CREATE TABLE b AS SELECT 1 AS x;\n' + RUN + 'CMD "p.py" INTO a, b;', "SQLML201", "b", "already produced", "first produced at sql/a.sql:1:1", id="run-output-produced-twice"),
    pytest.param('CREATE TABLE p AS SELECT 1 AS x;\n' + RUN + 'CMD "tools/p.py";', "SQLML201", '"tools/p.py"', "'p' is already produced", "-- sqlml: asset = <name>", id="run-named-like-a-table"),
    pytest.param(RUN + 'CMD "p.py";\n' + RUN + 'CMD "other/p.sh", "-v";', "SQLML201", '"other/p.sh", "-v"', "'p' is already produced", "named after its program", id="two-runs-of-one-program"),
    pytest.param('CREATE TABLE "a-b" AS SELECT 1 AS x;\n' + RUN + 'CMD "a_b.py";', "SQLML210", '"a_b.py"', "one asset key", "-- sqlml: asset = <name>", id="run-key-collides-once-normalized"),
    pytest.param(RUN + 'CMD "t.py";', "SQLML206", '"t.py"', "'t' would overwrite", "-- sqlml: asset = <name>", id="run-named-like-its-input"),
    pytest.param(RUN + 'CMD "my.report.py";', "SQLML140", '"my.report.py"', "'my.report' (named after its program) is not a valid one", "-- sqlml: asset = <name>", id="run-stem-no-name"),
    pytest.param('-- sqlml: asset = "a b"\n' + RUN + 'CMD "p.py";', "SQLML140", 'asset = "a b"', "'a b' (the asset directive's value) is not a valid one", "-- sqlml: asset = <name>", id="run-asset-directive-no-name"),
    pytest.param("-- sqlml: asset = [1, 2]\n" + RUN + 'CMD "p.py";', "SQLML140", "asset = [1, 2]", "is no name", "-- sqlml: asset = <name>", id="run-asset-directive-a-list"),
    pytest.param("-- sqlml: asset = r\n" + RUN + 'CMD "p.py" INTO o;', "SQLML141", "asset = r", "named in its SQL", "without INTO", id="asset-directive-with-into"),
    pytest.param("-- sqlml: asset = r\nCREATE TABLE o AS SELECT 1 AS x;", "SQLML141", "asset = r", "named in its SQL", "without INTO", id="asset-directive-on-a-table"),
    pytest.param("-- sqlml-file: asset = r\n" + RUN + 'CMD "p.py";', "SQLML141", "asset = r", "not every statement of a file", "right above", id="asset-directive-file-wide"),
    pytest.param(RUN + 'CMD "p.py";\nCREATE TABLE o AS SELECT * FROM p;', "SQLML204", "CREATE TABLE o AS SELECT * FROM p", "'p' is a program's run", "add INTO to the TO RUN at sql/a.sql:1:1", id="reading-a-run"),
    pytest.param(W + "x * price" + WITH, "SQLML127", "x * price", "must sum over the rows", "SUM(", id="objective-without-sum"),
    pytest.param(W + "SUM(x) <= 3" + WITH, "SQLML127", "SUM(x) <= 3", "not a comparison", "CONSTRAINT", id="objective-comparison"),
    pytest.param(W + "SUM(x * x)" + WITH, "SQLML127", "SUM(x * x)", "not linear", "never by itself", id="objective-quadratic"),
    pytest.param(W + "SUM(price / x)" + WITH, "SQLML127", "x", "dividing by the variable 'x'", "numbers and columns", id="divide-by-variable"),
    pytest.param(W + "SUM(SUM(x))" + WITH, "SQLML127", "SUM(x)", "SUM(…) inside SUM(…)", "sum once", id="nested-sum"),
    pytest.param(W + "SUM(ABS(x))" + WITH, "SQLML127", "ABS(x)", "ABS(…) cannot be used", "SUM is the one function", id="unknown-function"),
    pytest.param(W + "SUM(x) + x" + WITH, "SQLML127", "x", "'x' outside SUM(…) in the objective", "inside SUM", id="objective-bare-variable"),
    pytest.param(W + "SUM(x) CONSTRAINT SUM(x) < 10" + WITH, "SQLML127", "SUM(x) < 10", "cannot be strict", "<=, >= or =", id="strict-constraint"),
    pytest.param(W + "SUM(x) CONSTRAINT SUM(x)" + WITH, "SQLML127", "SUM(x)", "compares two sides", "SUM(amount) <= 100", id="constraint-without-comparison"),
    pytest.param(W + "SUM(x) CONSTRAINT x <= m GROUP BY k" + WITH, "SQLML127", "k", "GROUP BY needs a SUM", "remove GROUP BY", id="group-by-without-sum"),
    pytest.param(W + "SUM(x) CONSTRAINT SUM(x) <= cap" + WITH, "SQLML127", "cap", "'cap' outside SUM(…) needs GROUP BY", "GROUP BY <column>", id="column-outside-sum"),
    pytest.param(W + "SUM(x) CONSTRAINT SUM(x) <= x GROUP BY k" + WITH, "SQLML127", "x", "'x' outside SUM(…) in a constraint that sums", "inside SUM", id="variable-outside-sum"),
    pytest.param(W + "SUM(x) CONSTRAINT SUM(price) <= 10" + WITH, "SQLML127", "SUM(price) <= 10", "does not involve the variable 'x'", "limits the variable", id="constraint-without-variable"),
    pytest.param(W + 'SUM(x) WITH variables = "x(k)" INTO r;', "SQLML128", "WITH", "lacks var_type", 'var_type = "NonNegativeIntegers"', id="missing-var-type"),
    pytest.param(W + 'SUM(x) WITH variables = "x(k)", var_type = "Integer" INTO r;', "SQLML128", 'var_type = "Integer"', "unknown var_type 'Integer'", "did you mean 'Integers'", id="unknown-var-type"),
    pytest.param(W + 'SUM(x) WITH variabels = "x(k)", var_type = "Reals" INTO r;', "SQLML128", "variabels", "unknown attribute 'variabels' of TO MAXIMIZE", "did you mean 'variables'", id="misspelled-attribute"),
    pytest.param(W + 'SUM(x) WITH variables = "x(k", var_type = "Reals" INTO r;', "SQLML128", 'variables = "x(k"', "does not end with ')'", "amount(product)", id="variables-unclosed"),
    pytest.param(W + 'SUM(x) WITH variables = "a, b", var_type = "Reals" INTO r;', "SQLML128", 'variables = "a, b"', "needs a name for the variable", "shipment(plants, markets)", id="variables-without-name"),
    pytest.param(W + "SUM(x)" + WITH.replace(" INTO", " USING simplex INTO"), "SQLML129", "simplex", "unknown solver 'simplex'", "USING highs", id="unknown-solver"),
    pytest.param(W + "SUM(x) INTO r;", "SQLML102", "INTO", "expected WITH variables", "SQLFlow's form", id="optimize-without-with"),
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
    root = write_project({"a.sql": sql})
    _, diagnostics = check_project(root, dialect="mysql")
    assert_one_located_error(diagnostics, sql, code, culprit, message, hint)


def assert_one_located_error(
    diagnostics: Sequence[Diagnostic], sql: str, code: str, culprit: str, message: str, hint: str
) -> None:
    """The one error of ``sql`` is ``code``, its caret under ``culprit``, its message and
    hint holding these fragments."""
    errors = [d for d in diagnostics if d.is_error]
    assert [d.code for d in errors] == [code], [d.render() for d in errors]
    (d,) = errors
    assert d.span is not None
    assert sql[d.span.start : d.span.end] == culprit, d.render()
    assert message in d.message
    assert d.hint is not None and hint in d.hint


# (SQL, the warning's code, a fragment of its message): understood, and said how.
WARNINGS = [
    pytest.param(W + "SUM(x)" + WITH.replace(" INTO", " USING glpk INTO"), "SQLML129", "USING glpk: solved with HiGHS", id="glpk"),
    pytest.param(W + 'SUM(x) WITH variables = "x(k)", var_type = "Reals", worker.num = 4 INTO r;', "SQLML129", "'worker.num' is a setting of SQLFlow's cluster solver", id="cluster-setting"),
    pytest.param(RUN + ";", "SQLML125", "CMD is missing; it creates no asset and does not run", id="run-without-cmd-or-into"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "code", "message"), WARNINGS)
def test_what_is_accepted_but_means_something_else_is_a_warning(
    write_project: Callable[[dict[str, str]], Path], sql: str, code: str, message: str
) -> None:
    project = compile_project(write_project({"a.sql": sql}), dialect="mysql")
    assert [(d.code, message in d.message) for d in project.warnings] == [(code, True)]


def test_run_into_several_tables_is_one_node_with_an_asset_for_each(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "a.sql": """
            CREATE TABLE raw AS SELECT 1 AS x;
            SELECT x FROM raw TO RUN img:1 CMD "split.py", "--at=1" INTO high, Low;
            CREATE TABLE report AS SELECT * FROM low JOIN high USING (x);
            """
        }
    )
    project = compile_project(root)
    run = project.node("high")
    assert project.node("LOW") is run
    assert (run.kind, [str(n) for n in run.outputs]) == (ObjectKind.PROGRAM_OUTPUT, ["high", "Low"])
    assert [str(d) for d in project.node("report").deps] == ["Low", "high"]
    assert [n.name.key for n in project.nodes] == ["raw", "high", "report"]
    assets = check_report([project], [], ok=True)["assets"]
    assert [(a["key"], a["kind"], a["deps"]) for a in assets] == [
        (["raw"], "table", []),
        (["high"], "program_output", [["raw"]]),
        (["low"], "program_output", [["raw"]]),
        (["report"], "table", [["low"], ["high"]]),
    ]


def test_a_run_without_into_is_an_asset_named_after_its_program_or_its_directive(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "a.sql": """
            CREATE TABLE raw AS SELECT 1 AS x;
            SELECT x FROM raw TO RUN img:1 CMD "reports/nightly.py", "--to=ops";

            -- sqlml: asset = reports.weekly_run, schedule = "0 6 * * 1"
            SELECT x FROM raw TO RUN img:1 CMD "reports/nightly.py", "--weekly";
            """
        }
    )
    project = compile_project(root)
    assert project.warnings == ()
    nightly, weekly = project.node("nightly"), project.node("reports.weekly_run")
    assert (nightly.kind, nightly.outputs, nightly.deps) == (
        ObjectKind.PROGRAM_RUN,
        (QualifiedName(("nightly",)),),
        (QualifiedName(("raw",)),),
    )
    assert (weekly.kind, weekly.directives.schedule) == (ObjectKind.PROGRAM_RUN, "0 6 * * 1")
    assets = check_report([project], [], ok=True)["assets"]
    assert [(a["key"], a["kind"]) for a in assets] == [
        (["raw"], "table"),
        (["nightly"], "program_run"),
        (["reports", "weekly_run"], "program_run"),
    ]


def test_a_run_image_outside_the_allow_list_is_refused(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project({"a.sql": RUN.replace("img:1", "evil.io/x:1") + 'CMD "p.py" INTO o;'})
    _, diagnostics = check_project(root, allowed_images=["registry.example.com"])
    assert [(d.code, d.message) for d in diagnostics] == [
        ("SQLML208", "image 'evil.io/x:1' is not allowed in this project")
    ]
