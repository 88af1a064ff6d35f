"""``sqlml serve`` under a bounded load, against scoring the same rows in-process.

A scikit-learn version (a 50-tree random forest on 2,000 rows of 8 features, trained by
the runtime's train step and published in a temporary model store) is served by
``python -m sqlml_dagster.serving`` — what a serving pod runs — on loopback. Then
``--requests`` (default 3,000) ``POST /predict`` requests of ``--rows`` rows each
(default 1, an online lookup) go to it from ``--clients`` threads (default 4), each with
one keep-alive ``httpx.Client``; every request's latency is recorded. Bounded: the run
sends exactly that many requests and stops.

Baseline, measured in the same run: the same requests' rows turned into the predictor's
Arrow table and scored in this process (``rows_table`` + ``Predictor.predict``, the code
the server runs) — what the model costs without HTTP, JSON and the event loop. Figures:
p50 and p99 latency and throughput of the server, the in-process p50, and the ratio
server p50 / in-process p50 (the serving overhead).

    make bench          # or: python bench/bench_serve.py --requests 3000 --clients 4

Figures are merged by name into ``bench-results.json`` (see bench_compiler.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_compiler import record

from sqlml_dagster.contract import StepSpec
from sqlml_dagster.runtime import run_step
from sqlml_dagster.runtime.scoring import rows_table
from sqlml_dagster.serving import load_version
from sqlml_dagster.store import ModelManifest, ModelStore, ModelVersion

FEATURES = [f"f{i}" for i in range(8)]


class _Quiet:
    def log(self, message: str) -> None:
        pass

    def result(self, metadata: object, result: object) -> None:
        self.payload = result


def train(store: ModelStore, folder: Path) -> ModelVersion:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, len(FEATURES)))
    data = folder / "train.parquet"
    columns = {name: x[:, i] for i, name in enumerate(FEATURES)}
    pq.write_table(pa.table({**columns, "y": (x[:, 0] + x[:, 1] > 0).astype(np.int64)}), data)
    pending = store.reserve("bench_model", "bench")
    run_step(
        StepSpec(
            kind="train",
            step_id="bench",
            model_name="bench_model",
            model_reference="sklearn.ensemble.RandomForestClassifier",
            flavor="sklearn",
            params={"model": {"n_estimators": 50, "max_depth": 8}},
            input_uri=str(data),
            label="y",
            features=FEATURES,
            model_uri=pending.uri,
        ),
        _Quiet(),
    )
    manifest = ModelManifest(
        model="bench_model",
        version=pending.version,
        created_at="2026-01-01T00:00:00+00:00",
        flavor="sklearn",
        model_reference="sklearn.ensemble.RandomForestClassifier",
        fingerprint="f",
        statement_fingerprint="s",
        training_data_fingerprint="d",
        features=FEATURES,
        label="y",
    )
    return store.publish(pending, manifest)


def requests_of(count: int, rows: int) -> list[list[dict[str, float]]]:
    rng = np.random.default_rng(1)
    return [
        [
            {f: float(v) for f, v in zip(FEATURES, row, strict=True)}
            for row in rng.normal(size=(rows, len(FEATURES)))
        ]
        for _ in range(count)
    ]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--results", default="bench-results.json")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    store = ModelStore(str(folder / "models"))
    version = train(store, folder)
    bodies = requests_of(args.requests, args.rows)

    # In-process baseline: the server's own scoring code, no HTTP.
    loaded = load_version(version)
    for rows in bodies[:50]:
        loaded.predictor.predict(rows_table(rows, loaded.fields))
    direct = []
    for rows in bodies:
        start = time.perf_counter()
        loaded.predictor.predict(rows_table(rows, loaded.fields))
        direct.append(time.perf_counter() - start)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "sqlml_dagster.serving", "bench_model@1", "--port", str(port),
         "--model-store", str(folder / "models")],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        with httpx.Client() as warm:
            for rows in bodies[:50]:
                warm.post(f"{url}/predict", json={"rows": rows}).raise_for_status()

        latencies: list[float] = []
        lock = threading.Lock()
        shares = [bodies[i :: args.clients] for i in range(args.clients)]

        def client(share: list[list[dict[str, float]]]) -> None:
            mine = []
            with httpx.Client() as http:
                for rows in share:
                    start = time.perf_counter()
                    answer = http.post(f"{url}/predict", json={"rows": rows})
                    mine.append(time.perf_counter() - start)
                    assert answer.status_code == 200 and len(answer.json()["predictions"]) == len(
                        rows
                    )
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(share,)) for share in shares]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)

    p50, p99 = percentile(latencies, 50) * 1e3, percentile(latencies, 99) * 1e3
    direct_p50 = statistics.median(direct) * 1e3
    throughput = len(latencies) / wall
    print(
        f"sqlml serve ({platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs): {len(latencies)} requests of {args.rows} row(s) from "
        f"{args.clients} clients in {wall:.2f} s"
    )
    print(f"  server p50 {p50:.2f} ms, p99 {p99:.2f} ms, {throughput:.0f} requests/s")
    print(f"  in-process p50 {direct_p50:.3f} ms; server/in-process p50 {p50 / direct_p50:.1f}x")
    record(
        Path(args.results),
        [
            {"name": "serve_p50_ms", "value": round(p50, 3), "unit": "ms",
             "baseline": round(direct_p50, 3), "ratio": round(p50 / direct_p50, 2)},
            {"name": "serve_p99_ms", "value": round(p99, 3), "unit": "ms"},
            {"name": "serve_requests_per_s", "value": round(throughput, 1), "unit": "1/s"},
        ],
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
