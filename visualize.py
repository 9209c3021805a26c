"""Write a self-contained HTML page that shows a checkpoint's hidden units on a text.

    python visualize.py --checkpoint checkpoints/best.pt --text-file some.txt --out viewer.html

`python visualize.py --help` lists every flag; README "Seeing inside" describes the page.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from src.cli import add_dataclass_arguments, run_main
from src.data.corpus import read_text
from src.data.vocab import CharVocab
from src.errors import UserError
from src.model.rnn_model import RNNLanguageModel
from src.script_configs import VisualizeConfig
from src.train.checkpoint import load_checkpoint
from src.viewer.data import build_view_data
from src.viewer.page import render_page


def main() -> int:
    parser = argparse.ArgumentParser(description="A one-file HTML viewer of a checkpoint's hidden units on a text: "
                                                 "activations, predictions, and the units that track simple "
                                                 "features of the text.")
    add_dataclass_arguments(parser, VisualizeConfig)
    config = VisualizeConfig(**vars(parser.parse_args()))
    began = time.perf_counter()
    state = load_checkpoint(config.checkpoint)
    text = read_text(Path(config.text_file))
    if not text:
        raise UserError(f"{config.text_file} is empty")
    if config.start >= len(text) - 1:
        raise UserError(f"--start {config.start} is past the end of {config.text_file} ({len(text):,} characters; "
                        "at least 2 must remain)")
    span = text[config.start:config.start + config.chars]
    meta = {"checkpoint": config.checkpoint, "source": config.text_file, "source_length": len(text),
            "start": config.start}
    data = build_view_data(RNNLanguageModel.from_checkpoint(state), CharVocab(state["vocab"]), span,
                           config.units_per_layer, meta)
    page = render_page(data)
    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    unknown = len(data["unknown"])
    print(f"wrote {out} ({len(page.encode()) / 1e6:.2f} MB) in {time.perf_counter() - began:.1f} s: characters "
          f"{config.start:,}-{config.start + len(span):,} of {len(text):,}, mean {data['meta']['mean_bpc']:.3f} bpc, "
          f"{' + '.join(str(len(layer['units'])) for layer in data['layers'])} units embedded"
          + (f", {unknown} positions outside the vocabulary" if unknown else ""))
    return 0


if __name__ == "__main__":
    run_main(main)
