"""The ``sqlml_storage`` resource: where model versions and step data live."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
from pydantic import BaseModel, Field

from ..contract.step_data import DataFormat, DataFormatSetting, data_format_for
from ..store import DataStore, ModelStore
from ..store.builds import BuildRecords


class StorageSettings(BaseModel):
    """The stores' settings, declared once: the ``sqlml_storage`` resource and a
    SqlMlProject's defs.yaml (whose store URLs default into its ``state_dir``) take these."""

    model_store: str = Field(default=".sqlml/models", description="Versioned model store URL.")
    data_store: str = Field(
        default=".sqlml/data", description="Step data (inputs, specs, results) URL."
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Non-secret fsspec options for remote stores, e.g. {'endpoint_url': …}; "
        "steps receive them as FSSPEC_<PROTOCOL>.",
    )
    step_data_format: DataFormatSetting = Field(
        default="auto",
        description="Format of the rows a step reads and writes: 'auto' is Arrow IPC "
        "(uncompressed, memory-mapped) when data_store is a path — local or a shared "
        "volume — and Parquet on an object store; 'parquet' also for step images older "
        "than the Arrow format (docs/architecture.md, step data).",
    )
    data_retention_hours: float | None = Field(
        default=168.0,
        description="Step folders of runs older than this are removed after each ML step; "
        "null keeps them forever.",
    )


class SqlMlStorage(dg.ConfigurableResource, StorageSettings):
    """Where model versions and step data live: local folders or any fsspec URL
    (``s3://bucket/prefix`` through s3fs; ``storage_options`` such as ``endpoint_url`` for
    MinIO-style servers). Credentials belong in the environment (``AWS_*``) or Kubernetes
    Secrets, which the orchestrator and every step read the same way."""

    def models(self) -> ModelStore:
        self.configure_fsspec()
        return ModelStore(self.model_store, **self._options(self.model_store))

    def data(self) -> DataStore:
        self.configure_fsspec()
        return DataStore(self.data_store, **self._options(self.data_store))

    def data_format(self) -> DataFormat:
        """The format of step data files in this data store (``step_data_format``)."""
        return data_format_for(self.data_store, self.step_data_format)

    def builds(self) -> BuildRecords:
        """What each table-like asset was last built from (``store/builds.py``)."""
        self.configure_fsspec()
        return BuildRecords(self.data_store, **self._options(self.data_store))

    def _options(self, url: str) -> dict[str, Any]:
        return dict(self.storage_options) if _protocol(url) not in ("file", "local") else {}

    def configure_fsspec(self) -> None:
        """Make every fsspec call in this process (Parquet export, in-process ML_PREDICT
        models, checksums) reach the stores as the stores themselves do — the same thing
        :meth:`step_env` does for a step's process."""
        import fsspec.config

        for protocol in {_protocol(u) for u in (self.model_store, self.data_store)}:
            if protocol not in ("file", "local") and self.storage_options:
                fsspec.config.conf.setdefault(protocol, {}).update(self.storage_options)

    def step_env(self) -> dict[str, str]:
        """Environment that makes a step's fsspec reach the stores the way this process
        does (fsspec reads ``FSSPEC_<PROTOCOL>`` as that protocol's default options)."""
        protocols = {_protocol(u) for u in (self.model_store, self.data_store)}
        return {
            f"FSSPEC_{p.upper()}": json.dumps(self.storage_options)
            for p in sorted(protocols - {"file", "local"})
            if self.storage_options
        }


def _protocol(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"
