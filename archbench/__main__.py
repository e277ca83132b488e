import os
import sys

# before torch loads OpenMP: spinning waits make a busy machine many times slower (see tests/conftest.py)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from archbench.cli import main  # noqa: E402

sys.exit(main())
