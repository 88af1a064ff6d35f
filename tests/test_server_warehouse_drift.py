"""Drift checks on the server warehouses: the same project as ``test_drift.py``'s end-to-end
test, its tables on the machine's PostgreSQL and MariaDB. The training statistics come from
the rows the server exports, the PREDICT's drift from the rows it scores, and ``ML_PREDICT``
counts what the split query hands to the model in process (``warehouses/predict_split.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from sqlml_dagster.store import ModelStore

from .conftest import failure_reasons, materialize_all
from .test_drift import PROJECT, _checks


@pytest.mark.parametrize("server", ["postgres_url", "mysql_url"])
def test_drift_checks_on_a_server_warehouse(
    server: str,
    request: pytest.FixtureRequest,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    url = request.getfixturevalue(server)
    state, root = tmp_path / "state", write_project({"points.sql": PROJECT})
    result = materialize_all(root, state, warehouse=url)

    stats = ModelStore(str(state / "models")).get("m").feature_stats
    assert stats is not None and stats["rows"] == 200 and list(stats["features"]) == ["x"]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"points", "today", "m", "same", "shifted", "inline"}  # no downstream
    assert failure_reasons(result).startswith(
        "drift check on shifted failed: 1 of 1 feature(s) drifted (psi > 0.2): x psi="
    )
    checks = _checks(result)
    same, shifted, inline = checks["same:drift"], checks["shifted:drift"], checks["inline:drift"]
    assert same.passed and same.metadata["worst_features"].value == [
        {"feature": "x", "kind": "numeric", "psi": 0.0}
    ]
    assert not shifted.passed and shifted.severity == dg.AssetCheckSeverity.ERROR
    assert shifted.metadata["drifted"].value == ["x"]
    # ML_PREDICT beside a server scores the same 200 shifted rows: the same drift.
    assert not inline.passed and inline.severity == dg.AssetCheckSeverity.WARN
    assert inline.metadata["worst_features"].value == shifted.metadata["worst_features"].value
