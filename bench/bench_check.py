"""``sqlml check`` wall time, as CI sees it, against a baseline measured in the same run.

Three workloads, each run as CI runs it — a fresh ``python -m sqlml_dagster.cli check PATH``
process, start-up and imports included:

* ``example_repo/sql`` with a **cold** signature cache (a new, empty ``SQLML_CACHE_DIR``
  per run) and a **warm** one (filled by a first run). Goal: under 2 s each. Every class
  there is read from source (scikit-learn's too), so cold and warm differ little; the
  same project plus a statement training a decorated Keras class of its ``models/``
  (wrapping ``keras.applications.MobileNetV2``) shows the cost of a class that must be
  imported (TensorFlow, in the child process), cold and warm.
* a generated project of ``--files`` files (default 1,000) of six statements each (6,000):
  a ``CREATE TABLE … AS SELECT * EXCLUDE (…)`` over a source declared in ``schemas.yml``,
  ``TO TRAIN`` of five scikit-learn classes, a project-local PyTorch class
  (read from source) and the built-in ``DNNClassifier`` with ``WITH model.*``, ``train.*``,
  ``validation.*`` and ``resources.*`` attributes and a COLUMN clause, ``TO PREDICT`` and
  ``TO EVALUATE`` over ``SELECT *`` — so every deep check runs on every statement, and the
  project is clean. Goal: under 10 s cold. ``--no-deep`` (compiling only) is shown too.

Baseline: a fresh ``python`` that imports sqlglot and ``sqlglot.parse``-es exactly the
SELECTs of the same files — the least any checker built on sqlglot pays. The ratio is
``sqlml check`` / baseline; the goals are absolute wall times.

    make bench          # or: python bench/bench_check.py --files 200 --repeat 3

Figures are merged by name into ``bench-results.json`` (see bench_compiler.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_compiler import record  # noqa: E402

EXAMPLE_GOAL_S = 2.0
LARGE_GOAL_S = 10.0

#: scikit-learn classes and WITH model.* they accept (imported by the check's child process).
SKLEARN = (
    ("sklearn.ensemble.RandomForestClassifier", "model.n_estimators = 50, model.max_depth = 4"),
    ("sklearn.linear_model.LogisticRegression", "model.C = 0.5, model.max_iter = 200"),
    ("sklearn.ensemble.GradientBoostingClassifier", "model.learning_rate = 0.1"),
    ("sklearn.tree.DecisionTreeClassifier", "model.max_depth = 6, model.criterion = 'gini'"),
    ("sklearn.ensemble.ExtraTreesClassifier", "model.n_estimators = 20"),
)
SOURCES = 13
#: A model no source reading settles (a decorated class of the project's models/): the
#: child process imports Keras and TensorFlow — the slowest cold case. (A Keras
#: application itself is a function, which SQL may not call unless a model package marks
#: it: docs/security.md.)
KERAS_STATEMENT = """
SELECT sepal_length, sepal_width, petal_length, petal_width, class
FROM iris_train
TO TRAIN mobile.MobileNet
WITH model.alpha = 0.35
LABEL class
INTO iris_mobilenet;
"""
KERAS_MODULE = '''"""MobileNetV2 as a model class: registered with Keras, so only importing it tells
its constructor."""

import keras


@keras.saving.register_keras_serializable(package="bench")
class MobileNet(keras.Model):
    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.net = keras.applications.MobileNetV2(alpha=alpha, weights=None)

    def call(self, inputs):
        return self.net(inputs)
'''

MODEL_MODULE = '''"""A project-local PyTorch model: sqlml check reads its constructor from source."""

import torch
from torch import nn


class TabularNet(nn.Module):
    def __init__(self, input_dim: int, hidden: tuple[int, ...] = (32,), dropout: float = 0.0):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(input_dim, hidden[0]), nn.ReLU(), nn.Dropout(dropout))
        self.head = nn.Linear(hidden[0], 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
'''


def generated_project(root: Path, files: int) -> list[str]:
    """Write the project under ``root`` (sql/, models/, sql/schemas.yml); return, per file,
    the script of its SELECTs alone (the baseline's input)."""
    sql = root / "sql"
    sql.mkdir(parents=True)
    (root / "models").mkdir()
    (root / "models" / "my_models.py").write_text(MODEL_MODULE)
    columns = "{id: bigint, a: double, b: double, c: double, d: date, noise: double, label: int}"
    (sql / "schemas.yml").write_text(
        "raw:\n" + "".join(f"  events_{k}: {columns}\n" for k in range(SOURCES))
    )
    scripts = []
    for i in range(files):
        reference, params = SKLEARN[i % len(SKLEARN)]
        selects = [
            f"SELECT * EXCLUDE (noise) FROM raw.events_{i % SOURCES} WHERE d > DATE '2026-01-01'",
            f"SELECT * FROM features_{i}",
            f"SELECT a, b, c, label FROM features_{i}",
            f"SELECT * FROM features_{i}",
            f"SELECT * FROM features_{i}",
            f"SELECT a, b, c, label FROM features_{i}",
        ]
        statements = [
            f"CREATE TABLE features_{i} AS\n{selects[0]}",
            f"{selects[1]}\nTO TRAIN {reference}\nWITH {params}, train.seed = {i},"
            f' resources.cpu = "2", resources.memory = "4Gi"\nLABEL label\nINTO forest_{i}',
            f"{selects[2]}\nTO TRAIN my_models.TabularNet\nWITH model.hidden = [32, 16],"
            " train.epoch = 3, train.batch_size = 64, validation.split = 0.2, resources.gpu = 1\n"
            f"COLUMN a, b, NUMERIC(c, 1)\nLABEL label\nINTO net_{i}",
            f"{selects[3]}\nTO PREDICT scored_{i}.label\nUSING forest_{i}",
            f'{selects[4]}\nTO EVALUATE net_{i}\nWITH validation.metrics = "Accuracy"\n'
            f"LABEL label\nINTO evaluation_{i}",
            f"{selects[5]}\nTO TRAIN DNNClassifier\nWITH model.hidden_units = [8, 8],"
            f" model.n_classes = 2\nLABEL label\nINTO dnn_{i}",
        ]
        (sql / f"pipeline_{i:04d}.sql").write_text(";\n\n".join(statements) + ";\n")
        scripts.append(";\n".join(selects) + ";")
    return scripts


def run(command: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds of wall time of one fresh process; it must succeed."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def median_of(repeat: int, fn: Callable[[], float]) -> tuple[float, float]:
    samples = [fn() for _ in range(repeat)]
    return statistics.median(samples), min(samples)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians")
    parser.add_argument("--results", default="bench-results.json")
    args = parser.parse_args()
    if args.files < 1 or args.repeat < 1:
        parser.error("--files and --repeat must be at least 1")
    python = sys.executable
    check = [python, "-m", "sqlml_dagster.cli", "check"]
    figures: list[dict[str, object]] = []

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)

        def env(cache: Path) -> dict[str, str]:
            return {**os.environ, "SQLML_CACHE_DIR": str(cache)}

        def cold(path: str) -> Callable[[], float]:
            counter = iter(range(10**6))
            return lambda: run([*check, path], env(base / f"cold-{next(counter)}-{path[-3:]}"))

        def baseline_of(scripts_dir: Path) -> Callable[[], float]:
            code = (
                "import pathlib, sys, sqlglot\n"
                "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.sql')):\n"
                "    sqlglot.parse(p.read_text(), read='duckdb')\n"
            )
            return lambda: run([python, "-c", code, str(scripts_dir)])

        # example_repo: the SELECTs of its ML statements and CREATE … AS SELECTs
        example_selects = base / "example-selects"
        example_selects.mkdir()
        from sqlml_dagster.compiler import compile_project
        from sqlml_dagster.compiler.ir import MLStatement, SqlStatement

        example = compile_project(REPO / "example_repo" / "sql")
        selects = [
            s.select.sql("duckdb") if isinstance(s, MLStatement) else s.tree.sql("duckdb")
            for f in example.files
            for s in f.statements
            if isinstance(s, (MLStatement, SqlStatement))
        ]
        (example_selects / "all.sql").write_text(";\n".join(selects) + ";")
        warm_cache = base / "warm-example"
        run([*check, "example_repo/sql"], env(warm_cache))
        example_base = median_of(args.repeat, baseline_of(example_selects))
        example_cold = median_of(args.repeat, cold("example_repo/sql"))
        example_warm = median_of(
            args.repeat, lambda: run([*check, "example_repo/sql"], env(warm_cache))
        )

        # the same with a class that must be imported: a Keras application (TensorFlow)
        keras_example = base / "example-keras"
        for part in ("sql", "models", "data"):
            shutil.copytree(REPO / "example_repo" / part, keras_example / part)
        with (keras_example / "sql" / "iris.sql").open("a") as f:
            f.write(KERAS_STATEMENT)
        (keras_example / "models" / "mobile.py").write_text(KERAS_MODULE)
        keras_path = str(keras_example / "sql")
        keras_cold = median_of(args.repeat, cold(keras_path))
        keras_warm_cache = base / "warm-keras"
        run([*check, keras_path], env(keras_warm_cache))
        keras_warm = median_of(
            args.repeat, lambda: run([*check, keras_path], env(keras_warm_cache))
        )

        project = base / "large"
        scripts = generated_project(project, args.files)
        large_selects = base / "large-selects"
        large_selects.mkdir()
        for i, script in enumerate(scripts):
            (large_selects / f"{i:04d}.sql").write_text(script)
        large_path = str(project / "sql")
        large_base = median_of(args.repeat, baseline_of(large_selects))
        large_cold = median_of(args.repeat, cold(large_path))
        large_warm_cache = base / "warm-large"
        run([*check, large_path], env(large_warm_cache))
        large_warm = median_of(
            args.repeat, lambda: run([*check, large_path], env(large_warm_cache))
        )
        large_shallow = median_of(
            args.repeat, lambda: run([*check, large_path, "--no-deep"], env(large_warm_cache))
        )

    statements = args.files * 6
    print(
        f"sqlml check benchmark: wall time of a fresh process, median of {args.repeat} runs;"
        f" Python {platform.python_version()}, {os.cpu_count()} CPU(s)"
    )
    print(f"  {'':52} {'median':>8} {'min':>8} {'ratio':>7} {'goal':>8}")
    table = [
        ("example_repo: sqlglot.parse of its SELECTs (baseline)", example_base, None, None),
        ("example_repo: sqlml check, cold cache", example_cold, example_base, EXAMPLE_GOAL_S),
        ("example_repo: sqlml check, warm cache", example_warm, example_base, EXAMPLE_GOAL_S),
        ("example_repo + a Keras application: cold cache", keras_cold, example_base, None),
        ("example_repo + a Keras application: warm cache", keras_warm, example_base, None),
        (f"{args.files:,} files: sqlglot.parse of the SELECTs (baseline)", large_base, None, None),
        (f"{args.files:,} files: sqlml check, cold cache", large_cold, large_base, LARGE_GOAL_S),
        (f"{args.files:,} files: sqlml check, warm cache", large_warm, large_base, LARGE_GOAL_S),
        (f"{args.files:,} files: sqlml check --no-deep", large_shallow, large_base, None),
    ]
    for label, (median, fastest), against, goal in table:
        ratio = f"{median / against[0]:6.2f}x" if against else ""
        verdict = ""
        if goal is not None:
            verdict = f"< {goal:g} s " + ("PASS" if median < goal else "MISS")
        print(f"  {label:52} {median:7.2f}s {fastest:7.2f}s {ratio:>7} {verdict}")
    print(f"  ({statements:,} statements in the generated project)")
    large = f"check_{args.files}_files"
    for name, (median, _), against in (
        ("check_example_cold_seconds", example_cold, example_base),
        ("check_example_warm_seconds", example_warm, example_base),
        ("check_example_keras_cold_seconds", keras_cold, example_base),
        ("check_example_keras_warm_seconds", keras_warm, example_base),
        (f"{large}_cold_seconds", large_cold, large_base),
        (f"{large}_warm_seconds", large_warm, large_base),
        (f"{large}_no_deep_seconds", large_shallow, large_base),
    ):
        figures.append(
            {
                "name": name,
                "value": median,
                "unit": "s",
                "baseline": against[0],
                "ratio": median / against[0],
            }
        )
    record(Path(args.results), figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
