"""Storage: the tidy results store (one row per number, run metadata), the run's verdicts as data (`verdicts`),
run comparison (metric deltas and changed verdicts), pytest-benchmark import, the metric vocabulary, and how a number
is written and a frame column read (`units`, `columns`: one formatter, one missing-value test, one lookup). Imports
nothing of the other rooms."""
