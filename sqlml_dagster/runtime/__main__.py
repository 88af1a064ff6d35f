"""``python -m sqlml_dagster.runtime SPEC_URI`` — see :mod:`sqlml_dagster.runtime`."""

import os
import sys

from . import main

if __name__ == "__main__":
    code = main()
    # The exit status is the step's verdict (65: a user error a Job's podFailurePolicy
    # fails at once; contract/exits.py). Native libraries a step loaded (DuckDB, Arrow,
    # torch, TensorFlow) may abort in their static destructors at interpreter exit
    # ("terminate called without an active exception", SIGABRT) and replace it; the
    # step's work is done and its result written, so leave without running them.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
