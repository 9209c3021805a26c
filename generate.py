"""Sample text from a trained checkpoint. `python generate.py --help` lists every flag."""

from __future__ import annotations

import argparse
import sys

import torch

from src.cli import add_dataclass_arguments, run_main
from src.data.vocab import CharVocab
from src.device import resolve_device
from src.model.rnn_model import RNNLanguageModel
from src.model.sampling import SamplingOptions, encode_prompt, generate
from src.script_configs import GenerateConfig
from src.train.checkpoint import load_checkpoint


def main() -> int:
    parser = argparse.ArgumentParser(description="Continue a prompt with a trained character-level tanh RNN.")
    add_dataclass_arguments(parser, GenerateConfig)
    config = GenerateConfig(**vars(parser.parse_args()))
    options = SamplingOptions(config.temperature, config.top_k, config.top_p)
    device = resolve_device(config.device)

    state = load_checkpoint(config.checkpoint)
    vocab = CharVocab(state["vocab"])
    model = RNNLanguageModel.from_checkpoint(state).to(device)
    prompt_ids = encode_prompt(vocab, config.prompt, config.drop_unknown)

    generator = torch.Generator()
    if config.seed is None:
        generator.seed()
    else:
        generator.manual_seed(config.seed)
    for index in range(config.num_samples):
        if config.num_samples > 1:
            print(f"--- sample {index + 1} ---")
        sys.stdout.write(vocab.decode(prompt_ids.tolist()))
        for char in generate(model, vocab, prompt_ids, config.length, options, generator):
            sys.stdout.write(char)
            sys.stdout.flush()  # stream: show each character as soon as it is drawn
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    run_main(main)
