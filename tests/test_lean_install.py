"""A lean install: a scikit-learn-only project needs neither PyTorch nor TensorFlow, and a
project some of whose models need a framework that is not installed still runs the rest,
saying in one line what it left out (``sqlml materialize --skip-unavailable``, what
``make demo`` runs; docs/benchmarks.md, "Install size").

The end-to-end test runs the real CLI in processes where torch, tensorflow, keras and
tf_keras cannot be imported: a ``sitecustomize`` on ``PYTHONPATH`` puts a finder on
``sys.meta_path`` that refuses them, in the CLI's process and in every step process it
starts (they inherit ``PYTHONPATH``). The product code is unchanged; only the environment
lacks the frameworks, as a ``pip install 'sqlml-dagster[sklearn]'`` venv does
(bench/bench_install.py builds such a venv for real).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sqlml_dagster.frameworks import (
    TENSORFLOW,
    TORCH,
    XGBOOST_FRAMEWORK,
    Framework,
    framework_not_installed,
    frameworks_of_reference,
    imported_modules,
    skipped_line,
)

from .conftest import EXAMPLE, REPO

MODELS = EXAMPLE / "models"


@pytest.mark.parametrize(
    ("reference", "needs"),
    [
        ("sklearn.ensemble.RandomForestClassifier", ()),  # the core has scikit-learn
        ("torch.nn.Linear", (TORCH,)),
        ("DNNClassifier", (TORCH,)),  # SQLFlow's built-in estimators run on PyTorch
        ("keras.Sequential", (TENSORFLOW,)),
        ("xgboost.gbtree", (XGBOOST_FRAMEWORK,)),
        # the example's own classes: what their source imports, read without importing
        ("sqlflow_dnn.DNNClassifier", (TENSORFLOW,)),
        ("house_net.HouseNet", (TORCH,)),
        ("no_such_module.Model", ()),  # nothing to read: the step will say what is wrong
    ],
)
def test_the_frameworks_a_model_needs(reference: str, needs: tuple[Framework, ...]) -> None:
    assert frameworks_of_reference(reference, MODELS) == needs


@pytest.mark.parametrize(
    ("source", "modules"),
    [
        ("import torch.nn as nn\nfrom tensorflow import keras\n", {"torch", "tensorflow"}),
        ("def f():\n    import tf_keras\n", {"tf_keras"}),  # an import inside a function
        ("from . import layers\nfrom .nets import Net\n", set()),  # relative: the package's own
        ("this is not python(", set()),
    ],
)
def test_imports_are_read_from_source(source: str, modules: set[str]) -> None:
    assert imported_modules(source) == modules


@pytest.mark.parametrize(
    ("error", "installed", "lacking"),
    [
        ("No module named 'tensorflow'", False, TENSORFLOW),
        (
            "cannot import nets for model nets.Net: No module named 'torch' (imported by nets.py)",
            False,
            TORCH,
        ),
        ("No module named 'tf_keras.layers'", False, TENSORFLOW),
        ("No module named 'tensorflow'", True, None),  # installed: a different problem
        ("No module named 'pandas'", False, None),  # not one of the extras: SQLML403
        ("the model package nets does not compile", False, None),
    ],
)
def test_an_import_error_names_a_missing_framework(
    error: str, installed: bool, lacking: Framework | None
) -> None:
    assert framework_not_installed(error, lambda _: installed) == lacking


def test_the_skipped_line_names_assets_and_what_to_install() -> None:
    line = skipped_line([("iris_dnn", TENSORFLOW), ("net", TORCH), ("iris_dnn_p", TENSORFLOW)])
    assert line == (
        "skipped: iris_dnn, iris_dnn_p (tensorflow not installed: the keras extra); "
        "net (torch not installed: the pytorch extra)"
    )


#: Imported first by every Python process that has it on PYTHONPATH: the frameworks cannot
#: be imported there, and the process leaves a mark so the test knows it ran.
SITECUSTOMIZE = """
import os, sys

BLOCKED = (
    "torch", "tensorflow", "keras", "tf_keras",  # the pytorch and keras extras
    "connectorx", "pymysql", "adbc_driver_manager", "adbc_driver_postgresql",  # mysql, postgres
)


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
open(os.path.join(os.environ["LEAN_MARKS"], str(os.getpid())), "w").close()
"""

FEATURES = "sepal_length, sepal_width, petal_length, petal_width"


def blocked_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose Python processes cannot import the extras' packages, and the
    folder where each such process leaves its mark."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(SITECUSTOMIZE)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO)]),
        "LEAN_MARKS": str(marks),
        "SQLML_STATE_DIR": str(tmp_path / "state"),
    }
    return env, marks


@pytest.mark.slow  # imports Dagster in a process of its own
def test_every_public_name_loads_without_the_extras(tmp_path: Path) -> None:
    """``dg`` lists component types by reading every public name of the package: one whose
    module imports a driver at the top (connectorx for MySQL) broke every ``dg`` command —
    and ``make demo`` — of an install without that extra. A driver is needed when used."""
    env, _ = blocked_env(tmp_path)
    script = textwrap.dedent("""
        import sqlml_dagster
        names = [n for n in dir(sqlml_dagster) if not n.startswith("_")]
        [getattr(sqlml_dagster, n) for n in names]
        from sqlml_dagster.warehouses import mysql
        try:
            mysql.pymysql.connect
        except ImportError as e:
            print(e)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "pymysql is not installed: pip install 'sqlml-dagster[mysql]'\n"


@pytest.mark.slow  # two steps (a scikit-learn training and its prediction) in processes
def test_a_scikit_learn_project_runs_without_torch_or_tensorflow(tmp_path: Path) -> None:
    env, marks = blocked_env(tmp_path)
    project = tmp_path / "project"
    (project / "sql").mkdir(parents=True)
    (project / "data").mkdir()
    shutil.copy(EXAMPLE / "data" / "iris.csv", project / "data" / "iris.csv")
    shutil.copytree(MODELS, project / "models")
    (project / "sql" / "iris.sql").write_text(
        textwrap.dedent(f"""
            CREATE TABLE iris AS SELECT * FROM read_csv('../data/iris.csv');

            SELECT {FEATURES}, class FROM iris WHERE split = 'train'
            TO TRAIN sklearn.ensemble.RandomForestClassifier WITH model.n_estimators = 10
            LABEL class INTO iris_rf;

            SELECT * FROM iris WHERE split = 'test'
            TO PREDICT iris_predictions.class USING iris_rf;

            -- a Keras model (models/sqlflow_dnn.py imports tensorflow): left out, with
            -- what uses it
            SELECT {FEATURES}, class FROM iris WHERE split = 'train'
            TO TRAIN sqlflow_dnn.DNNClassifier WITH model.n_classes = 3, train.epoch = 1
            LABEL class INTO iris_dnn;

            SELECT * FROM iris WHERE split = 'test'
            TO PREDICT iris_dnn_predictions.class USING iris_dnn;
        """)
    )
    (project / "definitions.py").write_text(
        'from sqlml_dagster import build_defs\n\ndefs = build_defs("sql")\n'
    )

    def sqlml(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sqlml_dagster.cli", *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    probe = subprocess.run(
        [sys.executable, "-c", "import sqlml_dagster.definitions, torch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "No module named 'torch'" in probe.stderr  # the environment really lacks it

    for command in (("check", "sql"), ("compile", "sql", "--manifest", "manifest.json")):
        done = sqlml(*command)
        assert done.returncode == 0, done.stdout + done.stderr

    before = len(list(marks.iterdir()))
    done = sqlml("materialize", "-m", "definitions", "--skip-unavailable")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "sqlml: skipped: iris_dnn, iris_dnn_predictions (tensorflow not installed: the keras extra)"
    )
    assert [line for line in lines if line.startswith("sqlml: skipped")] == [lines[0]]
    assert "iris_predictions  30 rows  (model iris_rf v1)" in done.stdout
    assert "iris_dnn" not in "\n".join(lines[1:])
    # the CLI and each step process (training, prediction) ran without the frameworks
    assert len(list(marks.iterdir())) - before >= 3
