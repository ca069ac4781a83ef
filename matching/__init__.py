"""Rule compilation to polars, the reference evaluator, matching runs (issue 3)."""
