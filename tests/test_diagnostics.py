"""The diagnostics against closed forms and direct computation."""

import math

import pytest
import torch

from src.analysis.diagnostics import (
    DiagnosticsRecord,
    context_lengths,
    effective_memory,
    evenly_spaced,
    gradient_through_time,
    measure,
    recurrent_spectrum,
    saturation_and_histogram,
)
from src.analysis.evaluation import next_char_loss
from src.model.rnn_model import ModelConfig, RNNLanguageModel

CPU = torch.device("cpu")


def scaled_identity_model(a: float, beta: float, hidden: int = 4, vocab: int = 5) -> RNNLanguageModel:
    """One layer with W_hh = a I, W_ih = 0, b_ih = beta, b_hh = 0: every unit follows u_t = tanh(beta + a u_{t-1})."""
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(vocab, embedding_dim=3, hidden_size=hidden, num_layers=1))
    cell = model.cells[0]
    with torch.no_grad():
        cell.weight_hh.copy_(a * torch.eye(hidden))
        cell.weight_ih.zero_()
        cell.bias_ih.fill_(beta)
        cell.bias_hh.zero_()
    return model


@pytest.mark.parametrize("a, beta", [(0.9, 0.3), (1.5, 0.0), (0.5, -0.8)])
def test_gradient_through_time_matches_the_closed_form_for_a_scaled_identity(a, beta):
    steps = 12
    model = scaled_identity_model(a, beta)
    tokens = torch.randint(0, 5, (3, steps), generator=torch.Generator().manual_seed(1))
    norms, _ = gradient_through_time(model, tokens, tokens)
    a, beta = float(torch.tensor(a)), float(torch.tensor(beta))  # the float32 values the model holds
    u, units = 0.0, []
    for _ in range(steps):
        u = math.tanh(beta + a * u)
        units.append(u)
    # dL_T/dh_t = a (1 - u_{t+1}^2) dL_T/dh_{t+1}, the same scalar for every unit and sequence.
    for t in range(steps):
        factor = math.prod(a * (1 - units[s] ** 2) for s in range(t + 1, steps))
        assert norms[0][t] == pytest.approx(norms[0][-1] * factor, rel=1e-9)


def test_gradient_through_time_leaves_the_model_and_its_gradients_untouched():
    model = RNNLanguageModel(ModelConfig(7, embedding_dim=3, hidden_size=6, num_layers=2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tokens = torch.randint(0, 7, (2, 9))
    norms, states = gradient_through_time(model, tokens, tokens)
    assert [len(n) for n in norms] == [9, 9] and len(states) == 2
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_saturation_is_the_fraction_of_units_beyond_the_threshold():
    states = [torch.tensor([[0.0, 0.995, -0.999, 0.5]]), torch.tensor([[0.99, -1.0, 0.2, 0.1]])]
    saturated, counts = saturation_and_histogram(states)
    assert saturated == pytest.approx(3 / 8)  # 0.995, -0.999, -1.0; 0.99 itself is not beyond
    assert sum(counts) == 8


def test_histogram_puts_each_value_in_its_bin():
    _, counts = saturation_and_histogram([torch.tensor([[-0.99, 0.01, 0.99]])])
    assert counts[0] == 1 and counts[len(counts) // 2] == 1 and counts[-1] == 1


@pytest.mark.parametrize("matrix, radius, sigma", [
    (0.7 * torch.eye(5), 0.7, 0.7),
    (torch.tensor([[0.0, -1.2], [1.2, 0.0]]), 1.2, 1.2),  # a scaled rotation: complex eigenvalues
    (torch.tensor([[0.0, 2.0], [0.0, 0.0]]), 0.0, 2.0),  # non-normal: no growth in the long run, 2x in one step
])
def test_recurrent_spectrum_matches_known_matrices(matrix, radius, sigma):
    got_radius, got_sigma = recurrent_spectrum(matrix)
    assert got_radius == pytest.approx(radius, abs=1e-6)
    assert got_sigma == pytest.approx(sigma, abs=1e-6)


def test_recurrent_spectrum_matches_a_direct_decomposition():
    weight = torch.randn(32, 32, generator=torch.Generator().manual_seed(2)) / 4
    radius, sigma = recurrent_spectrum(weight)
    w = weight.double()
    assert radius == pytest.approx(torch.linalg.eigvals(w).abs().max().item(), rel=1e-5)
    assert sigma == pytest.approx(torch.linalg.svdvals(w).max().item(), rel=1e-5)


def test_effective_memory_is_the_loss_of_the_last_k_characters_alone():
    torch.manual_seed(3)
    model = RNNLanguageModel(ModelConfig(6, embedding_dim=3, hidden_size=8, num_layers=2)).eval()
    ids = torch.randint(0, 6, (200,))
    positions, k = [20, 77, 150], 4
    expected = torch.stack([
        next_char_loss(model(ids[p - k:p].view(1, -1))[0][:, -1:], ids[p].view(1, 1)) for p in positions
    ]).mean()
    (loss,) = effective_memory(model, ids, positions, [k], CPU)
    assert loss == pytest.approx(expected.item(), rel=1e-5)


def test_memory_span_is_the_shortest_context_within_tolerance_of_the_longest():
    record = DiagnosticsRecord(step=0, epoch=1.0, grad_norms=[[1.0]], saturation=[0.0], histograms=[[1]],
                               spectral_radius=[1.0], max_singular_value=[1.0], memory_context=[1, 2, 4, 8, 16],
                               memory_loss=[2.5, 2.0, 1.6, 1.505, 1.5], seconds=0.0)
    assert record.memory_span() == 8
    assert record.memory_span(tolerance=0.2) == 4


def test_context_lengths_are_powers_of_two_up_to_the_maximum():
    assert context_lengths(256) == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert context_lengths(100) == [1, 2, 4, 8, 16, 32, 64]


def test_evenly_spaced_positions_stay_in_range_and_are_distinct():
    positions = evenly_spaced(10, 5, 25)
    assert len(set(positions)) == 10 and min(positions) == 5 and max(positions) < 25
    assert evenly_spaced(10, 0, 3) == [0, 1, 2]


def test_more_context_never_hurts_a_model_trained_on_words():
    """Words from a small dictionary: the letters after a word's start are predictable only from it."""
    generator = torch.Generator().manual_seed(4)
    words = ["alpha ", "bravo ", "charlie ", "delta ", "echo "]
    text = "".join(words[i] for i in torch.randint(0, 5, (3000,), generator=generator).tolist())
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text])
    torch.manual_seed(4)
    model = RNNLanguageModel(ModelConfig(len(chars), embedding_dim=8, hidden_size=32, num_layers=1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        starts = torch.randint(0, ids.numel() - 33, (32,), generator=generator)
        batch = torch.stack([ids[s:s + 33] for s in starts])
        loss = next_char_loss(model(batch[:, :-1])[0], batch[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    contexts = context_lengths(16)
    losses = effective_memory(model.eval(), ids, evenly_spaced(400, 16, ids.numel()), contexts, CPU)
    assert losses[-1] < losses[0] - 0.5  # context matters on this text
    for shorter, longer in zip(losses, losses[1:]):
        assert longer <= shorter + 0.01


@pytest.mark.parametrize("rnn_impl", ["bptt", "autograd"])
def test_measure_reports_every_diagnostic_per_layer_and_restores_training_mode(rnn_impl):
    torch.manual_seed(5)
    model = RNNLanguageModel(ModelConfig(6, embedding_dim=3, hidden_size=8, num_layers=3, rnn_impl=rnn_impl,
                                         dropout=0.5))
    ids = torch.randint(0, 6, (600,))
    record = measure(model, ids, seq_len=16, device=CPU, precision="fp32", step=10, epoch=0.5)
    assert model.training
    assert len(record.grad_norms) == 3 and all(len(n) == 16 for n in record.grad_norms)
    assert len(record.saturation) == len(record.spectral_radius) == len(record.max_singular_value) == 3
    assert record.memory_context == context_lengths(256) and len(record.memory_loss) == 9
    assert record.to_dict()["step"] == 10 and "layer" not in record.summary()


def test_measure_is_deterministic_so_epochs_compare_like_with_like():
    torch.manual_seed(6)
    model = RNNLanguageModel(ModelConfig(6, embedding_dim=3, hidden_size=8, num_layers=2, dropout=0.3))
    ids = torch.randint(0, 6, (600,))
    first = measure(model, ids, 16, CPU, "fp32", 0, 0.0).to_dict()
    second = measure(model, ids, 16, CPU, "fp32", 0, 0.0).to_dict()
    first.pop("seconds"), second.pop("seconds")
    assert first == second
