"""The example project's Dagster entry point: `dagster dev -m example_repo.definitions`."""

from sqlml_dagster import build_defs

defs = build_defs("sql/")
