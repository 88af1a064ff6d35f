"""The model store, on a local folder and on an S3 server (moto, loopback) through s3fs:
versions appear only when their manifest lands, numbers are claimed exclusively and never
come back, damaged artifacts are refused, and rollbacks and retention keep what is pinned.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sqlml_dagster.store import ModelManifest, ModelNotFound, ModelStore
from sqlml_dagster.store.data import DataStore
from sqlml_dagster.store.models import CorruptVersion, DamagedVersion, verify_artifacts


def manifest(model: str = "m", fingerprint: str = "f") -> ModelManifest:
    return ModelManifest(
        model=model,
        version=0,
        created_at="2026-11-23T00:00:00+00:00",
        flavor="sklearn",
        model_reference="sklearn.svm.SVC",
        fingerprint=fingerprint,
        statement_fingerprint="s",
        training_data_fingerprint="d",
    )


@pytest.fixture
def store(store_url: tuple[str, dict[str, Any]]) -> ModelStore:
    url, options = store_url
    return ModelStore(url, **options)


def write(store: ModelStore, uri: str, name: str, data: bytes) -> None:
    with store.fs.open(f"{uri}/{name}", "wb") as f:
        f.write(data)


def publish(store: ModelStore, model: str = "m", data: bytes = b"weights") -> int:
    pending = store.reserve(model)
    write(store, pending.uri, "model.bin", data)
    return store.publish(pending, manifest(model)).version


def test_publish_makes_a_version_visible_with_checksums(
    store: ModelStore, store_url: tuple[str, dict[str, Any]]
) -> None:
    pending = store.reserve("m")
    assert (pending.version, store.versions("m")) == (1, [])  # reserved is not visible
    write(store, pending.uri, "model.bin", b"weights")
    assert store.versions("m") == []  # artifacts without a manifest are not a version
    published = store.publish(pending, manifest())
    assert published.version == 1
    assert published.manifest.artifacts == {"model.bin": hashlib.sha256(b"weights").hexdigest()}
    assert published.manifest.artifact_sizes == {"model.bin": 7}
    assert [v.version for v in store.versions("m")] == [1]
    assert [f.state for f in store.folders("m")] == ["published"]
    assert store.get("m").version == 1
    assert store.models() == ["m"]
    assert verify_artifacts(published.uri, **store_url[1]).version == 1


def test_failed_versions_leave_a_tombstone_and_numbers_never_come_back(
    store: ModelStore,
) -> None:
    first = store.reserve("m")
    write(store, first.uri, "model.bin", b"half a mod")
    store.discard(first, reason="the step failed")
    assert [(f.number, f.state, sorted(f.files)) for f in store.folders("m")] == [
        (1, "discarded", [".discarded", ".pending"])
    ]
    assert (store.reserve("m").version, store.reserve("m").version) == (2, 3)
    assert store.versions("m") == []


def test_concurrent_reservations_get_distinct_versions(store: ModelStore) -> None:
    with ThreadPoolExecutor(8) as pool:
        versions = list(pool.map(lambda _: store.reserve("m").version, range(12)))
    assert sorted(versions) == list(range(1, 13))


def test_missing_versions_name_what_exists(store: ModelStore) -> None:
    with pytest.raises(ModelNotFound, match="has no published version"):
        store.get("m")
    publish(store)
    with pytest.raises(ModelNotFound, match="has no version 7; versions: 1"):
        store.get("m", 7)


def test_a_killed_training_leaves_an_invisible_pending_folder_that_gc_cleans(
    store: ModelStore,
) -> None:
    killed = store.reserve("m", lease=timedelta(milliseconds=1))  # nobody renews it
    write(store, killed.uri, "model.bin", b"partial")
    assert publish(store) == 2
    assert [v.version for v in store.versions("m")] == [2]
    assert [(f.number, f.state) for f in store.folders("m")] == [(1, "pending"), (2, "published")]
    # within its lease plus the grace for clock skew, a reservation may be a running training
    assert (store.gc("m", keep=5).cleaned, store.gc("m", keep=5).running) == ([], [1])
    assert store.gc("m", keep=5, grace=timedelta(0)).cleaned == [1]  # its lease expired
    assert [f.number for f in store.folders("m")] == [2]
    assert store.reserve("m").version == 3  # and its number never comes back


def test_a_changed_artifact_is_refused_by_checksum(
    store: ModelStore, store_url: tuple[str, dict[str, Any]]
) -> None:
    publish(store, data=b"weights")
    version = store.get("m")
    write(store, version.uri, "model.bin", b"WEIGHTS")  # same size, other bytes
    assert [v.version for v in store.versions("m")] == [1]  # listing checks sizes only
    with pytest.raises(CorruptVersion, match=r"m@1: artifact model\.bin does not match its"):
        verify_artifacts(version.uri, **store_url[1])


def test_a_truncated_artifact_damages_the_version_and_says_why(store: ModelStore) -> None:
    publish(store, data=b"weights")
    publish(store, data=b"weights 2")
    write(store, store.get("m", 2).uri, "model.bin", b"wei")
    assert [v.version for v in store.versions("m")] == [1]
    assert store.damaged("m") == [
        DamagedVersion(2, "model.bin", "has 3 bytes, the manifest says 9")
    ]
    damaged = r"model 'm' version 2 is damaged \(model\.bin: has 3 bytes, the manifest says 9\)"
    with pytest.raises(CorruptVersion, match=damaged):
        store.get("m", 2)
    with pytest.raises(CorruptVersion, match=damaged):  # never version 1 in its place
        store.get("m")


def test_promote_rolls_back_until_a_newer_version_lands(store: ModelStore) -> None:
    for _ in range(3):
        publish(store)
    assert store.get("m").version == 3
    store.promote("m", 1, note="v2 and v3 regressed")
    assert store.get("m").version == 1
    assert store.latest("m") is not None and store.latest("m").version == 1  # type: ignore[union-attr]
    promotion = store.promotion("m")
    assert promotion is not None and (promotion.version, promotion.above) == (1, 3)
    assert publish(store) == 4
    assert store.get("m").version == 4  # a new training supersedes the rollback
    store.promote("m", 2)
    store.promote("m", 4)  # promoting the newest clears the rollback
    assert store.promotion("m") is None and store.get("m").version == 4
    with pytest.raises(ModelNotFound, match="has no version 9"):
        store.promote("m", 9)


def test_gc_keeps_the_newest_the_pinned_and_latest(store: ModelStore) -> None:
    for _ in range(6):
        publish(store)
    store.promote("m", 2)
    for _ in range(2):
        store.discard(store.reserve("m"))
    result = store.gc("m", keep=2, pinned={3}, dry_run=True)
    # tombstones go: the high-water mark keeps their numbers from being handed out twice
    assert (result.removed, result.kept, result.cleaned) == ([1, 4], [2, 3, 5, 6], [7, 8])
    assert [v.version for v in store.versions("m")] == [1, 2, 3, 4, 5, 6]  # dry run
    store.gc("m", keep=2, pinned={3})
    assert [v.version for v in store.versions("m")] == [2, 3, 5, 6]
    assert store.get("m").version == 2
    assert store.reserve("m").version == 9
    with pytest.raises(ValueError, match="keep must be at least 1"):
        store.gc("m", keep=0)


def test_drop_removes_every_version(store: ModelStore) -> None:
    publish(store)
    publish(store, model="other")
    assert store.drop("m") == 1
    assert (store.versions("m"), store.folders("m")) == ([], [])
    assert [v.version for v in store.versions("other")] == [1]
    assert store.drop("m") == 0
    assert publish(store) == 2  # a model trained again under the name continues its numbers


def test_data_store_cleans_runs_older_than_the_retention(
    store_url: tuple[str, dict[str, Any]],
) -> None:
    url, options = store_url
    data = DataStore(url.replace("models", "data"), **options)
    for run in ("old-run", "new-run"):
        uri = data.step_uri(run, "m")
        with data.fs.open(data.uri(uri, "spec.json"), "w") as f:
            f.write(json.dumps({"run": run}))
    assert [r.run_id for r in data.runs()] == ["new-run", "old-run"]
    assert data.gc(timedelta(hours=1)) == []
    removed = data.gc(timedelta(0), keep={"new-run"})
    assert [r.run_id for r in removed] == ["old-run"]
    assert [r.run_id for r in data.runs()] == ["new-run"]


#: A publisher killed (SIGKILL) in the middle of writing its manifest: an audit hook of the
#: interpreter sees the manifest's file opened for writing (whatever its name), then a
#: profile hook kills the process at the first ``write`` call on it — after the file was
#: created, before its content is in. No code of the store is replaced.
KILLED_AT_THE_MANIFEST = """
import os, signal, sys
from sqlml_dagster.store import ModelManifest, ModelStore

store = ModelStore(sys.argv[1])
pending = store.reserve("m")
with store.fs.open(f"{pending.uri}/model.bin", "wb") as f:
    f.write(b"weights")
opened = []

def see_the_manifest_opened(event, args):
    if event == "open" and "manifest.json" in str(args[0]) and any(c in str(args[1]) for c in "wax+"):
        opened.append(args[0])

def kill_at_its_write(frame, event, arg):
    if opened and event == "c_call" and getattr(arg, "__name__", "") == "write":
        os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(see_the_manifest_opened)
sys.setprofile(kill_at_its_write)
store.publish(pending, ModelManifest(
    model="m", version=0, created_at="2026-11-23T00:00:00+00:00", flavor="sklearn",
    model_reference="sklearn.svm.SVC", fingerprint="f", statement_fingerprint="s",
    training_data_fingerprint="d"))
print("published")
"""


@pytest.mark.slow
def test_a_publisher_killed_while_writing_the_manifest_leaves_no_version(tmp_path: Path) -> None:
    """The manifest is the moment a version exists: written to a temporary name and renamed,
    so a kill in the middle of writing it leaves a pending folder — never an empty or half
    manifest that readers would take for a (damaged) version."""
    url = str(tmp_path / "models")
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AT_THE_MANIFEST, url], capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    store = ModelStore(url)
    assert store.versions("m") == []
    assert [(f.number, f.state) for f in store.folders("m")] == [(1, "pending")]
    assert not (tmp_path / "models" / "m" / "1" / "manifest.json").exists()
    assert publish(store) == 2  # the next training publishes; number 1 never comes back
