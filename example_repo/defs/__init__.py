"""The example's defs folder: `dg` loads every component below it (one SqlMlProject)."""
