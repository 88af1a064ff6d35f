"""``train.max_runtime`` on the local launcher: a step running longer is stopped — with
every process it started — and fails with one line (SQLML534); its reserved version is
discarded, so nothing partial is published. (On Kubernetes the same value is the Job's
``activeDeadlineSeconds``: tests/k8s.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlml_dagster.store import ModelStore

from .conftest import failure_reasons, materialize_all
from .test_trials_cancel import trial_processes

# a step process that runs until it is stopped: seconds
pytestmark = pytest.mark.slow

#: A model whose module starts a helper process of its own (as a data loader's workers
#: would), which must not outlive the stopped step either.
SPAWNING = """
import subprocess, sys, time
import torch
from torch import nn

class SpawningNet(nn.Module):
    def __init__(self, input_dim: int, n_classes: int, helper: str = ""):
        super().__init__()
        self.helper = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)", "sqlml_dagster.runtime", helper]
        )
        self.layer = nn.Linear(input_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.2)
        return self.layer(x)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_a_step_past_its_max_runtime_is_stopped_with_its_processes_and_publishes_nothing(
    tmp_path: Path,
) -> None:
    root, state = tmp_path / "project", tmp_path / "state"
    (root / "sql").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "models" / "spawning_nets.py").write_text(SPAWNING)
    (root / "sql" / "a.sql").write_text(
        "CREATE TABLE d AS SELECT range * 1.0 AS x, "
        "CASE WHEN range % 2 = 0 THEN 'a' ELSE 'b' END AS y FROM range(16);\n"
        "SELECT x, y FROM d TO TRAIN spawning_nets.SpawningNet\n"
        f"WITH model.helper = '{tmp_path}', train.epoch = 1000, train.max_runtime = '4s'\n"
        "LABEL y INTO m;\n"
    )
    try:
        result = materialize_all(root / "sql", state)

        assert not result.success
        reason = failure_reasons(result)
        assert reason.startswith("SQLML534: train step for 'm' ran longer than ")
        assert "train.max_runtime = '4s' (4 s): stopped, with every process it started" in reason
        assert "\n" not in reason
        assert trial_processes(tmp_path) == []  # the step and its helper
        store = ModelStore(str(state / "models"))
        assert store.versions("m") == []
        assert [f.state for f in store.folders("m")] == ["discarded"]
    finally:
        import os
        import signal

        for pid in trial_processes(tmp_path):
            os.kill(pid, signal.SIGKILL)
