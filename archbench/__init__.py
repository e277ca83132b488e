"""archbench: the composition root. It wires the layers below (suites -> archs -> harness) into the command line
(`cli`, `python -m archbench`) and hands the renderer what it needs from above the core (`report_inputs`).

Importing the package sets OMP_WAIT_POLICY=PASSIVE (unless set) before anything loads torch's OpenMP, so both entry
points, `python -m archbench` (`make bench`) and the `archbench` console script (`archbench.cli:main`), time under
the same settings: spin-waiting OpenMP threads make a busy machine many times slower (see tests/conftest.py)."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
