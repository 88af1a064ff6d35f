"""A PyTorch model whose process of rank 1 crashes while it is built: one process of a
distributed training failing, as an out-of-memory GPU or a lost node does."""

import os

from torch import nn


class FailsOnRankOne(nn.Module):
    def __init__(self, input_dim: int, n_classes: int):
        super().__init__()
        if os.environ.get("RANK") == "1":
            raise SystemExit(3)
        self.layer = nn.Linear(input_dim, n_classes)

    def forward(self, x):
        return self.layer(x)
