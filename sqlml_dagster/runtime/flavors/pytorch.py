"""PyTorch flavor: register models trained elsewhere (Rikai's ``CREATE MODEL … USING``).

Three kinds of source, none of which unpickles arbitrary Python objects:

* a **TorchScript** archive (``torch.jit.save``) — loaded with ``torch.jit.load``, whose
  archive holds TorchScript code and tensors, not Python pickles of arbitrary classes;
  copied as ``model.pt``;
* a **state dict** — safetensors (preferred; no code at all) or a ``torch.save`` file
  read with ``torch.load(weights_only=True)`` — loaded into the ``torch.nn.Module`` class
  that ``MODEL_TYPE`` names, constructed with ``OPTIONS`` as keyword arguments; stored as
  ``model.safetensors``;
* a **torch hub** entrypoint from the local hub cache (``torchhub://owner/repo:ref/model``,
  ``OPTIONS`` as the entrypoint's keyword arguments) — never downloaded; its weights are
  stored as ``model.safetensors``.

``signature.json`` records the format and what a later ``predict`` needs to rebuild the
module: the class (``model_class``) and its ``options``, or the hub repo and entrypoint.
"""

from __future__ import annotations

import inspect
import io
import re
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...contract import TrainingResult
from ...contract.spec import StepSpec
from .. import Reporter, StepError
from ._register import (
    frameworks,
    import_class,
    plain,
    qualified_name,
    read_source,
    write_version,
)

TORCHSCRIPT = "model.pt"
WEIGHTS = "model.safetensors"
#: Keys under which training checkpoints often nest the state dict.
NESTED_STATE_KEYS = ("state_dict", "model_state_dict", "model")


def register(spec: StepSpec, reporter: Reporter) -> None:
    options = dict(spec.params.get("options", {}))
    if spec.input_uri.startswith("torchhub://"):
        _register_hub(spec, reporter, options)
        return
    data = read_source(spec.input_uri)
    kind = sniff(data)
    if kind == "torchscript":
        _register_torchscript(spec, reporter, data, options)
    else:
        _register_state_dict(spec, reporter, data, kind, options)


def sniff(data: bytes) -> str:
    """``torchscript``, ``safetensors`` or ``torch_save`` (zip or legacy pickle) by content."""
    if len(data) > 8 and data[8:9] == b"{":
        header = int.from_bytes(data[:8], "little")
        if 0 < header <= len(data) - 8:
            return "safetensors"
    if data[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return "torch_save"
        if any("/code/" in n or n.endswith("/constants.pkl") for n in names):
            return "torchscript"
    return "torch_save"


def _register_torchscript(
    spec: StepSpec, reporter: Reporter, data: bytes, options: dict[str, Any]
) -> None:
    import torch

    try:
        module = torch.jit.load(io.BytesIO(data), map_location="cpu")
    except RuntimeError as e:
        raise StepError(
            f"{spec.input_uri} is not a loadable TorchScript file: {_first(e)}"
        ) from None
    # Scripting a class twice in one process mangles its name; the mangle is no identity.
    script_name = re.sub(r"___torch_mangle_\d+\.", "", module._c._type().qualified_name())
    try:
        arguments = module.forward.schema.arguments[1:]  # [0] is self
        inputs = [{"name": a.name, "type": str(a.type)} for a in arguments]
    except (AttributeError, RuntimeError):
        inputs = []
    signature = _signature(module, "torchscript", inputs)
    signature["torchscript_class"] = script_name
    reference = spec.model_reference or script_name
    _report(spec, reporter, {TORCHSCRIPT: data}, signature, reference, options)


def _register_state_dict(
    spec: StepSpec, reporter: Reporter, data: bytes, kind: str, options: dict[str, Any]
) -> None:
    import torch

    if kind == "safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load

        try:
            state: Mapping[str, Any] = load(data)
        except (SafetensorError, ValueError, RuntimeError) as e:
            raise StepError(f"{spec.input_uri} is not a valid safetensors file: {e}") from None
    else:
        state = _weights_only_state(spec.input_uri, data)
    if not spec.model_reference:
        raise StepError(
            f"{spec.input_uri} is a state dict (weights only, {len(state)} tensors): write "
            "MODEL_TYPE 'package.module.ClassName' naming the torch.nn.Module to load it into "
            "(OPTIONS become its constructor arguments), or save a TorchScript file with "
            "torch.jit.save(torch.jit.script(model), 'model.pt')"
        )
    cls = import_class(spec.model_reference, "mypackage.nets.Net")
    if not issubclass(cls, torch.nn.Module):
        raise StepError(f"MODEL_TYPE {spec.model_reference} is not a torch.nn.Module")
    module = _construct(cls, spec.model_reference, options)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise StepError(
            f"the weights in {spec.input_uri} do not fit {spec.model_reference}"
            f"({_kwargs(options)}): {_first(e, lines=3)}"
        ) from None
    weights = data if kind == "safetensors" else _safetensors_bytes(module)
    signature = _signature(module, "state_dict", _forward_inputs(cls))
    signature.update({"model_class": spec.model_reference, "options": options})
    _report(spec, reporter, {WEIGHTS: weights}, signature, spec.model_reference, options)


def _weights_only_state(uri: str, data: bytes) -> Mapping[str, Any]:
    """A ``torch.save`` file read with ``weights_only=True``: tensors and plain containers
    only; anything else (a pickled module, custom classes) is refused, not unpickled."""
    import pickle

    import torch

    if _torch_version(torch.__version__) < SAFE_WEIGHTS_ONLY:
        raise StepError(
            f"{uri} is a torch.save file, which only PyTorch 2.6 or later reads safely "
            f"(weights_only could run code before: CVE-2025-32434); this image has "
            f"{torch.__version__}: save the weights with safetensors instead"
        )
    try:
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as e:
        raise StepError(
            f"{uri} is not a state dict that loads safely: torch.load(weights_only=True) "
            f"refused it ({_unpickler_reason(e)}). A whole pickled module would run arbitrary code; "
            "save model.state_dict() (best with safetensors) or a TorchScript file instead"
        ) from None
    if isinstance(loaded, Mapping) and not _is_state(loaded):
        for key in NESTED_STATE_KEYS:
            if isinstance(loaded.get(key), Mapping) and _is_state(loaded[key]):
                return dict(loaded[key])
    if not isinstance(loaded, Mapping) or not _is_state(loaded):
        raise StepError(
            f"{uri} holds a {type(loaded).__name__}, not a state dict of tensors; save "
            "model.state_dict()"
        )
    return dict(loaded)


#: The first PyTorch whose ``torch.load(weights_only=True)`` runs no code from the file.
SAFE_WEIGHTS_ONLY = (2, 6)


def _torch_version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("+")[0].split(".")[:2] if p.isdigit())


def _is_state(candidate: Mapping[Any, Any]) -> bool:
    import torch

    return bool(candidate) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in candidate.items()
    )


def _register_hub(spec: StepSpec, reporter: Reporter, options: dict[str, Any]) -> None:
    import torch

    from ...registries import hub_repo_folders
    from ...sources import TORCHHUB_PATH, registry_path

    match = TORCHHUB_PATH.match(registry_path(spec.input_uri))
    if match is None:
        raise StepError(f"'{spec.input_uri}' is not a torch hub URI")
    owner, repo, ref, entrypoint = match["owner"], match["repo"], match["ref"], match["model"]
    hub = Path(torch.hub.get_dir())
    folders = hub_repo_folders(owner, repo, ref)
    repo_dir = next((hub / f for f in folders if (hub / f / "hubconf.py").is_file()), None)
    if repo_dir is None:
        raise StepError(
            f"the torch hub cache {hub} of this step lacks {owner}/{repo}:{ref} (no "
            f"{next(iter(folders))}/hubconf.py); steps never download: pre-populate TORCH_HOME in the "
            f"image with torch.hub.load('{owner}/{repo}:{ref}', '{entrypoint}', trust_repo=True)"
        )
    reporter.log(f"loading {entrypoint} from the cached hub repo {repo_dir}")
    try:  # source="local": no network, no trust prompt; the cache is the image's
        module = torch.hub.load(str(repo_dir), entrypoint, source="local", **options)
    except Exception as e:
        raise StepError(
            f"torch hub entrypoint {entrypoint} of {owner}/{repo}:{ref} failed"
            f"({_kwargs(options)}): {type(e).__name__}: {_first(e)}"
        ) from None
    if not isinstance(module, torch.nn.Module):
        raise StepError(
            f"torch hub entrypoint {entrypoint} returned a {type(module).__name__}, not a "
            "torch.nn.Module"
        )
    signature = _signature(module, "torchhub", _forward_inputs(type(module)))
    signature.update(
        {
            "repo": f"{owner}/{repo}",
            "ref": ref,
            "entrypoint": entrypoint,
            "options": options,
            "model_class": qualified_name(module),
        }
    )
    weights = _safetensors_bytes(module)
    # The class may live in the cached repo (hubconf.py): the URI is how to rebuild it.
    reference = spec.model_reference or f"torchhub://{owner}/{repo}:{ref}/{entrypoint}"
    _report(spec, reporter, {WEIGHTS: weights}, signature, reference, options)


def _construct(cls: type, reference: str, options: dict[str, Any]) -> Any:
    try:
        return cls(**options)
    except TypeError as e:
        try:
            accepted = str(inspect.signature(cls))
        except (TypeError, ValueError):
            accepted = "(…)"
        raise StepError(
            f"cannot construct {reference}({_kwargs(options)}): {e}; it takes {accepted} "
            "(write its arguments in OPTIONS (…))"
        ) from None


def _safetensors_bytes(module: Any) -> bytes:
    """The module's weights as safetensors; tied (shared) tensors are stored once."""
    from safetensors.torch import save_model

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WEIGHTS
        save_model(module, str(path))
        return path.read_bytes()


def _forward_inputs(cls: type) -> list[dict[str, Any]]:
    try:
        parameters = list(inspect.signature(cls.forward).parameters.values())[1:]  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return []
    return [
        {
            "name": p.name,
            "type": None if p.annotation is inspect.Parameter.empty else str(p.annotation),
        }
        for p in parameters
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _signature(module: Any, fmt: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Like scikit-learn's signature (features, n_features, label, classes, task) plus the
    format and the forward's inputs; the width of a leading Linear layer is the number of
    features, when there is one."""
    n_features = None
    for sub in module.modules():
        if any(True for _ in sub.parameters(recurse=False)):
            in_features = getattr(sub, "in_features", None)
            n_features = int(in_features) if isinstance(in_features, int) else None
            break
    return {
        "format": fmt,
        "features": [],
        "n_features": n_features,
        "inputs": inputs,
        "label": None,
        "classes": None,
        "task": None,
        "parameters": int(sum(p.numel() for p in module.parameters())),
    }


def _report(
    spec: StepSpec,
    reporter: Reporter,
    files: dict[str, bytes],
    signature: dict[str, Any],
    reference: str,
    options: dict[str, Any],
) -> None:
    import safetensors
    import torch

    signature = plain(signature)
    artifacts = write_version(spec.model_uri, files, signature)
    reporter.log(
        f"registered {reference} ({signature['format']}, {signature['parameters']} parameters) "
        f"from {spec.input_uri}"
    )
    reporter.result(
        metadata={"source_uri": spec.input_uri, "model_format": signature["format"]},
        result=TrainingResult(
            kind="register",
            flavor="pytorch",
            model_reference=reference,
            features=[],
            signature=signature,
            artifacts=artifacts,
            frameworks=frameworks(torch=torch.__version__, safetensors=safetensors.__version__),
            params=plain(options),
        ),
    )


def _kwargs(options: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in options.items())


def _unpickler_reason(e: BaseException) -> str:
    """The line of torch's long weights-only message that names what was refused."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))
    for line in text.splitlines():
        if "WeightsUnpickler error" in line:
            return line.strip()
    return _first(e)


def _first(e: BaseException, lines: int = 1) -> str:
    text = str(e).strip().splitlines()
    return " ".join(line.strip() for line in text[:lines]) if text else type(e).__name__


# -- using registered models ----------------------------------------------------------


def load_registered(spec: StepSpec, signature: Mapping[str, Any]) -> tuple[Any, Any]:
    """A registered model (TorchScript, state dict, hub) as a network over one dense input:
    every selected column but the label, in order, as float32 — how Rikai feeds them."""
    import fsspec
    import torch

    from ..data import input_file
    from ..features import FeaturePlan

    base = spec.model_uri.rstrip("/")
    fmt = signature.get("format")
    if fmt == "torchscript":
        with fsspec.open(f"{base}/{TORCHSCRIPT}", "rb") as f:
            model = torch.jit.load(io.BytesIO(f.read()), map_location="cpu")
    elif fmt in ("state_dict", "torchhub"):
        options = dict(signature.get("options") or {})
        if fmt == "torchhub":
            raise StepError(
                "predicting with a torch hub model needs its hub repo in the step image; "
                "register it as TorchScript (torch.jit.save) to predict anywhere"
            )
        cls = import_class(str(signature["model_class"]), "mypackage.nets.Net")
        model = _construct(cls, str(signature["model_class"]), options)
        from ._torch_train import _load_weights_into

        _load_weights_into(model, spec.model_uri, WEIGHTS)
    else:
        raise StepError(f"this PyTorch model version has an unknown format {fmt!r}")

    class Registered(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, dense: Any, *bags: Any) -> Any:
            return self.inner(dense)

    schema = input_file(spec).schema()
    exclude = {c for c in (spec.label, spec.prediction_column) if c}
    features = spec.features or None
    columns = [{"function": "COLUMN", "name": c} for c in features] if features else None
    plan = FeaturePlan.infer(columns, schema, exclude).fit([], normalize=False)
    return Registered(model), plan


from ._torch_train import (  # noqa: E402  (one flavor module)
    evaluate,
    explain,
    load_predictor,
    predict,
    train,
)

__all__ = ["evaluate", "explain", "load_predictor", "predict", "register", "train"]
