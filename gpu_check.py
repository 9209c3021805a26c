"""One command for a person with an NVIDIA GPU: is it computing what the CPU proves, and how fast?

    python gpu_check.py                 # under 5 minutes on one GPU
    python gpu_check.py --device cpu    # the same checks, smaller, on the CPU

Prints one summary table (Markdown) and exits with 1 if any check failed; src/gpu_check.py
describes the checks.
"""

from __future__ import annotations

import argparse
import time

import torch

from src.cli import add_dataclass_arguments, run_main
from src.device import resolve_device
from src.gpu_check import run_checks, summary_table
from src.script_configs import GpuCheckConfig


def main() -> int:
    parser = argparse.ArgumentParser(description="Check a GPU (or any device) against the CPU's float64 reference: "
                                                 "gradients, short bf16/fp32 runs, speed against PyTorch's RNN "
                                                 "layer, DDP.")
    add_dataclass_arguments(parser, GpuCheckConfig)
    config = GpuCheckConfig(**vars(parser.parse_args()))
    device = resolve_device(config.device)
    began = time.perf_counter()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    print(f"checking {name} with torch {torch.__version__}...", flush=True)
    results = run_checks(config, device)
    failed = [r for r in results if r.status == "FAIL"]
    print()
    print(summary_table(results))
    print(f"\n{len(results) - len(failed)} of {len(results)} checks passed or were skipped, {len(failed)} failed, "
          f"in {time.perf_counter() - began:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    run_main(main)
