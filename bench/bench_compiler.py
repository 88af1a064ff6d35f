"""Compiler throughput, as a ratio against plain sqlglot measured in the same run.

The workload: ``--files`` generated ``.sql`` files (default 1,000) of ``--statements-per-file``
SQLFlow statements each (default 10, so 10,000): ``TO TRAIN`` with ``WITH`` attributes of
every value type (ints, floats, signed numbers, strings in both quotes, booleans, NULL,
nested lists, dotted names), plain and image-prefixed model references
(``registry.example.com:5000/team/models:1.2/my_models.MyClassifier``), and
``TO PREDICT table.col USING model`` of a model trained in the same or the previous file.
The SELECTs vary: filters, CTEs with joins, ``IN``/``EXISTS`` subqueries, derived tables
with aggregates, windows with ``QUALIFY``, ``UNION ALL``, reads of upstream predictions.
The project compiles without a diagnostic: every output name is unique and every
``USING`` names a model trained ``INTO`` in the project.

Baseline: ``sqlglot.parse(script, read="duckdb")`` of exactly the SELECT parts — the same
10,000 SELECTs, one script per file joined by ``;`` — the least any compiler on sqlglot pays.
Measured: ``compile_project(root)`` on the files: reading, splitting, parsing, the ML tail
grammar, table extraction, the graph and fingerprints. Both run alternately in one process,
``--repeat`` times each; the figures are medians. The goal is compile/sqlglot <= 1.5x.

    make bench            # or: python bench/bench_compiler.py --files 200 --repeat 5

Every figure is also written to ``bench-results.json`` (a list of objects: name, value,
unit, baseline, ratio); other benchmarks add their figures to the same file (merged by name).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlglot

from sqlml_dagster.compiler import compile_project

#: compile_project may cost at most this many times sqlglot parsing the same SELECTs.
GOAL_RATIO = 1.5

_DIGEST = "0123456789abcdef" * 4

#: Model references, plain and image-prefixed, as SQLFlow writes them.
MODEL_REFERENCES = (
    "sklearn.ensemble.RandomForestClassifier",
    "registry.example.com:5000/team/models:1.2/my_models.MyClassifier",
    "sklearn.linear_model.LogisticRegression",
    f"ghcr.io/acme/trainers@sha256:{_DIGEST}/acme_ml.models.GradientBoosted",
    "sklearn.ensemble.GradientBoostingRegressor",
    "localhost/ml-images/sklearn:2026.1/pipelines.tabular.Classifier",
    "sklearn.cluster.KMeans",
)

#: ``WITH`` attribute lists: ints, floats, signed numbers, 'strings', "strings", booleans,
#: NULL, lists (nested, of strings), bare dotted names; several namespaces.
WITH_CLAUSES = (
    "model.n_estimators = 50, model.max_depth = 4, train.seed = 7",
    "model.C = 0.5, model.penalty = 'l2', model.solver = \"lbfgs\", model.fit_intercept = true,"
    ' train.epoch = 3, validation.metrics = "Accuracy,AUC"',
    "model.hidden_units = [64, [32, 16]], model.activation = tf.nn.relu,"
    " model.learning_rate = 1e-3, model.momentum = -0.25, train.batch_size = 128",
    "model.n_clusters = 8, model.init = 'k-means++', model.random_state = NULL,"
    " model.tol = 0.0001, train.verbose = false",
    "model.classes = ['setosa', 'versicolor', 'virginica'], model.weights = [0.2, 0.3, 0.5],"
    " validation.select = 'SELECT * FROM raw.holdout WHERE split = ''val''',"
    " resources.cpu = 2, resources.memory = '4Gi'",
    "n_estimators = 100, max_features = 'sqrt', min_samples_leaf = 2, bootstrap = true",
)


def _select(i: int, j: int, kind: int) -> str:
    """One SELECT of a few shapes; reads raw sources and, from the second file on, the
    predictions of the previous file."""
    k = (i + j) % 13
    upstream = f"scored_{i - 1}_1" if i > 0 else f"raw.scored_seed_{k}"
    shapes = (
        f"SELECT id, a, b, c, d, label\nFROM raw.events_{k}\n"
        f"WHERE d > DATE '2026-01-01' AND a IS NOT NULL",
        f"WITH x AS (\n  SELECT id, a * 2 AS a2, b, c, label FROM raw.events_{k} WHERE c > {j}\n)\n"
        f"SELECT x.a2, x.b, x.c, s.score, COALESCE(l.label, x.label) AS label\n"
        f"FROM x\nJOIN raw.scores AS s USING (id)\nLEFT JOIN raw.labels_{k} AS l ON l.id = x.id",
        f"SELECT e.a, e.b, e.c, e.label\nFROM raw.events_{k} AS e\n"
        f"WHERE e.b IN (SELECT b FROM raw.allowed WHERE active)\n"
        f"  AND EXISTS (SELECT 1 FROM raw.flags AS f WHERE f.id = e.id AND f.ok)",
        f"SELECT t.id, t.total, t.n, t.avg_amount, t.label\n"
        f"FROM (\n  SELECT id, SUM(amount) AS total, COUNT(*) AS n, AVG(amount) AS avg_amount,\n"
        f"         MAX(label) AS label\n  FROM raw.orders_{k}\n  GROUP BY id\n"
        f"  HAVING COUNT(*) > 1\n) AS t\nWHERE t.total BETWEEN 10 AND 10000",
        f"SELECT id, a, b,\n  ROW_NUMBER() OVER (PARTITION BY b ORDER BY c DESC) AS rn,\n"
        f"  CASE WHEN c > 0 THEN 'pos' WHEN c < 0 THEN 'neg' ELSE 'zero' END AS sign,\n"
        f"  label\nFROM raw.events_{k}\nQUALIFY rn <= 100",
        f"SELECT p.id, p.label AS previous, e.a, e.b, e.label\n"
        f"FROM {upstream} AS p\nJOIN raw.events_{k} AS e ON e.id = p.id\n"
        f"WHERE p.label IS NOT NULL",
        f"SELECT a, b, c, label FROM raw.events_{k}\nUNION ALL\n"
        f"SELECT a, b, c, label FROM raw.events_archive_{k} WHERE year >= 2024",
        f"WITH base AS (\n  SELECT id, a, b, c, label FROM raw.events_{k}\n),\n"
        f"agg AS (\n  SELECT id, SUM(a) AS sa, MAX(c) AS mc FROM base GROUP BY id\n)\n"
        f"SELECT base.b, agg.sa, agg.mc, base.label\nFROM base\nJOIN agg USING (id)\n"
        f"ORDER BY agg.sa DESC\nLIMIT 50000",
    )
    return shapes[kind % len(shapes)]


def synthetic_project(root: Path, files: int, per_file: int) -> list[str]:
    """Write ``files`` files of ``per_file`` ML statements under ``root``; return, per file,
    the script of its SELECTs alone (the baseline's input)."""
    scripts: list[str] = []
    for i in range(files):
        statements: list[str] = []
        selects: list[str] = []
        for j in range(per_file):
            select = _select(i, j, i * per_file + j)
            selects.append(select)
            if j % 2 == 0:
                reference = MODEL_REFERENCES[(i + j // 2) % len(MODEL_REFERENCES)]
                params = WITH_CLAUSES[(i * 3 + j // 2) % len(WITH_CLAUSES)]
                label = "" if reference.endswith("KMeans") else "\nLABEL label"
                tail = f"TO TRAIN {reference}\nWITH {params}{label}\nINTO model_{i}_{j}"
            else:
                # Every other prediction uses the previous file's model of the same slot.
                source = i - 1 if i > 0 and j % 4 == 3 else i
                params = "\nWITH predict.batch_size = 1024" if j % 3 == 0 else ""
                tail = f"TO PREDICT scored_{i}_{j}.label{params}\nUSING model_{source}_{j - 1}"
            statements.append(f"{select}\n{tail}")
        header = f"-- pipeline {i}: {per_file} SQLFlow statements\n\n"
        (root / f"pipeline_{i:04d}.sql").write_text(header + ";\n\n".join(statements) + ";\n")
        scripts.append(";\n\n".join(selects) + ";")
    return scripts


def measure(functions: dict[str, Callable[[], None]], repeat: int) -> dict[str, list[float]]:
    """Run each function ``repeat`` times, alternating, after a collection; seconds per run."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            gc.collect()
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--statements-per-file", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; medians")
    parser.add_argument(
        "--results", default="bench-results.json", help="where to merge the figures"
    )
    args = parser.parse_args()
    if args.files < 1 or args.statements_per_file < 1 or args.repeat < 1:
        parser.error("--files, --statements-per-file and --repeat must be at least 1")
    statements = args.files * args.statements_per_file
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sql"
        root.mkdir()
        scripts = synthetic_project(root, args.files, args.statements_per_file)

        def baseline() -> None:
            for script in scripts:
                sqlglot.parse(script, read="duckdb")

        def compiled() -> None:
            project = compile_project(root)  # raises on any error diagnostic
            assert len(project.nodes) == statements, len(project.nodes)
            assert not project.warnings, project.warnings[0].render()

        compiled()  # warm imports and caches for both sides
        baseline()
        samples = measure({"sqlglot": baseline, "compile": compiled}, args.repeat)
    base = statistics.median(samples["sqlglot"])
    ours = statistics.median(samples["compile"])
    ratio = ours / base
    verdict = "PASS" if ratio <= GOAL_RATIO else "MISS"

    print(
        f"compiler benchmark: {args.files:,} files x {args.statements_per_file} ML statements"
        f" = {statements:,} statements; median of {args.repeat} alternating runs"
    )
    # sqlglot[c] (mypyc) parses several times faster, which changes the ratio a lot.
    build = "mypyc-compiled" if Path(sqlglot.parser.__file__).suffix != ".py" else "pure Python"
    print(f"  sqlglot {sqlglot.__version__} ({build}), Python {platform.python_version()}")
    print(f"  {'':44} {'median':>11} {'min':>11} {'stmt/s':>9}")
    for label, name, value in (
        (f"sqlglot.parse, the {statements:,} SELECTs alone", "sqlglot", base),
        ("compile_project, the SQL-ML files", "compile", ours),
    ):
        print(
            f"  {label:44} {value * 1000:8.0f} ms {min(samples[name]) * 1000:8.0f} ms"
            f" {statements / value:9,.0f}"
        )
    print(f"  ratio compile / sqlglot: {ratio:.2f}x   goal <= {GOAL_RATIO:.2f}x   {verdict}")
    record(
        Path(args.results),
        [
            {
                "name": "compile_project_seconds",
                "value": ours,
                "unit": "s",
                "baseline": base,
                "ratio": ratio,
            },
            {
                "name": "compile_statements_per_second",
                "value": statements / ours,
                "unit": "stmt/s",
                "baseline": statements / base,
                "ratio": base / ours,
            },
        ],
    )
    return 0


def record(path: Path, figures: list[dict[str, object]]) -> None:
    """Merge figures into the shared results file, replacing earlier figures of the same name."""
    existing = json.loads(path.read_text()) if path.exists() else []
    names = {f["name"] for f in figures}
    path.write_text(
        json.dumps([f for f in existing if f.get("name") not in names] + figures, indent=2) + "\n"
    )
    print(f"  wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
