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

from . import defs as defs_folder

with warnings.catch_warnings():
    # Dagster's component loader calls its own beta and preview APIs (code references,
    # module loaders) on every component it loads: warnings about Dagster's internals, not
    # about this project. Silenced around this one call; anything else still warns.
    warnings.simplefilter("ignore", dg.BetaWarning)
    warnings.simplefilter("ignore", dg.PreviewWarning)
    defs = dg.ComponentTree(
        defs_module=defs_folder, project_root=Path(__file__).parent
    ).build_defs()
