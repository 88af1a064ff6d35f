"""``train.checkpoint_every = N``: a deep-learning training's state, saved every N epochs
inside its reserved version folder, so a step that dies — a preempted pod the Job's
``backoffLimit`` restarts, a killed process a Dagster retry runs again — resumes where it
stopped instead of at epoch 0.

Why inside the reservation and why ``.checkpoint/``: the reserved folder is the one place
a retry of the same training is sure to find (the same spec names it), and a dotted name
is never one of the version's artifacts: publishing skips it and then removes it
(``ModelStore.publish``), and a failed training's orchestrator parks it by fingerprint
for the next try (``ModelStore.park_checkpoint``).

Why one file holding everything: the weights, the optimizer's state, the random number
generators', early stopping's and the per-epoch history must be of the same epoch, so they
are written together under a temporary name and moved into place (one PUT on an object
store): a reader finds a whole checkpoint or the previous one. The file records the
training's key — the orchestrator's model fingerprint with the step's params — and a
checkpoint of another training (another statement, other data, another trial's values) is
never resumed. Only rank 0 of a distributed training writes.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import fsspec

from ...contract.spec import StepSpec
from .. import Reporter
from .settings import TrainSettings

#: The folder inside a reserved version that holds its training's checkpoint.
CHECKPOINT_DIR = ".checkpoint"
#: The one file a checkpoint is (PyTorch: ``torch.save``; Keras: ``numpy.savez``).
TORCH_FILE = "state.pt"
KERAS_FILE = "state.npz"


def training_key(spec: StepSpec) -> str:
    """What a checkpoint must have been written for to be resumed: the orchestrator's
    fingerprint of the training (statement, data, image, code: ``checkpoint_key``) and
    this step's own params and seed (a trial's values), else the spec's inputs."""
    parts = {
        "key": spec.checkpoint_key,
        "params": spec.params,
        "seed": spec.seed,
        "reference": spec.model_reference,
        "label": spec.label,
        "columns": spec.columns,
        "warm_start": spec.warm_start_uri,
    }
    if not spec.checkpoint_key:  # an orchestrator that sends no key: the rows' place
        parts["input"] = spec.input_uri
        parts["validation"] = spec.validation_uri
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def is_writer() -> bool:
    """Rank 0 of a distributed training (or a training of one process)."""
    try:
        import torch.distributed as dist
    except ImportError:
        return True
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


@dataclass(frozen=True)
class Checkpoints:
    """Where one training's checkpoint lives, how often it is written, and its key."""

    folder: str
    every: int
    key: str
    file: str
    reporter: Reporter

    @classmethod
    def of(
        cls, spec: StepSpec, settings: TrainSettings, reporter: Reporter, file: str
    ) -> Checkpoints | None:
        """The checkpoints ``train.checkpoint_every`` asks for; ``None`` without it."""
        if settings.checkpoint_every <= 0 or not spec.model_uri:
            return None
        folder = posixpath.join(spec.model_uri.rstrip("/"), CHECKPOINT_DIR)
        return cls(folder, settings.checkpoint_every, training_key(spec), file, reporter)

    @property
    def uri(self) -> str:
        return posixpath.join(self.folder, self.file)

    def due(self, epoch: int, last: int) -> bool:
        """Whether epoch ``epoch`` (from 1) ends with a checkpoint; never after the last,
        whose weights the version publishes anyway."""
        return epoch % self.every == 0 and epoch < last

    def save(self, data: bytes, epoch: int) -> None:
        """Write a checkpoint whole: a temporary name, then a move (one PUT on S3)."""
        if not is_writer():
            return
        fs, path = fsspec.core.url_to_fs(self.uri)
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
        if _is_local(fs):
            tmp = posixpath.join(posixpath.dirname(path), f".{self.file}.{uuid.uuid4().hex}.tmp")
            fs.pipe_file(tmp, data)
            fs.mv(tmp, path)
        else:
            fs.pipe_file(path, data)
        self.reporter.log(f"checkpoint of epoch {epoch} saved")

    def load(self) -> bytes | None:
        """The checkpoint's bytes, when there is one."""
        fs, path = fsspec.core.url_to_fs(self.uri)
        try:
            return bytes(fs.cat_file(path))
        except FileNotFoundError:
            return None

    def accept(self, meta: Mapping[str, Any]) -> int:
        """The epoch to resume after (0: start over) given a checkpoint's ``meta``; one of
        another training is said and ignored."""
        if meta.get("key") != self.key:
            self.reporter.log(
                "ignoring a checkpoint written by another training (its statement, data or "
                "params differ): starting at epoch 1"
            )
            return 0
        epoch = int(meta.get("epoch") or 0)
        if epoch:
            self.reporter.log(f"resuming from epoch {epoch}")
        return epoch


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


# -- PyTorch --------------------------------------------------------------------------


@dataclass
class TorchResume:
    """What a PyTorch checkpoint restores, besides the tensors put back in place."""

    epoch: int = 0
    steps: int = 0
    history: list[dict[str, float]] | None = None
    stopper: dict[str, Any] | None = None
    best: dict[str, Any] | None = None


def save_torch(
    checkpoints: Checkpoints,
    epoch: int,
    network: Any,
    optimizer: Any,
    scaler: Any,
    rng: Any,
    *,
    steps: int,
    history: list[dict[str, float]],
    stopper: Any,
    best: dict[str, Any] | None,
) -> None:
    """Everything epoch ``epoch`` ended with, as one ``torch.save`` file (tensors, lists
    and strings only: it loads with ``weights_only=True``)."""
    import torch

    meta = {
        "key": checkpoints.key,
        "epoch": epoch,
        "steps": steps,
        "history": history,
        "numpy_rng": rng.bit_generator.state,
        "stopper": _stopper_state(stopper),
    }
    state = {
        "meta": json.dumps(meta),
        "network": network.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else {},
        "torch_rng": torch.get_rng_state(),
        "best": best or {},
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    checkpoints.save(buffer.getvalue(), epoch)


def resume_torch(
    checkpoints: Checkpoints, network: Any, optimizer: Any, scaler: Any, rng: Any, stopper: Any
) -> TorchResume:
    """Put a checkpoint of this training back into the network, optimizer, scaler, random
    number generators and early stopping; ``epoch`` 0 when there is none to resume."""
    import torch

    data = checkpoints.load()
    if data is None:
        return TorchResume()
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    meta = json.loads(state["meta"])
    epoch = checkpoints.accept(meta)
    if not epoch:
        return TorchResume()
    network.load_state_dict(state["network"], strict=True)
    optimizer.load_state_dict(state["optimizer"])
    if scaler is not None and state["scaler"]:
        scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["torch_rng"])
    rng.bit_generator.state = meta["numpy_rng"]
    _restore_stopper(stopper, meta.get("stopper"))
    return TorchResume(
        epoch=epoch,
        steps=int(meta.get("steps") or 0),
        history=list(meta.get("history") or []),
        best=dict(state["best"]) or None,
    )


# -- Keras ----------------------------------------------------------------------------


def save_keras(
    checkpoints: Checkpoints,
    epoch: int,
    network: Any,
    *,
    history: list[dict[str, float]],
    stopper: Any,
    best: list[Any] | None,
) -> None:
    """Weights, the optimizer's variables (its iteration count and moments), the global
    random state and early stopping's, as one ``numpy.savez`` file (no pickles)."""
    import numpy as np

    meta = {
        "key": checkpoints.key,
        "epoch": epoch,
        "history": history,
        "stopper": _stopper_state(stopper),
        "weights": len(network.get_weights()),
        "best": len(best or []),
    }
    arrays: dict[str, Any] = {"meta": np.array(json.dumps(meta))}
    for i, w in enumerate(network.get_weights()):
        arrays[f"w{i}"] = w
    for i, v in enumerate(_optimizer_variables(network)):
        arrays[f"o{i}"] = np.asarray(v)
    for i, w in enumerate(best or []):
        arrays[f"b{i}"] = w
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    checkpoints.save(buffer.getvalue(), epoch)


@dataclass
class KerasResume:
    epoch: int = 0
    history: list[dict[str, float]] | None = None
    best: list[Any] | None = None


def resume_keras(checkpoints: Checkpoints, network: Any, stopper: Any) -> KerasResume:
    """A checkpoint of this training put back into a compiled network (its optimizer is
    built first, so its variables exist to be assigned)."""
    import numpy as np

    data = checkpoints.load()
    if data is None:
        return KerasResume()
    saved = np.load(io.BytesIO(data), allow_pickle=False)
    meta = json.loads(str(saved["meta"]))
    epoch = checkpoints.accept(meta)
    if not epoch:
        return KerasResume()
    network.set_weights([saved[f"w{i}"] for i in range(int(meta["weights"]))])
    optimizer = network.optimizer
    if not _optimizer_variables(network):
        optimizer.build(network.trainable_variables)
    for i, variable in enumerate(_optimizer_variables(network)):
        variable.assign(saved[f"o{i}"])
    _restore_stopper(stopper, meta.get("stopper"))
    best = [saved[f"b{i}"] for i in range(int(meta.get("best") or 0))] or None
    return KerasResume(epoch=epoch, history=list(meta.get("history") or []), best=best)


def _optimizer_variables(network: Any) -> list[Any]:
    variables = getattr(network.optimizer, "variables", None)
    if callable(variables):  # tf-keras' older optimizers: a method
        variables = variables()
    return list(variables or [])


# -- early stopping -------------------------------------------------------------------


def _stopper_state(stopper: Any) -> dict[str, Any] | None:
    if stopper is None:
        return None
    return {k: getattr(stopper, k) for k in ("best", "best_epoch", "stopped_epoch", "waited")}


def _restore_stopper(stopper: Any, state: Mapping[str, Any] | None) -> None:
    if stopper is None or not state:
        return
    for k, v in state.items():
        setattr(stopper, k, v)
