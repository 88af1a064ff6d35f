"""The model store keeps its promises against hostile names, ``gc``, concurrent runs and
damage, on a local folder and on S3 (moto on loopback), with real processes where runs
race:

- a name that would leave the store is refused by every path the store joins (the API,
  ``sqlml models …``, ``DROP MODEL`` typed into ``sqlml run-sql``) and nothing outside
  the store changes;
- ``gc`` keeps a training whose lease is being renewed, removes one whose lease expired,
  and never lets a number be handed out twice;
- a failing training's cleanup touches only its own reservation;
- ``sqlml models gc`` without the project keeps what its SQL pins (or refuses);
- a damaged version is listed as damaged (file and reason) and never silently replaced
  by an older one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sqlml_dagster import cli
from sqlml_dagster.catalog import Catalog
from sqlml_dagster.compiler import compile_project
from sqlml_dagster.compiler.manifest import project_manifest
from sqlml_dagster.contract import USER_ERROR_EXIT_CODE
from sqlml_dagster.store import ModelNotFound, ModelStore
from sqlml_dagster.store.gates import Gate, GateResult
from sqlml_dagster.store.models import (
    BadName,
    CorruptVersion,
    DamagedVersion,
    PendingVersion,
    ReservationLost,
    verify_artifacts,
)

from .test_store import manifest, publish, write

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def store(store_url: tuple[str, dict[str, Any]]) -> ModelStore:
    url, options = store_url
    return ModelStore(url, **options)


# -- names ----------------------------------------------------------------------------

ESCAPING_NAMES = [
    pytest.param("../victim", id="parent"),
    pytest.param("../../victim", id="grandparent"),
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("", id="empty"),
    pytest.param("/tmp/victim", id="absolute"),
    pytest.param("a/../../victim", id="inner-dotdot"),
    pytest.param("..\\victim", id="backslash"),
    pytest.param("vict\x00im", id="nul"),
    pytest.param("\u0456ris", id="cyrillic"),
    pytest.param("x" * 300, id="300-chars"),
    pytest.param("a.b.c.d", id="4-parts"),
]

#: Every way into the store that takes a model name.
OPERATIONS: list[tuple[str, Callable[[ModelStore, str], object]]] = [
    ("reserve", lambda s, m: s.reserve(m)),
    ("get", lambda s, m: s.get(m)),
    ("get-version", lambda s, m: s.get(m, 1)),
    ("listing", lambda s, m: s.listing(m)),
    ("folders", lambda s, m: s.folders(m)),
    ("promote", lambda s, m: s.promote(m, 1)),
    ("gc", lambda s, m: s.gc(m, keep=1)),
    ("drop", lambda s, m: s.drop(m)),
    ("model_uri", lambda s, m: s.model_uri(m)),
    ("gate_results", lambda s, m: s.gate_results(m, 1)),
    (
        "publish-forged",
        lambda s, m: s.publish(PendingVersion(m, 1, f"{s.url}/{m}/1", token="t"), manifest()),
    ),
    ("discard-forged", lambda s, m: s.discard(PendingVersion(m, 1, f"{s.url}/{m}/1", "t"))),
]


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A folder beside the store (``<tmp>/victim``) that no name may reach."""
    folder = tmp_path / "victim"
    (folder / "1").mkdir(parents=True)
    (folder / "1" / "precious.txt").write_text("keep me")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", ESCAPING_NAMES)
@pytest.mark.parametrize(("operation", "call"), OPERATIONS, ids=[o for o, _ in OPERATIONS])
def test_no_store_operation_accepts_a_name_that_leaves_the_store(
    tmp_path: Path, victim: Path, name: str, operation: str, call: Callable[..., object]
) -> None:
    store = ModelStore(str(tmp_path / "store"))
    publish(store, "m")  # a store with something in it
    before, store_before = snapshot(victim), snapshot(tmp_path / "store")
    with pytest.raises(BadName, match=r"is not a model name|is not a file name"):
        call(store, name)
    assert snapshot(victim) == before  # nothing outside was written or deleted
    assert snapshot(tmp_path / "store") == store_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store", "victim"]


def test_a_gate_name_cannot_leave_its_version_folder(store: ModelStore) -> None:
    publish(store)
    version = store.get("m")
    outcome = GateResult("../../../x", "accuracy", ">=", 0.9, 0.95, True, "2026-01-01")
    with pytest.raises(BadName, match="not a file name inside model 'm'"):
        store.record_gates(version, [outcome])


def test_names_the_rule_accepts_work_on_both_file_systems(store: ModelStore) -> None:
    for name in ("a-b", "main.iris_rf", "_private", "y" * 63):
        assert publish(store, name) == 1
        assert store.get(name).version == 1
    assert store.models() == sorted(["a-b", "main.iris_rf", "_private", "y" * 63])


CLI_ESCAPES = [
    pytest.param(["models", "show", "../victim"], id="models-show"),
    pytest.param(["models", "show", "../victim@1"], id="models-show-version"),
    pytest.param(["models", "list", "../victim"], id="models-list"),
    pytest.param(["models", "promote", "../victim@1"], id="models-promote"),
    pytest.param(["models", "diff", "../victim@1", "m@1"], id="models-diff"),
    pytest.param(["models", "gc", "../victim", "--keep", "1", "--ignore-pins"], id="models-gc"),
    pytest.param(["run-sql", 'DROP MODEL "../victim"'], id="run-sql-drop-model"),
    pytest.param(["run-sql", 'DROP MODEL IF EXISTS "../../victim"'], id="run-sql-drop-if-exists"),
    pytest.param(["run-sql", 'DESCRIBE MODEL "/tmp/victim"'], id="run-sql-describe"),
    pytest.param(["run-sql", 'SELECT ML_PREDICT("../victim", 1)'], id="run-sql-ml-predict"),
]


@pytest.mark.parametrize("argv", CLI_ESCAPES)
def test_the_cli_refuses_a_name_that_leaves_the_store_in_one_line(
    tmp_path: Path, victim: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    store = ModelStore(str(tmp_path / "store"))
    publish(store, "m")
    before = snapshot(victim)
    code = cli.main([*argv, "--model-store", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    assert "is not a model name" in err or "error[SQLML117]" in err
    assert snapshot(victim) == before
    assert [v.version for v in store.versions("m")] == [1]


# -- leases: gc and a running training -------------------------------------------------


def _train_and_renew(
    url: str, options: dict[str, Any], lease: float, every: float, events: Any, replies: Any
) -> None:
    """A training in another process: reserve, renew the lease every ``every`` seconds
    until told to stop renewing, then try to publish; reports each step on ``replies``."""
    store = ModelStore(url, **options)
    pending = store.reserve("m", run_id="run-a", step="m", lease=timedelta(seconds=lease))
    write(store, pending.uri, "model.bin", b"weights")
    with store.keep_alive(pending, every=every):
        replies.put(("reserved", pending.version))
        events.get(timeout=120)  # "stop renewing"
    replies.put(("stopped", pending.version))
    events.get(timeout=120)  # "publish"
    try:
        store.publish(pending, manifest())
        replies.put(("published", pending.version))
    except ReservationLost as e:
        replies.put(("lost", str(e)))


def start_training(
    url: str, options: dict[str, Any], lease: float, every: float
) -> tuple[Any, Any, Any]:
    events, replies = SPAWN.Queue(), SPAWN.Queue()
    child = SPAWN.Process(
        target=_train_and_renew, args=(url, options, lease, every, events, replies)
    )
    child.start()
    return child, events, replies


@pytest.mark.slow
def test_gc_keeps_a_training_whose_lease_is_renewed_and_removes_it_once_it_expires(
    store: ModelStore, store_url: tuple[str, dict[str, Any]]
) -> None:
    url, options = store_url
    lease = 2.0
    child, events, replies = start_training(url, options, lease, lease / 10)
    try:
        assert replies.get(timeout=120) == ("reserved", 1)
        time.sleep(lease * 1.5)  # older than its lease: only the renewals keep it alive
        result = store.gc("m", keep=1, grace=timedelta(0))
        assert (result.cleaned, result.running) == ([], [1])
        assert [f.number for f in store.folders("m")] == [1]
        owner = store.owner("m", 1)
        assert owner is not None
        assert (owner.run_id, owner.step, owner.pid) == ("run-a", "m", child.pid)
        events.put("stop renewing")
        assert replies.get(timeout=120) == ("stopped", 1)
        time.sleep(lease + 1.5)  # S3 timestamps have one-second steps
        result = store.gc("m", keep=1, grace=timedelta(0))
        assert (result.cleaned, result.running) == ([1], [])
        events.put("publish")
        kind, message = replies.get(timeout=120)
        assert kind == "lost" and "m@1 was not published: its reservation is gone" in message
        assert store.versions("m") == [] and store.folders("m") == []
        assert store.reserve("m").version == 2  # 1 is never handed out again
    finally:
        child.join(timeout=60)


@pytest.mark.slow
def test_a_live_training_older_than_a_day_is_not_taken_for_abandoned(tmp_path: Path) -> None:
    """The old rule removed any reservation older than 24 hours, so a long training lost
    its version. Here the reservation and its artifact are a day old, but the lease is
    being renewed: gc keeps it, and the training publishes."""
    store = ModelStore(str(tmp_path / "models"))
    child, events, replies = start_training(store.url, {}, 600.0, 0.1)
    try:
        assert replies.get(timeout=120) == ("reserved", 1)
        day_ago = time.time() - 25 * 3600
        for name in (".pending", "model.bin"):
            os.utime(tmp_path / "models" / "m" / "1" / name, (day_ago, day_ago))
        time.sleep(0.5)  # a few renewals
        assert store.gc("m", keep=1).running == [1]
        assert [f.number for f in store.folders("m")] == [1]
        assert not store.renew(PendingVersion("m", 1, "", token="not-the-owner"))
        events.put("stop renewing")
        assert replies.get(timeout=120) == ("stopped", 1)
        events.put("publish")
        assert replies.get(timeout=120) == ("published", 1)
        assert store.get("m").version == 1
    finally:
        child.join(timeout=60)


# -- numbers are never handed out twice --------------------------------------------------


def abandon(store: ModelStore) -> int:
    """A training killed outright: a reservation nobody renews (its lease already over)."""
    return store.reserve("m", lease=timedelta(milliseconds=1)).version


def fail(store: ModelStore) -> int:
    pending = store.reserve("m")
    write(store, pending.uri, "model.bin", b"half")
    assert store.discard(pending, reason="the step failed")
    return pending.version


def gc(store: ModelStore) -> int:
    store.gc("m", keep=1, grace=timedelta(0))
    return 0


def drop(store: ModelStore) -> int:
    store.drop("m")
    return 0


# (what happens, in order) — after it, the next reservation is above every number seen
NEVER_REUSED = [
    pytest.param([publish, abandon, gc], id="expired-reservation-on-top-collected"),
    pytest.param([publish, fail, fail, gc], id="tombstones-on-top-collected"),
    pytest.param([fail, gc, fail, gc], id="only-tombstones-ever"),
    pytest.param([publish, publish, publish, gc, abandon, fail, gc], id="mixed"),
    pytest.param([publish, publish, drop], id="model-dropped"),
    pytest.param([publish, abandon, drop, gc], id="dropped-then-collected"),
]


@pytest.mark.parametrize("steps", NEVER_REUSED)
def test_a_version_number_is_never_handed_out_twice(
    store: ModelStore, steps: list[Callable[[ModelStore], int]]
) -> None:
    handed_out = [n for step in steps if (n := step(store))]
    assert store.reserve("m").version == max(handed_out) + 1
    assert store.high_water("m") == max(handed_out) + 1


def test_two_collectors_at_once_never_lower_the_mark(store: ModelStore) -> None:
    for _ in range(3):
        fail(store)
    store._raise_high_water("m", 3)  # what a slower collector that saw 1 to 3 writes …
    store._raise_high_water("m", 2)  # … after a faster one that had seen less
    store.gc("m", keep=1, grace=timedelta(0))
    assert store.folders("m") == [] and store.reserve("m").version == 4


# -- cleanup removes only what its owner created ---------------------------------------


def _failing_training(url: str, options: dict[str, Any], events: Any, replies: Any) -> None:
    """Reserve, write half a model, wait; then fail: discard — and try to publish too."""
    store = ModelStore(url, **options)
    pending = store.reserve("m", run_id="run-a", lease=timedelta(milliseconds=1))
    write(store, pending.uri, "model.bin", b"half a model from run a")
    replies.put(("reserved", pending.version))
    events.get(timeout=120)
    replies.put(("discarded", store.discard(pending, reason="run a failed")))
    try:
        store.publish(pending, manifest())
        replies.put(("published", pending.version))
    except ReservationLost as e:
        replies.put(("lost", str(e)))


def _older_release_publishes(url: str, options: dict[str, Any], number: int, replies: Any) -> None:
    """Another run's writer that claims ``number`` itself — an older release that counts
    from the folders it sees — and publishes its version there."""
    store = ModelStore(url, **options)
    folder = f"{store.root}/m/{number}"
    store.fs.makedirs(folder, exist_ok=True)
    with store.fs.open(f"{folder}/.pending", "xb") as f:
        f.write(json.dumps({"token": "run-b", "run_id": "run-b"}).encode())
    pending = PendingVersion("m", number, store._uri(folder), token="run-b")
    write(store, pending.uri, "model.bin", b"run b's model")
    replies.put(("published", store.publish(pending, manifest()).version))


@pytest.mark.slow
def test_a_failing_training_never_deletes_another_runs_version(
    store: ModelStore, store_url: tuple[str, dict[str, Any]]
) -> None:
    url, options = store_url
    events, replies = SPAWN.Queue(), SPAWN.Queue()
    run_a = SPAWN.Process(target=_failing_training, args=(url, options, events, replies))
    run_a.start()
    try:
        assert replies.get(timeout=120) == ("reserved", 1)
        time.sleep(1.5)  # run a stopped renewing (it hangs): its lease expires
        assert store.gc("m", keep=1, grace=timedelta(0)).cleaned == [1]
        run_b = SPAWN.Process(target=_older_release_publishes, args=(url, options, 1, replies))
        run_b.start()
        run_b.join(timeout=120)
        assert replies.get(timeout=120) == ("published", 1)
        events.put("fail now")
        assert replies.get(timeout=120) == ("discarded", False)  # not its folder: untouched
        kind, message = replies.get(timeout=120)
        assert (kind, message.split(": ", 1)[1]) == (
            "lost",
            "the folder holds a published version; run the step again",
        )
    finally:
        run_a.join(timeout=60)
    version = store.get("m", 1)
    assert verify_artifacts(version.uri, **options).version == 1
    with store.fs.open(f"{version.uri}/model.bin", "rb") as f:
        assert f.read() == b"run b's model"


# -- gc and the project's pins ----------------------------------------------------------


@pytest.fixture
def pinned_store(
    tmp_path: Path, write_project: Callable[[dict[str, str]], Path]
) -> tuple[Path, Path]:
    """Versions 1 to 3 of m; the project's SQL pins m@1. Returns (store, manifest file)."""
    store = ModelStore(str(tmp_path / "store"))
    for _ in range(3):
        publish(store)
    project = compile_project(
        write_project(
            {
                "m.sql": """
                    SELECT * FROM src TO TRAIN sklearn.svm.SVC LABEL y INTO m;
                    SELECT * FROM src TO PREDICT out.y USING m@1;
                """
            }
        )
    )
    manifest_file = tmp_path / "project.json"
    manifest_file.write_text(project_manifest(project).to_json())
    return tmp_path / "store", manifest_file


# (extra arguments of `sqlml models gc m --keep 1`, exit code, versions left, message)
GC_PINS = [
    pytest.param(
        [], 1, [1, 2, 3], "gc does not know which versions the project pins", id="no-project"
    ),
    pytest.param(["--dry-run"], 0, [1, 2, 3], "dry run", id="dry-run-without-project"),
    pytest.param(["--manifest", "{manifest}"], 0, [1, 3], "", id="project-manifest"),
    pytest.param(["--ignore-pins"], 0, [3], "pins not known", id="ignore-pins"),
]


@pytest.mark.parametrize(("extra", "code", "left", "message"), GC_PINS)
def test_gc_without_the_project_keeps_pinned_versions_or_refuses(
    pinned_store: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    code: int,
    left: list[int],
    message: str,
) -> None:
    store_dir, manifest_file = pinned_store
    args = [a.format(manifest=manifest_file) for a in extra]
    result = cli.main(["models", "gc", "m", "--keep", "1", "--model-store", str(store_dir), *args])
    captured = capsys.readouterr()
    assert result == code, captured.err
    assert message in captured.out + captured.err
    assert "Traceback" not in captured.err
    assert [v.version for v in ModelStore(str(store_dir)).versions("m")] == left


def test_gc_keeps_the_version_a_gated_models_consumers_use(store: ModelStore) -> None:
    for _ in range(3):
        publish(store)
    gate = Gate("acc", "accuracy", ">=", 0.9)
    passed = GateResult("acc", "accuracy", ">=", 0.9, 0.95, True, "2026-01-01")
    failed = GateResult("acc", "accuracy", ">=", 0.9, 0.5, False, "2026-01-01")
    store.record_gates(store.get("m", 1), [passed])
    store.record_gates(store.get("m", 3), [failed])
    result = Catalog(store, pinned={}, gates={"m": (gate,)}).gc("m", keep=1)
    assert (result.removed, result.kept) == ([2], [1, 3])


# -- damaged versions -------------------------------------------------------------------


def damage_manifest(text: bytes) -> Callable[[ModelStore, str], None]:
    def damage(store: ModelStore, uri: str) -> None:
        with store.fs.open(f"{uri}/manifest.json", "wb") as f:
            f.write(text)

    return damage


def truncate(store: ModelStore, uri: str) -> None:
    write(store, uri, "model.bin", b"wei")


def remove_artifact(store: ModelStore, uri: str) -> None:
    store.fs.rm(f"{uri}/model.bin")


def renumber(store: ModelStore, uri: str) -> None:
    with store.fs.open(f"{uri}/manifest.json", "rb") as f:
        raw = json.loads(f.read())
    damage_manifest(json.dumps({**raw, "version": 7}).encode())(store, uri)


# (how a version is damaged, the file named, the reason)
DAMAGE = [
    pytest.param(damage_manifest(b"{"), "manifest.json", "is not valid JSON", id="manifest-cut"),
    pytest.param(damage_manifest(b""), "manifest.json", "is empty", id="manifest-empty"),
    pytest.param(
        damage_manifest(b"\xff\xfe\x00"), "manifest.json", "is not UTF-8", id="manifest-binary"
    ),
    pytest.param(
        damage_manifest(b"[1, 2]"), "manifest.json", "not an object", id="manifest-a-list"
    ),
    pytest.param(
        damage_manifest(b'{"model": "m"}'),
        "manifest.json",
        "lacks created_at",
        id="manifest-fields",
    ),
    pytest.param(
        damage_manifest(
            b'{"model": "m", "version": "2", "created_at": "", "flavor": "", "model_reference": "", "fingerprint": "", "statement_fingerprint": "", "training_data_fingerprint": ""}'
        ),
        "manifest.json",
        "has version '2'",
        id="manifest-version-text",
    ),
    pytest.param(renumber, "manifest.json", "says version 7", id="manifest-of-another-version"),
    pytest.param(
        truncate, "model.bin", "has 3 bytes, the manifest says 7", id="artifact-truncated"
    ),
    pytest.param(remove_artifact, "model.bin", "is missing", id="artifact-missing"),
]


@pytest.mark.parametrize(("damage", "file", "reason"), DAMAGE)
def test_a_damaged_old_version_is_listed_and_breaks_nothing(
    store: ModelStore, damage: Callable[[ModelStore, str], None], file: str, reason: str
) -> None:
    publish(store)
    publish(store)
    damage(store, store.get("m", 1).uri)
    (damaged,) = store.damaged("m")
    assert (damaged.number, damaged.file) == (1, file) and reason in damaged.reason
    assert [v.version for v in store.versions("m")] == [2]
    assert store.get("m").version == 2  # @latest is fine
    with pytest.raises(CorruptVersion, match=f"model 'm' version 1 is damaged \\({file}: "):
        store.get("m", 1)
    rows = Catalog(store).list_versions("m").rows
    assert [(r[0], r[1].split(":")[0]) for r in rows] == [(1, "damaged"), (2, "@latest")]
    assert publish(store) == 3  # training goes on
    store.gc("m", keep=1, pinned={1}, grace=timedelta(0))  # and retention
    assert [d.number for d in store.damaged("m")] == [1]


@pytest.mark.parametrize(("damage", "file", "reason"), DAMAGE)
def test_a_damaged_latest_is_never_replaced_by_an_older_version(
    store: ModelStore, damage: Callable[[ModelStore, str], None], file: str, reason: str
) -> None:
    publish(store)
    publish(store)
    damage(store, store.get("m", 2).uri)
    with pytest.raises(CorruptVersion) as raised:
        store.get("m")
    line = str(raised.value)
    assert line.startswith(f"model 'm' version 2 is damaged ({file}: ") and reason in line
    assert "\n" not in line
    with pytest.raises(CorruptVersion):
        store.latest("m")
    assert store.get("m", 1).version == 1  # a pin still works
    table = Catalog(store).show_models()
    assert table.rows[0][2].startswith(f"2 damaged ({file}: ")
    listing = Catalog(store).list_versions("m").rows
    assert listing[1][1].startswith(f"@latest damaged: {file}: ")
    store.promote("m", 1)  # what the message suggests: a rollback
    assert store.get("m").version == 1


def test_a_damaged_latest_fails_a_gated_consumer_that_would_pick_it(store: ModelStore) -> None:
    for _ in range(3):
        publish(store)
    gate = Gate("acc", "accuracy", ">=", 0.9)
    passed = GateResult("acc", "accuracy", ">=", 0.9, 0.95, True, "2026-01-01")
    failed = GateResult("acc", "accuracy", ">=", 0.9, 0.5, False, "2026-01-01")
    for number, outcome in ((1, passed), (2, passed), (3, failed)):
        store.record_gates(store.get("m", number), [outcome])
    truncate(store, store.get("m", 3).uri)
    assert store.get("m", gates=[gate]).version == 2  # 3 fails its gate: passed over anyway
    truncate(store, store.get("m", 2).uri)
    with pytest.raises(CorruptVersion, match="model 'm' version 2 is damaged"):
        store.get("m", gates=[gate])  # 2 is the answer, and it is damaged: never 1


def test_an_unreadable_rollback_or_gate_record_is_one_line(store: ModelStore) -> None:
    publish(store)
    publish(store)
    store.record_gates(
        store.get("m", 2), [GateResult("acc", "accuracy", ">=", 0.9, 0.95, True, "x")]
    )
    with store.fs.open(f"{store.get('m', 2).uri}/checks/acc.json", "wb") as f:
        f.write(b"{not json")
    gate = Gate("acc", "accuracy", ">=", 0.9)
    assert store.gate_status("m", 2, [gate]).missing == ("acc",)  # not passed: fail closed
    store.promote("m", 1)
    with store.fs.open(f"{store.model_uri('m')}/_promoted.json", "wb") as f:
        f.write(b"\x00garbage")
    with pytest.raises(CorruptVersion, match=r"_promoted.json \(a rollback\) does not read"):
        store.get("m")


def test_the_cli_lists_damage_and_fails_one_line_on_a_damaged_latest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    (tmp_path / "state").mkdir()
    duckdb.connect(str(tmp_path / "state" / "warehouse.duckdb")).close()
    monkeypatch.setenv("SQLML_STATE_DIR", str(tmp_path / "state"))
    store = ModelStore(str(tmp_path / "store"))
    publish(store)
    publish(store)
    damage_manifest(b"{")(store, store.get("m", 1).uri)
    truncate(store, store.get("m", 2).uri)
    where = ["--model-store", str(tmp_path / "store")]
    assert cli.main(["models", "list", "m", *where]) == 0
    out = capsys.readouterr().out
    assert "damaged: manifest.json: is not valid JSON" in out
    assert "@latest damaged: model.bin: has 3 bytes, the manifest says 7" in out
    assert cli.main(["models", "list", *where]) == 0
    assert "2 damaged (model.bin: has 3 bytes" in capsys.readouterr().out
    assert cli.main(["models", "show", "m", *where]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "sqlml: model 'm' version 2 is damaged (model.bin: has 3 bytes, the manifest says 7); "
        "retrain it, promote another version (sqlml models promote m@N) or pin one (USING m@N)"
    ]
    assert cli.main(["run-sql", "SELECT ML_PREDICT(m, 1.0) AS y", *where]) == 1
    assert "model 'm' version 2 is damaged" in capsys.readouterr().err


def test_verify_artifacts_reads_a_damaged_manifest_as_one_line(
    store: ModelStore, store_url: tuple[str, dict[str, Any]]
) -> None:
    publish(store)
    uri = store.get("m").uri
    damage_manifest(b"{")(store, uri)
    with pytest.raises(CorruptVersion, match=r"manifest.json is not valid JSON"):
        verify_artifacts(uri, **store_url[1])


def test_gc_and_reserve_skip_nothing_for_a_store_with_foreign_folders(tmp_path: Path) -> None:
    """Folders whose names the rule refuses are not the store's models: listing skips them."""
    store = ModelStore(str(tmp_path / "store"))
    publish(store)
    (tmp_path / "store" / "caf\u00e9").mkdir()
    (tmp_path / "store" / ".trash").mkdir()
    assert store.models() == ["m"]


def test_a_missing_version_still_names_the_usable_and_damaged_ones(store: ModelStore) -> None:
    with pytest.raises(ModelNotFound, match="has no published version"):
        store.get("m")
    publish(store)
    publish(store)
    truncate(store, store.get("m", 1).uri)
    with pytest.raises(ModelNotFound, match="has no version 7; versions: 1, 2"):
        store.get("m", 7)
    assert store.damaged("m") == [
        DamagedVersion(1, "model.bin", "has 3 bytes, the manifest says 7")
    ]


# -- a forged StepSpec -----------------------------------------------------------------

# (model_name, model_uri relative to tmp_path, the one line the step fails with)
FORGED_SPECS = [
    pytest.param("m", "victim/1", "is not a version folder of 'm'", id="uri-outside-the-store"),
    pytest.param(
        "victim", "victim/1", "is not a version folder of 'victim'", id="name-and-uri-outside"
    ),
    pytest.param("m", "store/m/../../victim/1", "is not a plain path", id="uri-with-dotdot"),
    pytest.param("../victim", "store/../victim/1", "is not a model name", id="name-with-dotdot"),
    pytest.param("m", "store/m/latest", "is not a version folder of 'm'", id="not-a-number"),
]


@pytest.mark.parametrize(("model_name", "model_uri", "line"), FORGED_SPECS)
@pytest.mark.slow
def test_a_forged_step_spec_cannot_make_a_step_write_outside_the_store(
    tmp_path: Path, victim: Path, model_name: str, model_uri: str, line: str
) -> None:
    """The runtime (a real process, as a launcher starts it) refuses a spec whose version
    folder is not ``<model store>/<model>/<number>`` before it reads or writes anything."""
    import subprocess
    import sys

    from sqlml_dagster.contract import StepSpec
    from sqlml_dagster.contract.layout import STEP_MODEL_STORE_ENV

    (tmp_path / "store").mkdir()
    spec = StepSpec(
        kind="train",
        step_id="forged",
        model_name=model_name,
        model_reference="sklearn.tree.DecisionTreeClassifier",
        flavor="sklearn",
        input_uri=str(tmp_path / "missing.parquet"),
        label="y",
        model_uri=str(tmp_path / model_uri),
    )
    (tmp_path / "spec.json").write_text(spec.to_json())
    before = snapshot(victim)
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(tmp_path / "spec.json")],
        env={**os.environ, STEP_MODEL_STORE_ENV: str(tmp_path / "store")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == USER_ERROR_EXIT_CODE  # a user error (contract/exits.py)
    assert done.stderr.strip().splitlines()[-1].startswith("sqlml step failed: the step's ")
    assert line in done.stderr and "Traceback" not in done.stderr
    assert snapshot(victim) == before
    assert list((tmp_path / "store").iterdir()) == []
