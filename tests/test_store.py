"""The model store: versions appear only when their manifest lands; failures leave nothing."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sqlml_dagster.store import ModelManifest, ModelNotFound, ModelStore


def manifest(model: str = "m") -> ModelManifest:
    return ModelManifest(
        model=model,
        version=0,
        created_at="2026-11-23T00:00:00+00:00",
        flavor="sklearn",
        model_reference="sklearn.svm.SVC",
        fingerprint="f",
        statement_fingerprint="s",
        training_data_fingerprint="d",
    )


def test_publish_makes_a_version_visible_with_checksums(tmp_path: Path) -> None:
    store = ModelStore(str(tmp_path))
    pending = store.reserve("m")
    assert (pending.version, store.versions("m")) == (1, [])  # reserved is not visible
    Path(pending.uri, "model.bin").write_bytes(b"weights")
    published = store.publish(pending, manifest())
    assert published.version == 1
    assert published.manifest.artifacts == {"model.bin": hashlib.sha256(b"weights").hexdigest()}
    assert [v.version for v in store.versions("m")] == [1]
    assert not Path(pending.uri, ".pending").exists()
    assert store.get("m").version == 1


def test_discarded_versions_leave_nothing_and_numbers_do_not_clash(tmp_path: Path) -> None:
    store = ModelStore(str(tmp_path))
    first = store.reserve("m")
    store.discard(first)
    assert not Path(first.uri).exists()
    second = store.reserve("m")
    third = store.reserve("m")
    assert (second.version, third.version) == (1, 2)


def test_concurrent_reservations_get_distinct_versions(tmp_path: Path) -> None:
    store = ModelStore(str(tmp_path))
    with ThreadPoolExecutor(8) as pool:
        versions = list(pool.map(lambda _: store.reserve("m").version, range(16)))
    assert sorted(versions) == list(range(1, 17))


def test_missing_versions_name_what_exists(tmp_path: Path) -> None:
    store = ModelStore(str(tmp_path))
    with pytest.raises(ModelNotFound, match="has no published version"):
        store.get("m")
    store.publish(store.reserve("m"), manifest())
    with pytest.raises(ModelNotFound, match="has no version 7; versions: 1"):
        store.get("m", 7)
