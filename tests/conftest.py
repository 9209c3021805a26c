"""Suite-wide set-up: each pytest-xdist worker (pyproject.toml runs two) keeps to one thread."""

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers on two cores, each with torch's default of one thread per core, oversubscribe the
    # machine: the suite took 270 s that way and 189 s with one thread per worker. Set before torch
    # is imported, and inherited by every script a test runs in a subprocess.
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
