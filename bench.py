"""How fast is our recurrence next to torch.nn.RNN? Measured side by side in one process.

The same language model with identical weights as torch.nn.RNN (the reference), as our loop
differentiated by autograd and as our hand-written BPTT, for the vanilla cell and each opt-in
variant; timed in interleaved rounds, medians reported (the method: bench/speed.py).

    python bench.py                    # default sizes, CPU, float32 (and bf16 where it is native)
    python bench.py --quick            # a small subset in under a minute
    python bench.py --json bench.json  # also write one JSON object per row

Columns: training characters/s (forward, loss, backward, Adam step) and its ratio to torch_rnn at
the same size and float32; inference characters/s (all positions' logits, no graph); batch-1
generation characters/s, with the draw of each next character ("sample") and the model step alone
("step") (torch_rnn: stepping nn.RNN one character at a time; autograd: our model's forward per
character; bptt: our allocation-free stepper; a variant's bptt: the stepper for its cell); and the
bytes of activations that one forward pass keeps for the backward pass (parameters excluded).
"""

from __future__ import annotations

import argparse

from bench.speed import run_benchmark
from src.cli import add_dataclass_arguments, run_main
from src.script_configs import BenchConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_dataclass_arguments(parser, BenchConfig)
    run_benchmark(BenchConfig(**vars(parser.parse_args())))


if __name__ == "__main__":
    run_main(main)
