"""Stores over any fsspec URL: versioned models and per-run step data."""

from .data import DataStore
from .models import (
    Gate,
    GateNotPassed,
    GateResult,
    ModelManifest,
    ModelNotFound,
    ModelStore,
    ModelVersion,
    PendingVersion,
)

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
