"""``python -m sqlml_dagster.runtime SPEC_URI`` — see :mod:`sqlml_dagster.runtime`."""

import os
import signal
import sys

# A step stops on SIGTERM, as a container's process does. A local step inherits its
# launcher's signal dispositions, and a Dagster process whose SIGINT is ignored (started
# in the background by a shell, or by nohup) maps SIGTERM to that same SIG_IGN
# (dagster._utils.interrupts): a cancelled or timed-out step would then run on until the
# launcher's SIGKILL, and nothing it does on SIGTERM would happen.
if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

from . import main  # after the disposition: importing the runtime may take a while

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
