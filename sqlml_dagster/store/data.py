"""The data store: where a step's inputs, spec and outputs live (``<store>/<run>/<asset>/``).

Under the local launcher it is a folder; under Kubernetes it must be a URL the pod can
reach (``s3://…``), because this is how data crosses from the warehouse to the step.
"""

from __future__ import annotations

import posixpath
from typing import Any

from fsspec.core import url_to_fs


class DataStore:
    def __init__(self, url: str, **storage_options: Any):
        self.url = url.rstrip("/")
        self.fs, self.root = url_to_fs(self.url, **storage_options)

    def step_uri(self, run_id: str, *asset_path: str) -> str:
        """A fresh folder for one step of one run; created so local writers can open files in it."""
        path = posixpath.join(self.root, run_id, *asset_path)
        self.fs.makedirs(path, exist_ok=True)
        return self.fs.unstrip_protocol(path) if "://" in self.url else path

    def uri(self, step_uri: str, name: str) -> str:
        return posixpath.join(step_uri, name)
