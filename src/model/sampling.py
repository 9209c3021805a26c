"""Generating text: prime the hidden state with a prompt, then draw one character at a time.

The model runs on its device; every random draw happens on the CPU with an explicit generator,
so a seed gives the same sequence of random numbers on any device (and sidesteps
torch.multinomial's MPS bugs). The sample itself is reproducible on the same device and
precision; on another device the logits can differ in their last bits, and a draw that falls
near a boundary between two characters can then pick the other one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from src.data.vocab import UNK_ID, CharVocab
from src.errors import UserError
from src.model.rnn_model import RNNLanguageModel
from src.model.stepper import make_stepper


@dataclass
class SamplingOptions:
    """How to turn next-character scores into a draw."""

    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise UserError(f"--temperature must be positive, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise UserError(f"--top-k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise UserError(f"--top-p must be in (0, 1], got {self.top_p}")


def next_char_probabilities(logits: Tensor, options: SamplingOptions) -> Tensor:
    """Logits (V,) -> a probability vector after temperature, top-k and top-p (nucleus) filtering.

    The unknown symbol is never drawn: it is not a character the model can write.
    """
    logits = logits.float() / options.temperature
    logits[UNK_ID] = float("-inf")
    if options.top_k is not None and options.top_k < logits.numel():
        kth_largest = torch.topk(logits, options.top_k).values[-1]
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if options.top_p is not None and options.top_p < 1:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Keep the smallest prefix whose mass reaches top_p: a character stays if the mass
        # *before* it is still below top_p (so the most likely one always stays).
        mass_before = torch.cumsum(sorted_probs, dim=0) - sorted_probs
        sorted_probs[mass_before >= options.top_p] = 0
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
        probs /= probs.sum()
    return probs


def draw(probs: Tensor, generator: torch.Generator) -> int:
    """One index drawn with probability `probs[i]`, by inverting the cumulative distribution.

    Equivalent to torch.multinomial(probs, 1) and about five times faster for a single draw
    (which is all sampling ever asks for): a cumulative sum, one uniform number, a binary search.
    `right=True` makes an index with zero probability (a flat step of the CDF) impossible to hit.
    """
    cdf = torch.cumsum(probs, dim=0)
    u = torch.rand(1, generator=generator, dtype=cdf.dtype) * cdf[-1]
    return min(int(torch.searchsorted(cdf, u, right=True)), probs.numel() - 1)


def encode_prompt(vocab: CharVocab, prompt: str, drop_unknown: bool) -> Tensor:
    """The prompt's ids; unknown characters are an error naming them, or dropped if asked."""
    if not prompt:
        raise UserError("the prompt is empty: give at least one character with --prompt")
    unknown = vocab.unknown_chars(prompt)
    if unknown:
        if not drop_unknown:
            shown = " ".join(repr(c) for c in unknown)
            raise UserError(f"the prompt has characters the model never saw in training: {shown} "
                            "(remove them or pass --drop-unknown)")
        prompt = "".join(c for c in prompt if c in vocab)
        if not prompt:
            raise UserError("no prompt characters are left after dropping the unknown ones")
    return vocab.encode(prompt)


@torch.inference_mode()
def generate(model: RNNLanguageModel, vocab: CharVocab, prompt_ids: Tensor, length: int,
             options: SamplingOptions, generator: torch.Generator) -> Iterator[str]:
    """Yield `length` sampled characters that continue `prompt_ids`, one at a time.

    The prompt is read in one forward pass (fast for long prompts); the characters after it go
    through `make_stepper`'s single-step path (allocation-free `RNNStepper` for the vanilla cell).
    """
    was_training = model.training
    model.eval()
    logits, hidden = model(prompt_ids.view(1, -1).to(model.head.weight.device))
    model.train(was_training)
    stepper = make_stepper(model)
    stepper.reset(hidden)
    next_logits = logits[0, -1]
    for _ in range(length):
        char_id = draw(next_char_probabilities(next_logits.cpu(), options), generator)
        yield vocab.decode([char_id])
        next_logits = stepper.step(char_id)


def progress_sample(model: RNNLanguageModel, vocab: CharVocab, length: int, seed: int, prompt: str = "The ") -> str:
    """`prompt` and a continuation of `length` characters: the sample a training log prints after each epoch.

    The prompt's characters the vocabulary lacks are left out (its first character stands in if none
    is left), as a small training text may lack some. The draws use their own generator, so printing
    a sample never changes a run's random numbers.
    """
    prompt = "".join(ch for ch in prompt if ch in vocab) or vocab.chars[0]
    ids = encode_prompt(vocab, prompt, drop_unknown=False)
    generator = torch.Generator().manual_seed(seed)
    return prompt + "".join(generate(model, vocab, ids, length, SamplingOptions(), generator))
