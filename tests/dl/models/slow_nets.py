"""A network that takes its time (a pause per forward pass), so a test can kill its step
between two epochs; with dropout, so a resumed training needs the random state back."""

import time

import torch
from torch import nn


class SlowNet(nn.Module):
    def __init__(self, input_dim: int, n_classes: int, hidden: int = 8, pause: float = 0.03):
        super().__init__()
        self.pause = pause
        self.layers = nn.Sequential(
            nn.Linear(input_dim, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.pause)
        return self.layers(x)
