"""The example's Dagster entry point, for `dagster dev`, `dg dev` and `sqlml materialize -m
example_repo.definitions`: the components of the defs folder (one SqlMlProject,
defs/sqlml/defs.yaml), so the YAML and the headless commands load one project the same way.

The tree is built from this package's own defs module rather than through
`dg.load_from_defs_folder`, which finds the project by the `[tool.dg]` config naming
`example_repo`: a copy of this folder under another name (as tests make) loads itself.
"""

import warnings
from pathlib import Path

import dagster as dg

from sqlml_dagster.quiet import silence_later_dagster_warnings

from . import defs as defs_folder

# Dagster reads the checks below again after this module returns (dg dev's code server, the
# run workers), through a beta parameter of its own: that one warning is dropped for the
# process, here outside the block below, which would undo any filter set inside it.
silence_later_dagster_warnings()
with warnings.catch_warnings():
    # Dagster's component loader calls its own beta and preview APIs (code references,
    # module loaders) on every component it loads: warnings about Dagster's internals, not
    # about this project. Silenced around this one call; anything else still warns.
    warnings.simplefilter("ignore", dg.BetaWarning)
    warnings.simplefilter("ignore", dg.PreviewWarning)
    defs = dg.ComponentTree(
        defs_module=defs_folder, project_root=Path(__file__).parent
    ).build_defs()
