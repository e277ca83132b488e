"""Rendering: the HTML report from a run's rows and stored verdicts (`render`), its tables, suite pages, verdict
views and SVG plots; numbers are written by `harness.store.units`. Renders, never measures or judges."""
