"""Time as the stores write and read it: ISO timestamps in UTC, and the newest
modification time of a folder's files on a local disk or S3."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any


def last_modified(infos: Iterable[dict[str, Any]]) -> datetime | None:
    """The newest modification time among a folder's files (local ``mtime`` or S3's
    ``LastModified``), as an aware UTC datetime."""
    newest: datetime | None = None
    for info in infos:
        raw = info.get("mtime", info.get("LastModified"))
        if raw is None:
            continue
        when = (
            datetime.fromtimestamp(float(raw), timezone.utc)
            if isinstance(raw, (int, float))
            else raw
            if isinstance(raw, datetime)
            else None
        )
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if when is not None and (newest is None or when > newest):
            newest = when
    return newest


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
