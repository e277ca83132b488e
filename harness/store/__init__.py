"""Storage: the tidy results store (one row per number, run metadata), run comparison, pytest-benchmark import and
the metric vocabulary. Imports nothing of the other rooms."""
