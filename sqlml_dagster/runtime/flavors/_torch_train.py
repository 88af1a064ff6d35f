"""PyTorch training, prediction, evaluation and explanation.

A model is a ``torch.nn.Module`` class (or a function returning one) whose constructor
gets ``WITH model.*`` plus, when it declares them, ``input_dim`` (the width of the encoded
features), ``n_classes`` and ``feature_columns`` (the COLUMN clause as JSON). The step puts
:class:`TorchFeatures` in front of it, so the model sees one dense float tensor.

The model's module may define ``optimizer(params, learning_rate=…)``, ``loss(output,
labels)``, ``prepare_prediction_column(prediction)`` or ``sqlml_train_loop(model, loader,
epochs=…, device=…)`` to own training; without them: Adam, cross-entropy for classifiers
and MSE for regressors, argmax/identity.

Saved as ``model.safetensors`` (the state dict of features + model: tensors only, no code)
and ``signature.json`` with the class reference, constructor arguments, feature plan and
classes; loading rebuilds the class from the reference and never unpickles.
"""

from __future__ import annotations

import inspect
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import fsspec
import numpy as np

from ...contract.spec import StepSpec
from .. import Reporter, StepError, dl, scoring
from ..dl import distributed
from ..dl.warm_start import base_fitted, base_signature, check_base_constructor, version_ref
from ..evaluation import requested_names
from ..features import Encoded, FeaturePlan
from ..threads import cap_torch
from ._register import call_hook, read_signature, resolve

WEIGHTS = "model.safetensors"
FORMAT = "sqlml_torch"


# -- the network ----------------------------------------------------------------------


def _network_class() -> type:
    import torch

    from ._torch_features import TorchFeatures

    class SqlmlNetwork(torch.nn.Module):
        """Features (embeddings, indicator and numeric inputs) followed by the user's model."""

        def __init__(self, features: TorchFeatures, model: torch.nn.Module):
            super().__init__()
            self.features = features
            self.model = model

        def forward(self, dense: torch.Tensor, *bags: torch.Tensor) -> torch.Tensor:
            return self.model(self.features(dense, *bags))

    return SqlmlNetwork


def module_hooks(constructor: Callable[..., Any]) -> Any:
    """The module defining the model: where ``optimizer``/``loss``/… live (SQLFlow)."""
    return inspect.getmodule(constructor)


def build(
    constructor: Callable[..., Any],
    reference: str,
    params: Mapping[str, Any],
    plan: FeaturePlan,
    target: dl.Target | None,
    columns: Any,
    extra: Mapping[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    import torch

    from ._torch_features import TorchFeatures

    features = TorchFeatures(plan)
    offered: dict[str, Any] = {
        "input_dim": features.output_width,
        "in_features": features.output_width,
        "n_features": features.output_width,
        "feature_columns": columns,
        **(extra or {}),
    }
    if target is not None and target.task == "classification":
        offered.update({"n_classes": target.n_outputs, "num_classes": target.n_outputs})
    kwargs = dl.model_kwargs(constructor, params, offered, reference)
    try:
        model = constructor(**kwargs)
    except (TypeError, ValueError) as e:
        raise StepError(f"cannot construct {reference}({_show(kwargs)}): {e}") from None
    if not isinstance(model, torch.nn.Module):
        raise StepError(f"{reference} returned a {type(model).__name__}, not a torch.nn.Module")
    return _network_class()(features, model), kwargs


# -- training -------------------------------------------------------------------------


def train(spec: StepSpec, reporter: Reporter) -> None:
    """Train in this process, or in several under ``torch.distributed`` when the statement
    asks for them (``train.num_workers``, ``resources.gpu > 1``: ``dl/distributed.py``)."""
    cuda = pick_device(dl.TrainSettings.of(spec)).type == "cuda"
    with distributed.joined(spec, reporter, cuda=cuda) as world:
        _train(spec, reporter, world)


def _train(spec: StepSpec, reporter: Reporter, world: distributed.World | None) -> None:
    import torch

    constructor = resolve(spec.model_reference)
    base = base_signature(spec, (FORMAT,)) if spec.warm_start_uri else None
    fitted = base_fitted(base) if base is not None else None
    from ._torch_builtins import COLUMN_GROUPS

    parts = COLUMN_GROUPS.get(spec.model_reference, ())
    prepared = dl.prepare(spec, reporter, fitted=fitted, parts=parts)
    settings, target = prepared.settings, prepared.target
    reporter.log(f"torch uses {cap_torch()} CPU thread(s)")
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    columns = (spec.columns or {}).get("feature_columns")
    network, kwargs = build(
        constructor,
        spec.model_reference,
        dict(spec.params.get("model", {})),
        prepared.plan,
        target,
        columns,
        {"linear_input_dim": prepared.leading_width} if parts else {},
    )
    if base is not None:  # USING base@v: its weights, strictly
        check_base_constructor(spec, base, kwargs)
        _load_weights_into(network, str(spec.warm_start_uri), WEIGHTS, warm_start=True)
        reporter.log(
            f"warm start: continuing from {version_ref(str(spec.warm_start_uri))}'s weights"
        )
    device = pick_device(settings)
    network.to(device)
    hooks = module_hooks(constructor)
    history = dl.History(reporter, settings.epochs)
    reporter.log(
        f"training {spec.model_reference} on {device} for {settings.epochs} epoch(s), batch "
        f"size {settings.batch_size}"
        + (", mixed precision" if settings.amp and device.type == "cuda" else "")
    )
    started = time.perf_counter()
    custom_loop = getattr(hooks, "sqlml_train_loop", None) if hooks else None
    stopper = None
    if callable(custom_loop):
        distributed.refuse_custom_loop(world, spec.model_reference)
        if settings.early_stop:
            reporter.log("train.early_stop ignored: the model's sqlml_train_loop owns training")
        loader = Loader(prepared.train, device, rng)
        call_hook(
            custom_loop,
            network,
            loader,
            epochs=settings.epochs,
            device=device,
            verbose=settings.verbose,
        )
    else:
        checkpoints = dl.Checkpoints.of(spec, settings, reporter, dl.checkpoints.TORCH_FILE)
        stopper = _fit(
            network,
            prepared,
            hooks,
            device,
            rng,
            history,
            spec.model_reference,
            checkpoints,
            world,
        )
    seconds = time.perf_counter() - started
    if world is not None and not world.leader:
        return  # rank 0 holds the same weights and publishes them
    network.eval()
    names = requested_names(spec)  # validation.metrics: on held-out rows when there are
    held_out = prepared.validation is not None
    metrics = _metrics(network, prepared.train, target, device, () if held_out else names)
    if prepared.validation is not None:
        metrics.update(
            {
                f"val_{k}": v
                for k, v in _metrics(network, prepared.validation, target, device, names).items()
            }
        )
    metrics.update(history.losses(stopper.best_epoch if stopper else None))
    reporter.log("training metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    early = stopper.summary() if stopper else {}
    _save(spec, reporter, network, kwargs, prepared, metrics, history, seconds, early, world)


def pick_device(settings: dl.TrainSettings) -> Any:
    """``train.device`` when written; CUDA when a GPU is requested and present; else CPU."""
    import torch

    if settings.device:
        device = torch.device(str(settings.device))
        if device.type == "cuda" and not torch.cuda.is_available():
            raise StepError(
                f"train.device = '{settings.device}' but this step sees no CUDA device "
                "(request one with resources.gpu = 1 on Kubernetes)"
            )
        return device
    if settings.gpus > 0 and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


class Loader:
    """Minibatches as ``((dense, *bags), labels)`` tensors on the device, one epoch per
    iteration — what a ``sqlml_train_loop`` receives, and what the built-in loop trains on.

    The minibatches are :meth:`dl.Feed.epoch`'s — the same rows in the same order, bags
    trimmed alike — but each gathered block of about 65,536 rows becomes tensors on the
    device once, and a minibatch's dense features and labels are views of those: one copy
    to a GPU a block instead of two a minibatch, and no numpy-to-tensor conversion a
    minibatch on any device (at the default batch size of 32 that conversion was a third
    of an epoch's time, ``make bench``)."""

    def __init__(self, feed: dl.Feed, device: Any, rng: np.random.Generator):
        self.feed, self.device, self.rng = feed, device, rng

    def __iter__(self) -> Iterator[tuple[tuple[Any, ...], Any]]:
        import torch

        device, size = self.device, self.feed.settings.batch_size
        for block in self.feed.gathered(self.rng):
            # split() makes a block's views in one call, at a third of slicing's cost each
            dense = torch.from_numpy(block.encoded.dense).to(device).split(size)
            labels = label_tensor(block.labels, device)
            each_labels = [None] * len(dense) if labels is None else labels.split(size)
            bags = block.encoded.bags
            for index, (features, label) in enumerate(zip(dense, each_labels, strict=True)):
                inputs: tuple[Any, ...] = (features,)
                if bags:  # trimmed per minibatch, as Feed.epoch trims them
                    start = index * size
                    inputs += tuple(
                        torch.from_numpy(dl.trimmed_bag(bag[start : start + size])).to(device)
                        for bag in bags
                    )
                yield inputs, label


def tensors(encoded: Encoded, device: Any) -> tuple[Any, ...]:
    from ._torch_features import to_tensors

    return tuple(to_tensors(encoded, device))


def label_tensor(labels: np.ndarray | None, device: Any) -> Any:
    import torch

    return None if labels is None else torch.from_numpy(labels).to(device)


def _fit(
    network: Any,
    prepared: dl.Prepared,
    hooks: Any,
    device: Any,
    rng: np.random.Generator,
    history: dl.History,
    reference: str,
    checkpoints: dl.Checkpoints | None = None,
    world: distributed.World | None = None,
) -> dl.EarlyStopping | None:
    """The epochs of training; with ``train.early_stop``, until the watched metric has not
    improved for ``train.patience`` epochs, then the best epoch's weights are put back.
    With ``train.checkpoint_every``, from the checkpoint a killed try of this training
    left, and leaving one every N epochs (``dl/checkpoints.py``)."""
    import torch

    settings, target = prepared.settings, prepared.target
    if target is None:
        raise StepError(
            f"{reference}: training without LABEL needs a sqlml_train_loop in the model's module"
        )
    optimizer = _optimizer(network, hooks, settings, reference)
    rate = optimizer.param_groups[0].get("lr") if getattr(optimizer, "param_groups", None) else None
    history.reporter.log(
        f"optimizer {type(optimizer).__name__}"
        + (f", learning rate {rate:g}" if isinstance(rate, (int, float)) else "")
        + (f", at most {settings.max_steps} steps" if settings.max_steps is not None else "")
    )
    loss_fn = _loss(hooks, target)
    amp = settings.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if amp else None
    stopper = dl.EarlyStopping.of(settings, prepared.validation is not None)
    best: dict[str, Any] | None = None
    steps, start = 0, 1
    if checkpoints is not None:
        resumed = dl.checkpoints.resume_torch(checkpoints, network, optimizer, scaler, rng, stopper)
        steps, start, best = resumed.steps, resumed.epoch + 1, resumed.best
        history.rows.extend(resumed.history or [])
    trained = distributed.wrap(network, world)
    for epoch in range(start, settings.epochs + 1):
        network.train()
        began = time.perf_counter()
        total, rows = 0.0, 0
        for inputs, labels, share in distributed.shards(Loader(prepared.train, device, rng), world):
            if settings.max_steps is not None and steps >= settings.max_steps:
                break  # SQLFlow's train.max_steps: minibatches in all, across epochs
            steps += 1
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                output = trained(*inputs)
                loss = loss_fn(output, labels) if len(labels) else output.sum() * 0.0
                if share != 1.0:  # this rank's part of the minibatch's mean
                    loss = loss * share
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            minibatch = int(labels.shape[0])
            total += float(loss.detach()) / share * minibatch if minibatch else 0.0
            rows += minibatch
        total, rows = distributed.summed(world, total, rows)
        if not rows and settings.max_steps is not None:  # max_steps ran out before this epoch
            break
        values: dict[str, float | None] = {"loss": total / max(rows, 1)}
        if prepared.validation is not None:
            network.eval()
            values.update(_validation(network, prepared.validation, target, device, loss_fn))
        history.record(epoch, time.perf_counter() - began, **values)
        improved, stop = stopper.update(epoch, values) if stopper else (False, False)
        if improved:  # a copy: the optimizer goes on changing the live tensors
            best = {k: v.detach().clone() for k, v in network.state_dict().items()}
        if checkpoints is not None and not stop and checkpoints.due(epoch, settings.epochs):
            dl.checkpoints.save_torch(
                checkpoints,
                epoch,
                network,
                optimizer,
                scaler,
                rng,
                steps=steps,
                history=history.rows,
                stopper=stopper,
                best=best,
            )
        if stop:
            assert stopper is not None
            history.reporter.log(
                f"early stopping after epoch {epoch}: {stopper.metric} has not improved for "
                f"{stopper.patience} epoch(s); keeping epoch {stopper.best_epoch}'s weights"
            )
            break
    if stopper is not None and best is not None:
        network.load_state_dict(best)
    return stopper


def _optimizer(network: Any, hooks: Any, settings: dl.TrainSettings, reference: str) -> Any:
    import torch

    from ._torch_builtins import BUILTINS, DEFAULT_LEARNING_RATE

    factory = getattr(hooks, "optimizer", None) if hooks else None
    params: list[Any] = _parameter_groups(network, settings)
    if callable(factory):
        kwargs = {"learning_rate": settings.learning_rate} if settings.learning_rate else {}
        return call_hook(factory, params, **kwargs)
    default = DEFAULT_LEARNING_RATE if reference in BUILTINS else 1e-3
    name = settings.optimizer or "adam"
    optimizer_class = TORCH_OPTIMIZERS.get(name)
    if optimizer_class is None:
        raise StepError(
            f"model.optimizer = {settings.optimizer!r} has no PyTorch optimizer here; write "
            "one of " + ", ".join(sorted(TORCH_OPTIMIZERS))
        )
    kwargs = _torch_optimizer_args(name, settings.optimizer_args)
    try:
        return getattr(torch.optim, optimizer_class)(
            params, lr=settings.learning_rate or default, **kwargs
        )
    except (TypeError, ValueError) as e:
        raise StepError(
            f"cannot build the {optimizer_class} optimizer from optimizer.*: {e}"
        ) from None


def _parameter_groups(network: Any, settings: dl.TrainSettings) -> list[Any]:
    """The network's parameters; for a wide & deep model (``parameter_groups``) one group a
    part, each with its ``<part>.learning_rate`` when the statement sets it — the feature
    layer's embeddings train with the network's part."""
    split = getattr(getattr(network, "model", None), "parameter_groups", None)
    if not callable(split):
        return list(network.parameters())
    parts: dict[str, list[Any]] = split()
    taken = {id(p) for group in parts.values() for p in group}
    parts["dnn_optimizer"] = parts.get("dnn_optimizer", []) + [
        p for p in network.parameters() if id(p) not in taken
    ]
    rates = settings.part_learning_rates
    return [
        {"params": group, **({"lr": rates[part]} if part in rates else {})}
        for part, group in parts.items()
        if group
    ]


#: SQLFlow's (Keras') optimizer names, folded (``dl.settings``) → ``torch.optim`` classes.
#: Ftrl has no PyTorch implementation.
TORCH_OPTIMIZERS = {
    "adagrad": "Adagrad",
    "adam": "Adam",
    "adamw": "AdamW",
    "adamax": "Adamax",
    "adadelta": "Adadelta",
    "nadam": "NAdam",
    "rmsprop": "RMSprop",
    "sgd": "SGD",
}


def _torch_optimizer_args(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """SQLFlow's ``optimizer.*`` (Keras' argument names) as ``torch.optim`` takes them:
    ``epsilon`` → ``eps``, ``beta_1``/``beta_2`` → ``betas``, RMSprop's ``rho`` → ``alpha``."""
    kwargs = dict(args)
    if "epsilon" in kwargs:
        kwargs["eps"] = kwargs.pop("epsilon")
    if "beta_1" in kwargs or "beta_2" in kwargs:
        kwargs["betas"] = (kwargs.pop("beta_1", 0.9), kwargs.pop("beta_2", 0.999))
    if name == "rmsprop" and "rho" in kwargs:
        kwargs["alpha"] = kwargs.pop("rho")
    return kwargs


def _loss(hooks: Any, target: dl.Target) -> Callable[[Any, Any], Any]:
    import torch.nn.functional as functional

    custom = getattr(hooks, "loss", None) if hooks else None
    if callable(custom):
        return custom
    if target.task == "classification":
        return lambda output, labels: functional.cross_entropy(output.float(), labels)
    return lambda output, labels: functional.mse_loss(output.float().reshape(labels.shape), labels)


def _validation(
    network: Any, feed: dl.Feed, target: dl.Target, device: Any, loss_fn: Callable[[Any, Any], Any]
) -> dict[str, float | None]:
    outputs, labels = _outputs(network, feed, device)
    if labels is None or not len(labels):
        return {}
    import torch

    with torch.no_grad():
        loss = float(loss_fn(torch.from_numpy(outputs), torch.from_numpy(labels)))
    return {
        "val_loss": loss,
        **{f"val_{k}": v for k, v in dl.scores(target, labels, outputs).items()},
    }


def _outputs(network: Any, feed: dl.Feed, device: Any) -> tuple[np.ndarray, np.ndarray | None]:
    import torch

    outs, labels = [], []
    with torch.no_grad():
        for arrays in feed.chunks():
            outs.append(network(*tensors(arrays.encoded, device)).float().cpu().numpy())
            if arrays.labels is not None:
                labels.append(arrays.labels)
    if not outs:
        return np.zeros((0, 1), np.float32), None
    return np.concatenate(outs), (np.concatenate(labels) if labels else None)


def _metrics(
    network: Any,
    feed: dl.Feed,
    target: dl.Target | None,
    device: Any,
    names: Sequence[str] = (),
) -> dict[str, float]:
    outputs, labels = _outputs(network, feed, device)
    return dl.scores(target, labels, outputs, names) if labels is not None else {}


def _save(
    spec: StepSpec,
    reporter: Reporter,
    network: Any,
    kwargs: dict[str, Any],
    prepared: dl.Prepared,
    metrics: dict[str, float],
    history: dl.History,
    seconds: float,
    early_stopping: dict[str, Any],
    world: distributed.World | None = None,
) -> None:
    import safetensors
    import torch

    from .pytorch import _safetensors_bytes

    network.to("cpu")
    dl.publish_training(
        spec,
        reporter,
        prepared,
        dl.Trained(
            flavor="pytorch",
            format=FORMAT,
            files={WEIGHTS: _safetensors_bytes(network)},
            constructor={k: v for k, v in kwargs.items() if k != "feature_columns"},
            parameters=int(sum(p.numel() for p in network.parameters())),
            frameworks={"torch": torch.__version__, "safetensors": safetensors.__version__},
            metrics=metrics,
            history=history,
            seconds=seconds,
            early_stopping=early_stopping,
            extra_signature={"distributed": world.summary()} if world is not None else {},
        ),
    )


# -- prediction -----------------------------------------------------------------------


def load_predictor(spec: StepSpec) -> dl.DLPredictor:
    """Rebuild a trained (or registered) model from its version folder, weights only."""
    import torch

    signature = read_signature(spec.model_uri)
    fmt = signature.get("format")
    device = (
        torch.device("cuda")
        if torch.cuda.is_available() and spec.param("resources", "gpu", 0)
        else torch.device("cpu")
    )
    if fmt == FORMAT:
        constructor = resolve(str(signature["model_class"]))
        plan = FeaturePlan.from_json(signature["feature_plan"])
        target = dl.Target.from_json(signature["target"]) if signature.get("target") else None
        network, _ = build(
            constructor,
            str(signature["model_class"]),
            dict(signature.get("constructor") or {}),
            plan,
            target,
            None,
        )
        _load_weights(network, spec.model_uri)
        hooks = module_hooks(constructor)
        prepare = getattr(hooks, "prepare_prediction_column", None) if hooks else None
    else:
        from .pytorch import load_registered

        network, plan = load_registered(spec, signature)
        target, prepare = None, None
    network.to(device).eval()

    def forward(encoded: Encoded) -> np.ndarray:
        with torch.no_grad():
            output = network(*tensors(encoded, device))
        return np.asarray(output.float().cpu().numpy())

    return dl.DLPredictor(plan, target, forward, prepare if callable(prepare) else None)


def _load_weights(network: Any, model_uri: str) -> None:
    _load_weights_into(network, model_uri, WEIGHTS)


def _load_weights_into(network: Any, model_uri: str, name: str, warm_start: bool = False) -> None:
    """Safetensors into a module (tensors only; shared tensors restored by safetensors)."""
    from safetensors.torch import load_model

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WEIGHTS
        with fsspec.open(f"{model_uri.rstrip('/')}/{name}", "rb") as f:
            path.write_bytes(f.read())
        try:
            load_model(network, str(path), strict=True, device="cpu")
        except RuntimeError as e:
            if warm_start:
                raise StepError(
                    f"{version_ref(model_uri)}'s weights do not fit the network this statement "
                    f"builds: {str(e).splitlines()[0]}"
                ) from None
            raise StepError(
                f"the saved weights do not fit the model class as it is now (was its code "
                f"changed since training?): {str(e).splitlines()[0]}"
            ) from None


def predict(spec: StepSpec, reporter: Reporter) -> None:
    dl.predict_step(spec, load_predictor(spec), reporter)


def evaluate(spec: StepSpec, reporter: Reporter) -> None:
    scoring.evaluate(spec, load_predictor(spec), reporter)


def explain(spec: StepSpec, reporter: Reporter) -> None:
    scoring.explain(spec, load_predictor(spec), reporter)


# -- helpers --------------------------------------------------------------------------


def _show(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k != "feature_columns")
