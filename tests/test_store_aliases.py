"""Named aliases (``m@champion``) and promotion policies in the model store, on a local
folder and on an S3 server (moto, loopback) through s3fs:

- a move is one exclusively created record, so the folder is the alias's history and two
  moves that race cannot both land (one wins, the other writes nothing and is told);
- ``m@alias`` resolves to the version its newest move names, a missing alias names the
  aliases there are, and ``gc`` never removes a version an alias names;
- ``best_score``/``most_recent``/``manual`` pick ``@champion`` among the versions that
  pass the model's gates, by the metric recorded on each.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sqlml_dagster.contract.lifecycle import PromotionPolicy
from sqlml_dagster.store import ModelStore
from sqlml_dagster.store.aliases import AliasMove, record_seq
from sqlml_dagster.store.gates import Gate, GateResult
from sqlml_dagster.store.models import (
    AliasConflict,
    AliasNotFound,
    BadName,
    CorruptVersion,
    ModelNotFound,
)
from sqlml_dagster.store.promotion import Decision, apply_policy, decide
from sqlml_dagster.store.references import resolve_reference

from .test_store import manifest, write


@pytest.fixture
def store(store_url: tuple[str, dict[str, Any]]) -> ModelStore:
    url, options = store_url
    return ModelStore(url, **options)


def publish(store: ModelStore, metrics: dict[str, float] | None = None, model: str = "m") -> int:
    pending = store.reserve(model)
    write(store, pending.uri, "model.bin", b"weights")
    from dataclasses import replace

    return store.publish(pending, replace(manifest(model), metrics=metrics or {})).version


# -- moves and history -----------------------------------------------------------------


def test_an_alias_resolves_to_its_newest_move_and_keeps_every_move(store: ModelStore) -> None:
    for _ in range(3):
        publish(store)
    first = store.move_alias("m", "champion", 1, reason="sqlml models alias")
    assert (first.version, first.seq, first.previous) == (1, 1, None)
    store.move_alias("m", "champion", 3, note="better auc")
    store.move_alias("m", "Champion", 2)  # an alias is one word, any case
    assert store.get("m", "champion").version == 2
    assert [(m.version, m.previous, m.seq) for m in store.alias_history("m", "champion")] == [
        (1, None, 1),
        (3, 1, 2),
        (2, 3, 3),
    ]
    assert store.alias_history("m", "champion")[1].note == "better auc"
    assert store.move_alias("m", "champion", 2).seq == 3  # already there: nothing written
    store.move_alias("m", "prod", 1)
    assert {a: m.version for a, m in store.aliases("m").items()} == {"champion": 2, "prod": 1}
    assert store.get("m").version == 3  # @latest is untouched by aliases
    assert resolve_reference(store, "m@champion").version == 2  # what sqlml serve follows
    store.move_alias("m", "champion", 1)
    assert resolve_reference(store, "m@Champion").version == 1


def test_a_missing_alias_names_the_aliases_there_are(store: ModelStore) -> None:
    publish(store)
    with pytest.raises(AliasNotFound, match="model 'm' has no alias 'staging'; it has no aliases"):
        store.get("m", "staging")
    store.move_alias("m", "champion", 1)
    with pytest.raises(
        AliasNotFound, match=r"no alias 'staging'; its aliases: @champion \(version 1\)"
    ):
        store.get("m", "staging")


@pytest.mark.parametrize(
    ("alias", "version", "error", "message"),
    [
        ("champion", 7, ModelNotFound, "has no version 7"),
        ("../x", 1, BadName, "is not an alias"),
        ("latest", 1, BadName, "always means the newest"),
        ("_tmp", 1, BadName, "starting with a letter"),
        ("c" * 64, 1, BadName, "at most 63"),
    ],
)
def test_a_move_that_cannot_be_is_refused_before_anything_is_written(
    store: ModelStore, alias: str, version: int, error: type[Exception], message: str
) -> None:
    publish(store)
    with pytest.raises(error, match=message):
        store.move_alias("m", alias, version)
    assert store.aliases("m") == {}


def test_an_alias_to_a_removed_version_fails_naming_it(store: ModelStore) -> None:
    publish(store)
    publish(store)
    store.move_alias("m", "champion", 1)
    store.fs.rm(f"{store.root}/m/1", recursive=True)  # removed behind the store's back
    with pytest.raises(ModelNotFound, match="@champion names version 1, which no longer exists"):
        store.get("m", "champion")


def test_an_unreadable_newest_move_is_one_line_never_an_older_one(store: ModelStore) -> None:
    publish(store)
    publish(store)
    store.move_alias("m", "champion", 1)
    store.move_alias("m", "champion", 2)
    store.fs.pipe_file(f"{store.root}/m/_aliases/champion/000002.json", b"{not json")
    with pytest.raises(CorruptVersion, match=r"the newest move of @champion .*000002\.json"):
        store.get("m", "champion")


def test_gc_keeps_every_version_an_alias_names(store: ModelStore) -> None:
    for _ in range(4):
        publish(store)
    store.move_alias("m", "champion", 1)
    store.move_alias("m", "prod", 2)
    result = store.gc("m", keep=1)
    assert (result.removed, result.kept) == ([3], [1, 2, 4])
    assert store.get("m", "champion").version == 1


# -- races ----------------------------------------------------------------------------


def race(
    store: ModelStore, targets: list[int], base: int
) -> tuple[list[tuple[int, str]], list[str]]:
    """Movers that all decided from move ``base`` move m@champion at once, one to each of
    ``targets``, while a consumer resolves m@champion: each mover's outcome, and what the
    consumer saw that was not a whole move."""
    barrier = threading.Barrier(len(targets))
    outcomes: list[tuple[int, str]] = []
    done = threading.Event()
    torn: list[str] = []

    def move(version: int) -> None:
        barrier.wait()
        try:
            store.move_alias("m", "champion", version, expected=base)
            outcomes.append((version, "won"))
        except AliasConflict as e:
            outcomes.append((version, str(e)))

    def read() -> None:
        while not done.is_set():
            try:
                store.get("m", "champion")
            except AliasNotFound:
                pass  # before the first move
            except Exception as e:
                torn.append(f"{type(e).__name__}: {e}")

    reader = threading.Thread(target=read)
    reader.start()
    movers = [threading.Thread(target=move, args=(v,)) for v in targets]
    for t in movers:
        t.start()
    for t in movers:
        t.join(timeout=120)
    done.set()
    reader.join(timeout=120)
    return outcomes, torn


def test_two_moves_that_race_one_wins_and_the_history_stays_whole(store: ModelStore) -> None:
    """Rounds of movers that all decided from one move of the alias move it at once, to
    different versions: each round exactly one lands, the others write nothing and are told
    who won; a reader meanwhile never sees half a move; the history is the winners, each
    after the one before."""
    movers, rounds = 4, 3
    for _ in range(movers + 1):
        publish(store)
    winners: list[int] = []
    for round_ in range(rounds):
        # each to a version the alias does not name yet (a move to where it is is no move)
        targets = [v for v in range(1, movers + 2) if v not in winners[-1:]][:movers]
        outcomes, torn = race(store, targets, base=len(winners))
        assert torn == []
        won = [v for v, outcome in outcomes if outcome == "won"]
        lost = [outcome for _, outcome in outcomes if outcome != "won"]
        assert len(won) == 1 and len(lost) == movers - 1, (round_, outcomes)
        assert all(
            f"to version {won[0]}" in text and "nothing was written" in text for text in lost
        )
        winners.append(won[0])
    history = store.alias_history("m", "champion")
    assert [m.version for m in history] == winners
    assert [m.seq for m in history] == list(range(1, rounds + 1))
    assert [m.previous for m in history] == [None, *winners[:-1]]
    assert store.get("m", "champion").version == winners[-1]


def test_a_move_decided_before_another_landed_is_refused(store: ModelStore) -> None:
    publish(store)
    publish(store)
    seen = 0  # a mover read the alias while it did not exist …
    store.move_alias("m", "champion", 1)  # … another moved it meanwhile
    with pytest.raises(AliasConflict, match=r"m@champion was moved to version 1 .*nothing"):
        store.move_alias("m", "champion", 2, expected=seen)
    assert [m.version for m in store.alias_history("m", "champion")] == [1]


def test_a_move_s_record_is_this_json() -> None:
    """``_aliases/<alias>/<seq>.json`` as ``sqlml models aliases`` and a reviewer read it:
    these key names, sorted, indented by two; it reads back as the same move."""
    move = AliasMove(
        "champion", 5, 2, "2026-11-24T03:01:02Z", previous=2, by="ana@ml1", reason="manual"
    )
    assert move.to_json() == (
        "{\n"
        '  "alias": "champion",\n'
        '  "at": "2026-11-24T03:01:02Z",\n'
        '  "by": "ana@ml1",\n'
        '  "dagster_run_id": null,\n'
        '  "note": "",\n'
        '  "previous": 2,\n'
        '  "reason": "manual",\n'
        '  "seq": 2,\n'
        '  "version": 5\n'
        "}"
    )
    assert AliasMove.from_json(move.to_json()) == move


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("[1, 2]", "not an object"),
        ('{"alias": "c", "version": "5", "seq": 1, "at": "t"}', "names version '5', not a number"),
        (
            '{"alias": "c", "version": true, "seq": 1, "at": "t"}',
            "names version True, not a number",
        ),
    ],
)
def test_a_record_that_names_no_version_is_refused(text: str, refusal: str) -> None:
    with pytest.raises(ValueError) as raised:
        AliasMove.from_json(text)
    assert str(raised.value) == refusal


@pytest.mark.parametrize(
    ("name", "seq"),
    [("000001.json", 1), ("1234567.json", 1234567), ("000001.json.tmp", None), ("1.json", None)],
)
def test_only_a_move_s_file_name_has_a_sequence_number(name: str, seq: int | None) -> None:
    assert record_seq(name) == seq


# -- promotion policies -----------------------------------------------------------------

GATE = Gate("m_eval_accuracy", "accuracy", ">=", 0.8, evaluation="m_eval")


def gate(store: ModelStore, version: int, value: float) -> None:
    """Record the evaluation's outcome of GATE on ``version``."""
    store.record_gates(
        store.get("m", version),
        [
            GateResult(
                GATE.name, "accuracy", ">=", 0.8, value, GATE.passes(value), f"2026-11-2{version}"
            )
        ],
    )


# (policy, training metrics of versions 1…4, gated: accuracy each evaluation recorded, champion,
# why: what the decision says — the alias move's note, `sqlml models aliases`)
POLICIES: list[Any] = [
    pytest.param(
        "most_recent",
        [{}, {}, {}, {}],
        None,
        4,
        "the newest passing version (most_recent)",
        id="most-recent",
    ),
    pytest.param(
        "most_recent",
        [{}, {}, {}, {}],
        [0.9, 0.95, 0.7, None],
        2,
        "the newest passing version (most_recent)",
        id="most-recent-passing",
    ),
    pytest.param(
        "best_score(accuracy)",
        [{"accuracy": 0.7}, {"accuracy": 0.9}, {"accuracy": 0.8}, {}],
        None,
        2,
        "best accuracy = 0.9 among passing versions (best_score(accuracy))",
        id="best-higher-is-better",
    ),
    pytest.param(
        "best_score(rmse)",
        [{"rmse": 3.0}, {"rmse": 1.5}, {"rmse": 2.0}, {"r2": 0.9}],
        None,
        2,
        "best rmse = 1.5 among passing versions (best_score(rmse))",
        id="best-lower-is-better",
    ),
    pytest.param(
        "best_score(val_loss)",
        [{"val_loss": 0.5}, {"val_loss": 0.2}, {"val_loss": 0.2}, {"val_loss": 0.9}],
        None,
        3,
        "best val_loss = 0.2 among passing versions (best_score(val_loss))",
        id="best-tie-goes-to-the-newer",
    ),
    pytest.param(
        "best_score(accuracy)",
        [{"accuracy": 0.99}, {"accuracy": 0.5}, {"accuracy": 0.99}, {"accuracy": 0.99}],
        [0.85, 0.95, 0.75, None],
        2,
        "best accuracy = 0.95 among passing versions (best_score(accuracy))",
        id="best-evaluated-value-wins-over-training-and-gates-decide-passing",
    ),
    pytest.param(
        "best_score(auc)",
        [{"accuracy": 1.0}] * 4,
        None,
        None,
        "no passing version records auc",
        id="best-unrecorded",
    ),
    pytest.param(
        "most_recent",
        [{}] * 4,
        [0.1, 0.2, 0.3, 0.4],
        None,
        "no version passes its quality gates",
        id="none-passes",
    ),
    pytest.param(
        "manual",
        [{}] * 4,
        None,
        None,
        "promote = manual: only `sqlml models alias` moves it",
        id="manual",
    ),
]


@pytest.mark.parametrize(("policy", "metrics", "gated", "champion", "why"), POLICIES)
def test_a_policy_moves_champion_to_the_version_it_picks(
    store: ModelStore,
    policy: str,
    metrics: list[dict[str, float]],
    gated: list[float | None] | None,
    champion: int | None,
    why: str,
) -> None:
    for values in metrics:
        publish(store, values)
    for version, value in enumerate(gated or (), start=1):
        if value is not None:
            gate(store, version, value)
    gates = (GATE,) if gated is not None else ()
    parsed = PromotionPolicy.parse(policy)
    assert decide(store, "m", parsed, gates) == Decision(champion, why)
    move, said = apply_policy(store, "m", parsed, gates, run_id="run-1")
    if champion is None:
        assert move is None and "champion" not in store.aliases("m"), said
        assert said == (f"@champion stays: {why}" if parsed.automatic else policy)
        return
    assert move is not None and (move.version, move.reason) == (champion, f"promote = {policy}")
    assert (move.note, move.previous) == (why, None)
    assert move.dagster_run_id == "run-1"
    assert store.get("m", "champion").version == champion
    again, said = apply_policy(store, "m", parsed, gates)
    assert again is None and f"stays at version {champion}" in said  # nothing new: no move
