"""A reservation's lease, kept alive while its training runs.

A training reserves a version (``<n>/.pending``, naming its owner and lease) and then
waits — minutes or days — for its step. ``gc`` cannot tell a slow training from a dead one
by age; it can tell by the lease: the owner rewrites ``<n>/.lease`` every
``lease / 10`` seconds, and ``gc`` removes a reservation only when nothing in its folder
was written for a whole lease (plus a grace for clock skew). :class:`LeaseKeeper` is the
thread that renews, in the process that waits for the step (the orchestrator, which also
publishes or discards the version: a reservation whose orchestrator died has nobody left
to publish it, so it may go).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from .records import PendingVersion

if TYPE_CHECKING:
    from types import TracebackType

    from .models import ModelStore

#: How long a reservation lives without a renewal.
DEFAULT_LEASE = timedelta(minutes=10)
#: How much longer ``gc`` waits past a lease, for clocks that disagree (the orchestrator's,
#: the S3 server's, the machine that runs ``gc``).
GC_GRACE = timedelta(minutes=5)
#: A reservation an older release wrote has no lease: ``gc`` gives it the old 24 hours.
LEGACY_LEASE = timedelta(hours=24)


class LeaseKeeper:
    """Renews ``pending``'s lease every ``every`` seconds (default: a tenth of the lease)
    on a daemon thread, from ``with`` until its end. ``lost`` says why renewing stopped
    when the reservation stopped being this owner's (publishing then refuses too)."""

    def __init__(self, store: ModelStore, pending: PendingVersion, every: float | None = None):
        self.store = store
        self.pending = pending
        lease = pending.lease_seconds or DEFAULT_LEASE.total_seconds()
        self.every = every if every is not None else max(lease / 10, 0.05)
        self.lost: str | None = None
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"sqlml-lease-{pending.model}-{pending.version}", daemon=True
        )

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                renewed = self.store.renew(self.pending)
            except OSError:  # a network hiccup: the lease has ten renewals of slack
                continue
            if not renewed:
                self.lost = (
                    f"{self.pending.model}@{self.pending.version}'s reservation is no longer "
                    "this run's"
                )
                return
            self.renewals += 1
