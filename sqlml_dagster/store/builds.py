"""What each table-like asset was last built from: one small JSON record per asset, so
``sqlml plan`` and ``sqlml materialize --changed`` can tell an unchanged asset from a
changed one without running it.

A model needs no such record: its versions' manifests already say what each was trained
from (the model store). A table, a view or a prediction table has no version of its own,
so its materialization writes a :class:`BuildRecord` here: the statement's code version,
the version of every input it read (upstream assets' data versions, the content of files
and source tables, the model versions it scored) and the data version they add up to —
the same data version the asset reports to Dagster.

Why here and not in Dagster's event log: ``sqlml materialize`` runs on an ephemeral
Dagster instance unless ``$DAGSTER_HOME`` is set, and ``dg dev`` keeps a different one;
what an asset was built from must be the same answer for both, as the model store's
versions already are. The records live in the data store under ``_built/`` (a name no run
id takes), which ``DataStore.gc`` leaves alone.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from fsspec.core import url_to_fs

from ..contract.names import key_problem
from ..contract.versioned import known_fields
from .errors import BadName

#: The data store's folder of build records (run folders are named by run id, a UUID).
BUILDS_FOLDER = "_built"
BUILD_RECORD_VERSION = 1


@dataclass(frozen=True)
class BuildRecord:
    """One materialization of a table-like asset: what it read, as versions."""

    #: The node's store key (``zoo.churn_scores``), never a Dagster asset key.
    asset: str
    #: What the asset reported to Dagster as its data version: a digest of the rest.
    data_version: str
    #: The statement's token fingerprint (Dagster's code version of the asset).
    code_version: str
    #: Each input by label (``table:raw_iris``, ``file:data/iris.csv``, ``model:iris_rf``)
    #: → its version when the asset was built.
    inputs: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    built_at: str = ""
    record_version: int = BUILD_RECORD_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BuildRecord:
        raw = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("inputs", {}), dict):
            raise ValueError("not a build record")
        return cls(**known_fields(cls, raw))


class BuildRecords:
    """The build records under one data store URL (a folder or ``s3://…``)."""

    def __init__(self, data_store_url: str, **storage_options: Any) -> None:
        self.fs, root = url_to_fs(data_store_url.rstrip("/"), **storage_options)
        self.root = posixpath.join(root, BUILDS_FOLDER)
        self.remote = "://" in data_store_url and not data_store_url.startswith("file://")

    def _path(self, asset: str) -> str:
        problem = key_problem(asset)
        if problem is not None:
            raise BadName(f"'{asset}' is not an asset name: it {problem}")
        return posixpath.join(self.root, f"{asset}.json")

    def read(self, asset: str) -> BuildRecord | None:
        """The asset's last build, or None (never built since records were kept, or a
        record that cannot be read: the asset then counts as changed)."""
        path = self._path(asset)
        try:
            self.fs.invalidate_cache(self.root)
            return BuildRecord.from_json(self.fs.cat_file(path).decode("utf-8"))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, record: BuildRecord) -> None:
        """Replace the asset's record in one step: a reader sees the old or the new one."""
        target = self._path(record.asset)
        self.fs.makedirs(self.root, exist_ok=True)
        if self.remote:
            self.fs.pipe_file(target, record.to_json().encode())
            return
        tmp = posixpath.join(self.root, f".{record.asset}.{uuid.uuid4().hex}.tmp")
        with self.fs.open(tmp, "w", encoding="utf-8") as f:
            f.write(record.to_json())
        self.fs.mv(tmp, target)
