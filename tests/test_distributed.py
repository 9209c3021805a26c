"""Data-parallel training launched by torchrun (Gloo on the CPU, one thread per rank), and its pieces."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

import src.analysis.evaluation
from src.analysis.evaluation import evaluate
from src.config import TrainConfig
from src.data.corpus import split_text
from src.data.dataset import StreamDataset, WindowDataset
from src.data.vocab import CharVocab
from src.errors import UserError
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.train.checkpoint import load_checkpoint
from src.train.distributed import World
from src.train.run import share_global_batch
from tests.scripts import ROOT, TINY_MODEL, run
from tests.textgen import make_corpus

# fp32 and no dropout, so the only difference between the runs is the order of floating-point sums.
EXACT = ["--precision", "fp32", "--dropout", "0", "--no-diagnostics", "--sample-length", "0"]
SIX_STEPS = ["--data-file", "corpus.txt", "--epochs", "1", "--max-steps", "6", *TINY_MODEL, *EXACT]


def torchrun(*args: str, cwd) -> subprocess.CompletedProcess:
    """train.py on 2 ranks, as `torchrun --standalone --nproc_per_node 2` launches it."""
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(ROOT / "train.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_ranks_share_each_global_batch_in_order():
    windows = WindowDataset(torch.arange(1000), seq_len=4, stride=4)  # 249 windows
    one = list(windows.batches(6, epoch_seed=3))
    shares = [list(windows.batches(3, epoch_seed=3, rank=r, world_size=2)) for r in range(2)]
    assert windows.num_batches(3, world_size=2) == len(shares[0]) == len(shares[1]) == 42
    for k, (a, b) in enumerate(zip(*shares)):
        assert len(a[0]) == len(b[0])  # equal shares, the last batch too
        together = torch.cat([a[0], b[0]])
        assert torch.equal(together, one[k][0][:len(together)])  # one process's batch, minus the odd window


def test_stateful_ranks_each_read_their_own_streams():
    streams = StreamDataset(torch.arange(1001), seq_len=10, streams=4)
    whole = next(streams.batches(4, epoch_seed=0))[0]
    shares = [next(streams.batches(2, epoch_seed=0, rank=r, world_size=2))[0] for r in range(2)]
    assert torch.equal(torch.cat(shares), whole)


def test_every_character_is_scored_once_across_ranks(monkeypatch):
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(vocab_size=7, embedding_dim=4, hidden_size=8)).double()
    ids = torch.randint(0, 7, (503,))
    single = evaluate(model, ids, batch_size=5, seq_len=16, device=torch.device("cpu"))
    # each rank's own sum
    monkeypatch.setattr(src.analysis.evaluation, "sum_over_ranks", lambda world, values, device: values)
    shares = [evaluate(model, ids, 5, 16, torch.device("cpu"), world=World(r, 3)) for r in range(3)]
    assert sum(share.loss for share in shares) == pytest.approx(single.loss, rel=1e-12)


def test_a_resume_shares_the_global_batch_among_the_new_ranks():
    state = {"world_size": 2}
    config = share_global_batch(TrainConfig(batch_size=6), state, World(0, 3))
    assert config.batch_size == 4
    with pytest.raises(UserError, match="global batch is 12 windows"):
        share_global_batch(TrainConfig(batch_size=6), state, World(0, 5))


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """A corpus, a 2-rank run (batch 8 each) and a 1-process run (batch 16) of the same 6 steps, both averaging."""
    folder = tmp_path_factory.mktemp("ddp")
    make_corpus(folder / "corpus.txt")
    common = [*SIX_STEPS, "--weight-average", "0.9"]
    ranks = torchrun(*common, "--batch-size", "8", "--checkpoint-dir", "ranks", cwd=folder)
    assert ranks.returncode == 0, ranks.stderr[-3000:]
    single = run("train.py", *common, "--batch-size", "16", "--checkpoint-dir", "single", cwd=folder,
                 env={"OMP_NUM_THREADS": "1"})
    assert single.returncode == 0, single.stderr[-3000:]
    return folder, ranks


def test_two_ranks_end_with_the_weights_and_average_of_one_process_with_the_same_global_batch(two_ranks):
    folder, _ = two_ranks
    ranks = load_checkpoint(folder / "ranks/last.pt")
    single = load_checkpoint(folder / "single/last.pt")
    assert ranks["progress"]["step"] == single["progress"]["step"] == 6
    for key in ("training_model", "model"):  # the weights trained, and their average
        for name, tensor in single[key].items():
            torch.testing.assert_close(ranks[key][name], tensor, rtol=1e-5, atol=1e-6, msg=f"{key} {name}")


def test_two_distilling_ranks_end_with_the_weights_of_one_process_with_the_same_global_batch(two_ranks):
    folder, _ = two_ranks
    taught = [*SIX_STEPS, "--teachers", "single/best.pt"]  # each rank reads half of the teacher table's streams
    ranks = torchrun(*taught, "--batch-size", "8", "--checkpoint-dir", "taught-ranks", cwd=folder)
    assert ranks.returncode == 0, ranks.stderr[-3000:]
    single = run("train.py", *taught, "--batch-size", "16", "--checkpoint-dir", "taught-single", cwd=folder,
                 env={"OMP_NUM_THREADS": "1"})
    assert single.returncode == 0, single.stderr[-3000:]
    ranks_state, single_state = (load_checkpoint(folder / f"taught-{n}" / "last.pt") for n in ("ranks", "single"))
    assert ranks_state["teachers_sha256"] == single_state["teachers_sha256"]
    for name, tensor in single_state["model"].items():
        torch.testing.assert_close(ranks_state["model"][name], tensor, rtol=1e-5, atol=1e-6, msg=name)


def test_rank_0_alone_prints_and_writes(two_ranks):
    folder, result = two_ranks
    assert result.stdout.count("device: cpu on each of 2 processes") == 1
    assert "global batch 2 processes x 8 = 16" in result.stdout
    assert result.stdout.count("test (best.pt)") == 1
    steps = [json.loads(line)["step"] for line in (folder / "ranks/metrics.jsonl").read_text().splitlines()
             if json.loads(line)["event"] == "train"]
    assert steps == sorted(set(steps))  # each step logged once
    assert sorted(p.name for p in (folder / "ranks").iterdir()) == ["best.pt", "last.pt", "metrics.jsonl",
                                                                    "results.json"]


def test_validation_across_ranks_equals_one_process(two_ranks):
    folder, _ = two_ranks
    state = load_checkpoint(folder / "ranks/best.pt")
    _, valid, _ = split_text((folder / "corpus.txt").read_text(encoding="utf-8"), 0.05, 0.05)
    ids = CharVocab(state["vocab"]).encode(valid)
    model = RNNLanguageModel.from_checkpoint(state)
    single = evaluate(model, ids, batch_size=8, seq_len=32, device=torch.device("cpu"))
    results = json.loads((folder / "ranks/results.json").read_text())
    assert results["best_val_loss"] == pytest.approx(single.loss, rel=1e-6)
    assert results["processes"] == 2


def test_a_two_rank_checkpoint_resumes_in_one_process_and_loads_everywhere(two_ranks):
    folder, _ = two_ranks
    resumed = run("train.py", "--resume", "--checkpoint-dir", "ranks", "--epochs", "2", "--sample-length", "0",
                  cwd=folder, env={"OMP_NUM_THREADS": "1"})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "batch 16 x 32" in resumed.stdout and "resumed from" in resumed.stdout
    assert load_checkpoint(folder / "ranks/last.pt")["progress"]["epoch"] == 2
    sample = run("generate.py", "--checkpoint", "ranks/best.pt", "--length", "5", "--seed", "1", cwd=folder)
    assert sample.returncode == 0, sample.stderr


# A script that prints without flushing, registers a shutdown handler and exits through run_main with code 3.
EXITING_SCRIPT = """
import atexit, sys
from src.cli import run_main
atexit.register(lambda: print("interpreter shutdown ran"))
def main():
    sys.stdout.write("run finished")
    return 3
run_main(main)
"""


def exit_through_run_main(torchrun_env: dict[str, str]) -> subprocess.CompletedProcess:
    """EXITING_SCRIPT in a fresh interpreter, with `torchrun_env` as the only torchrun variables."""
    env = {key: value for key, value in os.environ.items() if key not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    return subprocess.run([sys.executable, "-c", EXITING_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**env, **torchrun_env})


def test_a_torchrun_rank_exits_with_its_code_and_output_but_without_the_interpreter_shutdown():
    ended = exit_through_run_main({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    assert ended.returncode == 3
    assert ended.stdout == "run finished"  # flushed, although the script never flushed it


def test_a_single_process_exits_through_the_normal_interpreter_shutdown():
    ended = exit_through_run_main({})
    assert ended.returncode == 3
    assert ended.stdout == "run finishedinterpreter shutdown ran\n"
