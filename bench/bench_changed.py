"""A second ``sqlml materialize`` of an unchanged project, with and without ``--changed``,
measured in the same run.

The workload is the example (``example_repo``: 15 assets, four models, two of them deep
learning), copied into a temporary folder and materialized once. Then, alternately,
``--repeat`` times each: ``sqlml materialize -m <copy>.definitions`` (every table and
prediction recomputed, every model reused) and the same with ``--changed`` (the plan
first; nothing changed, so nothing runs). Each is a fresh process, as a user runs it;
wall-clock and CPU time (the child's user + system) are measured, and the figures are
medians. The goal: ``--changed`` takes at most a fifth of the plain run's wall time
(issue 19: 29 s for the plain rerun, "a few seconds" with ``--changed``).

    python bench/bench_changed.py --repeat 3

Figures are merged by name into ``bench-results.json`` (see bench_compiler.py).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_compiler import record

REPO = Path(__file__).resolve().parent.parent
#: --changed on an unchanged project may take at most this share of a plain rerun.
GOAL = 0.2


def run(folder: Path, state: Path, *extra: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``sqlml materialize`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqlml_dagster.cli",
            "materialize",
            "-m",
            "bench_example.definitions",
            *extra,
        ],
        cwd=folder,
        env={
            **os.environ,
            "SQLML_STATE_DIR": str(state),
            "PYTHONPATH": f"{REPO}{os.pathsep}{folder}",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", default="bench-results.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(
            REPO / "example_repo",
            folder / "bench_example",
            ignore=shutil.ignore_patterns(".sqlml", "__pycache__"),
        )
        state = folder / "state"
        print("materializing the example once …", flush=True)
        run(folder, state)
        plain: list[tuple[float, float]] = []
        changed: list[tuple[float, float]] = []
        for _ in range(args.repeat):
            plain.append(run(folder, state))
            changed.append(run(folder, state, "--changed"))
    wall_plain = statistics.median(w for w, _ in plain)
    wall_changed = statistics.median(w for w, _ in changed)
    cpu_plain = statistics.median(c for _, c in plain)
    cpu_changed = statistics.median(c for _, c in changed)
    ratio = wall_changed / wall_plain
    print(f"second materialize, plain:     {wall_plain:6.1f} s wall, {cpu_plain:6.1f} s CPU")
    print(f"second materialize, --changed: {wall_changed:6.1f} s wall, {cpu_changed:6.1f} s CPU")
    print(f"ratio {ratio:.3f} (goal <= {GOAL}): {'met' if ratio <= GOAL else 'NOT met'}")
    record(
        Path(args.results),
        [
            {
                "name": "materialize_changed_unchanged_example",
                "value": round(wall_changed, 2),
                "unit": "s",
                "baseline": round(wall_plain, 2),
                "ratio": round(ratio, 3),
            }
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
