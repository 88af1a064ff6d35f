"""Materialize every asset of a SQL folder in its own process (the way a second Dagster
deployment, a scheduled run or a CI job would), printing the model versions as JSON.

    python -m tests.versions.worker CONFIG_JSON
"""

from __future__ import annotations

import json
import sys

import dagster as dg

from sqlml_dagster import build_defs
from sqlml_dagster.launchers.local import LocalLauncher
from sqlml_dagster.ops.storage import SqlMlStorage


def main() -> int:
    config = json.loads(sys.argv[1])
    storage = SqlMlStorage(
        model_store=config["model_store"],
        data_store=config["data_store"],
        storage_options=config.get("storage_options", {}),
    )
    defs = build_defs(
        config["sql"],
        state_dir=config["state"],
        storage=storage,
        launcher=LocalLauncher(pythonpath=[config["sql"]]),
    )
    result = dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    versions = {
        event.asset_key.to_user_string(): event.materialization.metadata["model_version"].value
        for event in result.get_asset_materialization_events()
        if "model_version" in event.materialization.metadata
    }
    print(json.dumps({"success": result.success, "versions": versions}))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
