"""Score a trained checkpoint on a text file. `python evaluate.py --help` lists every flag."""

from __future__ import annotations

import argparse
from pathlib import Path

from src.analysis.dynamic_evaluation import dynamic_evaluate
from src.analysis.ensemble import Ensemble, load_members, split_paths
from src.analysis.evaluation import evaluate
from src.cli import add_dataclass_arguments, run_main
from src.data.corpus import read_text
from src.data.vocab import CharVocab
from src.device import resolve_device
from src.errors import UserError
from src.model.rnn_model import RNNLanguageModel
from src.precision import checkpoint_precision, emulated_bf16_warning
from src.script_configs import EvaluateConfig
from src.train.checkpoint import load_checkpoint


def main() -> int:
    parser = argparse.ArgumentParser(description="Loss, bits per character and perplexity of a checkpoint on a "
                                                 "text, every character predicted once with the state carried.")
    add_dataclass_arguments(parser, EvaluateConfig)
    config = EvaluateConfig(**vars(parser.parse_args()))
    device = resolve_device(config.device)
    paths = split_paths(config.checkpoint)
    if len(paths) == 1:
        state = load_checkpoint(paths[0])
        vocab, model = CharVocab(state["vocab"]), RNNLanguageModel.from_checkpoint(state)
    else:
        members, chars, state = load_members(paths)
        vocab, model = CharVocab(chars), Ensemble(members)
        print(f"ensemble of {len(paths)} checkpoints: their next-character probabilities averaged")
    model = model.to(device)
    precision = checkpoint_precision(config.precision, state["config"]["precision"], device)
    origin = "--precision" if config.precision is not None else "the checkpoint's"
    warning = emulated_bf16_warning(precision, device)
    if warning:
        print(f"{warning}: --precision fp32 scores faster (its figure may differ from the run's in the last digits)")
    text = read_text(Path(config.text_file))
    if len(text) < 2:
        raise UserError(f"{config.text_file} has fewer than 2 characters")
    ids = vocab.encode(text)
    result = evaluate(model, ids, config.batch_size, config.seq_len, device, precision)
    unknown = len(vocab.unknown_chars(text))
    print(f"{config.text_file}: {result.loss:.4f} nats | {result.bpc:.4f} bpc | perplexity {result.perplexity:.2f} "
          f"| {result.characters:,} characters predicted ({unknown} distinct unseen in training) "
          f"| {precision} ({origin})")
    if config.dynamic:
        adapted = dynamic_evaluate(model, ids, config.batch_size, config.seq_len, device, precision,
                                   config.dynamic_lr, config.dynamic_decay)
        print(f"dynamic evaluation (lr {config.dynamic_lr:g}, decay {config.dynamic_decay:g}): {adapted.loss:.4f} nats "
              f"| {adapted.bpc:.4f} bpc | perplexity {adapted.perplexity:.2f} | {adapted.bpc - result.bpc:+.4f} bpc "
              "against static")
    return 0


if __name__ == "__main__":
    run_main(main)
