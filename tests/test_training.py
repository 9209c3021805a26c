"""Training pieces that are not a whole run: the optimizer's weight decay, which text is loaded, RNG state."""

import torch

from src.config import TrainConfig
from src.data.corpus import load_corpus
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.train.optimizer import build_optimizer
from src.train.run_state import rng_state, set_rng_state


def test_weight_decay_shrinks_matrices_but_not_biases():
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(vocab_size=7, embedding_dim=3, hidden_size=4, num_layers=1))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = build_optimizer(model, lr=0.1, weight_decay=0.5)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # no gradient: only the decay moves anything
    optimizer.step()
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            torch.testing.assert_close(p.detach(), before[name] * (1 - 0.1 * 0.5))
        else:
            assert torch.equal(p.detach(), before[name]), name


def test_without_weight_decay_the_optimizer_is_plain_adam():
    torch.manual_seed(1)
    model = RNNLanguageModel(ModelConfig(vocab_size=7, embedding_dim=3, hidden_size=4, num_layers=1))
    twin = RNNLanguageModel(ModelConfig(vocab_size=7, embedding_dim=3, hidden_size=4, num_layers=1))
    twin.load_state_dict(model.state_dict())
    ours, adam = build_optimizer(model, lr=0.01, weight_decay=0.0), torch.optim.Adam(twin.parameters(), lr=0.01)
    for _ in range(3):
        for m, opt in ((model, ours), (twin, adam)):
            opt.zero_grad()
            m(torch.tensor([[1, 2, 3]]))[0].square().sum().backward()
            opt.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b)


def test_a_test_file_replaces_the_test_split_and_the_data_file_keeps_train_and_valid(tmp_path):
    (tmp_path / "data.txt").write_text("abcdefghij" * 10, encoding="utf-8")
    (tmp_path / "other.txt").write_text("held-out text", encoding="utf-8")
    config = TrainConfig(data_file=str(tmp_path / "data.txt"), valid_fraction=0.1, test_fraction=0.2,
                         test_file=str(tmp_path / "other.txt"))
    corpus = load_corpus(config)
    assert corpus.test == "held-out text"
    assert (len(corpus.train), len(corpus.valid)) == (90, 10)  # --test-fraction is ignored


def test_a_zero_test_fraction_leaves_the_test_split_empty(tmp_path):
    (tmp_path / "data.txt").write_text("abcdefghij" * 10, encoding="utf-8")
    corpus = load_corpus(TrainConfig(data_file=str(tmp_path / "data.txt"), valid_fraction=0.1, test_fraction=0.0))
    assert corpus.test == "" and len(corpus.train) == 90


def test_an_mps_runs_generator_state_is_saved_and_restored(monkeypatch):
    mps_state = torch.tensor([7, 1, 3], dtype=torch.uint8)
    restored = {}
    monkeypatch.setattr(torch.mps, "get_rng_state", lambda device="mps": mps_state)
    monkeypatch.setattr(torch.mps, "set_rng_state", lambda state, device="mps": restored.update(state=state))
    mps = torch.device("mps")
    state = rng_state(mps)
    torch.rand(3)  # move the CPU generator on, so restoring it is observable
    set_rng_state(state, mps)
    assert torch.equal(restored["state"], mps_state)
    assert torch.equal(torch.get_rng_state(), state["torch"])


def test_a_cpu_runs_state_is_only_the_cpu_generator():
    assert set(rng_state(torch.device("cpu"))) == {"torch"}
