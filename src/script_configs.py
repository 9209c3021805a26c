"""The configurations of the small scripts: generate.py, evaluate.py, visualize.py, gpu_check.py and bench.py.

One dataclass per script, built into flags the same way as `TrainConfig` (src/config.py, src/cli.py):
each field's metadata carries its help text, and `__post_init__` turns bad values into one-line errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from src.config import flag
from src.errors import UserError
from src.model.rnn_model import CELLS
from src.precision import PRECISIONS

# bench.py's implementations: torch_rnn (PyTorch's layer, the reference) and, for each of our cells, its loop
# differentiated by autograd and its hand-written backward: "autograd"/"bptt" for the vanilla cell,
# "<cell>_autograd"/"<cell>_bptt" for each opt-in variant. Name -> (cell, rnn_impl).
OUR_IMPLS = {(rnn_impl if cell == "vanilla" else f"{cell}_{rnn_impl}"): (cell, rnn_impl)
             for cell in CELLS for rnn_impl in ("autograd", "bptt")}
BENCH_IMPLS = ("torch_rnn", *OUR_IMPLS)


@dataclass
class GenerateConfig:
    """Everything `python generate.py` can be told."""

    checkpoint: str = flag("checkpoints/best.pt", "checkpoint to sample from", metavar="PATH")
    prompt: str = flag("The ", "text that primes the hidden state; the sample continues it", metavar="TEXT")
    length: int = flag(500, "characters to generate after the prompt")
    temperature: float = flag(0.8, "divide the logits by this: below 1 is more conservative, above 1 wilder")
    top_k: int | None = flag(None, "draw only from the k most likely characters")
    top_p: float | None = flag(None, "draw only from the smallest set of characters whose probability reaches p")
    seed: int | None = flag(None, "random seed for reproducible samples (default: a fresh one each run)")
    num_samples: int = flag(1, "how many independent samples to draw")
    device: str = flag("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    drop_unknown: bool = flag(False, "drop prompt characters the model never saw instead of failing")

    def __post_init__(self) -> None:
        if self.length < 0:
            raise UserError(f"--length must not be negative, got {self.length}")
        if self.num_samples < 1:
            raise UserError(f"--num-samples must be at least 1, got {self.num_samples}")


@dataclass
class EvaluateConfig:
    """Everything `python evaluate.py` can be told."""

    text_file: str | None = flag(None, "UTF-8 text to score, e.g. a held-out test set (required)", metavar="PATH")
    checkpoint: str = flag("checkpoints/best.pt", "checkpoint to evaluate; several, comma-separated and trained on "
                           "the same text, are scored as one ensemble (their probabilities averaged)",
                           metavar="PATH[,PATH...]")
    batch_size: int = flag(64, "parallel streams the text is laid out in (the result barely depends on it)")
    seq_len: int = flag(128, "characters per forward call; the state is carried across calls")
    precision: str | None = flag(None, "bf16, fp32, or auto (bf16 on CPUs with native bf16 instructions, else "
                                 "fp32); default: the precision the checkpoint was trained in, which "
                                 "reproduces its results.json", choices=list(PRECISIONS))
    device: str = flag("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    dynamic: bool = flag(False, "also score the text with dynamic evaluation (the model adapts to each window "
                         "after scoring it); printed beside the static figure")
    dynamic_lr: float = flag(0.1, "dynamic evaluation: SGD step size on each scored window's mean loss (choose "
                             "it on validation text: 0.1 was best for the 2 x 1024 WikiText-2 proxy model)")
    dynamic_decay: float = flag(0.0, "dynamic evaluation: pull toward the trained weights per step, in [0, 1)")

    def __post_init__(self) -> None:
        if self.dynamic_lr <= 0 or not 0 <= self.dynamic_decay < 1:
            raise UserError("--dynamic-lr must be positive and --dynamic-decay in [0, 1)")
        if self.text_file is None:
            raise UserError("--text-file is required: the text to evaluate the checkpoint on")
        if self.batch_size < 1 or self.seq_len < 1:
            raise UserError("--batch-size and --seq-len must be at least 1")


@dataclass
class VisualizeConfig:
    """Everything `python visualize.py` can be told."""

    text_file: str | None = flag(None, "UTF-8 text to run the model over (required)", metavar="PATH")
    checkpoint: str = flag("checkpoints/best.pt", "checkpoint whose hidden units to show", metavar="PATH")
    out: str = flag("viewer.html", "the HTML file to write (one self-contained page)", metavar="PATH")
    start: int = flag(0, "first character of the text to show (the state starts from zero there)")
    chars: int = flag(2000, "how many characters to show (fewer if the text ends first)")
    units: str = flag("64", "units per layer embedded in the page: a number (the ones the feature rankings name, "
                      "then the most variable) or 'all'", metavar="N|all")

    def __post_init__(self) -> None:
        if self.text_file is None:
            raise UserError("--text-file is required: the text to show the hidden units on")
        if self.start < 0 or self.chars < 2:
            raise UserError(f"--start must not be negative and --chars must be at least 2, got {self.start} "
                            f"and {self.chars}")
        if self.units != "all" and not (self.units.isdigit() and int(self.units) >= 1):
            raise UserError(f"--units must be a positive number or 'all', got {self.units!r}")

    @property
    def units_per_layer(self) -> int | None:
        """--units as a count; None for all."""
        return None if self.units == "all" else int(self.units)


@dataclass
class GpuCheckConfig:
    """Everything `python gpu_check.py` can be told."""

    device: str = flag("cuda", "the device to check (cpu runs the same checks, smaller: how the checks are tested)")
    hidden_sizes: tuple[int, ...] = flag((512, 1024), "hidden sizes of the speed comparison with PyTorch's RNN "
                                         "layer", metavar="H")
    steps: int = flag(60, "optimizer steps of each short training run (bf16 and fp32)")
    train_hidden_size: int = flag(256, "units per layer of the short training runs' 2-layer model")
    workdir: str | None = flag(None, "where to keep the runs' files (default: a temporary folder)", metavar="DIR")

    def __post_init__(self) -> None:
        if min(self.hidden_sizes) < 1:
            raise UserError(f"--hidden-sizes must be at least 1, got {' '.join(map(str, self.hidden_sizes))}")
        if self.steps < 1:
            raise UserError(f"--steps must be at least 1, got {self.steps}")
        if self.train_hidden_size < 1:
            raise UserError(f"--train-hidden-size must be at least 1, got {self.train_hidden_size}")


@dataclass
class BenchConfig:
    """Everything `python bench.py` can be told."""

    device: str = flag("cpu", "cpu, cuda, cuda:N or mps")
    hidden_sizes: tuple[int, ...] = flag((256, 512, 1024), "hidden sizes to benchmark (train.py's default model "
                                         "has 1024)", metavar="H")
    vocab_size: int = flag(1000, "vocabulary size (WikiText-2 raw's is of this order)")
    embedding_dim: int = flag(128, "embedding size (train.py's default)")
    num_layers: int = flag(2, "stacked layers (train.py's default)")
    seq_len: int = flag(128, "characters per window (train.py's default)")
    batch_size: int = flag(64, "windows per batch (train.py's default)")
    precisions: tuple[str, ...] | None = flag(None, "precisions to run; ratios are always against float32 "
                                              "torch_rnn (default: both, but fp32 alone where bf16 is not "
                                              "native: on a CPU without bf16 instructions it is emulated and "
                                              "trains 30x slower, docs/speed.md)", choices=["fp32", "bf16"])
    impls: tuple[str, ...] = flag(BENCH_IMPLS, "implementations to time", choices=list(BENCH_IMPLS), metavar="IMPL")
    rounds: int = flag(9, "timed rounds per measurement (median)")
    sample_length: int = flag(300, "characters per sampling measurement")
    threads: int | None = flag(None, "torch threads (default: torch's choice)")
    tf32: str | None = flag(None, "CUDA: allow TF32 in both our matrix multiplies and cuDNN's RNN (on) or in "
                            "neither (off); default: PyTorch's own defaults, which differ between the two",
                            choices=["on", "off"])
    quick: bool = flag(False, "H=256 only, fewer rounds: under a minute")
    json: str | None = flag(None, "also write the rows as a JSON list to PATH", metavar="PATH")

    def __post_init__(self) -> None:
        if self.quick:
            self.hidden_sizes, self.rounds, self.sample_length = (256,), 5, 200
        if min(self.hidden_sizes) < 1 or self.rounds < 1:
            sizes = " ".join(map(str, self.hidden_sizes))
            raise UserError(f"--hidden-sizes and --rounds must be at least 1, got {sizes} and {self.rounds}")
        if "torch_rnn" not in self.impls or (self.precisions is not None and "fp32" not in self.precisions):
            raise UserError("the ratios need the float32 torch_rnn reference: keep torch_rnn and fp32")
