"""Data-parallel training: a PyTorch step's training throughput with ``train.num_workers =
2`` (two processes under torch.distributed, gloo on CPU) against the same training in one
process, measured in the same run.

The workload is one training step of SQLFlow's ``DNNClassifier`` over ``--rows`` generated
rows of 8 numeric features, run as any step runs (``python -m sqlml_dagster.runtime
SPEC``), with the step's CPU budget (``$SQLML_STEP_CPUS``) at every core either way: one
process uses them all as threads, two processes take half each. Both sides train the same
global batch (``--batch-size``; each of two ranks takes half of every minibatch), so they
do the same arithmetic. Throughput is rows x epochs over the step's ``training_seconds``
(the epochs, not starting processes or preparing features); the sides alternate and
medians of ``--repeat`` runs are reported. The figure is the two processes' throughput
divided by one process's.

    make bench          # or: python bench/bench_distributed.py --rows 20000 --repeat 3

Figures are merged by name into ``bench-results.json`` (see bench_compiler.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_compiler import record  # noqa: E402


def write_rows(path: Path, rows: int) -> str:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    features = rng.normal(size=(rows, 8)).astype("float64")
    label = features[:, :4].sum(axis=1) > 0
    table = pa.table({**{f"f{i}": features[:, i] for i in range(8)}, "y": label})
    pq.write_table(table, path)
    return str(path)


def train(folder: Path, data: str, workers: int, args: argparse.Namespace) -> float:
    """The step's training seconds with ``train.num_workers = workers``."""
    from sqlml_dagster.contract.spec import StepSpec

    folder.mkdir(parents=True)
    spec = StepSpec(
        kind="train",
        step_id=folder.name,
        model_name="bench",
        model_reference="DNNClassifier",
        flavor="pytorch",
        params={
            "model": {"hidden_units": [64, 32]},
            "train": {
                "batch_size": args.batch_size,
                "epoch": args.epochs,
                "seed": 1,
                "num_workers": workers,
            },
        },
        input_uri=data,
        label="y",
        model_uri=str(folder / "model"),
    )
    (folder / "spec.json").write_text(spec.to_json())
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(folder / "spec.json")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "SQLML_STEP_CPUS": str(os.cpu_count() or 1)},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return float(json.loads(done.stdout)["result"]["training_seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", default="bench-results.json")
    args = parser.parse_args()
    print(
        f"distributed: DNNClassifier on {args.rows:,} rows x {args.epochs} epochs, global "
        f"batch {args.batch_size}, python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    rate: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_rows(Path(tmp) / "rows.parquet", args.rows)
        for run in range(args.repeat + 1):  # the first round warms caches, not counted
            for workers in (1, 2):
                seconds = train(Path(tmp) / f"w{workers}-{run}", data, workers, args)
                rows_per_second = args.rows * args.epochs / seconds
                if run:
                    rate[workers].append(rows_per_second)
                print(
                    f"  round {run}: {workers} process(es): {seconds:.2f} s training, "
                    f"{rows_per_second:,.0f} rows/s"
                )
    one, two = statistics.median(rate[1]), statistics.median(rate[2])
    ratio = two / one
    print(f"  1 process {one:,.0f} rows/s, 2 processes (gloo) {two:,.0f} rows/s: {ratio:.2f}x")
    record(
        Path(args.results),
        [
            {
                "name": "train_gloo_2_processes_rows_per_second",
                "value": two,
                "unit": "rows/s",
                "baseline": one,
                "ratio": ratio,
            }
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
