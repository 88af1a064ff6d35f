"""A failed training's checkpoint waits for the next try of the same training: the
orchestrator parks it by the model's fingerprint before it discards the reservation, and a
new reservation of the same fingerprint (a Dagster retry reserves a new number) adopts it
— one of another fingerprint never does. Publishing removes it: it is never one of the
version's artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlml_dagster.store import ModelStore, PendingVersion

from .test_store import manifest

CHECKPOINT = Path(".checkpoint") / "state.pt"


def with_checkpoint(store: ModelStore, root: Path, content: bytes = b"epoch 3") -> PendingVersion:
    pending = store.reserve("m")
    path = root / "m" / str(pending.version) / CHECKPOINT
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    return pending


@pytest.mark.parametrize(
    ("retry_fingerprint", "resumes"),
    [("fp-1", True), ("fp-2", False)],
    ids=["the same training", "another training"],
)
def test_a_failed_trainings_checkpoint_goes_to_the_next_try_of_the_same_training(
    tmp_path: Path, retry_fingerprint: str, resumes: bool
) -> None:
    store = ModelStore(str(tmp_path))
    failed = with_checkpoint(store, tmp_path)
    assert store.park_checkpoint(failed, "fp-1")
    assert store.discard(failed, reason="killed")
    assert not (tmp_path / "m" / "1" / CHECKPOINT).exists()

    retry = store.reserve("m")
    assert retry.version == 2
    assert store.adopt_checkpoint(retry, retry_fingerprint) is resumes
    adopted = tmp_path / "m" / "2" / CHECKPOINT
    assert adopted.exists() is resumes
    if resumes:
        assert adopted.read_bytes() == b"epoch 3"
        assert not (tmp_path / "m" / ".checkpoints" / "fp-1").exists()  # moved, not copied


def test_nothing_to_park_without_a_checkpoint(tmp_path: Path) -> None:
    store = ModelStore(str(tmp_path))
    assert store.park_checkpoint(store.reserve("m"), "fp-1") is False


def test_publishing_removes_the_checkpoint(tmp_path: Path) -> None:
    store = ModelStore(str(tmp_path))
    pending = with_checkpoint(store, tmp_path)
    (tmp_path / "m" / "1" / "model.skops").write_bytes(b"model")
    published = store.publish(pending, manifest())
    assert sorted(published.manifest.artifacts) == ["model.skops"]
    assert not (tmp_path / "m" / "1" / ".checkpoint").exists()
    assert [v.version for v in store.versions("m")] == [1]


def test_gc_removes_a_parked_checkpoint_no_retry_came_for(tmp_path: Path) -> None:
    import os
    import time

    store = ModelStore(str(tmp_path))
    for fingerprint in ("old", "recent"):
        pending = with_checkpoint(store, tmp_path)
        store.park_checkpoint(pending, fingerprint)
        store.discard(pending)
    week_ago = time.time() - 8 * 86400
    os.utime(tmp_path / "m" / ".checkpoints" / "old" / "state.pt", (week_ago, week_ago))

    assert store.gc("m", keep=1, dry_run=True).checkpoints == ["old"]
    assert (tmp_path / "m" / ".checkpoints" / "old").exists()  # a dry run removes nothing
    assert store.gc("m", keep=1).checkpoints == ["old"]
    assert sorted(p.name for p in (tmp_path / "m" / ".checkpoints").iterdir()) == ["recent"]
