"""A version's artifacts against its manifest: their sizes whenever the store is listed
(the listing has them, so this costs nothing), every sha256 before anything loads the
version (:func:`verify_artifacts`), so a truncated or altered file is refused with a
clear error instead of being unpickled."""

from __future__ import annotations

import hashlib
import json
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
        manifest = read_manifest(fs, folder)
    except FileNotFoundError:
        raise CorruptVersion(f"{model_uri} has no {MANIFEST}: it was never published") from None
    except ValueError as e:
        raise CorruptVersion(f"{model_uri}: {MANIFEST} {e}") from None
    ref = f"{manifest.model}@{manifest.version}"
    for name, expected in sorted(manifest.artifacts.items()):
        try:
            actual, _ = sha256_and_size(fs, posixpath.join(folder, name))
        except FileNotFoundError:
            raise CorruptVersion(f"{ref}: artifact {name} is missing from {model_uri}") from None
        except OSError as e:
            raise CorruptVersion(f"{ref}: artifact {name} cannot be read ({e})") from None
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


def read_manifest(fs: fsspec.AbstractFileSystem, folder: str) -> ModelManifest:
    """The manifest of the version in ``folder``; :class:`FileNotFoundError` when it has
    none, a :class:`ValueError` saying in a few words what is wrong when it does not read
    (not UTF-8, not JSON, not a manifest, or unreadable)."""
    path = posixpath.join(folder, MANIFEST)
    try:
        with fs.open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ValueError(f"cannot be read ({e.strerror or e})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None
    if not text.strip():
        raise ValueError("is empty")
    try:
        return ModelManifest.from_json(text)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    except (TypeError, ValueError) as e:
        raise ValueError(f"is not a model manifest: it {e}") from None


def size_problem(manifest: ModelManifest, entry: VersionFolder) -> tuple[str, str] | None:
    """What a listing finds wrong with a published version: an artifact of its manifest
    missing or of another size, as (file, reason); the cheap check, on every listing."""
    for name in sorted(manifest.artifacts):
        if name not in entry.files:
            return name, "is missing"
        expected = manifest.artifact_sizes.get(name)
        if expected is not None and entry.files[name] != expected:
            return name, f"has {entry.files[name]} bytes, the manifest says {expected}"
    return None
