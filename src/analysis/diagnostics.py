"""Why an ungated RNN struggles, measured: gradient flow through time, saturation, W_hh, memory.

Four measurements on held-out text, cheap enough to take every epoch:

1. Gradient through time. For a window of T characters, L_T is the loss of the prediction made at
   the last step. Its gradient with respect to an earlier hidden state obeys the BPTT recursion

       dL_T/dh_t = W_hh^T diag(1 - h_{t+1}^2) dL_T/dh_{t+1}      (plus the path through the layer above)

   so ||dL_T/dh_t|| shrinks (vanishes) or grows (explodes) geometrically with the distance T-1-t,
   at a rate set by W_hh and by how saturated the units are (1 - h^2 -> 0 as |h| -> 1).
2. Saturation: the fraction of units with |h| > 0.99, where tanh' < 0.02 passes almost no
   gradient, and a histogram of h.
3. The recurrent matrix: spectral radius (largest |eigenvalue|, the long-run growth rate of a
   linearised recurrence) and largest singular value (the most one step can stretch any vector).
4. Effective memory: the mean next-character loss when the model sees only the k characters
   before each predicted position (the state reset to zero k characters earlier), for
   k = 1, 2, 4, ... . Where the curve flattens, extra context stops helping: that k is how far
   back the model actually remembers.

Everything runs in eval mode (no dropout) with no randomness, so taking diagnostics never
changes a training run, and on the same fixed held-out positions each time, so curves from
different epochs are comparable.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.analysis.evaluation import next_char_loss
from src.model.rnn_model import RNNLanguageModel
from src.precision import autocast

SATURATION_THRESHOLD = 0.99
HISTOGRAM_BINS = 40  # over [-1, 1]
GRADIENT_WINDOWS = 16  # held-out windows in the gradient-through-time batch
# The memory curve costs MEMORY_POSITIONS * (2 * MAX_CONTEXT - 1) forward steps, most of the
# diagnostics' time; 128 paired positions keep the whole set near 1-2 s at H=512 on one CPU core.
MEMORY_POSITIONS = 128  # held-out positions the effective-memory curve averages over
MAX_CONTEXT = 256  # the longest context k of the memory curve (a power of 2)
MEMORY_TOLERANCE = 0.01  # nats: extra context that gains less than this is not "used"


@dataclass
class DiagnosticsRecord:
    """One set of measurements, per layer where it says so; plain values for logs and checkpoints."""

    step: int
    epoch: float  # fractional: 2.5 is half way through the third epoch
    grad_norms: list[list[float]]  # [layer][t]: batch mean of ||dL_T/dh_t||, t = 0 .. T-1
    saturation: list[float]  # [layer]: fraction of |h| > SATURATION_THRESHOLD
    histograms: list[list[int]]  # [layer]: counts of h over HISTOGRAM_BINS equal bins of [-1, 1]
    spectral_radius: list[float]  # [layer]: max |eigenvalue| of W_hh
    max_singular_value: list[float]  # [layer]: largest singular value (spectral norm) of W_hh
    memory_context: list[int]  # k = 1, 2, 4, ...
    memory_loss: list[float]  # mean next-character loss (nats) given only k characters of context
    seconds: float  # wall time the measurements took

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists of numbers) for metrics.jsonl and checkpoints."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DiagnosticsRecord:
        """Back from `to_dict()` (or a metrics.jsonl line: extra keys such as "event" are ignored)."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    def gradient_ratio(self, layer: int) -> float:
        """||dL_T/dh_0|| / ||dL_T/dh_{T-1}||: how much of the gradient survives the whole window."""
        norms = self.grad_norms[layer]
        return norms[0] / norms[-1] if norms[-1] > 0 else float("nan")

    def memory_span(self, tolerance: float = MEMORY_TOLERANCE) -> int:
        """See `memory_span` (the module function) for this record's memory curve."""
        return memory_span(self.memory_context, self.memory_loss, tolerance)

    def summary(self) -> str:
        """One line for the training log."""
        layers = range(len(self.saturation))
        ratio = " ".join(f"{self.gradient_ratio(i):.1e}" for i in layers)
        saturated = " ".join(f"{s:.1%}" for s in self.saturation)
        radius = " ".join(f"{r:.2f}" for r in self.spectral_radius)
        return (f"diagnostics | grad h_0/h_T-1 {ratio} | saturated {saturated} | rho(W_hh) {radius} | "
                f"loss with k=1/{self.memory_context[-1]} chars {self.memory_loss[0]:.3f}/{self.memory_loss[-1]:.3f}"
                f" | memory span {self.memory_span()} chars | {self.seconds:.1f}s")


def memory_span(contexts: list[int], losses: list[float], tolerance: float = MEMORY_TOLERANCE) -> int:
    """The shortest context k whose loss is within `tolerance` nats of the longest context's.

    The memory curve's one-number summary: how many characters back the model actually uses.
    """
    return next(k for k, loss in zip(contexts, losses) if loss - losses[-1] <= tolerance)


def evenly_spaced(count: int, low: int, high: int) -> list[int]:
    """`count` integer positions spread evenly over [low, high) (fewer if the range is short)."""
    count = max(1, min(count, high - low))
    return [low + (i * (high - low)) // count for i in range(count)]


def reference_forward(model: RNNLanguageModel, tokens: Tensor) -> tuple[list[list[Tensor]], Tensor]:
    """The model's forward pass as an explicit loop that keeps every hidden state in the graph.

    tokens: (B, T) ids, from a zero state. Returns states[layer][t] of shape (B, H) and the
    logits of the last step, (B, V). Uses the cells' own `project_input`/`step`, so it is the
    same function as the model whichever recurrence implementation trains it. (Not
    `autograd_recurrence`: that returns the states stacked, and a gradient with respect to the
    stacked copy would miss the path through the recurrence, which is what is measured here.)
    """
    x = model.embedding(tokens)
    states: list[list[Tensor]] = []
    for cell in model.cells:
        h = x.new_zeros(tokens.shape[0], cell.hidden_size)
        layer_states = []
        for x_proj_t in cell.project_input(x).unbind(1):
            h = cell.step(x_proj_t, h)
            layer_states.append(h)
        states.append(layer_states)
        x = torch.stack(layer_states, dim=1)
    return states, model.head(x[:, -1])


def float64_cpu_copy(model: RNNLanguageModel) -> RNNLanguageModel:
    """A copy of the model in float64 on the CPU, whatever device and dtype the original is on.

    On the CPU because float64 does not exist everywhere (Apple's MPS has none) and is slow where
    it does (consumer GPUs). Each tensor is copied to the CPU first and converted there, so no
    float64 tensor is ever made on the training device.
    """
    reference = copy.deepcopy(model)
    cpu_float64 = {name: tensor.detach().to("cpu", copy=True).double()
                   for name, tensor in model.state_dict().items()}
    reference.load_state_dict(cpu_float64, assign=True)
    return reference


def gradient_through_time(model: RNNLanguageModel, inputs: Tensor, targets: Tensor
                          ) -> tuple[list[list[float]], list[list[Tensor]]]:
    """Batch mean of ||dL_T/dh_t^(l)|| for every layer l and step t, and the (CPU) hidden states.

    L_T is each sequence's own loss at the last step (summed over the batch, so every sequence's
    gradient is its own), taken with `torch.autograd.grad` with respect to the hidden states of
    a float64 CPU copy of the model, so the model being trained and its .grad are never touched.
    """
    # In float64: with |eigenvalues| < 1 the gradient can fall below float32's smallest number
    # (1e-38) within a 128-step window, and "exactly 0" would hide how fast it vanished.
    model = float64_cpu_copy(model)
    inputs, targets = inputs.cpu(), targets.cpu()
    with torch.enable_grad():
        states, last_logits = reference_forward(model, inputs)
        loss_last = F.cross_entropy(last_logits, targets[:, -1], reduction="sum")
        flat = [h for layer in states for h in layer]
        grads = torch.autograd.grad(loss_last, flat)
    steps = inputs.shape[1]
    norms = [g.norm(dim=1).mean().item() for g in grads]
    return [norms[i * steps:(i + 1) * steps] for i in range(len(states))], states


def saturation_and_histogram(states: list[Tensor]) -> tuple[float, list[int]]:
    """Fraction of |h| > SATURATION_THRESHOLD and a histogram of h over [-1, 1], for one layer."""
    h = torch.stack([s.detach() for s in states]).float()
    saturated = (h.abs() > SATURATION_THRESHOLD).float().mean().item()
    counts = torch.histc(h, bins=HISTOGRAM_BINS, min=-1.0, max=1.0)
    return saturated, [int(c) for c in counts.tolist()]


def recurrent_spectrum(weight_hh: Tensor) -> tuple[float, float]:
    """(spectral radius, largest singular value) of a recurrent matrix.

    float32 is plenty for two numbers read off a plot, and its eigen-decomposition takes half the
    time of float64's (0.2 s vs 0.5 s at H=512 on one core).
    """
    w = weight_hh.detach().float().cpu()
    radius = torch.linalg.eigvals(w).abs().max().item()
    sigma = torch.linalg.matrix_norm(w, ord=2).item()
    return radius, sigma


def context_lengths(max_context: int) -> list[int]:
    """1, 2, 4, ... up to `max_context`."""
    lengths, k = [], 1
    while k <= max_context:
        lengths.append(k)
        k *= 2
    return lengths


@torch.inference_mode()
def effective_memory(model: nn.Module, ids: Tensor, positions: list[int], contexts: list[int],
                     device: torch.device, precision: str = "fp32") -> list[float]:
    """Mean loss of predicting ids[p] from ids[p-k:p] alone (zero state before), for each k.

    Every position needs p >= max(contexts). The same positions are used for every k, so the
    differences between points of the curve are not blurred by which characters were sampled.
    """
    index = torch.tensor(positions)
    targets = ids[index].long().to(device)
    losses = []
    for k in contexts:
        windows = torch.stack([ids[p - k:p] for p in positions]).long().to(device)  # (N, k)
        with autocast(device, precision):
            logits, _ = model(windows)
        losses.append(next_char_loss(logits[:, -1:], targets.view(-1, 1)).item())
    return losses


def memory_curve(model: nn.Module, ids: Tensor, device: torch.device, precision: str
                 ) -> tuple[list[int], list[float]]:
    """Contexts k = 1, 2, 4, ... and the effective-memory loss for each, on MEMORY_POSITIONS of `ids`.

    Needs only the model's forward pass, so it measures any language model with our interface.
    """
    contexts = context_lengths(min(MAX_CONTEXT, ids.numel() - 1))
    positions = evenly_spaced(MEMORY_POSITIONS, contexts[-1], ids.numel())
    return contexts, effective_memory(model, ids, positions, contexts, device, precision)


def measure(model: RNNLanguageModel, ids: Tensor, seq_len: int, device: torch.device, precision: str,
            step: int, epoch: float) -> DiagnosticsRecord:
    """All four measurements on held-out ids (e.g. the validation split)."""
    started = time.perf_counter()
    was_training = model.training
    model.eval()
    n_predict = ids.numel() - 1
    seq_len = min(seq_len, n_predict)
    starts = evenly_spaced(GRADIENT_WINDOWS, 0, n_predict - seq_len + 1)
    inputs = torch.stack([ids[s:s + seq_len] for s in starts]).long()  # CPU: measured on the float64 CPU copy
    targets = torch.stack([ids[s + 1:s + seq_len + 1] for s in starts]).long()
    grad_norms, states = gradient_through_time(model, inputs, targets)
    saturation, histograms = zip(*(saturation_and_histogram(layer) for layer in states))
    spectra = [recurrent_spectrum(cell.recurrent_matrix()) for cell in model.cells]
    contexts, memory = memory_curve(model, ids, device, precision)
    model.train(was_training)
    return DiagnosticsRecord(
        step=step, epoch=epoch, grad_norms=grad_norms, saturation=list(saturation), histograms=list(histograms),
        spectral_radius=[r for r, _ in spectra], max_singular_value=[s for _, s in spectra],
        memory_context=contexts, memory_loss=memory, seconds=time.perf_counter() - started,
    )
