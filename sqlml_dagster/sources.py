"""Where ``CREATE MODEL m … USING '<uri>'`` may point, and how a source becomes a version.

Three layers use this module, each for its own part of the job:

* the compiler calls :func:`check_source` — pure, no I/O — so an unsupported scheme or
  file kind is a diagnostic with file:line:col before anything runs;
* the orchestrator calls :func:`resolve_source` when the asset materializes: it finds the
  concrete file (a local path, ``file://``, ``s3://``…) and a fingerprint of its content,
  which decides whether a new version is needed;
* the runtime's flavor ``register`` step copies and checks the file it was handed.

It imports nothing heavy, so the compiler stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Model registries and hubs named by scheme. Not fsspec file systems: each needs its own
#: resolution (or is refused with a reason).
REGISTRY_SCHEMES = ("mlflow", "torchhub", "tfhub", "huggingface", "hf")


class SourceError(Exception):
    """A model source that cannot be registered; the message says why in the user's terms."""


@dataclass(frozen=True)
class SourceProblem:
    """Why a ``USING`` URI cannot be registered: a message and a hint for a diagnostic."""

    message: str
    hint: str


@dataclass(frozen=True)
class ResolvedSource:
    """A model source found at run time: the file to register and what identifies it."""

    #: An fsspec URL of the file (or folder) the runtime's ``register`` step copies.
    uri: str
    #: Content fingerprint (e.g. a sha256 prefix): equal fingerprints mean nothing changed.
    fingerprint: str
    #: The runtime flavor that registers it (``sklearn``…).
    flavor: str
    #: Extra facts for the manifest and the asset's metadata (registry version, stage…).
    metadata: dict[str, Any] = field(default_factory=dict)


def scheme_of(uri: str) -> str:
    return uri.partition("://")[0].lower() if "://" in uri else "file"


def default_flavor(uri: str) -> str | None:
    """The flavor a file's name implies when the statement names none."""
    if uri.lower().endswith(".skops"):
        return "sklearn"
    return None


def check_source(uri: str, flavor: str | None) -> SourceProblem | None:
    """``None`` when ``USING uri`` (with ``FLAVOR flavor``) can be registered."""
    scheme = scheme_of(uri)
    if scheme in REGISTRY_SCHEMES:
        return SourceProblem(
            f"the {scheme} model registry is not supported",
            "export the model to a file (scikit-learn: skops.io.dump) and point USING at it: "
            "a path, file://, s3:// or another fsspec URL",
        )
    flavor = flavor or default_flavor(uri)
    if flavor != "sklearn":
        return SourceProblem(
            f"cannot register {'FLAVOR ' + flavor if flavor else 'this file'}: this version "
            "registers scikit-learn models saved with skops",
            "save the model with skops.io.dump(model, 'model.skops') and write FLAVOR sklearn "
            "or a .skops file name",
        )
    return None


def resolve_source(uri: str, flavor: str | None, base_dir: Path) -> ResolvedSource:
    """Find the file ``USING uri`` names (relative paths against the SQL file's folder) and
    fingerprint it; raises :class:`SourceError` when it cannot be read."""
    from .store.models import file_sha256

    concrete = _resolve_path(uri, base_dir)
    try:
        fingerprint = file_sha256(concrete)[:16]
    except (OSError, ValueError) as e:
        raise SourceError(f"cannot read the model file {concrete}: {e}") from None
    return ResolvedSource(
        uri=concrete, fingerprint=fingerprint, flavor=flavor or default_flavor(uri) or "sklearn"
    )


def _resolve_path(uri: str, base: Path) -> str:
    """A relative local path in SQL resolves against the SQL file's folder, like DuckDB's."""
    if "://" in uri or Path(uri).is_absolute():
        return uri
    return str((base / uri).resolve())
