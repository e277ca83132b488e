"""Rendering: the HTML report from a run's rows and verdicts (`render`), its tables, suite pages, verdict views,
number formatting and SVG plots. Renders, never measures."""
