"""bench.py's measurements: one language model, several implementations, identical weights, timed in turn.

For each hidden size the same model (embedding -> L tanh layers -> linear head) is built as
`torch_rnn` (torch.nn.RNN, the reference), `autograd` (our loop, differentiated by PyTorch) and
`bptt` (our loop with the hand-written backward), plus the same two for each opt-in cell variant
(the shared weights copied, the variant's own parameters at their initial values). Each round
times one step of every implementation in a rotated order, so drift on a shared machine hits all
of them alike; the table reports medians.

Library recurrent layers are allowed here (and in tests/), never in src/: they are the reference.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from src.analysis.evaluation import next_char_loss
from src.device import resolve_device
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.model.sampling import SamplingOptions, draw, next_char_probabilities
from src.model.stepper import make_stepper
from src.precision import autocast, native_bf16, resolve_precision
from src.script_configs import OUR_IMPLS, BenchConfig


class TorchRNNModel(nn.Module):
    """The reference: the same architecture with torch.nn.RNN as the recurrence."""

    def __init__(self, ours: RNNLanguageModel) -> None:
        super().__init__()
        c = ours.config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim)
        self.rnn = nn.RNN(c.embedding_dim, c.hidden_size, c.num_layers, nonlinearity="tanh", batch_first=True)
        self.head = nn.Linear(c.hidden_size, c.vocab_size)
        with torch.no_grad():
            self.embedding.weight.copy_(ours.embedding.weight)
            self.head.load_state_dict(ours.head.state_dict())
            for layer, cell in enumerate(ours.cells):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(self.rnn, f"{name}_l{layer}").copy_(getattr(cell, name))

    def forward(self, tokens: torch.Tensor, hidden: torch.Tensor | None = None):
        outputs, hidden = self.rnn(self.embedding(tokens), hidden)
        return self.head(outputs), hidden


@dataclass
class Row:
    """One implementation at one size and precision: what bench.py prints and writes to --json."""

    impl: str
    precision: str
    hidden_size: int
    vocab_size: int
    embedding_dim: int
    num_layers: int
    seq_len: int
    batch_size: int
    device: str
    threads: int
    train_ms: float
    train_chars_per_s: float
    train_ratio_vs_torch_rnn: float
    eval_chars_per_s: float
    sample_chars_per_s: float
    step_chars_per_s: float
    saved_activation_bytes: int
    saved_ratio_vs_torch_rnn: float


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work (CUDA or MPS), so a clock reading covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds one call of `fn` takes, GPU work included."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def saved_activation_bytes(model: nn.Module, tokens: torch.Tensor, precision: str) -> int:
    """Bytes of distinct tensor storage that one forward pass saves for backward, parameters excluded."""
    parameter_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameter_storages:
            seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), autocast(tokens.device, precision):
        model(tokens)
    return sum(seen.values())


class Candidate:
    """One implementation at one size and precision, with the three things we time."""

    def __init__(self, impl: str, model: nn.Module, precision: str, tokens: torch.Tensor, targets: torch.Tensor):
        self.impl, self.model, self.precision = impl, model, precision
        self.tokens, self.targets = tokens, targets
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.device = tokens.device

    def train_step(self) -> None:
        with autocast(self.device, self.precision):
            logits, _ = self.model(self.tokens)
        loss = next_char_loss(logits, self.targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def eval_step(self) -> None:
        with torch.inference_mode(), autocast(self.device, self.precision):
            self.model(self.tokens)

    def sample(self, length: int, with_draw: bool) -> None:
        """Batch-1 generation of `length` characters, the way each implementation would step.

        with_draw=True: each next character is drawn from the model's distribution (what
        generate.py does). with_draw=False: the model step alone, fed a fixed character sequence.
        """
        options, generator = SamplingOptions(temperature=1.0), torch.Generator().manual_seed(0)
        vocab_size = self.model.head.out_features
        with torch.inference_mode():
            if self.impl.endswith("bptt"):
                step = make_stepper(self.model).step
            else:
                hidden = None
                token = torch.empty(1, 1, dtype=torch.long, device=self.device)

                def step(char_id: int) -> torch.Tensor:
                    nonlocal hidden
                    token.fill_(char_id)
                    logits, hidden = self.model(token, hidden)
                    return logits[0, -1]

            char_id = 1
            for i in range(length):
                logits = step(char_id)
                if with_draw:
                    char_id = draw(next_char_probabilities(logits.cpu(), options), generator)
                else:
                    char_id = 1 + i % (vocab_size - 1)


def median_over_rounds(candidates: list[Candidate], measure: Callable[[Candidate], float], rounds: int,
                       warmup: int) -> dict[str, float]:
    """Median of `measure` per candidate, interleaved: each round visits all of them, order rotated."""
    for candidate in candidates:
        for _ in range(warmup):
            measure(candidate)
    samples: dict[str, list[float]] = {c.impl: [] for c in candidates}
    for r in range(rounds):
        order = candidates[r % len(candidates):] + candidates[:r % len(candidates)]
        for candidate in order:
            samples[candidate.impl].append(measure(candidate))
    return {impl: statistics.median(values) for impl, values in samples.items()}


def bench_size(hidden: int, config: BenchConfig, device: torch.device, precision: str,
               reference_train_s: dict[int, float], reference_saved: dict[int, int]) -> list[Row]:
    """Time every implementation of `config.impls` at one hidden size and precision, on identical weights.

    The float32 torch_rnn figures of each size are remembered in `reference_*` (fp32 runs first), and
    every row's ratios are taken against them.
    """
    torch.manual_seed(0)
    model_config = ModelConfig(config.vocab_size, config.embedding_dim, hidden, config.num_layers)
    tokens = torch.randint(0, config.vocab_size, (config.batch_size, config.seq_len), device=device)
    targets = torch.randint(0, config.vocab_size, (config.batch_size, config.seq_len), device=device)
    base = RNNLanguageModel(model_config)
    models = {"torch_rnn": TorchRNNModel(base)}
    for impl, (cell, rnn_impl) in OUR_IMPLS.items():
        model = RNNLanguageModel(ModelConfig(**{**asdict(model_config), "cell": cell, "rnn_impl": rnn_impl}))
        model.load_state_dict(base.state_dict(), strict=False)  # a variant's extra parameters keep their init
        models[impl] = model
    candidates = [Candidate(impl, models[impl].to(device), precision, tokens, targets) for impl in config.impls]

    chars = config.batch_size * config.seq_len
    train_s = median_over_rounds(candidates, lambda c: timed(c.train_step, device), config.rounds, warmup=2)
    eval_s = median_over_rounds(candidates, lambda c: timed(c.eval_step, device), config.rounds, warmup=1)
    sample_s = median_over_rounds(candidates, lambda c: timed(lambda: c.sample(config.sample_length, True), device),
                                  max(3, config.rounds // 3), warmup=1)
    step_s = median_over_rounds(candidates, lambda c: timed(lambda: c.sample(config.sample_length, False), device),
                                max(3, config.rounds // 3), warmup=1)
    saved = {c.impl: saved_activation_bytes(c.model, tokens, precision) for c in candidates}
    if precision == "fp32" and "torch_rnn" in train_s:
        reference_train_s[hidden], reference_saved[hidden] = train_s["torch_rnn"], saved["torch_rnn"]

    rows = []
    for c in candidates:
        ref_s, ref_saved = reference_train_s.get(hidden, float("nan")), reference_saved.get(hidden, 0)
        rows.append(Row(
            impl=c.impl, precision=precision, hidden_size=hidden, vocab_size=config.vocab_size,
            embedding_dim=config.embedding_dim, num_layers=config.num_layers, seq_len=config.seq_len,
            batch_size=config.batch_size, device=str(device), threads=torch.get_num_threads(),
            train_ms=1000 * train_s[c.impl], train_chars_per_s=chars / train_s[c.impl],
            train_ratio_vs_torch_rnn=ref_s / train_s[c.impl], eval_chars_per_s=chars / eval_s[c.impl],
            sample_chars_per_s=config.sample_length / sample_s[c.impl],
            step_chars_per_s=config.sample_length / step_s[c.impl], saved_activation_bytes=saved[c.impl],
            saved_ratio_vs_torch_rnn=saved[c.impl] / ref_saved if ref_saved else float("nan"),
        ))
    return rows


def print_table(rows: list[Row]) -> None:
    """The rows as an aligned text table on stdout."""
    width = max(len("impl"), *(len(r.impl) for r in rows))
    header = (f"{'impl':<{width}} {'prec':<5} {'H':>5} {'train ms':>9} {'train chars/s':>14} {'x torch_rnn':>11} "
              f"{'eval chars/s':>13} {'sample chars/s':>15} {'step chars/s':>13} {'saved MB':>9} {'x torch_rnn':>11}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r.impl:<{width}} {r.precision:<5} {r.hidden_size:>5} {r.train_ms:>9.1f} {r.train_chars_per_s:>14,.0f} "
              f"{r.train_ratio_vs_torch_rnn:>11.2f} {r.eval_chars_per_s:>13,.0f} {r.sample_chars_per_s:>15,.0f} "
              f"{r.step_chars_per_s:>13,.0f} "
              f"{r.saved_activation_bytes / 2**20:>9.1f} {r.saved_ratio_vs_torch_rnn:>11.2f}", flush=True)


def run_benchmark(config: BenchConfig) -> None:
    """Time every size and precision of `config`, print the table and write the JSON rows if asked."""
    if config.threads:
        torch.set_num_threads(config.threads)
    if config.tf32 is not None:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = config.tf32 == "on"
    device = resolve_device(config.device)
    if config.precisions is not None:
        precisions = config.precisions
    elif native_bf16(device):
        precisions = ("fp32", "bf16")
    else:
        precisions = ("fp32",)
        print(f"bf16 left out: not native on this {device.type} (--precisions fp32 bf16 times it anyway)")
    for precision in precisions:
        resolve_precision(precision, device)  # bf16 where it is unsupported: a one-line error

    if device.type == "cuda":
        print(f"TF32: matmul {torch.backends.cuda.matmul.allow_tf32}, cuDNN {torch.backends.cudnn.allow_tf32}")
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads; "
          f"V={config.vocab_size} E={config.embedding_dim} L={config.num_layers} T={config.seq_len} "
          f"B={config.batch_size}; medians of {config.rounds} interleaved rounds")
    rows: list[Row] = []
    reference_train_s: dict[int, float] = {}
    reference_saved: dict[int, int] = {}
    for hidden in config.hidden_sizes:
        for precision in ("fp32", "bf16"):  # fp32 first: its torch_rnn row is every ratio's reference
            if precision in precisions:
                rows += bench_size(hidden, config, device, precision, reference_train_s, reference_saved)
    print()
    print_table(rows)
    if config.json:
        with open(config.json, "w", encoding="utf-8") as handle:
            json.dump([asdict(r) for r in rows], handle, indent=2)
        print(f"wrote {len(rows)} rows to {config.json}")
