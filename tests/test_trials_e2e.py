"""A hyper-parameter search end to end: each trial a real step (``python -m
sqlml_dagster.runtime``, its own StepSpec), one published version — the best trial —
every trial in its manifest and in ``sqlml models show``; a failed trial recorded while
the others go on; all failed, no version and every failure named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlml_dagster import cli
from sqlml_dagster.store import ModelStore

from .conftest import failure_reasons, materialize_all

# whole projects materialized end to end: seconds each (docs/testing.md)
pytestmark = pytest.mark.slow

# y is an exclusive or of two thresholds: a tree of depth 1 cannot learn it, depth 3 can.
DATA = (
    "CREATE TABLE d AS SELECT range * 1.0 AS x, (range * 7 % 13) * 1.0 AS z, "
    "CASE WHEN (range > 60) <> ((range * 7 % 13) > 6) THEN 'p' ELSE 'n' END AS y "
    "FROM range(160);\n"
)
SEARCH = (
    "SELECT x, z, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier\n"
    "WITH model.max_depth = HPARAM_CANDIDATES({depths}), train.trial_sampler = 'grid',\n"
    "     train.max_parallel_trials = 2, train.objective = 'val_accuracy', validation.split = 0.25\n"
    "LABEL y INTO m;\n"
)


def project(root: Path, depths: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "a.sql").write_text(DATA + SEARCH.format(depths=depths))
    return root


def model_metadata(result: object) -> dict[str, object]:
    events = result.asset_materializations_for_node("sqlml__m")  # type: ignore[attr-defined]
    return {k: v.value for k, v in events[0].metadata.items()}


def test_a_search_publishes_its_best_trial_and_records_every_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, state = project(tmp_path / "sql", "[1, -1, 3]"), tmp_path / "state"
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    store = ModelStore(str(state / "models"))
    (version,) = store.versions("m")  # exactly one version for the whole search
    m = version.manifest
    assert (m.version, m.objective, m.params["model"]["max_depth"]) == (1, "val_accuracy", 3)
    trials = {t["params"]["model.max_depth"]: t for t in m.trials}
    assert sorted(trials) == [-1, 1, 3]
    assert trials[-1]["status"] == "failed"  # recorded; the others went on
    assert "max_depth" in trials[-1]["error"]
    assert [trials[d]["status"] for d in (1, 3)] == ["succeeded", "succeeded"]
    assert trials[3]["metrics"]["val_accuracy"] > trials[1]["metrics"]["val_accuracy"]
    assert m.best_trial == trials[3]["number"]
    assert m.metrics == trials[3]["metrics"]
    assert all(t["seconds"] > 0 for t in m.trials)
    # no trial folder kept (feature_stats.json: the training statistics drift checks read)
    assert sorted(m.artifacts) == ["feature_stats.json", "model.skops", "signature.json"]
    assert not (state / "models" / "m" / "1" / ".trials").exists()

    # `sqlml models show m@1`: every trial, as rows and as a JSON list
    assert cli.main(["models", "show", "m@1", "--model-store", str(state / "models")]) == 0
    shown = capsys.readouterr().out
    assert f"trial {trials[3]['number']} (best)" in shown
    assert "failed in" in shown
    assert (
        cli.main(
            ["models", "show", "m@1", "--format", "json", "--model-store", str(state / "models")]
        )
        == 0
    )
    listed = json.loads(capsys.readouterr().out)["trials"]
    assert [t["number"] for t in listed] == [0, 1, 2]

    # unchanged: the version is reused, no trial runs
    again = materialize_all(root, state)
    assert again.success and model_metadata(again)["reused"] is True
    assert len(store.versions("m")) == 1

    # a changed search space trains again
    project(root, "[2, 3]")
    changed = materialize_all(root, state)
    assert changed.success, failure_reasons(changed)
    assert [v.version for v in store.versions("m")] == [1, 2]
    assert len(store.versions("m")[1].manifest.trials) == 2


def test_when_every_trial_fails_no_version_appears_and_each_failure_is_named(
    tmp_path: Path,
) -> None:
    root, state = project(tmp_path / "sql", "[-1, -2]"), tmp_path / "state"
    result = materialize_all(root, state)
    assert not result.success
    reason = failure_reasons(result)
    assert "all 2 trials failed" in reason
    assert "trial 0: " in reason and "trial 1: " in reason
    assert ModelStore(str(state / "models")).versions("m") == []
