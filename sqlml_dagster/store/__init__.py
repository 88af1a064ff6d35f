"""Stores over any fsspec URL: versioned models and per-run step data."""

from .data import DataStore
from .errors import GateNotPassed, ModelNotFound
from .gates import Gate, GateResult
from .models import ModelStore
from .records import ModelManifest, ModelVersion, PendingVersion

__all__ = [
    "DataStore",
    "Gate",
    "GateNotPassed",
    "GateResult",
    "ModelManifest",
    "ModelNotFound",
    "ModelStore",
    "ModelVersion",
    "PendingVersion",
]
