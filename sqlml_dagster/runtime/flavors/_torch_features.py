"""The PyTorch side of the ``COLUMN`` clause: embeddings over a :class:`FeaturePlan`'s bags.

:mod:`sqlml_dagster.runtime.features` does everything that is not learned (vocabularies,
hashing, standardization) in numpy, identically for every framework; what is left for
PyTorch is the one learned part, an ``nn.EmbeddingBag`` per ``EMBEDDING``. Its output, the
dense block followed by each combined embedding, is what the user's network receives.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..features import Bag, Encoded, FeaturePlan

__all__ = ["TorchFeatures", "to_tensors"]


class TorchFeatures(nn.Module):
    """``forward(dense, *bags)`` → ``[n, output_width]``: ``dense`` as it is, then one
    ``dimension``-wide vector per bag.

    Each bag's table has ``num_ids + 1`` rows; the last is padding (the encoder's ``-1``),
    which ``EmbeddingBag`` leaves out of the reduction and never trains. ``sqrtn`` is a sum
    divided by the square root of the number of ids in the row (TensorFlow's combiner).
    """

    def __init__(self, plan: FeaturePlan) -> None:
        super().__init__()
        self.plan = plan
        self.dense_width = plan.dense_width
        self.combiners = tuple(bag.combiner for bag in plan.bags)
        self.embeddings = nn.ModuleList(_embedding_bag(bag) for bag in plan.bags)
        self.output_width = self.dense_width + sum(bag.dimension for bag in plan.bags)

    def forward(self, dense: Tensor, *bags: Tensor) -> Tensor:
        if len(bags) != len(self.embeddings):
            raise ValueError(f"expected {len(self.embeddings)} bag tensor(s), got {len(bags)}")
        parts = [dense.to(torch.float32)]
        for table, combiner, ids in zip(self.embeddings, self.combiners, bags, strict=True):
            assert isinstance(table, nn.EmbeddingBag)
            padding = table.num_embeddings - 1
            present = ids >= 0
            combined = table(torch.where(present, ids, torch.full_like(ids, padding)))
            if combiner == "sqrtn":
                count = present.sum(dim=1, keepdim=True).clamp(min=1)
                combined = combined / count.to(combined.dtype).sqrt()
            parts.append(combined)
        return torch.cat(parts, dim=1)


def to_tensors(encoded: Encoded, device: torch.device | str = "cpu") -> tuple[Tensor, ...]:
    """``(dense, *bags)`` as tensors on ``device``, in :meth:`TorchFeatures.forward`'s order."""
    dense = torch.from_numpy(encoded.dense).to(device)
    return (dense, *(torch.from_numpy(bag).to(device) for bag in encoded.bags))


def _embedding_bag(bag: Bag) -> nn.EmbeddingBag:
    mode = "mean" if bag.combiner == "mean" else "sum"  # sqrtn: sum, divided in forward
    table = nn.EmbeddingBag(bag.num_ids + 1, bag.dimension, mode=mode, padding_idx=bag.num_ids)
    _initialize(table.weight, bag)
    return table


@torch.no_grad()
def _initialize(weight: Tensor, bag: Bag) -> None:
    """The initializer written in SQL, with the scales Keras uses for the same names so a
    model starts alike in both frameworks; none written: a truncated normal with std
    ``1/sqrt(dimension)`` (TensorFlow's default for embedding columns)."""
    kind = bag.initializer or "truncated_normal"
    if kind == "truncated_normal":
        std = 1.0 / math.sqrt(bag.dimension)
        nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)
    elif kind == "normal":
        nn.init.normal_(weight, std=0.05)
    elif kind == "uniform":
        nn.init.uniform_(weight, -0.05, 0.05)
    elif kind == "zeros":
        nn.init.zeros_(weight)
    elif kind == "glorot_uniform":
        nn.init.xavier_uniform_(weight)
    elif kind == "glorot_normal":
        nn.init.xavier_normal_(weight)
    else:
        raise ValueError(f"unknown embedding initializer {kind!r}")
    weight[bag.num_ids].zero_()
