"""`python -m archbench`: the same entry point as the `archbench` console script (the package sets the OpenMP
wait policy on import, before torch loads)."""
import sys

from archbench.cli import main

sys.exit(main())
