"""Test helpers for the viewer: a small checkpoint, a text with every feature in it, and the page's data read back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from src.data.vocab import CharVocab
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.train.checkpoint import save_checkpoint

SENTENCES = ['She said "come (here) now" twice.\n', "Line 42 [of {the} play] ends.\n",
             'He wrote "3 (or 4) words" again.\n', "No quotes here at all.\n"]


def feature_text(characters: int = 600) -> str:
    """A text with quotes, nested brackets, digits, capitals and newlines, about `characters` long."""
    text = ""
    while len(text) < characters:
        text += SENTENCES[len(text) % len(SENTENCES)]
    return text[:characters]


def save_model(path: Path, text: str, hidden_size: int = 16, num_layers: int = 2, seed: int = 0) -> RNNLanguageModel:
    """An untrained model over `text`'s characters, saved as a checkpoint at `path`; returns the model."""
    torch.manual_seed(seed)
    vocab = CharVocab.from_text(text)
    model = RNNLanguageModel(ModelConfig(len(vocab), embedding_dim=8, hidden_size=hidden_size, num_layers=num_layers))
    save_checkpoint({"config": {"precision": "fp32"}, "model_config": model.config.to_dict(), "vocab": vocab.chars,
                     "model": model.state_dict()}, path)
    return model


def page_data(html: str) -> dict:
    """The JSON data block a viewer page carries."""
    block = re.search(r'<script type="application/json" id="viewer-data">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))
