"""An example sqlml_dagster project: iris classification and house-price regression."""
