"""Cancelling a hyper-parameter search stops the trials already running: the step's
process gets SIGTERM (how Dagster terminates a run, and how Kubernetes stops a pod), and
no trial process outlives it — before, the trials went on to their last epoch while the
cancelled step waited for them. Real processes throughout: the orchestrator materializing
the project in a child process, each trial a ``python -m sqlml_dagster.runtime`` of its
own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqlml_dagster.store import ModelStore

# an orchestrator process and two slow trials: seconds
pytestmark = pytest.mark.slow

SLOW_NETS = Path(__file__).resolve().parent / "dl" / "models" / "slow_nets.py"

SQL = (
    "CREATE TABLE d AS SELECT range * 1.0 AS x, "
    "CASE WHEN range % 3 = 0 THEN 'a' ELSE 'b' END AS y FROM range(24);\n"
    "SELECT x, y FROM d TO TRAIN slow_nets.SlowNet\n"
    "WITH model.hidden = HPARAM_CANDIDATES([4, 8]), model.pause = 0.5, train.epoch = 500,\n"
    "     train.trial_sampler = 'grid', train.max_parallel_trials = 2, validation.split = 0.25\n"
    "LABEL y INTO m;\n"
)

ORCHESTRATOR = """
import sys
import dagster as dg
from sqlml_dagster import build_defs

defs = build_defs(sys.argv[1], state_dir=sys.argv[2])
dg.materialize(
    [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
    resources=defs.resources,
    instance=dg.DagsterInstance.ephemeral(),
    raise_on_error=False,
)
"""


def trial_processes(under: Path) -> list[int]:
    """The step processes whose command names a file under ``under``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "sqlml_dagster.runtime" in command and str(under) in command:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_a_cancelled_search_leaves_no_trial_running(tmp_path: Path) -> None:
    root, state = tmp_path / "project", tmp_path / "state"
    (root / "sql").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "sql" / "a.sql").write_text(SQL)
    (root / "models" / "slow_nets.py").write_text(SLOW_NETS.read_text())
    orchestrator = subprocess.Popen(
        [sys.executable, "-c", ORCHESTRATOR, str(root / "sql"), str(state)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while len(trial_processes(tmp_path)) < 2:  # both trials started
            assert orchestrator.poll() is None, orchestrator.stderr.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the trials never started"
            time.sleep(0.2)

        orchestrator.send_signal(signal.SIGTERM)  # the run is cancelled
        orchestrator.wait(timeout=60)

        left = trial_processes(tmp_path)
        assert left == [], f"trial processes still running after the cancel: {left}"
        store = ModelStore(str(state / "models"))
        assert store.versions("m") == []  # and the reservation was discarded
        assert [f.state for f in store.folders("m")] == ["discarded"]
    finally:
        for pid in trial_processes(tmp_path):
            os.kill(pid, signal.SIGKILL)
        orchestrator.kill()
        orchestrator.wait()
