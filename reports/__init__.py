"""The report templates (`templates/*.html.j2`, `style.css`), shipped as package data so an installed archbench
finds them (`harness.report.render` loads them through jinja2's PackageLoader). Rendered reports go to `reports/out/`,
which is git-ignored and no part of the package."""
