"""What decides "unchanged → reuse the version": each part of a training's fingerprint,
changed alone, must retrain; what does not change the model must not.

A part missing from the fingerprint fails silently (a new training image or a new model
class quietly reuses the old version), so each part gets its own case: the same project
materialized twice with exactly one thing changed in between.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import materialize_all

# whole projects materialized end to end: seconds each (docs/testing.md)
pytestmark = pytest.mark.slow

DATA = "CREATE TABLE d AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40);\n"
TRAIN = "SELECT x, y FROM d TO TRAIN {model} {with_} LABEL y INTO m;\n"
MODEL_CODE = '''
from sklearn.linear_model import LogisticRegression


class Classifier(LogisticRegression):
    """A project model: its source is part of the fingerprint."""

    def __init__(self, C=1.0, max_iter={max_iter}):
        super().__init__(C=C, max_iter=max_iter)
'''


def version_after(root: Path, state: Path) -> tuple[int, bool]:
    result = materialize_all(root, state)
    assert result.success
    materialization = result.asset_materializations_for_node("sqlml__m")[0]
    reused = bool(materialization.tags.get("sqlml/reused"))
    return int(materialization.tags["sqlml/model_version"]), reused


CHANGES = [
    # (what changes, the statement before, after, retrains?)
    ("nothing", {}, {}, False),
    ("a comment", {}, {"comment": "-- trained nightly\n"}, False),
    ("whitespace and keyword case", {}, {"spacing": True}, False),
    ("train.force toggled off", {"with_": "WITH train.force = false"}, {}, False),
    ("a model parameter", {}, {"with_": "WITH model.C = 0.5"}, True),
    (
        "the training image",
        {"image": "ghcr.io/acme/train:v1/"},
        {"image": "ghcr.io/acme/train:v2/"},
        True,
    ),
    ("an image added", {}, {"image": "ghcr.io/acme/train:v1/"}, True),
    ("the model class", {}, {"model": "sklearn.linear_model.RidgeClassifier"}, True),
    ("the training data", {}, {"data": DATA.replace("range(40)", "range(41)")}, True),
]


def statement(
    image: str = "",
    model: str = "sklearn.linear_model.LogisticRegression",
    with_: str = "",
    comment: str = "",
    spacing: bool = False,
    data: str = DATA,
) -> str:
    train = TRAIN.format(model=image + model, with_=with_)
    if spacing:
        train = train.replace("SELECT x, y FROM d", "select   x,y\n  from d").replace(
            " LABEL", "\nlabel"
        )
    return data + comment + train


@pytest.mark.parametrize(
    ("change", "before", "after", "retrains"), CHANGES, ids=[c[0] for c in CHANGES]
)
def test_each_part_of_the_fingerprint(
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    change: str,
    before: dict[str, object],
    after: dict[str, object],
    retrains: bool,
) -> None:
    state = tmp_path / "state"
    root = write_project({"m.sql": statement(**before)})  # type: ignore[arg-type]
    assert version_after(root, state) == (1, False)
    write_project({"m.sql": statement(**after)})  # type: ignore[arg-type]
    assert version_after(root, state) == ((2, False) if retrains else (1, True))


def test_a_change_to_the_project_s_model_code_retrains(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """The model's package in the project's models/ folder is fingerprinted by content:
    editing the class retrains even though no SQL changed."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "my_models.py").write_text(MODEL_CODE.format(max_iter=100))
    state = tmp_path / "state"
    root = write_project({"m.sql": statement(model="my_models.Classifier")})
    assert version_after(root, state) == (1, False)
    assert version_after(root, state) == (1, True)
    (models / "my_models.py").write_text(MODEL_CODE.format(max_iter=200))
    assert version_after(root, state) == (2, False)
