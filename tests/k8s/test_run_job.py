"""TO RUN as a Kubernetes Job: the step runs in the image the statement names, and the
program comes from that image — not from the orchestrator's project folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from tests.conftest import failure_reasons, materialize_all
from tests.k8s.harness import KubernetesTestCluster, image_env_for
from tests.k8s.test_launcher import launcher_for

SQL = """
CREATE TABLE raw AS SELECT range AS id FROM range(5);
SELECT id FROM raw
TO RUN registry.example.com/team/runnable:1.0
CMD "halves.py", "--at=2"
INTO small, big;
"""

# The image's program (a Dockerfile's COPY into a folder on its PYTHONPATH).
HALVES = """
import json, os, sys
import pyarrow.compute as pc, pyarrow.parquet as pq
at = int(sys.argv[1].split("=")[1])
rows = pq.read_table(os.environ["SQLML_RUN_INPUT"])
outputs = json.loads(os.environ["SQLML_RUN_OUTPUTS"])
small, big = (outputs[t] for t in os.environ["SQLFLOW_TO_RUN_INTO"].split(","))
pq.write_table(rows.filter(pc.less(rows["id"], at)), small)
pq.write_table(rows.filter(pc.greater_equal(rows["id"], at)), big)
"""


def run_as_job(
    root: Path, programs: dict[str, str], tmp_path: Path
) -> tuple[dg.ExecuteInProcessResult, dict[str, Any]]:
    """Materialize the SQL folder ``root`` with its steps as Jobs of a test cluster whose
    image holds ``programs`` on its ``PYTHONPATH`` (a Dockerfile's COPY); state in
    ``tmp_path/state``. The run's result and its one Job."""
    image_code = tmp_path / "image" / "opt" / "runnable"
    image_code.mkdir(parents=True)
    for name, source in programs.items():
        (image_code / name).write_text(source)
    env = image_env_for(checkout=True)
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(image_code)])
    state = tmp_path / "state"
    with KubernetesTestCluster(image_env=env) as cluster:
        launcher = launcher_for(cluster, state, allowed_images=["registry.example.com/team"])
        result = materialize_all(root, state, launcher=launcher)
        assert result.success, failure_reasons(result)
        (job,) = cluster.jobs("default")
    return result, job


@pytest.mark.slow  # a Job and a materialization: ~7 s
def test_a_program_runs_from_the_statements_image_as_a_job(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    _, job = run_as_job(write_project({"run.sql": SQL}), {"halves.py": HALVES}, tmp_path)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/team/runnable:1.0"
    assert container["command"][1:3] == ["-m", "sqlml_dagster.runtime"]
    names = {e["name"] for e in container.get("env", [])}
    assert "SQLML_PROGRAM_ROOT" not in names  # no project folder in a pod
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM small").fetchall() == [(2,)]
        assert con.execute("SELECT count(*) FROM big").fetchall() == [(3,)]


# Without INTO: the run is the asset; the image's program prints what the user reads.
SAY = """
import os, sys
import pyarrow.parquet as pq
rows = pq.read_table(os.environ["SQLML_RUN_INPUT"])
print(f"{sys.argv[1]} from the image: {rows.num_rows} rows")
"""


@pytest.mark.slow  # a Job and a materialization: ~7 s
def test_a_program_without_into_runs_as_a_job_and_shows_its_output(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(
        {
            "run.sql": "CREATE TABLE raw AS SELECT range AS id FROM range(5);\n"
            'SELECT id FROM raw TO RUN registry.example.com/team/runnable:1.0 CMD "say.py", "hello";\n'
        }
    )
    result, job = run_as_job(root, {"say.py": SAY}, tmp_path)
    assert job["metadata"]["annotations"]["sqlml/asset-key"] == "say"
    (materialization,) = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key.to_user_string() == "say"
    ]
    metadata = materialization.metadata
    assert metadata["exit_code"].value == 0
    assert metadata["output"].value == "```text\nhello from the image: 5 rows\n```"
    assert metadata["kubernetes/job"].value == job["metadata"]["name"]
