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
    activation = str(activation).rpartition(".")[2].lower()  # SQLFlow's tf.nn.relu
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


class _WideAndDeep(nn.Module):
    """A linear model over ``COLUMN … FOR linear_feature_columns`` plus a feed-forward
    network over ``COLUMN … FOR dnn_feature_columns``, their outputs summed (TensorFlow's
    ``DNNLinearCombined*``, Cheng et al.'s wide & deep). The features arrive as one row:
    the linear group's ``linear_input_dim`` numbers first (the runtime encodes that group
    first), then the network's numbers and embeddings."""

    def __init__(
        self,
        input_dim: int,
        outputs: int,
        linear_input_dim: int,
        dnn_hidden_units: Sequence[int] | None,
        dnn_activation_fn: str,
        dnn_dropout: float,
        batch_norm: bool,
    ):
        super().__init__()
        self.split = int(linear_input_dim)
        deep = input_dim - self.split
        if self.split <= 0 and deep <= 0:
            raise ValueError("linear_feature_columns and dnn_feature_columns are both empty")
        self.linear = nn.Linear(self.split, outputs) if self.split > 0 else None
        self.dnn = None
        if deep > 0:
            if not dnn_hidden_units:
                raise ValueError("dnn_hidden_units must be given with dnn_feature_columns")
            self.dnn = _mlp(
                deep, dnn_hidden_units, outputs, dnn_activation_fn, dnn_dropout, batch_norm
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x[:, : self.split]) if self.linear is not None else 0
        if self.dnn is not None:
            out = out + self.dnn(x[:, self.split :])
        assert isinstance(out, torch.Tensor)
        return out

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """The parameters each of SQLFlow's two optimizer namespaces trains (the feature
        layer's embeddings belong to the network: only its group uses them)."""
        return {
            "linear_optimizer": list(self.linear.parameters()) if self.linear else [],
            "dnn_optimizer": list(self.dnn.parameters()) if self.dnn else [],
        }


class DNNLinearCombinedClassifier(_WideAndDeep):
    """Wide & deep classifier: ``n_classes`` logits, the linear and the network's summed."""

    def __init__(
        self,
        input_dim: int,
        linear_input_dim: int = 0,
        n_classes: int = 2,
        dnn_hidden_units: Sequence[int] | None = None,
        dnn_activation_fn: str = "relu",
        dnn_dropout: float = 0.0,
        batch_norm: bool = False,
    ):
        super().__init__(input_dim, n_classes, linear_input_dim, dnn_hidden_units,
                         dnn_activation_fn, dnn_dropout, batch_norm)  # fmt: skip


class DNNLinearCombinedRegressor(_WideAndDeep):
    """Wide & deep regressor with ``label_dimension`` outputs (1 by default)."""

    def __init__(
        self,
        input_dim: int,
        linear_input_dim: int = 0,
        label_dimension: int = 1,
        dnn_hidden_units: Sequence[int] | None = None,
        dnn_activation_fn: str = "relu",
        dnn_dropout: float = 0.0,
        batch_norm: bool = False,
    ):
        super().__init__(input_dim, label_dimension, linear_input_dim, dnn_hidden_units,
                         dnn_activation_fn, dnn_dropout, batch_norm)  # fmt: skip


BUILTINS: dict[str, type[nn.Module]] = {
    cls.__name__: cls
    for cls in (
        DNNClassifier,
        DNNRegressor,
        LinearClassifier,
        LinearRegressor,
        DNNLinearCombinedClassifier,
        DNNLinearCombinedRegressor,
    )
}
#: The built-ins taking two groups of feature columns, in the order they are encoded.
COLUMN_GROUPS: dict[str, tuple[str, ...]] = {
    "DNNLinearCombinedClassifier": ("linear_feature_columns", "dnn_feature_columns"),
    "DNNLinearCombinedRegressor": ("linear_feature_columns", "dnn_feature_columns"),
}
