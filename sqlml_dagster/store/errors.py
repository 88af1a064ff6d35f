"""What the model store raises: a model or version that does not exist, a version whose
files do not match its manifest, a gated model with no version that passes its gates, a
name that would leave the store, and a reservation that is no longer its owner's. Callers catch them by kind, so each says in its message what to do."""

from __future__ import annotations


class ModelNotFound(LookupError):
    """A model or a version of it does not exist; the message names those that do."""


class CorruptVersion(ValueError):
    """A published version that is damaged: its manifest does not read, or its artifacts
    are missing or do not match the sizes and checksums in it. The message names the
    version and the file."""


class GateNotPassed(ModelNotFound):
    """A gated model has no version that meets its quality gates; the message says how each
    version fared and what to do."""


class BadName(ValueError):
    """A model name (or a part of a path under it) that would not stay inside the store:
    refused before any path is joined, whoever asks (the CLI, a catalog statement, a
    materializer)."""


class ReservationLost(RuntimeError):
    """A training's reserved version is no longer its own (its lease expired and ``gc``
    removed it, or the model was dropped): nothing is published into it."""


class AliasNotFound(ModelNotFound):
    """``m@champion`` names an alias the model does not have; the message names the
    aliases it has (SQLML430 when a step fails over it)."""


class AliasConflict(RuntimeError):
    """Another move of the same alias landed first: this one wrote nothing (the history
    keeps every move that won). Read the alias again and decide again (SQLML431)."""
