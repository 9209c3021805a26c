"""What the viewer page shows, computed from the project's own model: states, predictions, rankings.

One forward pass over the span with the state carried (`RNNLanguageModel.forward_with_states`,
the same model that trains, in float32 on the CPU) gives for every position t

    h_t^(l)         every layer's state after reading c_t                      (n, H) per layer
    p(. | c_<=t)    the distribution of the next character                    (n, V)

from which the page's data are made compactly:

    activations     int8 q = round(127 * h), unit-major (one unit's series is contiguous): the
                    page decodes h = q / 127, within 0.5/127 of the model's value
    top-5           the five likeliest next characters: ids (uint8, or uint16 for V > 256) and
                    probabilities as uint8 round(255 * p)
    surprisal       -log2 p(c_{t+1} | c_<=t) in bits, float32 (NaN at the last position: nothing follows)

Which units are embedded: every unit that a feature ranking names, then the units whose activation
varies most over the span, up to `units` per layer (or all of them).
"""

from __future__ import annotations

import base64
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from src.data.vocab import UNK_DISPLAY, UNK_ID, CharVocab
from src.model.rnn_model import RNNLanguageModel
from src.viewer.features import Ranking, rank_units

TOP_K = 5
SATURATED = 0.99  # |h| above this counts as saturated, as in the diagnostics
CHUNK = 1024  # characters per forward call; the state is carried across calls
HEATMAP_ROWS = 24


@dataclass
class ModelView:
    """The model's float32 states and log-probabilities over a span of text."""

    states: list[np.ndarray]  # per layer (n, H)
    log_probs: np.ndarray  # (n, V): log p(next character) after reading position t


def run_model(model: RNNLanguageModel, ids: torch.Tensor) -> ModelView:
    """Every layer's states and the next-character log-probabilities at every position of `ids` (n,)."""
    model = model.float().eval()
    states: list[list[torch.Tensor]] = [[] for _ in range(model.config.num_layers)]
    log_probs, hidden = [], None
    with torch.no_grad():
        for start in range(0, len(ids), CHUNK):
            logits, hidden, layer_states = model.forward_with_states(ids[None, start:start + CHUNK], hidden)
            log_probs.append(torch.log_softmax(logits[0], dim=-1))
            for layer, layer_state in enumerate(layer_states):
                states[layer].append(layer_state[0])
    return ModelView([torch.cat(layer).numpy() for layer in states], torch.cat(log_probs).numpy())


def surprisal_bits(log_probs: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """-log2 p(c_{t+1}) for t = 0..n-2, and NaN at t = n-1."""
    bits = np.full(len(ids), np.nan, dtype=np.float64)
    bits[:-1] = -log_probs[np.arange(len(ids) - 1), ids[1:]] / math.log(2)
    return bits


def quantise(states: np.ndarray) -> np.ndarray:
    """int8 round(127 * h) of states in [-1, 1]."""
    return np.clip(np.rint(states * 127), -127, 127).astype(np.int8)


def choose_units(states: np.ndarray, named: set[int], count: int | None) -> list[int]:
    """The units of one layer to embed: `named` ones first, then by variance, `count` in all (None: all)."""
    if count is None:
        return list(range(states.shape[1]))
    by_variance = [int(u) for u in np.argsort(-states.var(axis=0), kind="stable")]
    chosen = set(named)
    for unit in by_variance:
        if len(chosen) >= max(count, len(named)):
            break
        chosen.add(unit)
    return sorted(chosen)


def encode(array: np.ndarray) -> str:
    """Base64 of the array's little-endian bytes, row-major."""
    return base64.b64encode(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()).decode()


def heatmap_units(rankings: list[Ranking], states: list[np.ndarray], embedded: list[list[int]]) -> list[list[int]]:
    """Up to HEATMAP_ROWS (layer, unit) rows: the feature rankings' units, strongest first, then by variance."""
    rows: list[list[int]] = []
    for layer, unit, _ in sorted((entry for ranking in rankings for entry in ranking.units), key=lambda e: -abs(e[2])):
        if [layer, unit] not in rows:
            rows.append([layer, unit])
    by_variance = sorted(((float(states[layer][:, unit].var()), layer, unit)
                          for layer, units in enumerate(embedded) for unit in units), reverse=True)
    for _, layer, unit in by_variance:
        if len(rows) >= HEATMAP_ROWS:
            break
        if [layer, unit] not in rows:
            rows.append([layer, unit])
    return rows[:HEATMAP_ROWS]


def build_view_data(model: RNNLanguageModel, vocab: CharVocab, text: str, units: int | None,
                    meta: dict) -> dict:
    """Everything the page needs, as plain JSON-ready values (the arrays base64-encoded)."""
    ids = vocab.encode(text)
    view = run_model(model, ids)
    rankings = rank_units(text, view.states)
    named: list[set[int]] = [set() for _ in view.states]
    for ranking in rankings:
        for layer, unit, _ in ranking.units:
            named[layer].add(unit)
    embedded = [choose_units(states, named[layer], units) for layer, states in enumerate(view.states)]

    top_log_probs, top_ids = torch.from_numpy(view.log_probs).topk(TOP_K, dim=-1)
    id_dtype = np.uint8 if len(vocab) <= 256 else np.uint16
    bits = surprisal_bits(view.log_probs, ids.numpy())
    layers = []
    for states, chosen in zip(view.states, embedded):
        saturated = (np.abs(states) > SATURATED).mean(axis=0)
        layers.append({"units": chosen, "activations": encode(quantise(states[:, chosen].T)),
                       "saturation": [round(float(saturated[u]), 4) for u in chosen],
                       "mean_saturation": round(float(saturated.mean()), 4)})
    return {
        "meta": {**meta, "mean_bpc": float(np.nanmean(bits)) if len(text) > 1 else None,
                 "hidden_size": model.config.hidden_size, "num_layers": model.config.num_layers,
                 "cell": model.config.cell, "parameters": model.num_parameters(), "vocab_size": len(vocab)},
        "text": text,
        "vocabulary": [UNK_DISPLAY if i == UNK_ID else vocab.chars[i - 1] for i in range(len(vocab))],
        "unknown": [int(i) for i in np.flatnonzero(ids.numpy() == UNK_ID)],
        "layers": layers,
        "top_ids": encode(top_ids.numpy().astype(id_dtype)),
        "top_id_bytes": np.dtype(id_dtype).itemsize,
        "top_probs": encode(np.rint(top_log_probs.exp().numpy() * 255).astype(np.uint8)),
        "surprisal": encode(bits.astype(np.float32)),
        "rankings": [asdict(ranking) for ranking in rankings],
        "heatmap": heatmap_units(rankings, view.states, embedded),
    }
