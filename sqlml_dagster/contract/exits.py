"""How a step's process ends, as its exit status: the one fact about a step a launcher
learns without reading anything the step wrote.

A Kubernetes Job's ``podFailurePolicy`` can act on an exit status alone, before any log or
file is read: the launcher's default policy fails the Job at once on
:data:`USER_ERROR_EXIT_CODE` (retrying the same spec cannot fix a bad parameter) while a
crash, an OOM kill or an eviction stays retryable. So a user error and a crash must not
share Python's status 1, which every uncaught exception exits with.
"""

from __future__ import annotations

#: The step finished and reported its result.
SUCCESS_EXIT_CODE = 0
#: A problem the user can fix (a bad ``WITH`` parameter, a wrong column type, a spec newer
#: than the runtime): the runtime wrote its one-line reason to ``error.json`` beside the
#: spec. ``EX_DATAERR`` of BSD's sysexits.h ("the input data was incorrect in some way"):
#: distinct from 1 (an uncaught exception — a crash), 2 (a usage error) and 128+N (killed
#: by signal N, e.g. 137 for an OOM kill).
USER_ERROR_EXIT_CODE = 65
