"""Every step caps its framework threads to its CPU budget: ``resources.cpu`` when the
statement sets it, else the share of the cores the local launcher hands it (the cores
divided among the local steps running), else every core it sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.contract.threads import STEP_CPUS_ENV, THREAD_ENV, cpu_budget, visible_cores
from sqlml_dagster.launchers.local_steps import LocalSteps
from sqlml_dagster.runtime.threads import cap_threads

CORES = visible_cores()


@pytest.mark.parametrize(
    ("resources_cpu", "handed", "budget"),
    [
        ("1", "", 1),
        ("500m", "", 1),  # a fraction of a core is still one thread
        (3, "", 3),
        ("2.5", "", 3),
        (None, "1", 1),
        ("4", "2", 2),  # the smaller of the two
        ("1", "8", 1),
        (None, "", CORES),  # nothing said: every visible core
        ("lots", "", CORES),  # refused by the launcher, not guessed at here
    ],
)
def test_a_steps_cpu_budget(resources_cpu: object, handed: str, budget: int) -> None:
    environ = {STEP_CPUS_ENV: handed} if handed else {}
    assert cpu_budget(resources_cpu, environ) == budget


def test_the_cores_are_divided_among_the_local_steps_running(tmp_path: Path) -> None:
    steps = LocalSteps(tmp_path / "steps")
    with steps.running() as alone:
        assert alone == CORES
        with steps.running() as second, steps.running() as third:
            assert (second, third) == (max(1, CORES // 2), max(1, CORES // 3))
        with steps.running() as after:  # the others ended
            assert after == max(1, CORES // 2)
    assert list((tmp_path / "steps").iterdir()) == []


def test_a_marker_left_by_a_dead_process_is_not_counted(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    folder = tmp_path / "steps"
    folder.mkdir()
    (folder / f"{dead.stdout.strip()}-abc").touch()
    with LocalSteps(folder).running() as share:
        assert share == CORES
    assert list(folder.iterdir()) == []


def test_the_budget_reaches_every_library_and_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*THREAD_ENV, STEP_CPUS_ENV):
        monkeypatch.setenv(name, "99")  # restored after the test
    spec = StepSpec(
        kind="train", step_id="s", model_name="m", model_reference="x", flavor="sklearn"
    )
    monkeypatch.setenv(STEP_CPUS_ENV, "1")
    assert cap_threads(spec) == 1
    assert {name: os.environ[name] for name in THREAD_ENV} == dict.fromkeys(THREAD_ENV, "1")
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ['OMP_NUM_THREADS'])"],
        capture_output=True,
        text=True,
    )
    assert child.stdout.strip() == "1"


@pytest.mark.slow  # a PyTorch step in a process of its own: seconds each
@pytest.mark.parametrize(
    ("resources", "env", "threads"),
    [({"cpu": "1"}, {}, 1), ({}, {STEP_CPUS_ENV: "1"}, 1)],
)
def test_a_pytorch_step_trains_with_its_budget(
    tmp_path: Path, resources: dict[str, str], env: dict[str, str], threads: int
) -> None:
    pytest.importorskip("torch")
    data = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x": [0.0, 1.0, 2.0, 3.0] * 4, "y": ["a", "b"] * 8}), data)
    spec = StepSpec(
        kind="train",
        step_id="t",
        model_name="m",
        model_reference="DNNClassifier",
        flavor="pytorch",
        params={"model": {"hidden_units": [2]}, "train": {"epoch": 1}, "resources": resources},
        input_uri=str(data),
        label="y",
        model_uri=str(tmp_path / "m" / "1"),
    )
    (tmp_path / "spec.json").write_text(spec.to_json())
    environ = {k: v for k, v in os.environ.items() if k not in (STEP_CPUS_ENV, *THREAD_ENV)}
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(tmp_path / "spec.json")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environ, **env},
    )
    assert done.returncode == 0, done.stderr
    assert f"CPU budget {threads} thread(s)" in done.stderr
    assert f"torch uses {threads} CPU thread(s)" in done.stderr
