"""A damaged ``@latest`` fails the steps that would use it — TO PREDICT and ML_PREDICT —
with one line naming the version and the file; neither silently scores with the version
before it (docs/security.md, "Damaged versions")."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from sqlml_dagster import build_defs

from .conftest import failure_reasons, materialize_all

PROJECT = """
    CREATE TABLE d AS SELECT range * 1.0 AS a, range * 2.0 AS b, range % 2 AS y FROM range(20);
    SELECT a, b, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier
    WITH train.force = true LABEL y INTO m;
    SELECT a, b FROM d TO PREDICT scored.y USING m;
    CREATE TABLE inline AS SELECT a, ML_PREDICT(m, a, b) AS p FROM d;
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project materialized twice: versions 1 and 2 of m, both scored."""
    root = tmp_path_factory.mktemp("damaged")
    (root / "sql").mkdir()
    (root / "sql" / "m.sql").write_text(textwrap.dedent(PROJECT))
    for _ in range(2):
        result = materialize_all(root / "sql", root / "state")
        assert result.success, failure_reasons(result)
    assert sorted(p.name for p in (root / "state" / "models" / "m").iterdir()) == ["1", "2"]
    return root


def truncate(version: Path) -> None:
    data = (version / "model.skops").read_bytes()
    (version / "model.skops").write_bytes(data[: len(data) // 2])


def remove(version: Path) -> None:
    (version / "model.skops").unlink()


def alter(version: Path) -> None:
    data = bytearray((version / "model.skops").read_bytes())
    data[-30] ^= 0xFF  # same size, other bytes: only the sha256 tells
    (version / "model.skops").write_bytes(bytes(data))


def cut_manifest(version: Path) -> None:
    (version / "manifest.json").write_text('{"model": "m", "vers')


# (damage to version 2, what the PREDICT step says, what the ML_PREDICT step says)
CASES = [
    pytest.param(
        truncate,
        "model 'm' version 2 is damaged (model.skops: has ",
        "model 'm' version 2 is damaged (model.skops: has ",
        id="artifact-truncated",
    ),
    pytest.param(
        remove,
        "model 'm' version 2 is damaged (model.skops: is missing)",
        "model 'm' version 2 is damaged (model.skops: is missing)",
        id="artifact-missing",
    ),
    pytest.param(
        cut_manifest,
        "model 'm' version 2 is damaged (manifest.json: is not valid JSON",
        "model 'm' version 2 is damaged (manifest.json: is not valid JSON",
        id="manifest-cut",
    ),
    pytest.param(
        alter,
        "m@2: artifact model.skops does not match its checksum",
        "cannot load m v2: m@2: artifact model.skops does not match its checksum",
        id="artifact-altered",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("damage", "predict", "ml_predict"), CASES)
def test_a_damaged_latest_fails_predict_and_ml_predict_naming_the_version(
    trained: Path,
    tmp_path: Path,
    damage: Callable[[Path], None],
    predict: str,
    ml_predict: str,
) -> None:
    shutil.copytree(trained, tmp_path / "p")
    state = tmp_path / "p" / "state"
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        before = {
            t: con.execute(f"SELECT * FROM {t} ORDER BY a").fetchall() for t in ("scored", "inline")
        }
    damage(state / "models" / "m" / "2")
    defs = build_defs(tmp_path / "p" / "sql", state_dir=state)
    result = dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        selection=dg.AssetSelection.assets("scored", "inline"),
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    reasons = failure_reasons(result).splitlines()
    assert len(reasons) == 2, reasons
    assert any(predict in r for r in reasons), reasons
    assert any(ml_predict in r for r in reasons), reasons
    assert not any("version 1" in r or "v1" in r for r in reasons)
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        after = {
            t: con.execute(f"SELECT * FROM {t} ORDER BY a").fetchall() for t in ("scored", "inline")
        }
    assert after == before  # nothing scored with version 1 in version 2's place
