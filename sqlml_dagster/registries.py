"""Model registries and hubs behind ``CREATE MODEL … USING 'mlflow://…' | 'torchhub://…'``.

Orchestrator side, run by :func:`sqlml_dagster.sources.resolve_source` when the asset
materializes — never by the compiler. Each turns a registry URI into a
:class:`~sqlml_dagster.sources.ResolvedSource`: a file the runtime's flavor registers like
any other (so a step image needs no MLflow client), a fingerprint that changes when the
registry's answer changes, and metadata naming what was resolved.

* **MLflow** (optional extra ``sqlml-dagster[mlflow]``): the tracking/registry store comes
  from ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` (a server, ``sqlite:///…``, or a
  file store with ``MLFLOW_ALLOW_FILE_STORE=true``). ``mlflow://name`` is the latest
  version, ``/3`` a version, ``/Production`` a (legacy) stage, ``@champion`` an alias.
  Registrable: scikit-learn models logged with ``serialization_format='skops'`` and Keras 3
  models logged with ``mlflow.tensorflow``/``mlflow.keras`` (``data/model.keras``).
  Pickled models (MLflow's default for scikit-learn and PyTorch) are refused: loading one
  runs arbitrary code, and skops is available to log them safely.
* **torch hub**: only from the local cache (``torch.hub.get_dir()``, honouring
  ``TORCH_HOME`` and ``XDG_CACHE_HOME``); nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import warnings
from pathlib import Path
from typing import Any

from .sources import (
    MLFLOW_PATH,
    TORCHHUB_PATH,
    ResolvedSource,
    SourceError,
    registry_path,
)

# -- MLflow -------------------------------------------------------------------------------


def resolve_mlflow(uri: str, flavor: str | None) -> ResolvedSource:
    """``mlflow://name[/version|/stage]`` or ``mlflow://name@alias`` → the model file of
    that version, with the runtime flavor that registers it."""
    match = MLFLOW_PATH.match(registry_path(uri))
    if match is None:
        raise SourceError(f"'{uri}' is not an MLflow model URI (mlflow://<model>[/<version>])")
    name, selector, alias = match["name"], match["selector"], match["alias"]
    if not (os.environ.get("MLFLOW_TRACKING_URI") or os.environ.get("MLFLOW_REGISTRY_URI")):
        raise SourceError(
            f"{uri} needs an MLflow registry: set MLFLOW_TRACKING_URI (or MLFLOW_REGISTRY_URI) "
            "in the orchestrator's environment, e.g. http://mlflow:5000 or sqlite:///mlflow.db"
        )
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise SourceError(
            f"{uri} needs the MLflow client: pip install 'sqlml-dagster[mlflow]'"
        ) from None

    client = MlflowClient()
    metadata: dict[str, Any] = {"mlflow_model": name}
    try:
        with warnings.catch_warnings():  # stages are deprecated in MLflow 3, still served
            warnings.simplefilter("ignore")
            if alias is not None:
                version = client.get_model_version_by_alias(name, alias)
                metadata["mlflow_alias"] = alias
            elif selector is not None and selector.isdigit():
                version = client.get_model_version(name, selector)
            elif selector is not None and selector.lower() != "latest":
                found = client.get_latest_versions(name, stages=[selector])
                if not found:
                    raise SourceError(f"no version of MLflow model '{name}' is in stage {selector}")
                version = found[0]
                metadata["mlflow_stage"] = selector
            else:
                client.get_registered_model(name)  # "not found" rather than "no versions"
                versions = client.search_model_versions(f"name = '{name}'")
                if not versions:
                    raise SourceError(f"MLflow model '{name}' has no versions")
                version = max(versions, key=lambda v: int(v.version))
            artifacts = client.get_model_version_download_uri(name, version.version)
    except MlflowException as e:
        raise SourceError(f"MLflow cannot resolve {uri}: {_first_line(e)}") from None
    number = int(version.version)
    metadata.update(
        {
            "mlflow_version": number,
            "mlflow_source": str(version.source or ""),
            "mlflow_run_id": str(version.run_id or ""),
        }
    )
    label = f"MLflow model {name} v{number}"
    artifacts = _fsspec_url(artifacts, label)
    model_file, found_flavor = _mlflow_model_file(artifacts, label)
    if flavor is not None and flavor != found_flavor:
        raise SourceError(f"{label} is a {found_flavor} model, not FLAVOR {flavor}")
    metadata["mlflow_flavor"] = found_flavor
    from .store.models import file_sha256

    try:
        content = file_sha256(model_file)
    except (OSError, ValueError) as e:
        raise SourceError(f"cannot read {label}'s model file {model_file}: {e}") from None
    identity = {"name": name, "version": number, "source": metadata["mlflow_source"]}
    return ResolvedSource(
        uri=model_file,
        fingerprint=_digest(identity, content),
        flavor=found_flavor,
        metadata=metadata,
    )


def _mlflow_model_file(artifacts: str, label: str) -> tuple[str, str]:
    """The file to register from a model version's artifact folder (read from its MLmodel)."""
    import fsspec
    import yaml

    try:
        with fsspec.open(posixpath.join(artifacts, "MLmodel"), "r", encoding="utf-8") as f:
            mlmodel = yaml.safe_load(f) or {}
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise SourceError(f"cannot read {label}'s MLmodel at {artifacts}: {e}") from None
    flavors: dict[str, Any] = mlmodel.get("flavors") or {}
    if "sklearn" in flavors:
        conf = flavors["sklearn"] or {}
        fmt = conf.get("serialization_format", "cloudpickle")
        if fmt != "skops":
            raise SourceError(
                f"{label} was logged with serialization_format='{fmt}': loading it would "
                "unpickle arbitrary code. Log it again with mlflow.sklearn.log_model(model, "
                "name=…, serialization_format='skops')"
            )
        return posixpath.join(artifacts, conf.get("pickled_model", "model.skops")), "sklearn"
    keras_conf = flavors.get("keras") or (
        flavors.get("tensorflow")
        if (flavors.get("tensorflow") or {}).get("model_type") == "keras"
        else None
    )
    if keras_conf is not None:
        path = posixpath.join(artifacts, keras_conf.get("data", "data"), "model.keras")
        fs, fs_path = fsspec.core.url_to_fs(path)
        if not fs.exists(fs_path):
            raise SourceError(
                f"{label} is a Keras model not saved in the Keras 3 .keras format; log it "
                "with Keras 3 (mlflow.tensorflow.log_model(model, …)) or register the "
                "model.save('model.keras') file"
            )
        return path, "keras"
    if "pytorch" in flavors:
        raise SourceError(
            f"{label} is a PyTorch model, which MLflow saves as a pickled module (or a "
            "torch.export program); it cannot be loaded safely. Save it with torch.jit.save "
            "(TorchScript) or safetensors and register that file"
        )
    raise SourceError(
        f"{label} has flavors {', '.join(sorted(flavors)) or 'none'}; registrable MLflow "
        "models are scikit-learn (serialization_format='skops') and Keras 3"
    )


def _fsspec_url(artifacts: str, label: str) -> str:
    """The artifact folder as an fsspec URL; MLflow's own schemes are not file systems."""
    if "://" not in artifacts and ":" not in artifacts.split("/", 1)[0]:
        return artifacts  # a local path
    if artifacts.startswith("file:") and "://" not in artifacts:
        return "file://" + artifacts[len("file:") :]
    import fsspec

    scheme = artifacts.partition(":")[0]
    try:
        fsspec.get_filesystem_class(scheme)
    except (ValueError, ImportError):
        raise SourceError(
            f"{label}'s artifacts are at {artifacts}, which steps cannot read as files; "
            "configure the MLflow server with a direct artifact store (s3://, gs://, a shared "
            "path) or register the downloaded model file instead"
        ) from None
    return artifacts


# -- torch hub ----------------------------------------------------------------------------


def torch_hub_dir() -> Path:
    """``torch.hub.get_dir()`` without importing torch: ``$TORCH_HOME/hub``, where
    ``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch`` and that to ``~/.cache/torch``."""
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    home = os.path.expanduser(os.environ.get("TORCH_HOME", os.path.join(cache, "torch")))
    return Path(home) / "hub"


def hub_repo_folders(owner: str, repo: str, ref: str | None) -> dict[str, str]:
    """The cache folder names torch.hub uses for ``owner/repo[:ref]`` → the ref each
    stands for (``main``, then ``master``, when no ref is written)."""
    refs = [ref] if ref else ["main", "master"]
    return {"_".join([owner, repo, r.replace("/", "_")]): r for r in refs}


def resolve_torchhub(uri: str) -> ResolvedSource:
    """``torchhub://owner/repo[:ref]/entrypoint`` → the cached repository, fingerprinted."""
    match = TORCHHUB_PATH.match(registry_path(uri))
    if match is None:
        raise SourceError(f"'{uri}' is not a torch hub URI (torchhub://<owner>/<repo>/<model>)")
    owner, repo, ref, model = match["owner"], match["repo"], match["ref"], match["model"]
    hub = torch_hub_dir()
    candidates = hub_repo_folders(owner, repo, ref)
    found = [(hub / f, r) for f, r in candidates.items() if (hub / f / "hubconf.py").is_file()]
    if not found:
        spelled = f"{owner}/{repo}" + (f":{ref}" if ref else "")
        raise SourceError(
            f"the torch hub cache {hub} lacks {spelled} (looked for "
            f"{' or '.join(candidates)} with a hubconf.py); steps never download at run "
            "time. Pre-populate the cache where the image is built, e.g. RUN python -c "
            f"\"import torch; torch.hub.load('{spelled}', '{model}', trust_repo=True)\" "
            "(which also caches pretrained weights under hub/checkpoints), and run with the "
            "same TORCH_HOME"
        )
    repo_dir, resolved_ref = found[0]
    digest = hashlib.sha256()
    for path in sorted(p for p in repo_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(repo_dir).as_posix()
        if relative.startswith(".git/") or "__pycache__" in relative:
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    canonical = f"torchhub://{owner}/{repo}:{resolved_ref}/{model}"
    return ResolvedSource(
        uri=canonical,
        fingerprint=_digest({"uri": canonical}, digest.hexdigest()),
        flavor="pytorch",
        metadata={
            "torchhub_repo": f"{owner}/{repo}",
            "torchhub_ref": resolved_ref,
            "torchhub_entrypoint": model,
            "torchhub_dir": str(repo_dir),
        },
    )


def _digest(identity: dict[str, Any], content: str) -> str:
    text = json.dumps(identity, sort_keys=True) + content
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _first_line(e: Exception) -> str:
    return re.split(r"\n", str(e).strip(), maxsplit=1)[0]
