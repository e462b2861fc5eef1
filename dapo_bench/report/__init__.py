"""Results schema and store, delta tables, regression checks, plots."""
