"""Quiet, useful logs: no TensorFlow banner lines and no Dagster beta/preview warnings about
Dagster's own internals — while per-epoch progress, a step's own lines and a failure's
reason still show (docs/deep-learning.md, "Logs")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import dagster as dg
import pytest

from sqlml_dagster.contract.logs import is_framework_banner
from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.quiet import dagster_internal_warnings_silenced, quiet_frameworks
from sqlml_dagster.runtime.quiet import wants_gpu

from .conftest import EXAMPLE, REPO


@pytest.mark.parametrize(
    ("line", "banner"),
    [
        # what tensorflow 2.21 prints on import, twice (two libraries), on a CPU machine
        (
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
            True,
        ),
        (
            "I0000 00:00:1796506618.464920   22439 port.cc:153] oneDNN custom operations are "
            "on. You may see slightly different numerical results",
            True,
        ),
        (
            "I0000 00:00:1796506618.477816   22439 cudart_stub.cc:31] Could not find cuda "
            "drivers on your machine, GPU will not be used.",
            True,
        ),
        (
            "W0000 00:00:1796506618.5   22439 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
            True,
        ),
        # errors and everything else stay
        (
            "E0000 00:00:1796506618.5   22439 cuda_dnn.cc:8310] Unable to register cuDNN factory",
            False,
        ),
        ("F0000 00:00:1796506618.5   22439 port.cc:1] fatal", False),
        ("epoch 3/60: loss=0.41 accuracy=0.88 (0.05s)", False),
        ("sqlml step failed: model.hidden_units must be a list", False),
        ("Traceback (most recent call last):", False),
        ("I think therefore I am", False),
    ],
)
def test_framework_banners_are_told_from_other_lines(line: str, banner: bool) -> None:
    assert is_framework_banner(line.encode()) is banner


CUINIT = (
    "E0000 00:00:1796508895.956722   20173 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
)


@pytest.mark.parametrize(
    ("cpu_only", "banner"),
    [
        (True, True),  # a step that asked for no GPU: TensorFlow's CUDA probe is noise
        (False, False),  # one that asked for a GPU: the hint why it runs on the CPU
    ],
)
def test_the_failed_cuda_probe_is_noise_only_without_a_gpu_request(
    cpu_only: bool, banner: bool
) -> None:
    assert is_framework_banner(CUINIT.encode(), cpu_only=cpu_only) is banner


@pytest.mark.parametrize(
    ("params", "wanted"),
    [
        ({}, False),
        ({"resources": {"gpu": 0}}, False),
        ({"resources": {"gpu": "0"}}, False),
        ({"resources": {"gpu": 1}}, True),
        ({"resources": {"gpu": "2"}}, True),
        ({"train": {"device": "cuda:1"}}, True),
        ({"train": {"device": "cpu"}}, False),
    ],
)
def test_a_steps_gpu_request_is_read_from_its_settings(
    params: dict[str, dict[str, object]], wanted: bool
) -> None:
    spec = StepSpec(
        kind="train",
        step_id="s",
        model_name="m",
        model_reference="x.Y",
        flavor="auto",
        params=params,
    )
    assert wants_gpu(spec) is wanted


@pytest.mark.slow
def test_a_step_drops_banners_written_while_a_framework_loads_and_keeps_the_rest() -> None:
    """Descriptor 2 as C++ writes it: banners go, other lines stay in order — also the
    reason an import failed."""
    script = textwrap.dedent("""
        import os, sys
        from sqlml_dagster.runtime.quiet import framework_banners_dropped, import_quietly
        print("before", file=sys.stderr, flush=True)
        with framework_banners_dropped():
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
            os.write(2, b"I0000 00:00:1796506618.46   7 port.cc:153] oneDNN custom operations are on.\\n")
            print("a warning of the model's own", file=sys.stderr)
            os.write(2, b"E0000 00:00:1796506618.46   7 cuda_dnn.cc:8310] Unable to register\\n")
        try:
            import_quietly("no_such_module_anywhere")
        except ImportError as e:
            print(f"import failed: {e}", file=sys.stderr)
        print("after", file=sys.stderr)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert done.stderr.splitlines() == [
        "before",
        "a warning of the model's own",
        "E0000 00:00:1796506618.46   7 cuda_dnn.cc:8310] Unable to register",
        "import failed: No module named 'no_such_module_anywhere'",
        "after",
    ]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "2"),  # TensorFlow's INFO and WARNING lines held back
        ({"TF_CPP_MIN_LOG_LEVEL": "0"}, "0"),  # a user who wants them keeps them
    ],
)
def test_the_cli_sets_framework_log_defaults(environ: dict[str, str], expected: str) -> None:
    quiet_frameworks(environ)
    assert environ["TF_CPP_MIN_LOG_LEVEL"] == expected


def test_dagsters_warnings_about_itself_go_and_a_users_stay() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with dagster_internal_warnings_silenced():
            # Dagster's parser calls its own beta parameter (include_sources): not ours to see
            dg.AssetSelection.from_string("group:iris")
            # a user's own use of a beta class still warns
            dg.LocalFileCodeReference(file_path="x.sql", line_number=1)
    assert [(w.category.__name__, Path(w.filename).name) for w in seen] == [
        ("BetaWarning", Path(__file__).name)
    ]


@pytest.mark.slow  # a Keras model trained and used in step processes: TensorFlow loads twice
def test_a_keras_run_prints_progress_and_no_banner_or_beta_warning(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "sql").mkdir(parents=True)
    (project / "data").mkdir()
    shutil.copy(EXAMPLE / "data" / "iris.csv", project / "data" / "iris.csv")
    shutil.copytree(EXAMPLE / "models", project / "models")
    features = "sepal_length, sepal_width, petal_length, petal_width"
    (project / "sql" / "iris.sql").write_text(
        textwrap.dedent(f"""
            CREATE TABLE iris AS SELECT * FROM read_csv('../data/iris.csv');

            SELECT {features}, class FROM iris WHERE split = 'train'
            TO TRAIN sqlflow_dnn.DNNClassifier
            WITH model.n_classes = 3, model.hidden_units = [8], train.epoch = 2
            LABEL class
            INTO iris_dnn;

            SELECT id, {features} FROM iris WHERE split = 'test'
            TO PREDICT iris_dnn_predictions.class USING iris_dnn;
        """)
    )
    (project / "definitions.py").write_text(
        'from sqlml_dagster import build_defs\n\ndefs = build_defs("sql")\n'
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.cli", "materialize", "-m", "definitions", "-v"],
        cwd=project,
        env={**environ, "SQLML_STATE_DIR": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    lines = output.splitlines()
    assert [line for line in lines if is_framework_banner(line.encode(), cpu_only=True)] == []
    assert [line for line in lines if "BetaWarning" in line or "PreviewWarning" in line] == []
    # kept: per-epoch progress, the step's own lines, the summary
    assert any("epoch 2/2:" in line for line in lines), output
    assert any("train iris_dnn (sqlflow_dnn.DNNClassifier" in line for line in lines), output
    assert "iris_dnn_predictions  30 rows  (model iris_dnn v1)" in done.stdout


def test_reading_the_example_as_dg_dev_does_warns_only_of_a_users_own_beta_use(
    tmp_path: Path,
) -> None:
    """``dg dev``'s code server and run workers read the asset graph after the definitions
    module returned: Dagster's beta warning about rebuilding our checks must not show
    there, while a user's own beta call still does."""
    script = textwrap.dedent("""
        import dagster as dg
        import example_repo.definitions as example

        example.defs.get_repository_def().asset_graph  # what the code server reads
        dg.LocalFileCodeReference(file_path="x.sql", line_number=1)  # the user's own
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "SQLML_STATE_DIR": str(tmp_path / "state")},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    beta = [line for line in done.stderr.splitlines() if "BetaWarning" in line]
    assert len(beta) == 1 and beta[0].startswith("<string>:6: BetaWarning: Class `LocalFile")
