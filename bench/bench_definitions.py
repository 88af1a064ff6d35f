"""Definitions load time, as a ratio against the same assets written in plain Dagster,
measured in the same run.

The workload: ``--files`` generated ``.sql`` files (default 1,000; also measured at a
quarter and a half of that, to show the cost is linear in files). Each file holds a
``CREATE TABLE features_<i> AS SELECT … FROM raw.events_<k>``, a scikit-learn
``TO TRAIN … INTO model_<i>`` on it and a ``TO PREDICT scored_<i>.label USING model_<i>``;
the reads spread over 10 source tables, so 1,000 files make 3,010 assets (3,000 produced,
10 sources) and 1,000 data-check sets (``<model>_features_exist``, ``<model>_label_not_null``).

Measured: ``build_defs(folder)`` — compiling, translating every node, the gates and data
checks — then ``defs.resolve_asset_graph()``, what Dagster does when it loads the
Definitions (the repository, its asset graph and the implicit asset job).

Baseline: the same Definitions written by hand — for each file, three ``@dg.asset`` with
the same keys, deps, groups, kinds, tags, code versions, descriptions of the same length
and the same metadata keys (a code reference included); the 10 sources as ``AssetSpec``;
one ``@dg.multi_asset_check`` of two blocking checks per model; three resources of the same
keys (``none_resource``: what a resource costs does not grow with the assets) — then
``defs.resolve_asset_graph()``: the floor Dagster itself sets for this many assets.

Both sides run alternately in one process, ``--repeat`` times each; the figures are
medians. The ratio is taken on CPU time (``time.process_time``): loading is
single-threaded, so on an idle machine CPU and wall time agree, and on a shared one CPU
time is what other processes disturb least; wall times are printed beside it. The goal
is sqlml/plain <= 1.5x at every size, and CPU time per file that does not grow with the
number of files.

    make bench            # or: python bench/bench_definitions.py --files 400 --repeat 5

Figures are merged by name into ``bench-results.json`` (see bench_compiler.py). (No
postponed annotations here: Dagster inspects the ``context`` annotations.)
"""

import argparse
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import SKLEARN
from bench_compiler import record

from sqlml_dagster import build_defs

#: (CPU seconds, wall-clock seconds) of one run.
Sample = tuple[float, float]
#: build_defs + asset graph may cost at most this many times plain Dagster's.
GOAL_RATIO = 1.5
#: Source tables the generated files read (``raw.events_0`` … ``raw.events_9``).
SOURCES = 10


def statements_of(i: int) -> list[tuple[str, str]]:
    """File ``i``'s statements as (kind, SQL)."""
    reference, params = SKLEARN[i % len(SKLEARN)]
    return [
        (
            "table",
            f"CREATE TABLE features_{i} AS\nSELECT id, a, b, c, label\n"
            f"FROM raw.events_{i % SOURCES}\nWHERE d > DATE '2026-01-01'",
        ),
        (
            "model",
            f"SELECT a, b, c, label FROM features_{i}\nTO TRAIN {reference}\n"
            f"WITH {params}, train.seed = {i}\nLABEL label\nINTO model_{i}",
        ),
        (
            "prediction",
            f"SELECT id, a, b, c FROM features_{i}\nTO PREDICT scored_{i}.label\nUSING model_{i}",
        ),
    ]


def generated_project(root: Path, files: int) -> Path:
    """Write the ``files`` files under ``root/sql``; return that folder."""
    sql = root / "sql"
    sql.mkdir(parents=True)
    for i in range(files):
        text = ";\n\n".join(s for _, s in statements_of(i)) + ";\n"
        (sql / f"pipeline_{i:04d}.sql").write_text(text)
    return sql


def code_reference(path: Path, line: int) -> dg.CodeReferencesMetadataValue:
    """Beta classes, used on purpose: silenced at the call, as sqlml does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.CodeReferencesMetadataValue(
            code_references=[dg.LocalFileCodeReference(file_path=str(path), line_number=line)]
        )


def plain_definitions(sql: Path, files: int) -> dg.Definitions:
    """The workload's assets and checks, written as a Dagster user would by hand."""
    resource_keys = {"sqlml_warehouse", "sqlml_storage", "sqlml_launcher"}
    assets: list[Any] = [
        dg.AssetSpec(
            key=["raw", f"events_{k}"],
            description=f"Source table `raw.events_{k}`, read by the project.",
            kinds={"duckdb"},
            metadata={"dagster/table_name": f"raw.events_{k}"},
            group_name="sources",
        )
        for k in range(SOURCES)
    ]
    for i in range(files):
        file = f"sql/pipeline_{i:04d}.sql"
        names = {"table": f"features_{i}", "model": f"model_{i}", "prediction": f"scored_{i}"}
        deps = {
            "table": [dg.AssetKey(["raw", f"events_{i % SOURCES}"])],
            "model": [dg.AssetKey(names["table"])],
            "prediction": [dg.AssetKey(names["table"]), dg.AssetKey(names["model"])],
        }
        kinds = {
            "table": {"sql", "duckdb"},
            "model": {"sqlml", "scikitlearn"},
            "prediction": {"sqlml", "duckdb"},
        }
        for line, (kind, text) in enumerate(statements_of(i), start=1):
            metadata: dict[str, Any] = {
                "sqlml/file": file,
                "sqlml/line": line,
                "dagster/code_references": code_reference(sql / file, line),
                "dagster/table_name": names[kind],
                "sqlml/dialect": "duckdb",
            }

            @dg.asset(
                key=names[kind],
                deps=deps[kind],
                description=f"{kind} `{names[kind]}` from `{file}`:\n\n```sql\n{text};\n```",
                metadata=metadata,
                group_name=f"pipeline_{i:04d}",
                code_version=f"{i:016x}",
                kinds=kinds[kind],
                tags={"sqlml/kind": kind},
                required_resource_keys=resource_keys,
            )
            def _asset(context: dg.AssetExecutionContext) -> None:
                del context

            assets.append(_asset)

        @dg.multi_asset_check(
            specs=[
                dg.AssetCheckSpec(
                    name=f"model_{i}_{check}",
                    asset=names["table"],
                    blocking=True,
                    description=f"The SELECT that trains `model_{i}` ({file}:2:1): {check}.",
                    metadata={"sqlml/data_check": check},
                )
                for check in ("features_exist", "label_not_null")
            ],
            name=f"sqlml_data__model_{i}",
            required_resource_keys={"sqlml_warehouse"},
            can_subset=True,
        )
        def _check(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
            del context
            yield from ()

        assets.append(_check)
    return dg.Definitions(
        assets=assets,
        resources={key: dg.ResourceDefinition.none_resource() for key in resource_keys},
    )


def count_assets(defs: dg.Definitions) -> tuple[int, int]:
    graph = defs.resolve_asset_graph()
    return len(graph.get_all_asset_keys()), len(graph.asset_check_keys)


@dataclass(frozen=True)
class Row:
    """One project size: medians of each side, in CPU and wall-clock seconds."""

    files: int
    plain_cpu: float
    sqlml_cpu: float
    plain_wall: float
    sqlml_wall: float

    @property
    def ratio(self) -> float:
        return self.sqlml_cpu / self.plain_cpu


def measure(functions: dict[str, Callable[[], None]], repeat: int) -> dict[str, list[Sample]]:
    """Run each function ``repeat`` times, alternating, after a collection: (CPU, wall)
    seconds per run. Loading definitions is single-threaded CPU work, so CPU time is the
    figure other processes on a shared machine disturb least."""
    samples: dict[str, list[Sample]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            gc.collect()
            cpu, wall = time.process_time(), time.perf_counter()
            fn()
            samples[name].append((time.process_time() - cpu, time.perf_counter() - wall))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000, help="the largest project")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; medians")
    parser.add_argument("--results", default="bench-results.json")
    args = parser.parse_args()
    if args.files < 4 or args.repeat < 1:
        parser.error("--files must be at least 4 and --repeat at least 1")
    sizes = sorted({args.files // 4, args.files // 2, args.files})
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        state = base / "state"
        for files in sizes:
            sql = generated_project(base / f"p{files}", files)
            expected = (3 * files + SOURCES, 2 * files)

            def plain(sql: Path = sql, files: int = files, expected: Any = expected) -> None:
                assert count_assets(plain_definitions(sql, files)) == expected

            def sqlml(sql: Path = sql, expected: Any = expected) -> None:
                assert count_assets(build_defs(sql, state_dir=state)) == expected

            sides: dict[str, Callable[[], None]] = {"plain": plain, "sqlml": sqlml}
            for fn in sides.values():  # warm imports and caches for both sides
                fn()
            samples = measure(sides, args.repeat)
            cpu = {k: statistics.median(c for c, _ in v) for k, v in samples.items()}
            wall = {k: statistics.median(w for _, w in v) for k, v in samples.items()}
            rows.append(Row(files, cpu["plain"], cpu["sqlml"], wall["plain"], wall["sqlml"]))

    print(
        "definitions benchmark: build_defs + resolve_asset_graph against the same assets in"
        f" plain Dagster; medians of {args.repeat} alternating runs"
    )
    print(
        f"  dagster {dg.__version__}, Python {platform.python_version()},"
        f" {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  {'files':>6} {'assets':>7} {'plain CPU':>10} {'sqlml CPU':>10} {'ratio':>6}"
        f" {'sqlml/file':>11} {'plain wall':>11} {'sqlml wall':>11}"
    )
    for row in rows:
        print(
            f"  {row.files:6,} {3 * row.files + SOURCES:7,} {row.plain_cpu:9.2f}s"
            f" {row.sqlml_cpu:9.2f}s {row.ratio:5.2f}x {row.sqlml_cpu / row.files * 1e3:8.2f} ms"
            f" {row.plain_wall:10.2f}s {row.sqlml_wall:10.2f}s"
        )
    largest, smallest = rows[-1], rows[0]
    growth = (largest.sqlml_cpu / largest.files) / (smallest.sqlml_cpu / smallest.files)
    worst = max(row.ratio for row in rows)
    verdict = "PASS" if worst <= GOAL_RATIO else "MISS"
    print(
        f"  ratio sqlml / plain (CPU): {largest.ratio:.2f}x at {largest.files:,} files"
        f" (worst {worst:.2f}x)   goal <= {GOAL_RATIO:.2f}x   {verdict}"
    )
    print(
        f"  sqlml CPU per file at {largest.files:,} files / at {smallest.files:,}:"
        f" {growth:.2f} (1.00 is linear; plain: "
        f"{(largest.plain_cpu / largest.files) / (smallest.plain_cpu / smallest.files):.2f})"
    )
    record(
        Path(args.results),
        [
            {
                "name": f"definitions_{largest.files}_files_cpu_seconds",
                "value": largest.sqlml_cpu,
                "unit": "s",
                "baseline": largest.plain_cpu,
                "ratio": largest.ratio,
            },
            {
                "name": f"definitions_{largest.files}_files_wall_seconds",
                "value": largest.sqlml_wall,
                "unit": "s",
                "baseline": largest.plain_wall,
                "ratio": largest.sqlml_wall / largest.plain_wall,
            },
            {
                "name": f"definitions_{largest.files}_files_per_file_growth",
                "value": growth,
                "unit": "x",
                "baseline": 1.0,
                "ratio": growth,
            },
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
