"""The commands' usage errors: a problem with how ``sqlml`` was called (a warehouse that
does not open, a module without Definitions) prints as one line, not a traceback."""

from __future__ import annotations


class CliError(Exception):
    """A one-line problem with the command (exit 2)."""
