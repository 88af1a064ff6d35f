"""Where ``CREATE MODEL m … USING '<uri>'`` may point, and how a source becomes a version.

Three layers use this module, each for its own part of the job:

* the compiler calls :func:`check_source` — pure, no I/O — so an unsupported scheme or
  file kind is a diagnostic with file:line:col before anything runs;
* the orchestrator calls :func:`resolve_source` when the asset materializes: it finds the
  concrete file (a local path, ``file://``, ``s3://``…, a model version in an MLflow
  registry, a repository in the torch hub cache) and a fingerprint of its content, which
  decides whether a new version is needed;
* the runtime's flavor ``register`` step (``runtime/flavors/<flavor>.py``) checks that the
  file loads safely and copies it into the version.

What registers (see ``docs/language.md``):

* files, by ``FLAVOR`` or by their extension: scikit-learn ``.skops``; PyTorch TorchScript
  (``.pt``/``.pts``/``.pth``) or a state dict (``.safetensors``, or a ``torch.save``
  state dict read with ``weights_only=True``) with ``MODEL_TYPE`` naming the module
  class; Keras 3 ``.keras`` (loaded with ``safe_mode=True``);
* ``mlflow://name[/version|/stage]`` or ``mlflow://name@alias`` — resolved against
  ``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI`` (``registries.py``);
* ``torchhub://owner/repo[:ref]/entrypoint`` — only from the local torch hub cache.

It imports nothing heavy, so the compiler stays fast; the registries' code is imported
only when such a source resolves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import EllipsisType
from typing import Any

from .contract import FILE_FLAVORS, FLAVORS, REGISTRABLE_FLAVORS

#: Model registries and hubs named by scheme. Not fsspec file systems: each needs its own
#: resolution (or is refused with a reason).
REGISTRY_SCHEMES = ("mlflow", "torchhub", "tfhub", "huggingface", "hf")
#: Files that are refused whatever the flavor: why, and what to do instead.
REFUSED_FILES = {
    ".pkl": "a pickle file runs arbitrary code when it loads",
    ".pickle": "a pickle file runs arbitrary code when it loads",
    ".joblib": "a joblib file is a pickle, which runs arbitrary code when it loads",
    ".h5": "legacy Keras HDF5 files cannot be loaded in Keras's safe mode",
    ".hdf5": "legacy Keras HDF5 files cannot be loaded in Keras's safe mode",
}
SAVE_HINTS = {f.name: f.save_hint for f in FLAVORS.values() if f.registrable}
_ALL_HINTS = "; ".join(SAVE_HINTS.values())
MLFLOW_NAME = r"[^/@'\"\\]+"
MLFLOW_PATH = re.compile(rf"^(?P<name>{MLFLOW_NAME})(?:/(?P<selector>[^/@]+)|@(?P<alias>[^/@]+))?$")
TORCHHUB_PATH = re.compile(
    r"^(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)(?::(?P<ref>[A-Za-z0-9_./-]+))?"
    r"/(?P<model>[A-Za-z_][A-Za-z0-9_]*)$"
)


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

    #: An fsspec URL of the file (or folder) the runtime's ``register`` step copies; for a
    #: torch hub model, ``torchhub://owner/repo:ref/entrypoint`` with the ref it resolved.
    uri: str
    #: Content fingerprint (e.g. a sha256 prefix): equal fingerprints mean nothing changed.
    fingerprint: str
    #: The runtime flavor that registers it (``sklearn``, ``pytorch``, ``keras``).
    flavor: str
    #: Extra facts for the manifest and the asset's metadata (registry version, stage…).
    metadata: dict[str, Any] = field(default_factory=dict)


def scheme_of(uri: str) -> str:
    """``mlflow`` for ``mlflow://…`` and Rikai's ``mlflow:/…``; ``file`` for a plain path."""
    if "://" in uri:
        return uri.partition("://")[0].lower()
    head, sep, _ = uri.partition(":/")
    if sep and head.lower() in REGISTRY_SCHEMES:
        return head.lower()
    return "file"


def registry_path(uri: str) -> str:
    """What follows the scheme of a registry URI, without leading or trailing slashes:
    Rikai writes ``mlflow:///name/1``, ``mlflow:///name/`` and ``torchhub:///owner/repo/model``,
    others ``mlflow://name/1``."""
    return uri.partition(":")[2].strip("/")


def extension(uri: str) -> str:
    path = uri.split("?", 1)[0].rstrip("/")
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[1].lower() if "." in name else ""


def default_flavor(uri: str) -> str | None:
    """The flavor a source implies when the statement names none."""
    scheme = scheme_of(uri)
    if scheme == "torchhub":
        return "pytorch"
    if scheme in REGISTRY_SCHEMES:
        return None
    return FILE_FLAVORS.get(extension(uri))


def check_source(
    uri: str, flavor: str | None, model_type: str | EllipsisType | None = ...
) -> SourceProblem | None:
    """``None`` when ``USING uri`` (with ``FLAVOR flavor`` and ``MODEL_TYPE model_type``)
    can be registered. Pure: no I/O, no framework imports. ``model_type`` left out (``...``)
    skips the checks that need it (the runtime makes them); ``None`` means the statement
    has no ``MODEL_TYPE``."""
    scheme = scheme_of(uri)
    if flavor is not None and flavor.lower() not in REGISTRABLE_FLAVORS:
        return SourceProblem(
            f"cannot register FLAVOR {flavor}: the registrable flavors are "
            f"{', '.join(REGISTRABLE_FLAVORS)}",
            _ALL_HINTS,
        )
    flavor = flavor.lower() if flavor else None
    if scheme == "mlflow":
        return _check_mlflow(uri)
    if scheme == "torchhub":
        return _check_torchhub(uri, flavor)
    if scheme in REGISTRY_SCHEMES:
        name = "Hugging Face Hub" if scheme in ("hf", "huggingface") else "TensorFlow Hub"
        return SourceProblem(
            f"the {name} ({scheme}://) cannot be registered: steps never download models "
            "at run time",
            "download the model where you build, save it to a file and point USING at it "
            f"(a path, file://, s3://…): {_ALL_HINTS}",
        )
    ext = extension(uri)
    if ext in REFUSED_FILES:
        implied = flavor or ("keras" if ext in (".h5", ".hdf5") else "sklearn")
        return SourceProblem(
            f"cannot register a {ext} file: {REFUSED_FILES[ext]}", SAVE_HINTS[implied]
        )
    implied_flavor = FILE_FLAVORS.get(ext)
    if flavor is None and implied_flavor is None:
        return SourceProblem(
            "cannot tell which framework saved this file: write FLAVOR sklearn, pytorch or "
            "keras, or use a .skops, .pt, .safetensors or .keras file name",
            _ALL_HINTS,
        )
    if flavor is not None and implied_flavor is not None and flavor != implied_flavor:
        return SourceProblem(
            f"FLAVOR {flavor} cannot register a {ext} file ({implied_flavor} saves those)",
            SAVE_HINTS[flavor],
        )
    if ext == ".safetensors" and model_type is None:  # weights without their class
        return SourceProblem(
            "a .safetensors file holds only weights: write MODEL_TYPE "
            "'package.module.ClassName' naming the torch.nn.Module to load them into",
            "OPTIONS (…) become the class's constructor arguments, e.g. "
            "CREATE MODEL m FLAVOR pytorch MODEL_TYPE 'mypkg.nets.Net' OPTIONS (n_in = 4) "
            "USING 'net.safetensors'",
        )
    return None


def _check_mlflow(uri: str) -> SourceProblem | None:
    if MLFLOW_PATH.match(registry_path(uri)) is None:
        return SourceProblem(
            f"'{uri}' is not an MLflow model URI",
            "write mlflow://<registered model> (its latest version), mlflow://<model>/<version>, "
            "mlflow://<model>/<stage> or mlflow://<model>@<alias>",
        )
    return None


def _check_torchhub(uri: str, flavor: str | None) -> SourceProblem | None:
    if TORCHHUB_PATH.match(registry_path(uri)) is None:
        return SourceProblem(
            f"'{uri}' is not a torch hub model URI",
            "write torchhub://<owner>/<repo>[:<ref>]/<entrypoint>, e.g. "
            "torchhub://pytorch/vision:v0.19.0/resnet18",
        )
    if flavor not in (None, "pytorch"):
        return SourceProblem(
            f"FLAVOR {flavor} cannot register a torch hub model", "write FLAVOR pytorch"
        )
    return None


def resolve_source(uri: str, flavor: str | None, base_dir: Path) -> ResolvedSource:
    """Find the file ``USING uri`` names (relative paths against the SQL file's folder) and
    fingerprint it; raises :class:`SourceError` when it cannot be read."""
    scheme = scheme_of(uri)
    flavor = flavor.lower() if flavor else None
    if scheme == "mlflow":
        from .registries import resolve_mlflow

        return resolve_mlflow(uri, flavor)
    if scheme == "torchhub":
        from .registries import resolve_torchhub

        return resolve_torchhub(uri)
    problem = check_source(uri, flavor)  # MODEL_TYPE is checked by the runtime
    if problem is not None:
        raise SourceError(f"{problem.message} ({problem.hint})")

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
