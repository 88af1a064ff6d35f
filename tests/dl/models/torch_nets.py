"""PyTorch models as a researcher writes them for sqlml."""

import torch
from torch import nn


class IrisNet(nn.Module):
    """Module-level hooks below choose the optimizer, loss and prediction column."""

    def __init__(self, input_dim: int, n_classes: int, hidden: int = 16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(input_dim, hidden), nn.Tanh(), nn.Linear(hidden, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def optimizer(params, learning_rate=0.05):
    return torch.optim.SGD(params, lr=learning_rate, momentum=0.9)


def loss(output, labels):
    return nn.functional.cross_entropy(output, labels, label_smoothing=0.01)


def prepare_prediction_column(prediction):
    return prediction.argmax(axis=-1)
