"""Deep-learning throughput, as ratios against the same work done directly in the same run.

Why: a ``TO TRAIN`` or ``TO PREDICT`` of a PyTorch model runs its data through the
warehouse, step data files and the runtime's feature encoder instead of handing tensors to the
model straight from the database. These figures say what that costs, in rows per second of
the sqlml path next to the shortest path a person would write by hand on the same rows.

The data: ``--rows`` rows (default 1,000,000) generated inside DuckDB with ``range()`` and
``random()`` after ``setseed`` (no files): ``--features`` DOUBLE columns ``f0 …`` (default 8)
uniform in [0, 1) and a BIGINT ``label`` of ``--classes`` classes (default 3) that depends on
``f0 + f1``, so training learns something. The SELECT is ``SELECT f0, …, label FROM t``.

Figures (each side run ``--repeat`` times, alternating, after one warm-up run; medians):

``feed``
    sqlml: ``DuckDBWarehouse.export_query`` of the SELECT to the step's data file — Arrow
    IPC, what the orchestrator writes for a local data store, or ``--data-format parquet``
    — with the content fingerprint the orchestrator takes, then ``dl.prepare`` (one pass
    over the file fitting the feature plan — means and standard deviations — and scanning
    the label), then one epoch of ``_torch_train.Loader``, as a training loop receives
    it: the file read again, features standardized and encoded to float32, labels to class
    indices, shuffled minibatches of ``--batch-size`` turned into tensors on ``--device``.
    direct: the same SELECT through ``con.sql(sql).to_arrow_table()``, numpy float32 features
    and int64 labels, one shuffled permutation, ``torch.from_numpy`` minibatches of the same
    size moved to the same device. Both yield every row once as a float32 feature tensor
    and an int64 label tensor; only the sqlml path writes and reads a file, fingerprints
    and standardizes. Goal: sqlml / direct >= 0.7.

``predict``
    The ``DNNClassifier`` (the built-in, flavor ``pytorch``, ``--hidden-units``) version
    that the train figure's last sqlml run wrote through the real train step. sqlml:
    the flavor's ``predict(spec, reporter)`` on a step data file of the ``--rows`` feature rows
    — loading the version's weights, reading record batches, encoding, the network, class
    labels, and writing the output file (the input columns plus the prediction). direct:
    the same loaded network called under ``torch.no_grad()`` on tensors of the same rows,
    already encoded and on the device, in slices of the runtime's read batch
    (``runtime.data.BATCH_ROWS``), then argmax to numpy. Goal: sqlml / direct >= 0.8.

``train``
    sqlml: ``export_query`` of ``--train-rows`` rows, then ``run_step`` of a train spec
    (what ``python -m sqlml_dagster.runtime`` runs; no process start): the feed as above,
    ``--epochs`` epoch(s) of the built-in ``DNNClassifier`` with Adam at its default learning
    rate, the training-metrics pass and saving the version. direct: the direct feed above
    and the same network class, optimizer, loss, batch size and epochs in a plain loop. No
    goal; it shows what the whole step adds around the same training, on CPU or GPU.

``step data``
    The two formats of a step's data on a local folder, in the same run: the export (with
    the fingerprint) and one pass over every value as a step reads them, Arrow IPC
    (memory-mapped) against Parquet. The ratio is Arrow's rows/s over Parquet's, and the
    two files' sizes are printed beside it. No goal: it is why a local data store holds
    Arrow IPC (``contract/step_data.py``).

``--keras`` adds the train figure for Keras 3 (a Sequential of the same Dense layers,
``model.fit`` on the direct numpy arrays as the baseline); it imports TensorFlow, so it is
off by default. ``--threads`` sets torch's CPU threads for both sides: where other work
shares the machine, OpenMP threads spinning against it slow torch by ten times or more,
run to run, and ``--threads 1`` keeps the figures steady.

    make bench            # or: python bench/bench_dl.py --rows 200000 --repeat 5
    python bench/bench_dl.py --device cuda --keras      # on a machine with a GPU

Every figure is merged by name into ``bench-results.json`` (name, value, unit, baseline,
ratio), like ``bench_compiler.py``; names end in the device, so CPU and GPU figures coexist.
This is a benchmark, not a test: it prints GOAL MET or GOAL MISSED and exits 0 either way.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
import torch

from sqlml_dagster.contract import StepResult
from sqlml_dagster.contract.spec import StepKind, StepSpec
from sqlml_dagster.contract.step_data import DataFormat, data_file_name, data_format_for
from sqlml_dagster.runtime import dl, run_step
from sqlml_dagster.runtime.data import BATCH_ROWS, DataFile
from sqlml_dagster.runtime.features import FeaturePlan
from sqlml_dagster.runtime.flavors import pytorch
from sqlml_dagster.runtime.flavors._register import read_signature, resolve
from sqlml_dagster.runtime.flavors._torch_builtins import DEFAULT_LEARNING_RATE, DNNClassifier
from sqlml_dagster.runtime.flavors._torch_train import Loader, build
from sqlml_dagster.warehouses.duckdb import DuckDBWarehouse

#: The feed (export, Parquet, encoding) may cost at most this share of direct throughput…
GOAL_FEED = 0.7
#: … and a PREDICT step this share of calling the model directly.
GOAL_PREDICT = 0.8
TABLE = "bench_rows"
SEED = 7
FORMAT_NAMES = {"arrow": "Arrow IPC", "parquet": "Parquet"}


class Quiet:
    """A runtime Reporter that keeps nothing: logging is not what is measured."""

    def log(self, message: str) -> None:
        pass

    def result(self, metadata: Mapping[str, Any], result: StepResult) -> None:
        pass


@dataclass(frozen=True)
class Setup:
    """What every measurement shares: the warehouse, its SELECTs and the run's options."""

    root: Path
    warehouse: DuckDBWarehouse
    features: tuple[str, ...]
    classes: int
    rows: int
    train_rows: int
    batch_size: int
    epochs: int
    hidden_units: tuple[int, ...]
    device: torch.device
    #: The step data format: what the orchestrator picks for a data store in ``root``
    #: (a local folder: Arrow IPC), unless ``--data-format`` says otherwise.
    data_format: DataFormat = "arrow"

    def select(self, limit: int | None = None, label: bool = True) -> str:
        columns = ", ".join([*self.features, "label"] if label else self.features)
        return f"SELECT {columns} FROM {TABLE}" + (f" LIMIT {limit}" if limit else "")

    def export(self, sql: str, stem: str, data_format: DataFormat | None = None) -> str:
        """The orchestrator's side of a step: the SELECT's result as the step's data file,
        in a new step folder each time, as each materialization writes one (replacing the
        last run's file would time the file system freeing it: data gc's work, later)."""
        data_format = data_format or self.data_format
        folder = Path(tempfile.mkdtemp(prefix=f"{stem}_", dir=self.root))
        uri = str(folder / data_file_name(stem, data_format))
        self.warehouse.export_query(
            sqlglot.parse_one(sql, read="duckdb"), uri, data_format=data_format
        )
        return uri

    def spec(self, kind: StepKind, input_uri: str, model_uri: str, **more: Any) -> StepSpec:
        train: dict[str, Any] = {"batch_size": self.batch_size, "epoch": self.epochs}
        params: dict[str, dict[str, Any]] = {
            "model": {"hidden_units": list(self.hidden_units)},
            "train": train,
        }
        if self.device.type == "cuda":
            train["device"] = "cuda"
            params["resources"] = {"gpu": 1}  # how a predict step is given the GPU
        return StepSpec(
            kind=kind,
            step_id=f"bench_{kind}",
            model_name="bench_dnn",
            model_reference="DNNClassifier",
            flavor="pytorch",
            params=params,
            input_uri=input_uri,
            label="label" if kind == "train" else None,
            model_uri=model_uri,
            seed=SEED,
            data_format=self.data_format,
            **more,
        )

    def direct_arrays(self, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """DuckDB → Arrow → numpy: float32 features and int64 labels, no file in between."""
        with self.warehouse.connect() as con:
            table = con.sql(self.select(limit)).to_arrow_table()
        x = np.empty((table.num_rows, len(self.features)), dtype=np.float32)
        for i, name in enumerate(self.features):
            x[:, i] = table.column(name).to_numpy()
        y = table.column("label").to_numpy().astype(np.int64)
        return x, y

    def direct_batches(
        self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled minibatches as tensors on the device: the direct feed's epoch."""
        order = rng.permutation(len(y))
        for start in range(0, len(y), self.batch_size):
            rows = order[start : start + self.batch_size]
            yield (
                torch.from_numpy(x[rows]).to(self.device),
                torch.from_numpy(y[rows]).to(self.device),
            )

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()


def make_warehouse(root: Path, rows: int, features: int, classes: int) -> DuckDBWarehouse:
    """The table, generated in DuckDB: seeded ``random()`` on one thread, so every run of
    the benchmark sees the same values."""
    database = root / "warehouse.duckdb"
    names = [f"f{i}" for i in range(features)]
    randoms = ", ".join(f"random() AS {n}" for n in names)
    with duckdb.connect(str(database)) as con:
        con.execute("SET threads TO 1")
        con.execute("SELECT setseed(0.42)")
        con.execute(f"CREATE TABLE raw_rows AS SELECT {randoms} FROM range({rows})")
        label = f"LEAST(CAST(FLOOR((f0 + f1) / 2 * {classes}) AS BIGINT), {classes - 1})"
        if features < 2:
            label = f"LEAST(CAST(FLOOR(f0 * {classes}) AS BIGINT), {classes - 1})"
        con.execute(f"CREATE TABLE {TABLE} AS SELECT *, {label} AS label FROM raw_rows")
        con.execute("DROP TABLE raw_rows")
    return DuckDBWarehouse(database=str(database))


# -- the figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One comparison: rows per second of the sqlml path and of the direct path."""

    name: str
    label: str
    rows: int
    sqlml: list[float]  # seconds per run
    direct: list[float]
    goal: float | None
    #: Printed under the figure's line.
    note: str = ""

    @property
    def value(self) -> float:
        return self.rows / statistics.median(self.sqlml)

    @property
    def baseline(self) -> float:
        return self.rows / statistics.median(self.direct)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline

    def verdict(self) -> str:
        if self.goal is None:
            return "(no goal)"
        met = "GOAL MET" if self.ratio >= self.goal else "GOAL MISSED"
        return f">= {self.goal:.2f}  {met}"


def measure(
    sides: dict[str, Callable[[], int]], repeat: int, expect: int
) -> dict[str, list[float]]:
    """One warm-up run of each side, then ``repeat`` alternating timed runs after a
    collection; each side returns the rows it produced, which must be ``expect``."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for run in range(repeat + 1):
        for name, fn in sides.items():
            gc.collect()
            started = time.perf_counter()
            rows = fn()
            seconds = time.perf_counter() - started
            if rows != expect:
                raise AssertionError(f"{name} produced {rows} rows, expected {expect}")
            if run:
                samples[name].append(seconds)
    return samples


def feed_figure(setup: Setup, repeat: int) -> Figure:
    sql = setup.select()

    def sqlml() -> int:
        uri = setup.export(sql, "feed")
        prepared = dl.prepare(setup.spec("train", uri, ""), Quiet())
        rows = 0
        for _, labels in Loader(prepared.train, setup.device, np.random.default_rng(SEED)):
            rows += int(labels.shape[0])
        setup.sync()
        return rows

    def direct() -> int:
        x, y = setup.direct_arrays()
        rows = 0
        for _, labels in setup.direct_batches(x, y, np.random.default_rng(SEED)):
            rows += int(labels.shape[0])
        setup.sync()
        return rows

    samples = measure({"sqlml": sqlml, "direct": direct}, repeat, setup.rows)
    return Figure(
        "dl_feed",
        f"feed: warehouse → {FORMAT_NAMES[setup.data_format]} → tensors, 1 epoch",
        setup.rows,
        samples["sqlml"],
        samples["direct"],
        GOAL_FEED,
    )


def step_data_figure(setup: Setup, repeat: int) -> Figure:
    """The two step data formats on a local folder, in the same run: the export (with the
    content fingerprint) and one read of every value, as a step reads them — Arrow IPC
    memory-mapped, Parquet decoded. The ratio is Arrow rows/s over Parquet rows/s."""
    sql = setup.select()
    files: dict[str, str] = {}

    def side(data_format: DataFormat) -> Callable[[], int]:
        def run() -> int:
            uri = files[data_format] = setup.export(sql, f"data_{data_format}", data_format)
            rows = 0
            for batch in DataFile(uri, data_format).batches():
                for column in batch.columns:  # touch every value, as an encoder does
                    pc.sum(column)
                rows += batch.num_rows
            return rows

        return run

    samples = measure({"arrow": side("arrow"), "parquet": side("parquet")}, repeat, setup.rows)
    sizes = {f: os.path.getsize(uri) for f, uri in files.items()}
    return Figure(
        "dl_step_data_arrow_vs_parquet",
        "step data, local: Arrow IPC vs Parquet",
        setup.rows,
        samples["arrow"],
        samples["parquet"],
        None,
        note=f"file sizes: Arrow IPC {sizes['arrow']:,} bytes, Parquet {sizes['parquet']:,} bytes"
        f" ({sizes['parquet'] / sizes['arrow']:.2f} of Arrow's)",
    )


def train_figure(setup: Setup, repeat: int) -> tuple[Figure, str]:
    """The PyTorch train figure; also returns the version folder a predict can load."""
    sql = setup.select(setup.train_rows)
    runs = itertools.count()
    model_uri = ""

    def sqlml() -> int:
        nonlocal model_uri
        uri = setup.export(sql, "train")
        model_uri = str(setup.root / "models" / f"v{next(runs)}")
        run_step(setup.spec("train", uri, model_uri), Quiet())
        setup.sync()
        return setup.train_rows

    def direct() -> int:
        x, y = setup.direct_arrays(setup.train_rows)
        torch.manual_seed(SEED)
        network = DNNClassifier(len(setup.features), setup.classes, setup.hidden_units)
        network.to(setup.device).train()
        optimizer = torch.optim.Adam(network.parameters(), lr=DEFAULT_LEARNING_RATE)
        rng = np.random.default_rng(SEED)
        total = torch.zeros((), device=setup.device)
        for _ in range(setup.epochs):
            for features, labels in setup.direct_batches(x, y, rng):
                optimizer.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(network(features), labels)
                loss.backward()
                optimizer.step()
                total += loss.detach() * len(labels)
        float(total)  # the epoch's loss, as a training loop reports it (and a device sync)
        return len(y)

    samples = measure({"sqlml": sqlml, "direct": direct}, repeat, setup.train_rows)
    figure = Figure(
        "dl_train_torch",
        f"train: PyTorch DNNClassifier, {setup.epochs} epoch(s)",
        setup.train_rows * setup.epochs,
        samples["sqlml"],
        samples["direct"],
        None,
    )
    return figure, model_uri


def predict_figure(setup: Setup, model_uri: str, repeat: int) -> Figure:
    input_uri = setup.export(setup.select(label=False), "predict")
    spec = setup.spec("predict", input_uri, model_uri, prediction_column="prediction")

    def sqlml() -> int:
        # Each run writes into a new step folder, as each materialization does (replacing
        # the last run's file would time the file system freeing it).
        output = Path(tempfile.mkdtemp(prefix="scored_", dir=setup.root))
        output /= data_file_name("scored", setup.data_format)
        pytorch.predict(replace(spec, output_uri=str(output)), Quiet())
        setup.sync()
        return DataFile(str(output), setup.data_format).num_rows()

    # The same network, rebuilt from the version the way the runtime loads it, and the
    # same rows already encoded (standardized) and on the device: only the model runs.
    signature = read_signature(model_uri)
    plan = FeaturePlan.from_json(signature["feature_plan"])
    target = dl.Target.from_json(signature["target"])
    network, _ = build(
        resolve(signature["model_class"]),
        signature["model_class"],
        signature["constructor"],
        plan,
        target,
        None,
    )
    from safetensors.torch import load_model

    load_model(network, str(Path(model_uri) / pytorch.WEIGHTS), strict=True)
    network.to(setup.device).eval()
    rows = DataFile(input_uri, setup.data_format).table()
    dense = torch.from_numpy(plan.encode(rows).dense).to(setup.device)

    def direct() -> int:
        rows = 0
        with torch.no_grad():
            for start in range(0, dense.shape[0], BATCH_ROWS):
                labels = network(dense[start : start + BATCH_ROWS]).argmax(dim=1).cpu().numpy()
                rows += len(labels)
        return rows

    samples = measure({"sqlml": sqlml, "direct": direct}, repeat, setup.rows)
    return Figure(
        "dl_predict",
        f"predict: {FORMAT_NAMES[setup.data_format]} → DNNClassifier → same",
        setup.rows,
        samples["sqlml"],
        samples["direct"],
        GOAL_PREDICT,
    )


# -- Keras (optional) -------------------------------------------------------------------


def keras_dnn(input_dim: int, n_classes: int = 2, hidden_units: Any = (10, 10)) -> Any:
    """A Keras 3 DNN classifier the runtime can resolve as ``bench_dl.keras_dnn``: the
    built-in DNNClassifier's layers (ReLU hidden layers, ``n_classes`` logits)."""
    import keras

    layers = [keras.layers.Dense(int(u), activation="relu") for u in hidden_units]
    return keras.Sequential([*layers, keras.layers.Dense(n_classes)])


def keras_train_figure(setup: Setup, repeat: int) -> Figure | None:
    """The Keras train figure, or ``None`` (said why) where TensorFlow cannot use the device."""
    from sqlml_dagster.runtime.flavors._keras_train import use_tf_keras_for_tf_dot_keras

    use_tf_keras_for_tf_dot_keras()
    import keras
    import tensorflow as tf

    if setup.device.type == "cuda" and not tf.config.list_physical_devices("GPU"):
        print("  keras: skipped, TensorFlow sees no GPU here (is tensorflow-cpu installed?)")
        return None

    sys.path.insert(0, str(Path(__file__).parent))  # so the runtime can import bench_dl
    sql = setup.select(setup.train_rows)
    runs = itertools.count()

    def sqlml() -> int:
        uri = setup.export(sql, "train_keras")
        spec = setup.spec("train", uri, str(setup.root / "keras" / f"v{next(runs)}"))
        run_step(replace(spec, flavor="keras", model_reference="bench_dl.keras_dnn"), Quiet())
        return setup.train_rows

    def direct() -> int:
        x, y = setup.direct_arrays(setup.train_rows)
        keras.utils.set_random_seed(SEED)
        model = keras_dnn(len(setup.features), setup.classes, setup.hidden_units)
        # What the runtime compiles for a Keras classifier that outputs logits.
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(x, y, batch_size=setup.batch_size, epochs=setup.epochs, verbose=0)
        return len(y)

    samples = measure({"sqlml": sqlml, "direct": direct}, repeat, setup.train_rows)
    return Figure(
        "dl_train_keras",
        f"train: Keras 3 DNN, {setup.epochs} epoch(s)",
        setup.train_rows * setup.epochs,
        samples["sqlml"],
        samples["direct"],
        None,
    )


# -- reporting --------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU, as ``lscpu`` names it, so recorded figures say what they were taken on."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return platform.processor() or "unknown CPU"
    name = next(
        (line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line),
        platform.processor() or "unknown CPU",
    )
    return f"{name}, {os.cpu_count()} CPU(s)"


def report(figures: list[Figure], setup: Setup, repeat: int, load: float) -> None:
    device = str(setup.device)
    if setup.device.type == "cuda":
        device += f" ({torch.cuda.get_device_name(setup.device)})"
    print(
        f"deep-learning benchmark: {setup.rows:,} rows x {len(setup.features)} DOUBLE features"
        f" + label ({setup.classes} classes); batch {setup.batch_size}; device {device};"
        f" median of {repeat} alternating runs"
    )
    print(
        f"  torch {torch.__version__}, duckdb {duckdb.__version__}, pyarrow {pa.__version__},"
        f" Python {platform.python_version()}; {cpu_model()}; torch threads"
        f" {torch.get_num_threads()}"
    )
    cpus = os.cpu_count() or 1
    if load > 0.25 * cpus:
        # OpenMP threads spinning against other processes can slow torch tenfold or more.
        print(
            f"  note: load average {load:.1f} on {cpus} CPU(s) before the run: other work shares"
            " this machine, so the figures are noisy (--threads 1 steadies torch)"
        )
    print(f"  {'':48} {'rows':>9} {'sqlml rows/s':>13} {'direct rows/s':>14} {'ratio':>6}")
    for f in figures:
        print(
            f"  {f.label:48} {f.rows:9,} {f.value:13,.0f} {f.baseline:14,.0f} {f.ratio:6.2f}"
            f"  {f.verdict()}"
        )
        if f.note:
            print(f"  {'':48} {f.note}")


def record(path: Path, figures: list[dict[str, object]]) -> None:
    """Merge figures into the shared results file, replacing earlier figures of the same name."""
    existing = json.loads(path.read_text()) if path.exists() else []
    names = {f["name"] for f in figures}
    path.write_text(
        json.dumps([f for f in existing if f.get("name") not in names] + figures, indent=2) + "\n"
    )
    print(f"  wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the feed/predict")
    parser.add_argument("--features", type=int, default=8, help="DOUBLE feature columns")
    parser.add_argument("--classes", type=int, default=3, help="distinct labels")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=dl.TrainSettings.batch_size,
        help="training minibatch rows (default: the runtime's train.batch_size default)",
    )
    parser.add_argument("--train-rows", type=int, default=100_000, help="rows of the train figure")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the train figure")
    parser.add_argument(
        "--hidden-units",
        default="10,10",
        help="DNNClassifier hidden layers, comma-separated (default: the built-in's)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side; medians")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads for both sides (default: torch's own, one per core); 1 "
        "keeps figures stable on a machine other work shares",
    )
    parser.add_argument(
        "--data-format",
        choices=("auto", "arrow", "parquet"),
        default="auto",
        help="step data format of the feed, predict and train figures (default: what the "
        "orchestrator picks for a local data store, Arrow IPC)",
    )
    parser.add_argument("--keras", action="store_true", help="also the Keras 3 train figure")
    parser.add_argument(
        "--results", default="bench-results.json", help="where to merge the figures"
    )
    args = parser.parse_args()
    try:
        hidden_units = tuple(int(u) for u in args.hidden_units.split(",") if u.strip())
    except ValueError:
        parser.error("--hidden-units takes comma-separated integers, e.g. 64,32")
    if min(args.rows, args.features, args.batch_size, args.train_rows, args.epochs) < 1:
        parser.error("--rows, --features, --batch-size, --train-rows and --epochs must be >= 1")
    if args.repeat < 1 or args.classes < 2:
        parser.error("--repeat must be at least 1 and --classes at least 2")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        setup = Setup(
            root=root,
            warehouse=make_warehouse(root, args.rows, args.features, args.classes),
            features=tuple(f"f{i}" for i in range(args.features)),
            classes=args.classes,
            rows=args.rows,
            train_rows=min(args.train_rows, args.rows),
            batch_size=args.batch_size,
            epochs=args.epochs,
            hidden_units=hidden_units,
            device=torch.device(args.device),
            data_format=data_format_for(str(root), args.data_format),
        )
        feed = feed_figure(setup, args.repeat)
        train, model_uri = train_figure(setup, args.repeat)
        predict = predict_figure(setup, model_uri, args.repeat)
        figures = [feed, predict, train, step_data_figure(setup, args.repeat)]
        keras_figure = keras_train_figure(setup, args.repeat) if args.keras else None
        if keras_figure is not None:
            figures.append(keras_figure)
        report(figures, setup, args.repeat, load)
    record(
        Path(args.results),
        [
            {
                "name": f"{f.name}_{args.device}_rows_per_second",
                "value": f.value,
                "unit": "rows/s",
                "baseline": f.baseline,
                "ratio": f.ratio,
            }
            for f in figures
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
