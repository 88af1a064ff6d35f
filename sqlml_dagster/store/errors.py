"""What the model store raises: a model or version that does not exist, a version whose
files do not match its manifest, and a gated model with no version that passes its
gates. Callers catch them by kind, so each says in its message what to do."""

from __future__ import annotations


class ModelNotFound(LookupError):
    """A model or a version of it does not exist; the message names those that do."""


class CorruptVersion(ValueError):
    """A published version whose artifacts do not match the checksums in its manifest."""


class GateNotPassed(ModelNotFound):
    """A gated model has no version that meets its quality gates; the message says how each
    version fared and what to do."""
