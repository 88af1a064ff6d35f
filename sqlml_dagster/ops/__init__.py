"""What runs on the orchestrator when an asset materializes: warehouse I/O, StepSpecs,
launching steps, publishing model versions."""
