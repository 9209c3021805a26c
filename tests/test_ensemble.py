"""An ensemble predicts the average of its members' distributions and carries each member's state."""

from __future__ import annotations

import pytest
import torch

from src.analysis.ensemble import Ensemble, load_members, split_paths
from src.analysis.evaluation import evaluate
from src.errors import UserError
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.train.checkpoint import save_checkpoint

CPU = torch.device("cpu")


def member(seed: int, **config) -> RNNLanguageModel:
    torch.manual_seed(seed)
    settings = {"vocab_size": 9, "embedding_dim": 4, "hidden_size": 16, "num_layers": 2, **config}
    return RNNLanguageModel(ModelConfig(**settings)).double().eval()


def test_an_ensemble_of_one_scores_a_text_as_its_member_does():
    ids = torch.randint(0, 9, (301,))
    alone = evaluate(member(0), ids, batch_size=4, seq_len=16, device=CPU).loss
    assert evaluate(Ensemble([member(0)]), ids, batch_size=4, seq_len=16, device=CPU).loss == pytest.approx(alone)


def test_the_prediction_is_the_mean_of_the_members_probabilities():
    members = [member(0), member(1, hidden_size=12, num_layers=3, cell="multiplicative")]
    tokens = torch.randint(0, 9, (3, 10))
    log_p, _ = Ensemble(members)(tokens)
    mean_p = sum(m(tokens)[0].softmax(dim=-1) for m in members) / 2
    torch.testing.assert_close(log_p.exp(), mean_p.float())


def test_the_packed_state_continues_every_member_where_it_stopped():
    ensemble = Ensemble([member(0), member(1, hidden_size=12, num_layers=3)])
    tokens = torch.randint(0, 9, (2, 20))
    whole, _ = ensemble(tokens)
    first, state = ensemble(tokens[:, :7])
    second, _ = ensemble(tokens[:, 7:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)


def test_a_character_one_member_rules_out_keeps_the_other_members_share():
    sure, unsure = member(0), member(1)
    with torch.no_grad():
        sure.head.bias[3] = -1e4  # probability exp(-1e4): zero even in float64
    tokens = torch.randint(0, 9, (1, 5))
    log_p, _ = Ensemble([sure, unsure])(tokens)
    expected = (unsure(tokens)[0].softmax(dim=-1)[..., 3] / 2).log().float()
    torch.testing.assert_close(log_p[..., 3], expected)


def write_member(path, vocab: list[str], seed: int = 0) -> str:
    model = member(seed, vocab_size=len(vocab) + 1).float()
    save_checkpoint({"config": {}, "model_config": vars(model.config), "model": model.state_dict(),
                     "vocab": vocab}, path)
    return str(path)


def test_members_trained_on_other_texts_are_refused_in_one_line(tmp_path):
    ours = write_member(tmp_path / "a.pt", list("abcdefgh"))
    theirs = write_member(tmp_path / "b.pt", list("abcdefgX"))
    with pytest.raises(UserError, match="another vocabulary"):
        load_members([ours, theirs])


def test_a_comma_separated_flag_names_each_checkpoint():
    assert split_paths("runs/a/best.pt, runs/b/best.pt,") == ["runs/a/best.pt", "runs/b/best.pt"]
    with pytest.raises(UserError):
        split_paths(" , ")
