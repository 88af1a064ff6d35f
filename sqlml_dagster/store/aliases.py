"""A model's named aliases (``m@champion``): what one move of an alias records.

Layout, beside the version folders::

    <store>/<model>/_aliases/champion/000001.json   the first move: champion → version 2
                                      000002.json   the next: champion → version 5

Each move is a new file, created with the same *exclusive create* that reserves a version
number (``O_EXCL`` on a disk, a conditional ``PUT`` with ``If-None-Match: *`` on S3): a
mover reads the newest record (sequence ``n``) and creates ``n + 1``. Two moves that race
both try to create ``n + 1`` and exactly one succeeds; the other writes nothing and is told
(:class:`~.errors.AliasConflict`) — no move overwrites another, so the folder *is* the
alias's history, oldest first, and the newest record is where the alias points. Records
are never rewritten; ``gc`` keeps the versions aliases point to, and ``drop`` removes a
model's aliases with its versions.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from ..contract.versioned import known_fields

#: The folder under a model that holds one folder of moves per alias.
ALIASES = "_aliases"
#: A move's file name: its sequence number, zero-padded so a listing sorts as it counts.
_RECORD = re.compile(r"(\d{6,})\.json")


def record_name(seq: int) -> str:
    return f"{seq:06d}.json"


def record_seq(name: str) -> int | None:
    """The sequence number of a move's file name (``None``: not a move's file)."""
    match = _RECORD.fullmatch(name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: from ``previous`` (``None``: it did not exist) to ``version``,
    when, by whom, and why (``sqlml models alias``, or a promotion policy)."""

    alias: str
    version: int
    seq: int
    at: str
    previous: int | None = None
    #: ``user@host`` of the process that moved it.
    by: str = ""
    #: ``sqlml models alias`` or ``promote = best_score(auc)``.
    reason: str = ""
    note: str = ""
    dagster_run_id: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AliasMove:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        move = cls(**known_fields(cls, raw))
        if not isinstance(move.version, int) or isinstance(move.version, bool):
            raise ValueError(f"names version {move.version!r}, not a number")
        return move

    @property
    def text(self) -> str:
        """``@champion → 5 (was 2; promote = best_score(auc); 2026-11-24T03:01:02Z)``."""
        was = f"was {self.previous}" if self.previous is not None else "new"
        why = "; ".join(x for x in (was, self.reason, self.note, self.at) if x)
        return f"@{self.alias} → {self.version} ({why})"


__all__ = ["ALIASES", "AliasMove", "record_name", "record_seq"]
