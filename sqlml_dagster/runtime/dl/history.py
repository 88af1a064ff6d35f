"""Per-epoch progress: a log line an epoch while training runs, and the rows of the
history the step returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import Reporter


@dataclass
class History:
    """Per-epoch loss and validation metrics, logged as progress and returned as a table."""

    reporter: Reporter
    epochs: int
    rows: list[dict[str, float]] = field(default_factory=list)

    def record(self, epoch: int, seconds: float, **values: float | None) -> None:
        row: dict[str, float] = {"epoch": epoch, "seconds": round(seconds, 4)}
        row.update({k: float(v) for k, v in values.items() if v is not None})
        self.rows.append(row)
        shown = ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k not in ("epoch", "seconds"))
        self.reporter.log(f"epoch {epoch}/{self.epochs}: {shown} ({seconds:.2f}s)")

    def losses(self, epoch: int | None = None) -> dict[str, float]:
        """``loss`` and ``val_loss`` of ``epoch`` (default: the last): the weights kept
        are that epoch's, so its losses join the model's metrics (an objective of trials)."""
        if not self.rows:
            return {}
        row = self.rows[epoch - 1] if epoch else self.rows[-1]
        return {k: row[k] for k in ("loss", "val_loss") if k in row}
