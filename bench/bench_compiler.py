"""Compiler throughput, as a ratio against a baseline measured in the same run.

Baseline: ``sqlglot.parse`` of the same statements with every ML tail removed (what a
project of plain SQL costs to parse). Measured: ``compile_project`` on the real files —
splitting, parsing, the ML tail grammar, table extraction, the graph and fingerprints.
The ratio says what the SQL-ML layer costs on top of sqlglot; it should stay small.

    make bench            # or: python bench/bench_compiler.py --files 200 --repeat 5

Every figure is also written to ``bench-results.json`` (a list of objects: name, value,
unit, baseline, ratio); other benchmarks add their figures to the same file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlglot

from sqlml_dagster.compiler import compile_project


def synthetic_project(root: Path, files: int) -> list[str]:
    """``files`` files, each a small pipeline: staging table, features view, train, predict."""
    plain: list[str] = []
    for i in range(files):
        statements = [
            f"CREATE TABLE stage_{i} AS SELECT id, a, b, c, label FROM raw.events_{i % 7} WHERE d > DATE '2026-01-01'",
            f"CREATE VIEW features_{i} AS WITH x AS (SELECT id, a * 2 AS a2, b, c, label FROM stage_{i}) "
            f"SELECT x.*, s.score FROM x JOIN raw.scores s USING (id) WHERE x.b IN (SELECT b FROM raw.allowed)",
        ]
        train_select = f"SELECT a2, b, c, score, label FROM features_{i}"
        predict_select = f"SELECT * FROM features_{i} WHERE c > 0"
        ml = [
            train_select + " TO TRAIN sklearn.ensemble.RandomForestClassifier "
            "WITH model.n_estimators = 50, model.max_depth = 4, train.seed = 7 "
            f"LABEL label INTO model_{i}",
            predict_select + f" TO PREDICT scored_{i}.label USING model_{i}",
        ]
        (root / f"pipeline_{i:04d}.sql").write_text(";\n\n".join(statements + ml) + ";\n")
        plain.append(";\n".join([*statements, train_select, predict_select]) + ";")
    return plain


def timed(fn: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--results", default="bench-results.json", help="where to merge the figures"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sql"
        root.mkdir()
        plain = synthetic_project(root, args.files)
        statements = args.files * 4

        def baseline() -> None:
            for text in plain:
                sqlglot.parse(text, read="duckdb")

        def compiled() -> None:
            project = compile_project(root)
            assert len(project.nodes) == statements

        compiled()  # warm imports and caches for both sides
        baseline()
        base = timed(baseline, args.repeat)
        ours = timed(compiled, args.repeat)
    print(
        f"compiler benchmark: {args.files} files, {statements} statements, median of {args.repeat}"
    )
    print(
        f"  baseline  sqlglot.parse (plain SQL)   {base * 1000:8.1f} ms  {statements / base:9.0f} stmt/s"
    )
    print(
        f"  sqlml     compile_project (SQL + ML)  {ours * 1000:8.1f} ms  {statements / ours:9.0f} stmt/s"
    )
    print(f"  ratio     compile / baseline          {ours / base:8.2f}x")
    record(
        Path(args.results),
        [
            {
                "name": "compile_project_seconds",
                "value": ours,
                "unit": "s",
                "baseline": base,
                "ratio": ours / base,
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
