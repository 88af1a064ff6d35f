"""What frameworks print that a step's log should not carry: defined once for the step
runtime (which drops it) and the CLI (which sets the same defaults for what it starts).

TensorFlow announces itself on stderr when it loads: oneDNN's "custom operations are on",
the CUDA stub's "Could not find cuda drivers", CPU feature hints, and absl's "All log
messages before absl::InitializeLog() is called are written to STDERR" — twice when two
of its libraries load. None of it is about the user's statement, and a step's log is read
for per-epoch progress, the step's own lines and its failure line.
``TF_CPP_MIN_LOG_LEVEL=2`` keeps TensorFlow's own INFO and WARNING lines back; the lines
abseil writes before TensorFlow configures logging ignore every variable, so the runtime
drops lines of :func:`is_framework_banner`'s shape while a framework loads
(``runtime/quiet.py``).
"""

from __future__ import annotations

import re

#: Environment defaults (a user's own value wins) read by the frameworks when they load.
FRAMEWORK_LOG_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}

#: An abseil/glog INFO or WARNING line (``I0000 00:00:1796506618.464920   22439
#: port.cc:153] …``) and abseil's note about logging before its initialization. Error and
#: fatal lines (``E…``, ``F…``) are never dropped.
_BANNER = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d+(?:\.\d+)?\s+\d+ [\w.+-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)


#: TensorFlow's one-time probe for CUDA failing (``E0000 … cuda_platform.cc:52] failed call
#: to cuInit: …``): on a machine without a GPU, noise for a step that asked for none — and
#: the one hint why a step that asked for one trains on the CPU, so dropped only for the
#: former (``cpu_only``).
_CUDA_PROBE_FAILURE = re.compile(
    rb"^E\d{4} \d\d:\d\d:\d+(?:\.\d+)?\s+\d+ cuda_platform\.cc:\d+\] failed call to cuInit"
)


def is_framework_banner(line: bytes, *, cpu_only: bool = False) -> bool:
    """Whether one line of stderr is a framework's load-time banner (see module doc); with
    ``cpu_only`` (a step that asked for no GPU) also the failed CUDA probe."""
    if _BANNER.match(line) is not None:
        return True
    return cpu_only and _CUDA_PROBE_FAILURE.match(line) is not None
