"""The data store: where a step's inputs, spec and outputs live (``<store>/<run>/<asset>/``).

Under the local launcher it is a folder; under Kubernetes it must be a URL the pod can
reach (``s3://…``), because this is how data crosses from the warehouse to the step.
Step folders are kept for debugging a run and removed by :meth:`DataStore.gc` once older
than the storage's retention setting; the build records beside them (``_built/``,
``builds.py``) are state, not a run's data, and stay.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from fsspec.core import url_to_fs

from .builds import BUILDS_FOLDER
from .times import last_modified


@dataclass(frozen=True)
class RunFolder:
    run_id: str
    modified: datetime | None
    files: int
    bytes: int


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

    def folder(self, step_uri: str, name: str) -> str:
        """A folder inside a step's folder (a trial's), created like :meth:`step_uri`."""
        uri = posixpath.join(step_uri, name)
        self.fs.makedirs(self.fs._strip_protocol(uri), exist_ok=True)
        return uri

    def runs(self) -> list[RunFolder]:
        """Every run's folder with the time its newest file was written."""
        self.fs.invalidate_cache(self.root)
        try:
            listing = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return []
        by_run: dict[str, list[dict[str, Any]]] = {}
        for path, info in listing.items():
            run_id = posixpath.relpath(path, self.root).split("/", 1)[0]
            if run_id == BUILDS_FOLDER:  # what assets were built from: not a run's data
                continue
            by_run.setdefault(run_id, []).append(info)
        return [
            RunFolder(
                run_id=run_id,
                modified=last_modified(infos),
                files=len(infos),
                bytes=sum(int(i.get("size") or 0) for i in infos),
            )
            for run_id, infos in sorted(by_run.items())
        ]

    def gc(
        self, older_than: timedelta, *, keep: set[str] | None = None, dry_run: bool = False
    ) -> list[RunFolder]:
        """Remove run folders whose newest file is older than ``older_than`` (never those in
        ``keep``, e.g. the current run); returns what was (or would be) removed."""
        now = datetime.now(timezone.utc)
        old = [
            run
            for run in self.runs()
            if run.modified is not None
            and now - run.modified > older_than
            and run.run_id not in (keep or set())
        ]
        if not dry_run:
            for run in old:
                self.fs.rm(posixpath.join(self.root, run.run_id), recursive=True)
        return old
