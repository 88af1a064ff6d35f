"""A PyTorch regressor for ``sql/houses.sql`` (``TO TRAIN house_net.HouseNet``).

The constructor gets ``WITH model.*`` plus ``input_dim``, the width of the features the
COLUMN clause encodes; sqlml standardizes inputs and the label, trains with Adam and MSE
(no ``optimizer``/``loss`` defined here), and returns predictions in the label's units.
"""

import torch
from torch import nn


class HouseNet(nn.Module):
    def __init__(self, input_dim: int, hidden: int = 32):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(input_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
