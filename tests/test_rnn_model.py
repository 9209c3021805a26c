"""The stacked model equals torch.nn.RNN on copied weights, and its recurrence passes gradcheck."""

import pytest
import torch
from torch import nn

from src.model.rnn_cell import RNNCell
from src.model.rnn_model import (
    RNN_IMPLS,
    ModelConfig,
    RNNLanguageModel,
    autograd_recurrence,
)

V, E, H, L = 11, 5, 7, 3


def make_pair(seed: int = 0, impl: str = "bptt") -> tuple[RNNLanguageModel, nn.RNN]:
    """Our model and a torch.nn.RNN (tanh, same layers) holding the same weights, in float64."""
    torch.manual_seed(seed)
    config = ModelConfig(vocab_size=V, embedding_dim=E, hidden_size=H, num_layers=L, rnn_impl=impl)
    ours = RNNLanguageModel(config).double()
    reference = nn.RNN(E, H, num_layers=L, nonlinearity="tanh", batch_first=True).double()
    with torch.no_grad():
        for layer, cell in enumerate(ours.cells):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(reference, f"{name}_l{layer}").copy_(getattr(cell, name))
    return ours, reference


def reference_forward(ours: RNNLanguageModel, reference: nn.RNN, tokens, hidden=None):
    outputs, h_n = reference(ours.embedding(tokens), hidden)
    return ours.head(outputs), h_n


@pytest.mark.parametrize("impl", RNN_IMPLS)
@pytest.mark.parametrize("shape", [(4, 9), (1, 3), (2, 1)])  # (1, 3) and (2, 1): fewer positions than V
def test_outputs_and_final_state_equal_torch_nn_rnn(impl, shape):
    ours, reference = make_pair(impl=impl)
    tokens = torch.randint(0, V, shape)
    h0 = torch.randn(L, shape[0], H, dtype=torch.float64)
    logits, h_n = ours(tokens, h0)
    ref_logits, ref_h_n = reference_forward(ours, reference, tokens, h0)
    torch.testing.assert_close(logits, ref_logits, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_n, ref_h_n, rtol=0, atol=1e-12)


@pytest.mark.parametrize("impl", RNN_IMPLS)
def test_gradients_equal_torch_nn_rnn(impl):
    ours, reference = make_pair(seed=1, impl=impl)
    tokens, targets = torch.randint(0, V, (3, 12)), torch.randint(0, V, (3, 12))
    h0 = torch.randn(L, 3, H, dtype=torch.float64, requires_grad=True)
    h0_ref = h0.detach().clone().requires_grad_()

    loss = nn.functional.cross_entropy(ours(tokens, h0)[0].reshape(-1, V), targets.reshape(-1))
    loss.backward()
    our_grads = {n: p.grad.clone() for n, p in ours.named_parameters()}
    ours.zero_grad()
    ref_logits, _ = reference_forward(ours, reference, tokens, h0_ref)
    nn.functional.cross_entropy(ref_logits.reshape(-1, V), targets.reshape(-1)).backward()

    for layer in range(L):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            torch.testing.assert_close(our_grads[f"cells.{layer}.{name}"],
                                       getattr(reference, f"{name}_l{layer}").grad, rtol=0, atol=1e-12)
    for name in ("embedding.weight", "head.weight", "head.bias"):
        torch.testing.assert_close(our_grads[name], dict(ours.named_parameters())[name].grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(h0.grad, h0_ref.grad, rtol=0, atol=1e-12)


class OneLayer(nn.Module):
    """The reference loop as a module, so `functional_call` can swap in gradcheck's parameter copies."""

    def __init__(self, cell: RNNCell) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, inputs, h0):
        return autograd_recurrence(self.cell, self.cell.project_input(inputs), h0)


def test_recurrence_passes_float64_gradcheck_including_initial_state():
    torch.manual_seed(2)
    layer = OneLayer(RNNCell(3, 4).double())
    names = [name for name, _ in layer.named_parameters()]
    weights = tuple(p.detach().clone().requires_grad_() for p in layer.parameters())
    inputs = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)  # (B, T, I)
    h0 = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)

    def function(inputs, h0, *weights):
        return torch.func.functional_call(layer, dict(zip(names, weights)), (inputs, h0))

    assert torch.autograd.gradcheck(function, (inputs, h0, *weights))


@pytest.mark.parametrize("impl", RNN_IMPLS)
def test_carrying_the_hidden_state_continues_a_sequence_exactly(impl):
    ours, _ = make_pair(seed=3, impl=impl)
    tokens = torch.randint(0, V, (2, 10))
    whole, h_whole = ours(tokens)
    first, h_mid = ours(tokens[:, :6])
    second, h_end = ours(tokens[:, 6:], h_mid)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_end, h_whole, rtol=0, atol=1e-12)


def test_forward_returns_batch_first_logits_and_layer_major_state():
    model = RNNLanguageModel(ModelConfig(vocab_size=V, embedding_dim=E, hidden_size=H, num_layers=L))
    logits, hidden = model(torch.randint(0, V, (4, 6)))
    assert logits.shape == (4, 6, V)
    assert hidden.shape == (L, 4, H)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_parameter_count_equals_embedding_plus_nn_rnn_plus_head(num_layers):
    model = RNNLanguageModel(ModelConfig(vocab_size=V, embedding_dim=E, hidden_size=H, num_layers=num_layers))
    reference = nn.RNN(E, H, num_layers=num_layers)
    expected = V * E + sum(p.numel() for p in reference.parameters()) + H * V + V
    assert model.num_parameters() == expected


@pytest.mark.parametrize("impl", RNN_IMPLS)
def test_dropout_is_off_in_eval_mode_and_on_in_training_mode(impl):
    torch.manual_seed(4)
    plain = RNNLanguageModel(ModelConfig(V, E, H, L, rnn_impl=impl))
    dropped = RNNLanguageModel(ModelConfig(V, E, H, L, rnn_impl=impl, dropout=0.5))
    dropped.load_state_dict(plain.state_dict())
    tokens = torch.randint(0, V, (3, 8))
    dropped.eval()
    torch.testing.assert_close(dropped(tokens)[0], plain(tokens)[0])
    dropped.train()
    assert not torch.allclose(dropped(tokens)[0], plain(tokens)[0])
