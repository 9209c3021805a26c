"""Simple features of a text, and the hidden units that track them.

Every feature is a number per character position t, computed from the characters the model has
read when its state is h_t, that is text[:t + 1], never from later ones:

    inside quotes       1 while an opening double quote (" or “) has been read and not yet closed
    bracket depth       ( [ { read minus ) ] } read, floored at 0
    position in line    characters since the last newline (0 on the newline itself)
    after newline       1 on a newline: the next character starts a line
    uppercase, digit, whitespace    1 if c_t is one
    position in word    letters read since the last non-letter (0 on a non-letter)

A unit's score for a feature is a correlation over the positions of the text: Pearson's r for
the 0/1 features (the point-biserial correlation) and Spearman's rank correlation for the counts,
which cares only that the unit rises with the count, not that it rises linearly. A feature with
fewer than `min_positive` positions where it is non-zero (or where it is zero) is skipped: a
correlation over a handful of positions ranks noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

OPENING_QUOTES, CLOSING_QUOTES = "“", "”"
OPENING_BRACKETS, CLOSING_BRACKETS = "([{", ")]}"


def inside_quotes(text: str) -> np.ndarray:
    """1.0 where a double quote is open after reading c_t: a straight quote toggles, curly ones open/close."""
    inside, values = False, np.zeros(len(text))
    for t, char in enumerate(text):
        if char == '"':
            inside = not inside
        elif char in OPENING_QUOTES:
            inside = True
        elif char in CLOSING_QUOTES:
            inside = False
        values[t] = inside
    return values


def bracket_depth(text: str) -> np.ndarray:
    """Open brackets of any kind after reading c_t (a stray closing bracket never goes below 0)."""
    depth, values = 0, np.zeros(len(text))
    for t, char in enumerate(text):
        if char in OPENING_BRACKETS:
            depth += 1
        elif char in CLOSING_BRACKETS:
            depth = max(0, depth - 1)
        values[t] = depth
    return values


def run_length(text: str, continues: Callable[[str], bool]) -> np.ndarray:
    """How many characters in a row, ending at c_t, satisfy `continues` (0 where c_t does not)."""
    run, values = 0, np.zeros(len(text))
    for t, char in enumerate(text):
        run = run + 1 if continues(char) else 0
        values[t] = run
    return values


def per_character(text: str, test: Callable[[str], bool]) -> np.ndarray:
    """1.0 where c_t passes `test`."""
    return np.array([float(test(char)) for char in text])


@dataclass(frozen=True)
class Feature:
    """A named feature: `binary` ones are 0/1 (Pearson), the others are counts (Spearman)."""

    name: str
    binary: bool
    compute: Callable[[str], np.ndarray]


FEATURES = (
    Feature("inside quotes", True, inside_quotes),
    Feature("bracket depth", False, bracket_depth),
    Feature("position in line", False, lambda text: run_length(text, lambda c: c != "\n")),
    Feature("after newline", True, lambda text: per_character(text, lambda c: c == "\n")),
    Feature("uppercase", True, lambda text: per_character(text, str.isupper)),
    Feature("digit", True, lambda text: per_character(text, str.isdigit)),
    Feature("whitespace", True, lambda text: per_character(text, str.isspace)),
    Feature("position in word", False, lambda text: run_length(text, str.isalpha)),
)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 of `values` along axis 0, tied values sharing the mean of their ranks (per column)."""
    values = values.reshape(len(values), -1)
    ranks = np.empty(values.shape)
    for column in range(values.shape[1]):
        x = values[:, column]
        order = np.argsort(x, kind="stable")
        sorted_x = x[order]
        # Each run of equal values gets the mean of the positions it spans.
        starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
        ends = np.r_[starts[1:], len(x)]
        run_ranks = np.repeat((starts + ends - 1) / 2, ends - starts)
        ranks[order, column] = run_ranks
    return ranks


def correlations(states: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson's r of each unit (column of states, (n, U)) with the feature (n,).

    Spearman's rank correlation is this applied to `average_ranks` of both. A constant unit (or
    feature) has no defined correlation; it scores 0.
    """
    x = states - states.mean(axis=0)
    y = feature - feature.mean()
    denominator = np.sqrt((x * x).sum(axis=0) * (y * y).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x.T @ y) / denominator
    return np.nan_to_num(r, nan=0.0)


@dataclass
class Ranking:
    """The units that track one feature best, strongest |r| first; `skipped` says why none were ranked."""

    feature: str
    binary: bool
    positive: int  # positions where the feature is non-zero
    units: list[tuple[int, int, float]]  # (layer, unit, r)
    skipped: str | None = None


def rank_units(text: str, layer_states: list[np.ndarray], top: int = 10, min_positive: int = 10,
               features: tuple[Feature, ...] = FEATURES) -> list[Ranking]:
    """For each feature, the `top` units of all layers by |correlation| with it.

    layer_states: one (n, H) array per layer, row t the state after reading text[t].
    """
    states = [np.asarray(layer, dtype=np.float64) for layer in layer_states]
    ranked_states = [average_ranks(layer) for layer in states]  # once per layer, for every count feature
    rankings = []
    for feature in features:
        values = feature.compute(text)
        positive = int(np.count_nonzero(values))
        if min(positive, len(values) - positive) < min_positive:
            rankings.append(Ranking(feature.name, feature.binary, positive, [],
                                    f"{positive} of {len(values)} positions non-zero: under {min_positive} "
                                    "of either kind"))
            continue
        units, target = (states, values) if feature.binary else (ranked_states, average_ranks(values)[:, 0])
        scored = [(layer, unit, float(r))
                  for layer, layer_units in enumerate(units)
                  for unit, r in enumerate(correlations(layer_units, target))]
        scored.sort(key=lambda entry: -abs(entry[2]))
        rankings.append(Ranking(feature.name, feature.binary, positive, scored[:top]))
    return rankings
