"""Estimators that make a training's timing observable to a test. Copied into a test
project's folder, which the local launcher puts on the step's PYTHONPATH."""

from __future__ import annotations

import os
import pathlib
import posixpath
import time
from typing import Any

from fsspec.core import url_to_fs
from sklearn.linear_model import LogisticRegression


class BarrierClassifier(LogisticRegression):
    """Fits only once ``SQLML_TEST_PARTIES`` trainings are fitting at the same time, so
    two trainings of one model overlap between reserving a version and publishing it."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BarrierClassifier:
        barrier = pathlib.Path(os.environ["SQLML_TEST_BARRIER"])
        barrier.mkdir(parents=True, exist_ok=True)
        (barrier / str(os.getpid())).touch()
        parties = int(os.environ.get("SQLML_TEST_PARTIES", "2"))
        deadline = time.monotonic() + 60
        while len(list(barrier.iterdir())) < parties and time.monotonic() < deadline:
            time.sleep(0.05)
        super().fit(X, y, sample_weight)
        return self


class HangingClassifier(LogisticRegression):
    """Starts writing its artifact into the reserved version folder, then hangs — to be
    killed with SIGKILL mid-write."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> HangingClassifier:
        fs, root = url_to_fs(os.environ["SQLML_TEST_STORE"])
        fs.invalidate_cache()
        for marker in [p for p in fs.find(root) if p.endswith("/.pending")]:
            with fs.open(posixpath.join(posixpath.dirname(marker), "model.skops"), "wb") as f:
                f.write(b"the first bytes of a model")
        pathlib.Path(os.environ["SQLML_TEST_MARK"]).touch()
        time.sleep(600)
        return self
