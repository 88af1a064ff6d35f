"""Stable hashing for ``CATEGORY_HASH`` and ``CROSS``: the same ids in every process and
on every platform (Python's ``hash`` is salted per process), so a model trained on one
machine encodes identically on another."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import StepError
from .arrow import is_string


def _hash_text(texts: Iterable[str], count: int) -> np.ndarray:
    """blake2b (8 bytes, little-endian) of each text: the same in every process and on
    every platform, unlike Python's ``hash``."""
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            for t in texts
        ),
        dtype=np.uint64,
        count=count,
    )


def hash_integers(values: np.ndarray) -> np.ndarray:
    distinct, inverse = np.unique(values, return_inverse=True)
    hashes = _hash_text((str(int(v)) for v in distinct), len(distinct))
    return hashes[inverse.reshape(-1)] if len(values) else np.zeros(0, dtype=np.uint64)


def hash_values(values: pa.Array, what: str) -> np.ndarray:
    """A 64-bit hash per value; strings and integers alike hash their text, once per
    distinct value."""
    kind = values.type
    if is_string(kind):
        encoded = pc.cast(values, pa.large_string()).dictionary_encode()
        words = encoded.dictionary.to_pylist()
        hashes = _hash_text(words, len(words))
        return hashes[encoded.indices.to_numpy(zero_copy_only=False)]
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        ints = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
        return hash_integers(np.asarray(ints, dtype=np.int64))
    raise StepError(f"{what} are {kind}; only strings and integers can be hashed")


def mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: spreads combined hashes before ``mod n``."""
    z = values.astype(np.uint64)
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)
