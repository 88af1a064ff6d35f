"""A model's lifecycle end to end on generated projects (scikit-learn, tiny data): named
aliases, promotion policies and champion-relative gates, materialized by Dagster, moved by
``sqlml models alias``, on a local store and on an S3 server (moto on loopback).

- ``promote = best_score(accuracy)`` with ``check.accuracy >= champion.accuracy + 0.01``:
  the first version passes (no champion) and becomes ``@champion``; a better one beats it
  on the same rows and takes over; a worse one fails its gate and ``@champion`` stays;
  ``USING m@champion`` predicts with whatever it names;
- ``promote = most_recent`` moves ``@champion`` with each training; ``sqlml models alias``
  moves any alias, ``list``/``show``/``aliases`` show them (JSON too); a missing alias is
  one line naming the aliases there are (SQLML430), in a run and on the command line;
- ``on_new_model`` consumers of ``m@champion`` are refreshed when the alias moves, not when
  a version lands (the ``sqlml_alias_moves`` sensor).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sqlml_dagster import build_defs
from sqlml_dagster.cli import main
from sqlml_dagster.definitions import ALIAS_SENSOR
from sqlml_dagster.ops.storage import SqlMlStorage
from sqlml_dagster.store import ModelStore

from .conftest import S3Server, failure_reasons, materialize_all
from .test_quality_gates import materialized

warnings.filterwarnings("ignore", category=dg.BetaWarning)

POINTS = """
CREATE TABLE points AS
SELECT i AS id, (i % 7) * 1.0 AS x, (i % 5) * 1.0 AS z,
       CASE WHEN i % 7 >= {cut} THEN 1 ELSE 0 END AS y
FROM range(140) t(i);
"""
#: Accuracy 4/7 on the points (it always says 1), and 1.0 (the label is x >= 3).
WEAK = "sklearn.dummy.DummyClassifier"
GOOD = "sklearn.tree.DecisionTreeClassifier WITH model.max_depth = 3, model.random_state = 0"


def run(
    root: Path, state: Path, storage: SqlMlStorage | None = None, select: list[str] | None = None
) -> dg.ExecuteInProcessResult:
    return materialize_all(root, state, select, storage=storage)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    """``sqlml …`` in this process: exit status, stdout (JSON when it is), stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


@pytest.mark.slow
def test_best_score_with_a_champion_gate_promotes_only_a_better_version(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"

    def project(model: str, extra: str = "") -> Path:
        return write_project(
            {
                "points.sql": POINTS.format(cut=3)
                + f"""
                -- sqlml: promote = best_score(accuracy)
                SELECT x, z, y FROM points WHERE id % 4 <> 0 TO TRAIN {model} LABEL y INTO m;

                SELECT x, z, y FROM points WHERE id % 4 = 0
                TO EVALUATE m WITH check.accuracy >= champion.accuracy + 0.01
                LABEL y INTO m_eval;

                SELECT id, x, z FROM points WHERE id % 4 = 0
                TO PREDICT preds.y USING m@champion;
                {extra}
                """
            }
        )

    # 1. No champion yet: the gate passes and says why; v1 becomes @champion.
    first = run(project(WEAK), state)
    assert first.success, failure_reasons(first)
    shown = materialized(first)
    assert shown["m"]["promotion"] == "@champion stays: no version passes its quality gates"
    assert shown["m_eval"]["compared_with"] == "no champion yet: m has no @champion, so it passes"
    assert shown["m_eval"]["champion"] == "v1" and shown["preds"]["model_version"] == 1
    assert shown["preds"]["model_alias"] == "champion"
    store = ModelStore(str(state / "models"))
    outcome = store.gate_results("m", 1)["m_eval_accuracy"]
    assert (outcome.passed, outcome.champion_version, outcome.note) == (
        True,
        None,
        "no champion yet: m has no @champion, so it passes",
    )

    # 2. A better version: both scored on the same rows, both values recorded; it wins.
    second = run(project(GOOD), state)
    assert second.success, failure_reasons(second)
    shown = materialized(second)
    assert shown["m_eval"]["compared_with"] == "@champion = v1"
    assert round(shown["m_eval"]["champion_metrics"]["accuracy"], 4) == 0.5714
    assert shown["m_eval"]["champion"] == "v2" and shown["preds"]["model_version"] == 2
    outcome = store.gate_results("m", 2)["m_eval_accuracy"]
    assert (outcome.value, outcome.champion_version, round(outcome.champion_value or 0, 4)) == (
        1.0,
        1,
        0.5714,
    )

    # 3. A worse version fails against the champion; @champion stays, preds do not run.
    third = run(project(WEAK + ' WITH model.strategy = "prior"'), state)
    assert not third.success
    assert failure_reasons(third).startswith(
        "quality gate failed on m@3: m_eval_accuracy: accuracy = 0.5714 "
        "(needs >= champion.accuracy + 0.01: champion v2 = 1)"
    )
    assert "preds" not in materialized(third) and materialized(third)["m_eval"]["champion"] == "v2"
    history = store.alias_history("m", "champion")
    assert [(m.version, m.previous, m.reason) for m in history] == [
        (1, None, "promote = best_score(accuracy)"),
        (2, 1, "promote = best_score(accuracy)"),
    ]

    # 4. An alias that does not exist: one line naming the ones that do (SQLML430).
    root = project(WEAK, "SELECT id, x, z FROM points TO PREDICT staged.y USING m@staging;")
    missing = run(root, state, select=["staged"])
    assert failure_reasons(missing) == (
        "SQLML430: model 'm' has no alias 'staging'; its aliases: @champion (version 2). "
        "Move one with `sqlml models alias m@N staging`, or let a promote directive on the "
        "model's TO TRAIN move @champion"
    )


@pytest.fixture(params=["local", "s3"])
def storage(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SqlMlStorage:
    """The stores of a run: a local folder, or a fresh bucket on the S3 server — which the
    CLI reaches as every process does, through fsspec's configuration (``FSSPEC_S3``)."""
    if request.param == "local":
        return SqlMlStorage(
            model_store=str(tmp_path / "model-store"), data_store=str(tmp_path / "data")
        )
    import fsspec.config

    server: S3Server = request.getfixturevalue("s3")
    bucket = server.bucket(f"alias-{uuid.uuid4().hex[:12]}")
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": server.endpoint_url})
    return SqlMlStorage(
        model_store=f"{bucket}/models",
        data_store=f"{bucket}/data",
        storage_options={"endpoint_url": server.endpoint_url},
    )


@pytest.mark.slow
def test_aliases_move_by_policy_and_by_hand_and_the_cli_shows_them(
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    storage: SqlMlStorage,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = write_project(
        {
            "points.sql": POINTS.format(cut=3)
            + f"""
            -- sqlml: promote = most_recent
            SELECT x, z, y FROM points TO TRAIN {GOOD} LABEL y INTO m;
            SELECT id, x, z FROM points TO PREDICT preds.y USING m@champion;
            CREATE TABLE inline AS SELECT id, ML_PREDICT(m@champion, x, z) AS y FROM points;
            """
        }
    )
    result = run(root, tmp_path / "state", storage)
    assert result.success, failure_reasons(result)
    shown = materialized(result)
    assert (shown["m"]["champion"], shown["preds"]["model_version"]) == ("v1", 1)
    assert shown["inline"]["models"] == {"m@champion": 1}
    store = ["--model-store", storage.model_store, "--format", "json"]

    code, out, err = cli(capsys, "models", "alias", "m@1", "prod", "--note", "ship it", *store)
    assert (code, out) == (0, {"message": "m@prod is now version 1"}), err
    code, out, err = cli(capsys, "models", "alias", "m@1", "prod", *store)
    assert (code, out) == (0, {"message": "m@prod is now version 1"}), err  # no new move
    code, out, _ = cli(capsys, "models", "list", "m", *store)
    assert [(r["version"], r[""]) for r in out["rows"]] == [(1, "@latest @champion @prod")]
    code, out, _ = cli(capsys, "models", "list", *store)
    assert out["rows"][0]["aliases"] == "champion=1 prod=1"
    code, out, _ = cli(capsys, "models", "show", "m@prod", *store)
    shown = {r["property"]: r["value"] for r in out["rows"]}
    assert shown["version"] == 1
    assert shown["alias @prod"].startswith("@prod → 1 (new; sqlml models alias; ship it; ")
    assert shown["alias @champion"].startswith("@champion → 1 (new; promote = most_recent; ")
    code, out, _ = cli(capsys, "models", "aliases", "m", *store)
    assert [(r["alias"], r["move"], r["version"], r["reason"]) for r in out["rows"]] == [
        ("champion", 1, 1, "promote = most_recent"),
        ("prod", 1, 1, "sqlml models alias"),
    ]

    code, out, err = cli(capsys, "run-sql", "SHOW TRAIN m@prod", *store)
    assert code == 0 and out["rows"][0]["version"] == 1, err

    code, out, err = cli(capsys, "models", "show", "m@staging", *store)
    assert code == 1 and err == (
        "sqlml: SQLML430: model 'm' has no alias 'staging'; its aliases: @champion (version "
        "1), @prod (version 1). Move one with `sqlml models alias m@N staging`, or let a "
        "promote directive on the model's TO TRAIN move @champion\n"
    )
    code, _, err = cli(capsys, "models", "alias", "m@9", "prod", *store)
    assert code == 1 and err == "sqlml: model 'm' has no version 9; versions: 1\n"
    code, _, err = cli(capsys, "models", "alias", "m@1", "Bad-Name", *store)
    assert code == 1 and "'Bad-Name' is not an alias" in err and "Traceback" not in err


def test_alias_consumers_wait_for_the_alias_not_for_new_versions(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """What Dagster is told: a consumer of m@champion has no on_new_model condition on m
    (a version landing is not its signal); the alias sensor targets it instead."""
    root = write_project(
        {
            "a.sql": POINTS.format(cut=3)
            + f"""
            SELECT x, z, y FROM points TO TRAIN {GOOD} LABEL y INTO m;
            -- sqlml: on_new_model = eager
            SELECT id, x, z FROM points TO PREDICT by_alias.y USING m@champion;
            -- sqlml: on_new_model = eager
            SELECT id, x, z FROM points TO PREDICT by_version.y USING m;
            -- sqlml: on_new_model = eager
            SELECT ML_PREDICT(m@champion, x, z) AS c, id, x, z FROM points
            TO PREDICT both.y USING m;
            SELECT id, x, z FROM points TO PREDICT unwatched.y USING m@prod;
            """
        }
    )
    defs = build_defs(root, state_dir=tmp_path / "state")
    graph = defs.resolve_asset_graph()
    conditions = {
        name: graph.get(dg.AssetKey(name)).automation_condition
        for name in ("by_alias", "by_version", "both", "unwatched")
    }
    assert conditions["by_alias"] is None and conditions["unwatched"] is None
    assert conditions["by_version"] is not None and conditions["both"] is not None
    sensors = {s.name: s for s in defs.sensors or []}
    alias_sensor = sensors[ALIAS_SENSOR]
    assert alias_sensor.default_status is dg.DefaultSensorStatus.RUNNING
    assert {k.to_user_string() for k in alias_sensor.asset_selection.resolve(graph)} == {
        "by_alias",
        "both",
    }


@pytest.mark.slow
def test_an_alias_move_refreshes_its_consumers_and_a_new_version_does_not(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"

    def project(cut: int) -> Path:
        return write_project(
            {
                "a.sql": POINTS.format(cut=cut)
                + f"""
                -- sqlml: promote = manual
                SELECT x, z, y FROM points TO TRAIN {GOOD} LABEL y INTO m;
                -- sqlml: on_new_model = eager
                SELECT id, x, z FROM points TO PREDICT by_alias.y USING m@champion;
                -- sqlml: on_new_model = eager
                SELECT id, x, z FROM points TO PREDICT by_version.y USING m;
                """
            }
        )

    defs = build_defs(project(3), state_dir=state)
    sensor = next(s for s in defs.sensors or [] if s.name == ALIAS_SENSOR)
    store = ModelStore(str(state / "models"))
    with dg.instance_for_test() as instance:
        cursor: list[str | None] = [None]
        evaluations: list[Any] = [None]

        def tick() -> list[list[str]]:
            """One sensor tick: the assets each run request selects."""
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor[0], resources=defs.resources, definitions=defs
            )
            data = sensor.evaluate_tick(context)
            cursor[0] = data.cursor
            return [
                sorted(k.to_user_string() for k in r.asset_selection or [])
                for r in data.run_requests or []
            ]

        def automation(when: dt.datetime) -> set[str]:
            """One evaluation of the automation conditions: the assets requested."""
            result = dg.evaluate_automation_conditions(
                defs=defs, instance=instance, cursor=evaluations[0], evaluation_time=when
            )
            evaluations[0] = result.cursor
            keys = defs.resolve_asset_graph().get_all_asset_keys()
            return {k.to_user_string() for k in keys if result.get_num_requested(k)}

        def materialize(*names: str) -> None:
            assets = [defs.get_assets_def(name) for name in names]
            done = dg.materialize(assets, resources=defs.resources, instance=instance)
            assert done.success

        materialize("points", "m")
        assert tick() == []  # the first tick notes where the aliases stand
        store.move_alias("m", "champion", 1)
        assert tick() == [["by_alias"]]  # the alias moved: its consumer is requested
        assert tick() == []  # once

        # Version 2 lands (new data) and nothing moves the alias: only the plain consumer.
        defs = build_defs(project(4), state_dir=state)
        automation(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc))
        materialize("points", "m")
        assert [v.version for v in store.versions("m")] == [1, 2]
        requested = automation(dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.timezone.utc))
        assert "by_version" in requested and "by_alias" not in requested
        assert tick() == []
        store.move_alias("m", "champion", 2)
        assert tick() == [["by_alias"]]
