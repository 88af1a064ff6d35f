"""What encoding yields, as the framework layers see it: an :class:`Encoded` batch and a
:class:`Bag` per ``EMBEDDING``. These are all ``flavors/_torch_features.py`` and
``flavors/_keras_features.py`` build on, so they sit below everything else in the package."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bag:
    """One ``EMBEDDING``: ``num_ids`` ids (``0..num_ids-1``) looked up in a table of
    ``dimension``-wide vectors and combined per row. ``initializer`` is the one written in
    SQL (``None``: a truncated normal with std ``1/sqrt(dimension)``, TensorFlow's default
    for embedding columns)."""

    name: str
    num_ids: int
    dimension: int
    combiner: str
    initializer: str | None = None


@dataclass(frozen=True, eq=False)
class Encoded:
    """One encoded batch: ``dense`` float32 ``[n, dense_width]`` and one int64 ``[n, L]``
    array of ids per bag, ``-1`` where a row has fewer ids than the longest."""

    dense: np.ndarray
    bags: tuple[np.ndarray, ...]

    @property
    def rows(self) -> int:
        return int(self.dense.shape[0])
