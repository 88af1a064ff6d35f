"""SQLFlow's canonical estimators on PyTorch, so ``TO TRAIN DNNClassifier WITH
model.n_classes = 3, model.hidden_units = [10, 20]`` runs with no model zoo.

They take SQLFlow's parameter names (``hidden_units``, ``n_classes``, ``label_dimension``)
and output logits (classifiers) or values (regressors); the runtime adds ``input_dim``
from the COLUMN clause, so a statement never writes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

#: Adam's learning rate for the built-ins when ``train.learning_rate`` is not written;
#: larger than Adam's usual 1e-3 because SQL users train small tabular data for few epochs.
DEFAULT_LEARNING_RATE = 0.01

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "elu": nn.ELU,
}


def _mlp(
    input_dim: int,
    hidden_units: Sequence[int],
    outputs: int,
    activation: str,
    dropout: float,
    batch_norm: bool,
) -> nn.Sequential:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {activation!r}")
    layers: list[nn.Module] = []
    width = input_dim
    for units in hidden_units:
        layers.append(nn.Linear(width, int(units)))
        if batch_norm:
            layers.append(nn.BatchNorm1d(int(units)))
        layers.append(ACTIVATIONS[activation]())
        if dropout:
            layers.append(nn.Dropout(float(dropout)))
        width = int(units)
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


class DNNClassifier(nn.Module):
    """A feed-forward classifier: ``hidden_units`` ReLU layers, ``n_classes`` logits."""

    def __init__(
        self,
        input_dim: int,
        n_classes: int = 2,
        hidden_units: Sequence[int] = (10, 10),
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ):
        super().__init__()
        self.net = _mlp(input_dim, hidden_units, n_classes, activation, dropout, batch_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DNNRegressor(nn.Module):
    """A feed-forward regressor with ``label_dimension`` outputs (1 by default)."""

    def __init__(
        self,
        input_dim: int,
        hidden_units: Sequence[int] = (10, 10),
        label_dimension: int = 1,
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ):
        super().__init__()
        self.net = _mlp(input_dim, hidden_units, label_dimension, activation, dropout, batch_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LinearClassifier(nn.Module):
    """Multinomial logistic regression: one linear layer of ``n_classes`` logits."""

    def __init__(self, input_dim: int, n_classes: int = 2):
        super().__init__()
        self.linear = nn.Linear(input_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class LinearRegressor(nn.Module):
    """Least squares: one linear layer of ``label_dimension`` outputs."""

    def __init__(self, input_dim: int, label_dimension: int = 1):
        super().__init__()
        self.linear = nn.Linear(input_dim, label_dimension)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


BUILTINS: dict[str, type[nn.Module]] = {
    cls.__name__: cls for cls in (DNNClassifier, DNNRegressor, LinearClassifier, LinearRegressor)
}
