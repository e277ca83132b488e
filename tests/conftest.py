"""Shared test setup. OpenMP threads that spin while waiting make a busy 2-core machine 10× slower
(measured in the trainer tests); passive waiting costs nothing when the machine is idle."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """`gpu` tests need CUDA: skip them with the reason where there is none."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (none here)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
