"""Regenerates the example's CSV files deterministically (no network): `python data/generate.py`.

* iris.csv   — Fisher's iris measurements as shipped inside scikit-learn, with an `id` and a
               fixed train/test split (every fifth row is a test row: 10 per class).
* houses.csv — synthetic house sales: price is a known function of size, bedrooms, age and
               distance plus seeded noise, so a regressor has something real to learn.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris

HERE = Path(__file__).parent


def iris() -> None:
    data = load_iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    with open(HERE / "iris.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", *names, "class", "split"])
        for i, (row, target) in enumerate(zip(data.data, data.target, strict=True)):
            split = "test" if i % 5 == 0 else "train"
            writer.writerow([i + 1, *(f"{v:.1f}" for v in row), data.target_names[target], split])


def houses(n: int = 400) -> None:
    rng = np.random.default_rng(20261123)
    sqft = rng.integers(600, 3600, n)
    bedrooms = np.clip((sqft / 650 + rng.normal(0, 0.7, n)).round(), 1, 6).astype(int)
    year_built = rng.integers(1950, 2024, n)
    distance_km = rng.gamma(2.0, 4.0, n).round(1)
    price = (
        60_000
        + 210 * sqft
        + 9_000 * bedrooms
        - 900 * (2026 - year_built)
        - 4_500 * distance_km
        + rng.normal(0, 15_000, n)
    ).round(-2)
    with open(HERE / "houses.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "sqft", "bedrooms", "year_built", "distance_km", "price", "split"])
        for i in range(n):
            split = "test" if i % 5 == 0 else "train"
            writer.writerow(
                [i + 1, sqft[i], bedrooms[i], year_built[i], distance_km[i], int(price[i]), split]
            )


if __name__ == "__main__":
    iris()
    houses()
