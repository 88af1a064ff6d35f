"""A version's artifacts against its manifest: their sizes whenever the store is listed
(the listing has them, so this costs nothing), every sha256 before anything loads the
version (:func:`verify_artifacts`), so a truncated or altered file is refused with a
clear error instead of being unpickled."""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any

import fsspec
from fsspec.core import url_to_fs

from .errors import CorruptVersion
from .records import MANIFEST, ModelManifest, VersionFolder


def verify_artifacts(model_uri: str, **storage_options: Any) -> ModelManifest:
    """Check every artifact of the version at ``model_uri`` against its manifest's sha256
    before anything loads it; raises :class:`CorruptVersion` naming the file that differs."""
    fs, folder = url_to_fs(model_uri.rstrip("/"), **storage_options)
    try:
        with fs.open(posixpath.join(folder, MANIFEST), "r", encoding="utf-8") as f:
            manifest = ModelManifest.from_json(f.read())
    except FileNotFoundError:
        raise CorruptVersion(f"{model_uri} has no {MANIFEST}: it was never published") from None
    ref = f"{manifest.model}@{manifest.version}"
    for name, expected in sorted(manifest.artifacts.items()):
        try:
            actual, _ = sha256_and_size(fs, posixpath.join(folder, name))
        except FileNotFoundError:
            raise CorruptVersion(f"{ref}: artifact {name} is missing from {model_uri}") from None
        if actual != expected:
            raise CorruptVersion(
                f"{ref}: artifact {name} does not match its checksum (sha256 {actual[:12]}…, "
                f"manifest says {expected[:12]}…); the file was changed or damaged after "
                "publishing — retrain, or promote another version"
            )
    return manifest


def file_sha256(uri: str) -> str:
    """sha256 of a file at any fsspec URL, read in 1 MiB chunks."""
    fs, path = url_to_fs(uri)
    return sha256_and_size(fs, path)[0]


def sha256_and_size(fs: fsspec.AbstractFileSystem, path: str) -> tuple[str, int]:
    """A file's sha256 and size in bytes, from one read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def size_problem(manifest: ModelManifest, entry: VersionFolder) -> str:
    """What a listing shows wrong with a published version: an artifact of its manifest
    missing or of another size (``""`` when none); the cheap check, on every listing."""
    for name in sorted(manifest.artifacts):
        if name not in entry.files:
            return f"artifact {name} is missing"
        expected = manifest.artifact_sizes.get(name)
        if expected is not None and entry.files[name] != expected:
            return f"artifact {name} has {entry.files[name]} bytes, the manifest says {expected}"
    return ""
