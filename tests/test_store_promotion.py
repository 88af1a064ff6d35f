"""Promotion policies (``store/promotion.py``) beyond the policy table of
``tests/test_store_aliases.py``: which recorded value of a metric a version is ranked by,
what a decision says when nothing can be champion, and what an applier does when another
one moved ``@champion`` between its decision and its move (docs/testing.md, *Mutation
testing*)."""

from __future__ import annotations

from typing import Any

from sqlml_dagster.contract.lifecycle import PromotionPolicy
from sqlml_dagster.store import ModelStore
from sqlml_dagster.store.metrics import EvaluationRecord
from sqlml_dagster.store.promotion import Decision, apply_policy, decide, recorded_metric
from sqlml_dagster.store.records import Listing

from .test_store_aliases import gate, publish


def evaluate(store: ModelStore, version: int, metrics: dict[str, float], at: str) -> None:
    store.record_evaluation(
        store.get("m", version), EvaluationRecord("m_eval", metrics, evaluated_at=at)
    )


def test_a_version_is_ranked_by_its_own_evaluation_over_its_training_metric(
    store: ModelStore,
) -> None:
    publish(store, {"auc": 0.6})
    publish(store, {"auc": 0.6})
    evaluate(store, 1, {"auc": 0.9}, "2026-11-20")
    evaluate(store, 2, {"auc": 0.7, "loss": 0.3}, "2026-11-21")
    assert recorded_metric(store, store.get("m", 1), "auc") == 0.9
    assert recorded_metric(store, store.get("m", 2), "auc") == 0.7
    assert recorded_metric(store, store.get("m", 1), "loss") is None  # only version 2 has it
    assert decide(store, "m", PromotionPolicy.parse("best_score(auc)"), ()) == Decision(
        1, "best auc = 0.9 among passing versions (best_score(auc))"
    )


def test_a_gate_on_another_metric_is_not_this_metric_s_value(store: ModelStore) -> None:
    publish(store, {"auc": 0.6})
    gate(store, 1, 0.9)  # the gate measured accuracy = 0.9
    assert recorded_metric(store, store.get("m", 1), "auc") == 0.6
    assert recorded_metric(store, store.get("m", 1), "accuracy") == 0.9


def test_a_model_without_a_usable_version_has_no_champion_and_says_so(
    store: ModelStore,
) -> None:
    publish(store)
    nothing = Listing(versions=[], damaged=[])  # what a listing finds when all are damaged
    policy = PromotionPolicy.parse("most_recent")
    assert decide(store, "m", policy, (), listing=nothing) == Decision(None, "no usable version")


def test_only_a_best_score_policy_with_a_metric_picks_by_score(store: ModelStore) -> None:
    publish(store, {"auc": 0.9})
    assert decide(store, "m", PromotionPolicy("manual"), ()) == Decision(
        None, "promote = manual: only `sqlml models alias` moves it"
    )


def test_without_a_policy_nothing_moves_and_it_says_so(store: ModelStore) -> None:
    publish(store)
    assert apply_policy(store, "m", None, ()) == (None, "no promotion policy moves @champion")
    assert "champion" not in store.aliases("m")


def test_a_policy_moves_a_champion_someone_placed_by_hand(store: ModelStore) -> None:
    publish(store, {"auc": 0.9})
    publish(store, {"auc": 0.7})
    store.move_alias("m", "champion", 2, reason="sqlml models alias")
    move, said = apply_policy(store, "m", PromotionPolicy.parse("best_score(auc)"), ())
    assert move is not None and (move.version, move.previous, move.seq) == (1, 2, 2)
    assert said == "@champion → version 1: best auc = 0.9 among passing versions (best_score(auc))"


class AnotherApplierMeanwhile(ModelStore):
    """The real store, where another applier (a second store on the same URL: another run)
    moves ``m@champion`` to ``version`` right after this applier first reads the aliases —
    between its decision and its move, the window two concurrent runs race in."""

    def __init__(self, url: str, version: int, **options: Any) -> None:
        super().__init__(url, **options)
        self._other = ModelStore(url, **options)
        self._version = version
        self._raced = False

    def aliases(self, model: str) -> Any:
        found = super().aliases(model)
        if not self._raced:
            self._raced = True
            self._other.move_alias(model, "champion", self._version, reason="another run")
        return found


def test_an_applier_that_lost_the_race_to_the_same_decision_leaves_the_alias(
    store_url: tuple[str, dict[str, Any]],
) -> None:
    url, options = store_url
    racing = AnotherApplierMeanwhile(url, 2, **options)
    publish(racing, {"auc": 0.7})
    publish(racing, {"auc": 0.9})
    move, said = apply_policy(racing, "m", PromotionPolicy.parse("best_score(auc)"), ())
    assert (move, said) == (
        None,
        "@champion stays at version 2: best auc = 0.9 among passing versions (best_score(auc))",
    )
    assert [(m.version, m.reason) for m in racing.alias_history("m", "champion")] == [
        (2, "another run")
    ]
