"""``sqlml check`` checks the ``WITH`` keys of ``TO PREDICT`` and ``TO EXPLAIN`` as it
checks ``TO TRAIN``'s: a key the step reads passes, one SQLFlow defines that means nothing
here is a warning saying why (SQLML414), anything else an error naming the closest key
(SQLML405) — and the step logs the same warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime import StepError, run_step
from sqlml_dagster.validate import DeepCheckOptions, check_path

from .runtime.recorder import Recorder


def check(tmp_path: Path, statement: str) -> list[tuple[str, str, str]]:
    root = tmp_path / "sql"
    root.mkdir()
    (root / "p.sql").write_text(
        "CREATE TABLE t AS SELECT 1.0 AS a, 1 AS y;\n"
        "SELECT * FROM t TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;\n"
        + statement
        + ";\n"
    )
    checked = check_path(root, options=DeepCheckOptions(imports=False, cache_dir=None))
    return [(d.code, d.message, d.hint or "") for d in checked.diagnostics]


CASES = [
    ("SELECT * FROM t TO PREDICT out.y WITH predict.probabilities = true USING m", []),
    (
        "SELECT * FROM t TO PREDICT out.y WITH predict.probabilties = true USING m",
        [("SQLML405", "'predict.probabilties'", "did you mean 'predict.probabilities'?")],
    ),
    (
        "SELECT * FROM t TO PREDICT out.y WITH predict.batch_size = 8, "
        "predict.extra_outputs = 'a' USING m",
        [
            ("SQLML414", "'predict.batch_size' is accepted and ignored", ""),
            ("SQLML414", "'predict.extra_outputs' is accepted and ignored", ""),
        ],
    ),
    (
        "SELECT * FROM t TO PREDICT out.y WITH summary.plot_type = bar USING m",
        [("SQLML405", "'summary.plot_type'", "summary.* keys belong to TO EXPLAIN")],
    ),
    ("SELECT * FROM t TO EXPLAIN m WITH explain.max_rows = 50, explain.repeats = 2 INTO e", []),
    (
        "SELECT * FROM t TO EXPLAIN m WITH summary.plot_type = dot, summary.alpha = 0.5, "
        "summary.sort = True, summary.max_display = 5, summary.plot_size = [8, 6], "
        "explain.per_row = true INTO e",
        [],
    ),
    (
        "SELECT * FROM t TO EXPLAIN m WITH summary.plot_type = dots INTO e",
        [("SQLML415", "unknown plot type 'dots' (did you mean 'dot'?)", "bar, dot, violin")],
    ),
    (
        "SELECT * FROM t TO EXPLAIN m WITH summary.plot_type = bar, summary.color_bar = false "
        "INTO e",
        [("SQLML414", "'summary.color_bar' is accepted and ignored here: a bar chart", "")],
    ),
    (
        "SELECT * FROM t TO EXPLAIN m WITH summary.plot_type = violin, summary.show = true INTO e",
        [("SQLML416", "'summary.show' cannot be set here: the step saves the chart", "")],
    ),
    (
        "SELECT * FROM t TO EXPLAIN m WITH summary.alpha = 3, summary.max_display = 0 INTO e",
        [
            ("SQLML416", "summary.alpha must be a number from 0 to 1", ""),
            ("SQLML416", "summary.max_display must be a positive integer", ""),
        ],
    ),
    (
        "SELECT * FROM t TO EXPLAIN m WITH summary.plot_type = decision, explain.per_row = true "
        "USING permutation INTO e",
        [
            ("SQLML416", "summary.plot_type = decision needs every row's attributions", ""),
            ("SQLML416", "explain.per_row = true needs every row's attributions", "USING shap"),
        ],
    ),
    (
        "SELECT * FROM t TO EXPLAIN m WITH summary.plot_typ = dot INTO e",
        [("SQLML405", "'summary.plot_typ'", "did you mean 'summary.plot_type'?")],
    ),
    (
        "SELECT * FROM t TO EXPLAIN m WITH explain.plot_type = dot INTO e",
        [("SQLML414", "'explain.plot_type' is accepted and ignored", "")],
    ),
    (
        "SELECT * FROM t TO EXPLAIN m WITH explain.max_row = 5 INTO e",
        [("SQLML405", "'explain.max_row'", "did you mean 'explain.max_rows'?")],
    ),
]


@pytest.mark.parametrize(("statement", "expected"), CASES, ids=[c[0][22:60] for c in CASES])
def test_scoring_keys_are_checked_like_training_keys(
    tmp_path: Path, statement: str, expected: list[tuple[str, str, str]]
) -> None:
    found = check(tmp_path, statement)
    assert len(found) == len(expected), found
    for (code, message, hint), (want_code, want_message, want_hint) in zip(
        found, expected, strict=True
    ):
        assert code == want_code and want_message in message and want_hint in hint


def test_the_predict_step_logs_the_keys_it_ignores(tmp_path: Path) -> None:
    recorder = Recorder()
    spec = StepSpec(
        kind="predict",
        step_id="p",
        model_name="m",
        model_reference="sklearn.linear_model.LogisticRegression",
        flavor="sklearn",
        params={"predict": {"batch_size": 8, "probabilties": True}},
        input_uri=str(tmp_path / "missing.parquet"),
        model_uri=str(tmp_path / "no-model"),
        output_uri=str(tmp_path / "out.parquet"),
    )
    with pytest.raises(StepError):  # no model there: the warnings come first
        run_step(spec, recorder)
    warned = [line for line in recorder.logs if line.startswith("warning:")]
    assert warned[0].startswith("warning: predict.batch_size is ignored here")
    assert "did you mean 'predict.probabilities'?" in warned[1]
