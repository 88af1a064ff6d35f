"""The files of a model version folder that the runtime writes and the orchestrator reads."""

from __future__ import annotations

#: What the model reads and returns (task, classes, feature plan, saved format), written
#: by every flavor beside its model file — the one copy of a version's signature.
SIGNATURE_FILE = "signature.json"
