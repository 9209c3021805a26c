"""Train the character-level tanh RNN. `python train.py --help` lists every flag."""

from __future__ import annotations

import argparse

from src.cli import add_dataclass_arguments, run_main
from src.config import TrainConfig
from src.train.run import fit


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Train a from-scratch character-level tanh RNN language model "
                    "(WikiText-2 raw by default, or any UTF-8 text with --data-file).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_dataclass_arguments(parser, TrainConfig)
    given = vars(parser.parse_args())
    return fit(TrainConfig(**given), given)


if __name__ == "__main__":
    run_main(main)
