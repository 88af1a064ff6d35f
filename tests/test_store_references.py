"""A model reference outside SQL (``store/references.py``): how one is written back, what
each refusal says in full, and that resolving one honours the model's gates and accepts a
reference already parsed — what ``sqlml serve`` does each time it polls the store.

The parsing table itself is ``tests/test_serving.py::test_references``; these pin the rest
(docs/testing.md, *Mutation testing*).
"""

from __future__ import annotations

import pytest

from sqlml_dagster.store import ModelStore
from sqlml_dagster.store.references import (
    BadReference,
    ModelReference,
    parse_reference,
    resolve_reference,
)

from .test_store_aliases import GATE, gate, publish


@pytest.mark.parametrize(
    ("reference", "written"),
    [
        (ModelReference("churn"), "churn@latest"),
        (ModelReference("churn", version=7), "churn@7"),
        (ModelReference("churn", alias="champion"), "churn@champion"),
        (ModelReference("zoo.churn", version=1), "zoo.churn@1"),
    ],
)
def test_a_reference_is_written_as_model_at_pin_latest_when_it_has_none(
    reference: ModelReference, written: str
) -> None:
    assert str(reference) == written


@pytest.mark.parametrize(
    ("written", "refusal"),
    [
        ("churn@0", "'churn@0': versions count from 1"),
        (
            "churn@-1",
            "'churn@-1': after '@' comes a version number, 'latest' or an alias "
            "(a letter, then letters, digits or '_')",
        ),
        (
            "churn@9lives",
            "'churn@9lives': after '@' comes a version number, 'latest' or an alias "
            "(a letter, then letters, digits or '_')",
        ),
        ("@3", "'@3': the model name is empty"),
        ("  @latest", "'  @latest': the model name is empty"),
    ],
)
def test_a_bad_reference_is_refused_with_this_whole_message(written: str, refusal: str) -> None:
    with pytest.raises(BadReference) as raised:
        parse_reference(written)
    assert str(raised.value) == refusal


def test_latest_resolves_through_the_gates_it_is_given(store: ModelStore) -> None:
    publish(store)
    publish(store)
    gate(store, 1, 0.9)  # passes accuracy >= 0.8
    gate(store, 2, 0.7)  # fails it
    assert resolve_reference(store, "m").version == 2  # no gates: the newest version
    assert resolve_reference(store, "m", gates=[GATE]).version == 1
    assert resolve_reference(store, "m@latest", gates=[GATE]).version == 1


def test_a_parsed_reference_resolves_as_its_written_form_does(store: ModelStore) -> None:
    publish(store)
    publish(store)
    store.move_alias("m", "champion", 1)
    for reference in (
        ModelReference("m", version=1),
        ModelReference("m", alias="champion"),
        ModelReference("m"),
    ):
        assert (
            resolve_reference(store, reference).version
            == resolve_reference(store, str(reference)).version
        )
    assert resolve_reference(store, ModelReference("m", alias="champion")).version == 1
