"""Hyper-parameter trials: the wall time of a search with ``train.max_parallel_trials = 2``
against the same trials run one after another, measured in the same run.

The workload is one ``TO TRAIN`` of a random forest over ``--rows`` generated rows with
``model.max_depth = HPARAM_CANDIDATES([…])`` and the grid sampler, so both sides run the
very same ``--trials`` trials; each trial is a step of its own (``python -m
sqlml_dagster.runtime``, through the local launcher), as in any materialization. Each side
materializes the project into a fresh state folder (nothing is reused), the two sides
alternate, and medians of ``--repeat`` runs are reported. The figure is the parallel wall
time divided by the sequential one; the goal on a 2-CPU machine is <= 0.6x. Each trial is
capped to its share of the cores (``contract/threads.py``), so two parallel trials do not
fight over threads.

    make bench          # or: python bench/bench_trials.py --trials 6 --repeat 3

Figures are merged by name into ``bench-results.json`` (see bench_compiler.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_compiler import record  # noqa: E402

GOAL = 0.6

SQL = """
CREATE TABLE d AS
SELECT random() AS a, random() AS b, random() AS c, random() AS e,
       CASE WHEN random() < 0.5 THEN 'x' ELSE 'y' END AS y
FROM range({rows});

SELECT a, b, c, e, y FROM d
TO TRAIN sklearn.ensemble.RandomForestClassifier
WITH model.n_estimators = {trees}, model.max_depth = HPARAM_CANDIDATES({depths}),
     train.trial_sampler = 'grid', train.max_parallel_trials = {parallel},
     train.objective = 'val_accuracy', validation.split = 0.2
LABEL y INTO searched;
"""


def materialize(root: Path, state: Path) -> float:
    """Seconds to materialize every asset of ``root`` with fresh state in ``state``."""
    import dagster as dg

    from sqlml_dagster import build_defs

    defs = build_defs(root, state_dir=state)
    began = time.perf_counter()
    result = dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    seconds = time.perf_counter() - began
    assert result.success
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--trees", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", default="bench-results.json")
    args = parser.parse_args()
    depths = list(range(2, 2 + args.trials))
    print(
        f"trials: {args.trials} random-forest trials ({args.trees} trees, {args.rows:,} rows), "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for parallel in (1, 2):
            root = Path(tmp) / f"p{parallel}" / "sql"
            root.mkdir(parents=True)
            (root / "search.sql").write_text(
                SQL.format(rows=args.rows, trees=args.trees, depths=depths, parallel=parallel)
            )
        for run in range(args.repeat + 1):  # the first round warms caches, not counted
            for parallel in (1, 2):
                root = Path(tmp) / f"p{parallel}" / "sql"
                seconds = materialize(root, Path(tmp) / f"state-{parallel}-{run}")
                if run:
                    times[parallel].append(seconds)
                print(f"  round {run}: max_parallel_trials = {parallel}: {seconds:.2f} s")
    sequential, parallel = statistics.median(times[1]), statistics.median(times[2])
    ratio = parallel / sequential
    verdict = "met" if ratio <= GOAL else "missed"
    print(
        f"  sequential {sequential:.2f} s, 2 at a time {parallel:.2f} s: "
        f"{ratio:.2f}x (goal <= {GOAL}x: {verdict})"
    )
    record(
        Path(args.results),
        [
            {
                "name": f"trials_{args.trials}_parallel_2_seconds",
                "value": parallel,
                "unit": "s",
                "baseline": sequential,
                "ratio": ratio,
            }
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
