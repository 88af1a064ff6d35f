"""Small torch modules for the registration tests, importable by a step subprocess as
``tests.runtime.nets.<Class>`` (MODEL_TYPE of a state dict)."""

from __future__ import annotations

import torch


class Net(torch.nn.Module):
    def __init__(self, n_in: int = 3, hidden: int = 4) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(n_in, hidden)
        self.out = torch.nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.lin(x)))


class Tied(torch.nn.Module):
    """Two names for one weight: safetensors must store it once."""

    def __init__(self, n: int = 3) -> None:
        super().__init__()
        self.a = torch.nn.Linear(n, n, bias=False)
        self.b = torch.nn.Linear(n, n, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class Touch:
    """Pickling this calls ``Path.touch(marker)`` on load: what weights_only must refuse."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        from pathlib import Path

        return (Path.touch, (Path(self.marker),))
