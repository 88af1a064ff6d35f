"""One module per framework family; each defines ``train(spec, reporter)`` and ``predict(spec, reporter)``."""
