"""A failed step as one line: the code of what went wrong and its cause in the user's terms.

Dagster reports an exception from an op as a generic "Error occurred while executing op"
with a stack trace; for a fault of the machine (a read-only state folder, a full disk, a
warehouse another process holds) or of the project's SQL, the user needs the cause, not
the stack. :func:`fault_of` recognizes those faults by exception type and ``errno`` along
the exception's chain; :class:`AssetStep` raises them as a ``dagster.Failure`` whose
description is ``SQLML5xx: cause`` (docs/diagnostics.md, "Errors when a step runs"), and
``sqlml materialize`` prints that line (``--verbose`` adds Dagster's log and the stack).
An exception that is none of these stays as it is: an internal error keeps its traceback.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from dataclasses import dataclass

from ..compiler import codes
from ..warehouses import (
    SqlRefused,
    StatementRejected,
    Warehouse,
    WarehouseAuthFailed,
    WarehouseBusy,
    WarehouseDenied,
    WarehouseFault,
    WarehouseMissing,
    WarehouseUnreachable,
)

_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)

#: A server warehouse's faults (already one line in the user's terms) by kind.
_SERVER_CODES: tuple[tuple[type[WarehouseFault], str], ...] = (
    (WarehouseUnreachable, codes.WAREHOUSE_UNREACHABLE),
    (WarehouseAuthFailed, codes.WAREHOUSE_AUTH),
    (WarehouseMissing, codes.WAREHOUSE_MISSING),
    (WarehouseDenied, codes.WAREHOUSE_DENIED),
    (StatementRejected, codes.SQL_FAILED),
)


@dataclass(frozen=True)
class Fault:
    code: str
    cause: str

    @property
    def line(self) -> str:
        return f"{self.code}: {self.cause}"


def fault_of(
    error: BaseException, warehouse: Warehouse | None = None, location: str = ""
) -> Fault | None:
    """The fault ``error`` (or an exception it was raised from) reports, if it is one; a
    server's fault of a statement not located yet is put at ``location`` (the asset's
    statement, ``file:line:col``)."""
    for e in _chain(error):
        if isinstance(e, WarehouseBusy):
            return Fault(codes.WAREHOUSE_BUSY, str(e))
        if isinstance(e, SqlRefused):
            return Fault(codes.SQL_REFUSED, str(e))
        if isinstance(e, WarehouseFault):
            if e.statement is not None and location:
                e.at(location)
            code = next((c for kind, c in _SERVER_CODES if isinstance(e, kind)), codes.SQL_FAILED)
            return Fault(code, e.line)
        if isinstance(e, OSError) and e.errno in _DISK_FULL:
            return Fault(codes.DISK_FULL, f"no space left on the device writing {_where(e)}")
        if isinstance(e, OSError) and e.errno in _READ_ONLY:
            return Fault(
                codes.READ_ONLY,
                f"cannot write {_where(e)}: {e.strerror or 'permission denied'} "
                "(the state folder or store must be writable)",
            )
        if warehouse is not None and isinstance(e, warehouse.ERRORS):
            return _warehouse_fault(str(e))
    return None


def _warehouse_fault(message: str) -> Fault:
    """An engine's error: its own first line, classified by what it says (DuckDB reports
    I/O faults of its file and its sandbox's refusals in its message)."""
    first = message.strip().splitlines()[0] if message.strip() else "the warehouse failed"
    lowered = message.lower()
    if "no space left" in lowered or "disk is full" in lowered:
        return Fault(codes.DISK_FULL, first)
    if "read-only file system" in lowered or "permission denied" in lowered:
        return Fault(codes.READ_ONLY, first)
    if "disabled by configuration" in lowered or "configuration has been locked" in lowered:
        return Fault(codes.SQL_REFUSED, f"{first} (the project's SQL opens only its own files)")
    return Fault(codes.SQL_FAILED, first)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _where(error: OSError) -> str:
    return f"'{error.filename}'" if error.filename else "the state folder"
