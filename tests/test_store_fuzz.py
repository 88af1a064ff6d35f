"""The model store under random interleavings of real processes: trainings that publish
or fail, trainings killed outright, ``gc``, ``promote`` and readers, all at once on one
model — with zero lost versions and zero reused numbers.

Each example is a seed: four worker processes each draw a random sequence of operations
from it and run them against a fresh store (a local folder, then S3 on loopback), with
random pauses so their steps interleave differently every time. Afterwards:

- every number a reservation got is distinct (never handed out twice, gc or not);
- a training that kept its lease alive never lost its reservation;
- every published version is still there and verifies (sha256 of exactly the bytes its
  training wrote), unless a ``gc`` reported removing it as old;
- no reader ever resolved ``@latest`` to a damaged version, and none is left;
- the next reservation is above every number seen.

``make fuzz`` sets ``SQLML_STORE_FUZZ_EXAMPLES`` (``STORE_FUZZ_EXAMPLES``, default 100
per file system); the suite runs two. A failing example prints its seed:
``SQLML_STORE_FUZZ_SEED=<seed>`` runs that one alone.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sqlml_dagster.store import ModelStore
from sqlml_dagster.store.models import CorruptVersion, ModelNotFound, ReservationLost

from .test_store import manifest, write

EXAMPLES = int(os.environ.get("SQLML_STORE_FUZZ_EXAMPLES", "0") or "0") or 2
ONLY_SEED = os.environ.get("SQLML_STORE_FUZZ_SEED")
WORKERS = 4
#: (operation, weight): what a worker draws.
OPERATIONS = [
    ("train", 5),  # reserve, renew the lease, write, publish
    ("fail", 2),  # reserve, renew, write half, discard
    ("abandon", 2),  # reserve and die: nobody renews, nobody cleans
    ("gc", 2),
    ("promote", 1),
    ("read", 2),
]
LIVE_LEASE = timedelta(seconds=20)
DEAD_LEASE = timedelta(milliseconds=1)


def _pause(rng: random.Random) -> None:
    time.sleep(rng.choice((0, 0, 0.001, 0.005, 0.02)))


def run_worker(url: str, options: dict[str, Any], seed: int, worker: int) -> list[tuple[Any, ...]]:
    """One worker's random operations on the store; what happened, as events."""
    store = ModelStore(url, **options)
    rng = random.Random(seed * 1000 + worker)
    names, weights = zip(*OPERATIONS, strict=True)
    events: list[tuple[Any, ...]] = []
    for i in range(rng.randint(4, 10)):
        operation = rng.choices(names, weights)[0]
        _pause(rng)
        if operation in ("train", "fail"):
            pending = store.reserve("m", run_id=f"w{worker}", lease=LIVE_LEASE)
            events.append(("reserved", pending.version, "live"))
            content = f"{seed}/{worker}/{i}".encode()
            with store.keep_alive(pending, every=0.02):
                write(store, pending.uri, "model.bin", content)
                _pause(rng)
            try:
                if operation == "train":
                    store.publish(pending, manifest())
                    events.append(
                        ("published", pending.version, hashlib.sha256(content).hexdigest())
                    )
                else:
                    events.append(("discarded", pending.version, store.discard(pending, "failed")))
            except ReservationLost as e:
                events.append(("lost", pending.version, str(e)))
        elif operation == "abandon":
            pending = store.reserve("m", run_id=f"w{worker}", lease=DEAD_LEASE)
            events.append(("reserved", pending.version, "dead"))
            write(store, pending.uri, "model.bin", b"killed halfway")
        elif operation == "gc":
            result = store.gc("m", keep=rng.randint(1, 3), grace=timedelta(0))
            events.append(("gc", tuple(result.removed), tuple(result.cleaned)))
        elif operation == "promote":
            versions = store.versions("m")
            if versions:
                number = rng.choice(versions).version
                try:
                    store.promote("m", number)
                    events.append(("promoted", number))
                except ModelNotFound:  # collected meanwhile
                    pass
        else:
            try:
                latest = store.latest("m")
                events.append(("read", latest.version if latest else 0, ""))
            except CorruptVersion as e:
                events.append(("damaged-read", 0, str(e)))
            except ModelNotFound:  # the resolved version was collected as it was read
                pass
    return events


def check_example(store: ModelStore, events: list[tuple[Any, ...]], seed: int) -> None:
    where = f"seed {seed} (SQLML_STORE_FUZZ_SEED={seed})"
    reserved = [e[1] for e in events if e[0] == "reserved"]
    twice = sorted({n for n in reserved if reserved.count(n) > 1})
    assert not twice, f"{where}: handed out twice: {twice}; events: {events}"
    lost = [e for e in events if e[0] == "lost"]
    assert lost == [], f"{where}: a live training lost its reservation: {lost}"
    assert [e for e in events if e[0] == "damaged-read"] == [], where
    removed_by_gc = {n for e in events if e[0] == "gc" for n in e[1]}
    cleaned_by_gc = {n for e in events if e[0] == "gc" for n in e[2]}
    present = {v.version: v for v in store.versions("m")}
    for _, number, sha in (e for e in events if e[0] == "published"):
        assert number not in cleaned_by_gc, f"{where}: gc cleaned published version {number}"
        if number in removed_by_gc:
            continue  # retention: gc said so
        assert number in present, f"{where}: published version {number} is lost"
        assert present[number].manifest.artifacts == {"model.bin": sha}, where
        with store.fs.open(f"{present[number].uri}/model.bin", "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == sha, where
    assert store.damaged("m") == [], where
    highest = max(reserved, default=0)
    assert store.high_water("m") >= highest, where
    store.gc("m", keep=1, grace=timedelta(0))
    assert store.reserve("m").version > highest, where


@pytest.fixture
def pool(store_url: tuple[str, dict[str, Any]]) -> Iterator[Any]:
    """Worker processes, started after the store's credentials are in the environment."""
    with multiprocessing.get_context("spawn").Pool(WORKERS) as workers:
        yield workers


@pytest.mark.slow
def test_random_interleavings_lose_no_version_and_reuse_no_number(
    store_url: tuple[str, dict[str, Any]], pool: Any
) -> None:
    url, options = store_url
    seeds = [int(ONLY_SEED)] if ONLY_SEED else [random.randrange(1 << 30) for _ in range(EXAMPLES)]
    for example, seed in enumerate(seeds):
        example_url = f"{url}/example-{example}"
        tasks = [(example_url, options, seed, worker) for worker in range(WORKERS)]
        events = [
            e
            for worker_events in pool.starmap(run_worker, tasks, chunksize=1)
            for e in worker_events
        ]
        check_example(ModelStore(example_url, **options), events, seed)
