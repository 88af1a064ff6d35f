"""`sqlml check` goes deep: what a project will do when it runs, checked before it runs.

The fixture repo (tests/fixtures/deep_check) has one mistake per statement that compiling
alone cannot see; each must be reported with its file:line:col in every output format.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import textwrap
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import jsonschema
import pytest

from sqlml_dagster.cli import main
from sqlml_dagster.compiler import check_project
from sqlml_dagster.contract import (
    SETTINGS_KEYS,
    DurationError,
    QuantityError,
    parse_duration,
    parse_quantity,
)
from sqlml_dagster.validate._spans import Sources
from sqlml_dagster.validate.models import ModelChecks
from sqlml_dagster.validate.schemas import Schemas

from .conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "deep_check"
FORMATS = ("human", "json", "github", "sarif")


@pytest.fixture(autouse=True)
def signature_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """One signature cache for the session, never the user's."""
    folder = tmp_path_factory.getbasetemp() / "signature-cache"
    monkeypatch.setenv("SQLML_CACHE_DIR", str(folder))
    return folder


def run_check(*args: str, cwd: Path = REPO) -> tuple[int, str, str]:
    """``sqlml check ARGS`` in this process from ``cwd``: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        patch.chdir(cwd)
        code = main(["check", *args])
    return code, out.getvalue(), err.getvalue()


# -- the acceptance table: every mistake, every format --------------------------------------

#: (code, file, line, column, words the message or hint must hold)
FIXTURE_FINDINGS = [
    ("SQLML401", "sql/train.sql", 4, 6, "did you mean 'model.n_estimators'?"),
    ("SQLML405", "sql/train.sql", 4, 31, "did you mean 'train.epoch'?"),
    ("SQLML402", "sql/train.sql", 9, 10, "nets.TinyNet needs hidden_units"),
    ("SQLML406", "sql/train.sql", 10, 66, "Kubernetes writes 2G (10^9) or 2Gi (2^30)"),
    ("SQLML406", "sql/train.sql", 10, 89, "'abc' is not a Kubernetes quantity"),
    ("SQLML411", "sql/train.sql", 10, 116, "'soon' is not a duration"),
    (
        "SQLML208",
        "sql/train.sql",
        15,
        10,
        "image 'registry.evil.example/team/img:1' is not allowed",
    ),
    ("SQLML407", "sql/train.sql", 22, 7, "did you mean 'label'?"),
    ("SQLML408", "sql/train.sql", 28, 19, "COLUMN 'c' is not a column of the SELECT"),
    ("SQLML409", "sql/score.sql", 3, 7, "lacks column 'b', which model 'forest' was trained on"),
]


@pytest.fixture(scope="module")
def fixture_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """``sqlml check tests/fixtures/deep_check/sql`` once per format, from the repo root."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SQLML_CACHE_DIR", str(tmp_path_factory.mktemp("fixture-cache")))
        return {
            fmt: run_check(
                "tests/fixtures/deep_check/sql", "--allowed-image", "ghcr.io/acme/", "--format", fmt
            )
            for fmt in FORMATS
        }


def findings(fmt: str, output: tuple[int, str, str]) -> list[tuple[str, str, int, int, str]]:
    """(code, file relative to the fixture, line, column, text) as each format reports them."""
    _, out, err = output
    prefix = "tests/fixtures/deep_check/"
    if fmt == "human":
        found = []
        for block in err.split("\n\n"):
            lines = block.strip().splitlines()
            if len(lines) < 2 or not lines[0].startswith("error["):
                continue
            location = lines[1].split("--> ", 1)[1]
            file, line, col = location.rsplit(":", 2)
            found.append((lines[0][6:14], file, int(line), int(col), block))
        return found
    if fmt == "json":
        return [
            (d["code"], d["file"], d["line"], d["column"], f"{d['message']} {d['hint']}")
            for d in json.loads(out)["diagnostics"]
        ]
    if fmt == "github":
        found = []
        for annotation in out.splitlines():
            head, text = annotation.split("::", 2)[1:]
            fields = dict(f.split("=", 1) for f in head.split(" ", 1)[1].split(","))
            file = fields["file"].removeprefix(prefix)
            found.append((fields["title"], file, int(fields["line"]), int(fields["col"]), text))
        return found
    log = json.loads(out)
    found = []
    for result in log["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        region = physical["region"]
        file = physical["artifactLocation"]["uri"].removeprefix(prefix)
        found.append(
            (
                result["ruleId"],
                file,
                region["startLine"],
                region["startColumn"],
                result["message"]["text"],
            )
        )
    return found


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("code", "file", "line", "col", "words"),
    FIXTURE_FINDINGS,
    ids=[f"{c}@{f}:{ln}:{col}" for c, f, ln, col, _ in FIXTURE_FINDINGS],
)
def test_each_mistake_is_reported_where_it_is_in_every_format(
    fixture_outputs: dict[str, tuple[int, str, str]],
    fmt: str,
    code: str,
    file: str,
    line: int,
    col: int,
    words: str,
) -> None:
    reported = findings(fmt, fixture_outputs[fmt])
    matching = [f for f in reported if f[:4] == (code, file, line, col)]
    assert matching, f"{code} at {file}:{line}:{col} not in {fmt}: {reported}"
    assert words in matching[0][4]
    assert fixture_outputs[fmt][0] == 1


def test_all_formats_report_the_same_findings(
    fixture_outputs: dict[str, tuple[int, str, str]],
) -> None:
    located = {
        fmt: sorted(f[:4] for f in findings(fmt, out)) for fmt, out in fixture_outputs.items()
    }
    assert located["human"] == sorted(f[:4] for f in FIXTURE_FINDINGS)
    assert located["json"] == located["github"] == located["sarif"] == located["human"]


def test_the_human_format_draws_the_caret_under_the_mistake(
    fixture_outputs: dict[str, tuple[int, str, str]],
) -> None:
    err = fixture_outputs["human"][2]
    assert (
        " --> sql/train.sql:4:6\n"
        "  |\n"
        "4 | WITH model.n_estimatorz = 10, train.epohc = 3\n"
        "  |      ^^^^^^^^^^^^^^^^^^\n"
    ) in err
    assert "Traceback" not in err


#: What GitHub code scanning requires of an uploaded SARIF file (docs.github.com, "SARIF
#: support for code scanning"): the properties it reads, as a JSON Schema.
GITHUB_SARIF = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription", "helpUri"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                },
                                                "helpUri": {
                                                    "type": "string",
                                                    "pattern": "^https://",
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "locations", "level"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["error", "warning", "note", "none"]},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string", "minLength": 1}},
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {
                                                            # relative to the repository root
                                                            "uri": {
                                                                "type": "string",
                                                                "pattern": "^[^/][^:]*$",
                                                            }
                                                        },
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine", "startColumn"],
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "startColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "endColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_has_what_github_code_scanning_requires(
    fixture_outputs: dict[str, tuple[int, str, str]],
) -> None:
    log = json.loads(fixture_outputs["sarif"][1])
    jsonschema.validate(log, GITHUB_SARIF)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:  # ruleIndex points at the rule of that id
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    by_id = {rule["id"]: rule for rule in rules}
    assert by_id["SQLML401"]["shortDescription"]["text"] == "Unknown model param"
    region = run["results"][1]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 4, "startColumn": 6, "endLine": 4, "endColumn": 24}


def test_the_example_repo_stays_clean() -> None:
    code, out, _ = run_check("example_repo/sql", "--format", "json")
    report = json.loads(out)
    assert (code, report["ok"], report["diagnostics"]) == (0, True, [])


# -- resources: Kubernetes quantities ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "whole", "amount"),
    [
        ("2Gi", False, Decimal(2 * 2**30)),
        ("512Mi", False, Decimal(512 * 2**20)),
        ("500m", False, Decimal("0.5")),
        ("1G", False, Decimal(10**9)),
        ("1e3", False, Decimal(1000)),
        (".5", False, Decimal("0.5")),
        (2, False, Decimal(2)),
        (0.25, False, Decimal("0.25")),
        ("1", True, Decimal(1)),
        (2, True, Decimal(2)),
    ],
)
def test_quantities_kubernetes_accepts(value: object, whole: bool, amount: Decimal) -> None:
    assert parse_quantity(value, whole=whole) == amount


@pytest.mark.parametrize(
    ("value", "whole", "hint"),
    [
        ("2GB", False, "Kubernetes writes 2G (10^9) or 2Gi (2^30)"),
        ("512MiB", False, "Kubernetes writes 512Mi (2^20)"),
        ("4gi", False, "Kubernetes writes 4Gi (2^30)"),
        ("abc", False, "a number with an optional suffix"),
        ("", False, "a number with an optional suffix"),
        ("-1", False, "at least 0"),
        (True, False, "write a number or a string"),
        ([1], False, "write a number or a string"),
        ("1.5", True, "whole units"),
    ],
)
def test_quantities_kubernetes_refuses(value: object, whole: bool, hint: str) -> None:
    with pytest.raises(QuantityError) as refused:
        parse_quantity(value, whole=whole)
    assert hint in refused.value.hint


# -- train.max_runtime: durations --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(3600, 3600), ("3600", 3600), ("3600s", 3600), ("90m", 5400), ("6h", 21600),
     ("1h30m", 5400), ("2d", 172800), ("1.5h", 5400)],
)  # fmt: skip
def test_durations_a_step_may_run(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "problem"),
    [("soon", "is not a duration"), ("6 hours", "is not a duration"), ("h", "is not a duration"),
     ("0s", "shorter than a second"), (0, "shorter than a second"), (True, "is not a duration"),
     ("-5m", "is not a duration"), ([1], "is not a duration")],
)  # fmt: skip
def test_durations_refused(value: object, problem: str) -> None:
    with pytest.raises(DurationError, match=problem):
        parse_duration(value)


# -- the known settings are the ones the runtime reads ------------------------------------


def _settings_read_by(folder: Path) -> set[str]:
    """``namespace.key`` of every ``spec.param("ns", "key")``, ``statement.param("ns.key")``
    and ``params.get("ns", {}).get("key")`` in the code under ``folder``."""
    read: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            strings = [a for a in args if isinstance(a, str)]
            if node.func.attr == "param" and len(strings) >= 2:
                read.add(f"{strings[0]}.{strings[1]}")
            elif node.func.attr == "param" and strings and "." in strings[0]:
                read.add(strings[0])
            elif node.func.attr == "get" and strings and isinstance(node.func.value, ast.Call):
                inner = node.func.value
                if isinstance(inner.func, ast.Attribute) and inner.func.attr == "get":
                    namespace = [a.value for a in inner.args if isinstance(a, ast.Constant)]
                    if namespace and namespace[0] in SETTINGS_KEYS:
                        read.add(f"{namespace[0]}.{strings[0]}")
    return {key for key in read if key.split(".", 1)[0] in SETTINGS_KEYS}


@pytest.mark.slow
def test_every_setting_the_runtime_reads_is_known() -> None:
    package = REPO / "sqlml_dagster"
    read = _settings_read_by(package / "runtime") | _settings_read_by(package / "ops")
    known = {f"{ns}.{key}" for ns, keys in SETTINGS_KEYS.items() for key in keys}
    assert read, "the scan found no reader at all"
    assert read <= known, f"read by the runtime but unknown to sqlml check: {read - known}"


def test_the_compiler_and_the_runtime_name_the_same_built_ins() -> None:
    from sqlml_dagster.compiler import ir
    from sqlml_dagster.contract import BUILTIN_ESTIMATORS

    # One list (contract/settings.py): the compiler routes each built-in to PyTorch,
    # where runtime/flavors/_torch_builtins.py implements it.
    assert {ir.ModelRef(name).flavor for name in BUILTIN_ESTIMATORS} == {"pytorch"}


def test_every_known_setting_is_read_somewhere() -> None:
    package = REPO / "sqlml_dagster"
    code = "".join(
        p.read_text()
        for folder in ("runtime", "ops", "launchers", "compiler")
        for p in (package / folder).rglob("*.py")
    )
    unread = [
        f"{ns}.{key}"
        for ns, keys in SETTINGS_KEYS.items()
        for key in keys
        if f'"{key}"' not in code and f'"{ns}.{key}"' not in code
    ]
    assert unread == []


# -- model classes ----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Write ``sql/`` files and ``models/`` modules under ``tmp_path``; the SQL folder."""

    def write(sql: str, models: dict[str, str] | None = None, **files: str) -> Path:
        root = tmp_path / "sql"
        root.mkdir(exist_ok=True)
        (root / "p.sql").write_text(textwrap.dedent(sql).lstrip())
        for name, text in (models or {}).items():
            path = tmp_path / "models" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip())
        for name, text in files.items():
            (tmp_path / name).write_text(textwrap.dedent(text).lstrip())
        return root

    return write


def diagnostics_of(root: Path, *args: str) -> list[dict[str, Any]]:
    _, out, _ = run_check(str(root), "--format", "json", *args)
    return list(json.loads(out)["diagnostics"])


def brief(found: list[dict[str, Any]]) -> list[tuple[str, str, int, int]]:
    return [(d["code"], d["severity"], d["line"], d["column"]) for d in found]


#: What makes a plain class of a models/ file a scikit-learn-style estimator.
ESTIMATOR_METHODS = "    def fit(self, x, y): ...\n    def get_params(self, deep=True):\n        return vars(self)\n"

MODEL_CASES = [
    pytest.param(
        "SELECT a, y FROM t TO TRAIN sklearn.ensemble.RandomForestClasifier LABEL y INTO m;",
        {},
        [("SQLML403", "error", 1, 29)],
        "did you mean sklearn.ensemble.RandomForestClassifier?",
        id="misspelled installed class",
    ),
    pytest.param(
        "SELECT a, y FROM t TO TRAIN DNNClasifier LABEL y INTO m;",
        {},
        [("SQLML403", "error", 1, 29)],
        "did you mean DNNClassifier?",
        id="misspelled built-in",
    ),
    pytest.param(
        "SELECT a, y FROM t TO TRAIN DNNClassifier WITH model.hidden_unit = [8] LABEL y INTO m;",
        {},
        [("SQLML401", "error", 1, 48)],
        "did you mean 'model.hidden_units'?",
        id="built-in read without torch",
    ),
    pytest.param(
        "SELECT a, y FROM t TO TRAIN broken.Net LABEL y INTO m;",
        {
            "broken.py": "import not_a_real_package\n\nclass Net:\n    def __init__(self, k=1): ...\n"
        },
        [("SQLML403", "error", 1, 29)],
        "No module named 'not_a_real_package'",
        id="local module with a missing dependency",
    ),
    pytest.param(
        "SELECT a, y FROM t TO TRAIN broken.Net LABEL y INTO m;",
        {"broken.py": "class Net(\n"},
        [("SQLML403", "error", 1, 29)],
        "does not compile",
        id="local module that does not compile",
    ),
    pytest.param(
        "SELECT a, y FROM t TO TRAIN ghcr.io/acme/img:1/acme_only.Net LABEL y INTO m;",
        {},
        [("SQLML209", "error", 1, 48)],
        "'acme_only.Net' is not in an allowed model package",
        id="a package only in the image needs allowed_model_packages",
    ),
    pytest.param(
        "SELECT a, y FROM t TO TRAIN nets.Open WITH model.anything = 1 LABEL y INTO m;",
        {"nets.py": f"class Open:\n    def __init__(self, **options): ...\n{ESTIMATOR_METHODS}"},
        [],
        None,
        id="**kwargs takes any parameter",
    ),
    pytest.param(
        "SELECT a, y FROM t TO TRAIN nets.Conf WITH model.widht = 3 LABEL y INTO m;",
        {
            "nets.py": """
            from dataclasses import dataclass
            print("imported: this goes to stderr, not into the answers")

            @dataclass
            class Conf:
                width: int = 1

                def fit(self, x, y): ...

                def get_params(self, deep=True):
                    return vars(self)
            """
        },
        [("SQLML401", "error", 1, 44)],
        "did you mean 'model.width'?",
        id="decorated class: imported to know",
    ),
    pytest.param(
        "SELECT a, y FROM t TO TRAIN nets.Child WITH model.input_dim = 3 LABEL y INTO m;",
        {
            "nets.py": """
            class Base:
                def __init__(self, input_dim, depth):
                    ...

                def fit(self, x, y): ...

                def get_params(self, deep=True):
                    return vars(self)

            class Child(Base):
                pass
            """
        },
        [("SQLML402", "error", 1, 29)],
        "nets.Child needs depth",
        id="constructor inherited within the file",
    ),
    pytest.param(
        "SELECT a, y FROM t TO TRAIN nets.make WITH model.size = 2 LABEL y INTO m;",
        {
            "nets.py": "from sqlml_dagster import model_factory\n\n"
            "@model_factory\ndef make(input_dim, *, size, scale=1.0):\n    ...\n"
        },
        [],
        None,
        id="factory function, input_dim offered by the runtime",
    ),
]


@pytest.mark.parametrize(("sql", "models", "expected", "words"), MODEL_CASES)
@pytest.mark.slow
def test_model_classes(
    project: Callable[..., Path],
    sql: str,
    models: dict[str, str],
    expected: list[tuple[str, str, int, int]],
    words: str | None,
) -> None:
    found = diagnostics_of(project(sql, models))
    assert brief(found) == expected
    if words:
        assert words in f"{found[0]['message']} {found[0]['hint']}"


@pytest.mark.slow
def test_reading_an_installed_package_agrees_with_importing_it() -> None:
    """For every scikit-learn estimator whose constructor source reading settles, the
    accepted and required parameters are what the runtime's check (after importing) says."""
    import warnings

    from sklearn.utils.discovery import all_estimators

    from sqlml_dagster.contract import ConstructorSignature
    from sqlml_dagster.validate.models import _from_installed

    read = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimators = all_estimators()
    for name, cls in estimators:
        public = ".".join(p for p in cls.__module__.split(".") if not p.startswith("_"))
        answer = _from_installed(f"{public}.{name}", estimator=True)
        if answer is None:  # source could not settle it: the class is imported instead
            continue
        imported = ConstructorSignature.of_estimator(cls)
        assert answer.signature is not None and imported is not None
        assert set(answer.signature.parameters) == set(imported.parameters), name
        assert set(answer.signature.required) >= set(imported.required), name
        read += 1
    assert read > 0.8 * len(estimators)


@pytest.mark.slow
def test_an_import_that_hangs_is_a_timeout_warning(project: Callable[..., Path]) -> None:
    root = project(
        "SELECT a, y FROM t TO TRAIN slow.Net WITH model.k = 1 LABEL y INTO m;",
        {"slow.py": "import time\ntime.sleep(60)\nfrom dataclasses import dataclass as Net\n"},
    )
    found = diagnostics_of(root, "--import-timeout", "1")
    assert brief(found) == [("SQLML404", "warning", 1, 29)]
    assert "took longer than 1 s" in found[0]["message"]
    code, _, _ = run_check(str(root), "--import-timeout", "1", "--strict")
    assert code == 1


def test_no_import_checks_only_what_source_tells(project: Callable[..., Path]) -> None:
    root = project(
        """
        SELECT a, y FROM t TO TRAIN nets.Conf WITH model.widht = 1 LABEL y INTO conf;
        SELECT a, y FROM t TO TRAIN nets.Net WITH model.widht = 1 LABEL y INTO net;
        SELECT a, y FROM t TO TRAIN sklearn.svm.SVC WITH model.CC = 1 LABEL y INTO svc;
        """,
        {
            "nets.py": """
            from dataclasses import dataclass

            @dataclass
            class Conf:
                width: int = 1

                def fit(self, x, y): ...

                def get_params(self, deep=True):
                    return vars(self)

            class Net:
                def __init__(self, width=1): ...

                def fit(self, x, y): ...

                def get_params(self, deep=True):
                    return vars(self)
            """
        },
    )
    assert [d["code"] for d in diagnostics_of(root)] == ["SQLML401"] * 3
    # the dataclass needs an import; the plain class and scikit-learn's are read from source
    assert [d["line"] for d in diagnostics_of(root, "--no-import", "--no-cache")] == [2, 3]


@pytest.mark.slow
def test_signatures_come_from_the_cache_the_second_time(
    project: Callable[..., Path], tmp_path: Path
) -> None:
    root = project(
        """
        SELECT a, y FROM t TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO tree;
        SELECT a, y FROM t TO TRAIN nets.Conf LABEL y INTO conf;
        """,
        {
            "nets.py": "from dataclasses import dataclass\n\n@dataclass\nclass Conf:\n"
            f"    k: int = 1\n{ESTIMATOR_METHODS}"
        },
    )
    compiled, _ = check_project(root)
    assert compiled is not None

    def imported() -> tuple[str, ...]:
        checks = ModelChecks(root, cache_dir=tmp_path / "cache")
        checks.start(compiled, Sources(compiled))
        checks.finish()
        return checks.imported

    # scikit-learn's class is read from its source (and kept); the dataclass is imported
    assert imported() == ("nets.Conf",)
    cached = json.loads((tmp_path / "cache" / "check-signatures.json").read_text())
    assert sorted(len(entry["parameters"]) > 5 for entry in cached.values()) == [False, True]
    assert imported() == ()
    (tmp_path / "models" / "nets.py").write_text(
        f"from dataclasses import dataclass\n\n@dataclass\nclass Conf:\n    k: int = 2\n{ESTIMATOR_METHODS}"
    )
    assert imported() == ("nets.Conf",)  # the models/ folder changed: asked again


# -- columns --------------------------------------------------------------------------------


COLUMN_CASES = [
    pytest.param(
        """
        CREATE TABLE base AS SELECT * FROM read_csv('data.csv');
        CREATE VIEW features AS SELECT * EXCLUDE (note) FROM base;
        SELECT * FROM features TO TRAIN sklearn.linear_model.LinearRegression LABEL note INTO m;
        """,
        [("SQLML407", 3, 77)],
        id="label lost two tables upstream of a file read",
    ),
    pytest.param(
        """
        WITH x AS (SELECT * FROM read_csv('data.csv'))
        SELECT x.* REPLACE (a * 2 AS a) FROM x
        TO TRAIN sklearn.linear_model.LinearRegression LABEL y INTO m;
        """,
        [],
        id="CTE and REPLACE keep every column",
    ),
    pytest.param(
        """
        SELECT a, b, y FROM somewhere_unknown TO TRAIN DNNRegressor COLUMN a, BUCKET(bb, [1, 2]) LABEL y INTO m;
        """,
        [("SQLML408", 1, 78)],
        id="a listed SELECT needs no schema",
    ),
    pytest.param(
        """
        SELECT * FROM somewhere_unknown TO TRAIN sklearn.linear_model.LinearRegression LABEL nope INTO m;
        """,
        [],
        id="unknown source: silent",
    ),
    pytest.param(
        """
        SELECT a, b + 1, y FROM read_csv('data.csv') TO TRAIN sklearn.linear_model.LinearRegression LABEL z INTO m;
        """,
        [],
        id="an unnamed column: the names are not all known",
    ),
    pytest.param(
        """
        SELECT a, b, y FROM read_csv('data.csv') TO TRAIN sklearn.linear_model.LinearRegression LABEL y INTO m;
        SELECT * FROM read_csv('data.csv') TO PREDICT scored.y WITH predict.probabilities = true USING m;
        SELECT * FROM scored TO EVALUATE m LABEL y_probability_1 INTO e;
        """,
        [],
        id="predict.probabilities adds columns no one can name here",
    ),
    pytest.param(
        """
        SELECT a, b, y FROM read_csv('data.csv') TO TRAIN sklearn.linear_model.LinearRegression
        WITH validation.select = "SELECT a, y FROM read_csv('data.csv')"
        LABEL y INTO m;
        """,
        [("SQLML409", 2, 26)],
        id="validation.select lacks a feature",
    ),
    pytest.param(
        """
        SELECT a, b, y FROM read_csv('data.csv') TO TRAIN sklearn.linear_model.LinearRegression LABEL y INTO m;
        SELECT b, y FROM read_csv('data.csv') TO EVALUATE m LABEL y INTO e;
        SELECT a, b FROM read_csv('data.csv') TO EXPLAIN m INTO x;
        """,
        [("SQLML409", 2, 51)],
        id="scoring SELECTs need the training features",
    ),
]


@pytest.mark.parametrize(("sql", "expected"), COLUMN_CASES)
def test_column_names(
    project: Callable[..., Path], sql: str, expected: list[tuple[str, int, int]]
) -> None:
    root = project(sql)
    (root / "data.csv").write_text("a,b,note,y\n1,2,x,0.5\n")
    found = diagnostics_of(root, "--no-import")
    assert [(d["code"], d["line"], d["column"]) for d in found] == expected


def test_source_tables_from_a_warehouse(project: Callable[..., Path], tmp_path: Path) -> None:
    root = project(
        "SELECT * FROM raw.houses TO TRAIN sklearn.linear_model.LinearRegression LABEL prize INTO m;"
    )
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.houses (sqft DOUBLE, price DOUBLE)")
    assert diagnostics_of(root, "--no-import") == []  # unknown without the warehouse
    found = diagnostics_of(root, "--no-import", "--warehouse", str(warehouse))
    assert brief(found) == [("SQLML407", "error", 1, 79)]
    assert "did you mean 'price'?" in found[0]["hint"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--warehouse", "sqlml: warehouse nowhere does not exist"),
        ("--schemas", "sqlml: schemas file nowhere does not exist"),
    ],
)
def test_inputs_that_cannot_be_read_are_usage_errors(
    project: Callable[..., Path], option: str, message: str
) -> None:
    code, _, err = run_check(str(project("SELECT 1;")), option, "nowhere")
    assert (code, err.strip()) == (2, message)


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("raw:\n  events: {a: int, y: int}\n", [("SQLML407", "sql/p.sql", 1, 79)]),
        ("raw:\n  events: {a: int, y: int\n", [("SQLML410", "schemas.yml", 3, 1)]),
        (
            "raw:\n  events:\n    a: int\n  y: int\n",
            [
                # the well-formed table is still used
                ("SQLML410", "schemas.yml", 4, 3),
                ("SQLML407", "sql/p.sql", 1, 79),
            ],
        ),
        ("- raw.events\n", [("SQLML410", "schemas.yml", 1, 1)]),
    ],
    ids=["declared", "not YAML", "columns and tables mixed", "not a mapping"],
)
def test_schemas_file(
    project: Callable[..., Path], yaml_text: str, expected: list[tuple[str, str, int, int]]
) -> None:
    root = project(
        "SELECT * FROM raw.events TO TRAIN sklearn.linear_model.LinearRegression LABEL z INTO m;",
        **{"schemas.yml": yaml_text},
    )
    found = diagnostics_of(root, "--no-import")
    assert [(d["code"], d["file"], d["line"], d["column"]) for d in found] == expected


def test_columns_flow_through_the_projects_tables(project: Callable[..., Path]) -> None:
    root = project(
        """
        CREATE TABLE a AS SELECT * FROM read_csv('data.csv');
        CREATE TABLE b AS SELECT y AS z, * FROM a;
        CREATE TABLE c AS SELECT a.*, b.z FROM a JOIN b ON a.x = b.x;
        CREATE TABLE d (k INTEGER, v VARCHAR);
        SELECT * FROM c TO PREDICT p.z USING m;
        """
    )
    (root / "data.csv").write_text("x,y\n1,2\n")
    compiled, _ = check_project(root)
    assert compiled is not None
    schemas = Schemas(compiled, {})
    try:
        names = {t: schemas.table(compiled.node(t).name) for t in "abcdp"}
    finally:
        schemas.close()
    assert {t: c.names if c else None for t, c in names.items()} == {
        "a": ("x", "y"),
        "b": ("z", "x", "y"),
        "c": ("x", "y", "z"),
        "d": ("k", "v"),
        "p": ("x", "y", "z"),  # the prediction column replaces the selected one
    }
