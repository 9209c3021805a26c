"""The training configuration: one typed dataclass, the single source of every default.

`train.py` builds its flags from these fields (see `src.cli`), and checkpoints store the config as
a plain dict (`dataclasses.asdict`), so a run can always be resumed or sampled with the exact
settings it was trained with. `flag` (a field with its help text) also builds the other scripts'
configs (src/script_configs.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from src.errors import UserError
from src.train.schedule import DEFAULT_FINAL_FRACTION, SCHEDULES


def flag(default: Any, help: str, **extra: Any) -> Any:
    """A dataclass field with its command-line help text (and optional choices, metavar, group).

    Choices are written out where the code's own list lives in a module that imports torch (cells,
    precisions, ...): this module stays light. tests/test_config.py pins each such list to that constant.
    """
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainConfig:
    """Everything `python train.py` can be told.

    The defaults are the best configuration of the ablations in results/README.md (2 x 1024,
    light dropout, windows of 128, Adam 2e-3 with warmup and cosine decay, clipping at 1), with
    the epochs scaled to full WikiText-2: its 10.9M training characters are ten times the 1M the
    ablations could use here, so 5 epochs give 5x the optimizer steps of the best ablation run.
    On a 21M-character text they beat 3 layers at equal minutes and the DropConnect recipe found
    for 1M-character texts read 30 times (results, section 8), so that recipe stays opt-in.
    """

    # --- data -----------------------------------------------------------------------------
    dataset: str = flag("wikitext-2", "the corpus when no --data-file is given: WikiText-2 raw (10.9M training "
                        "characters) or WikiText-103 raw (540M), from Hugging Face", group="data",
                        choices=["wikitext-2", "wikitext-103"])
    data_dir: str | None = flag(None, "folder with wiki.train.raw, wiki.valid.raw and wiki.test.raw; downloaded "
                                "there if missing (default: data/<dataset>-raw)", group="data", metavar="DIR")
    data_file: str | None = flag(None, "train on this UTF-8 text file instead of WikiText-2, split contiguously "
                                 "into train/valid/test", group="data", metavar="PATH")
    valid_fraction: float = flag(0.05, "with --data-file: fraction of the text used for validation", group="data")
    test_fraction: float = flag(0.05, "with --data-file: fraction at the end used for test (0: no test split, "
                                "unless --test-file gives one)", group="data")
    test_file: str | None = flag(None, "test on this UTF-8 text file instead of the test split of the data "
                                 "(with --data-file, --test-fraction is then ignored)", group="data",
                                 metavar="PATH")
    train_fraction: float = flag(1.0, "train on only this first fraction of the training split (a learning curve: "
                                 "validation, test and the vocabulary stay those of the whole split)", group="data")
    seq_len: int = flag(128, "characters per training window (truncated-BPTT length)", group="data")
    stride: int | None = flag(None, "step between training window starts (default: --seq-len, no overlap)",
                              group="data")
    shift_windows: bool = flag(False, "move every training window start by one random offset in [0, --stride) "
                               "each epoch, so each epoch cuts the text at other places (windows mode only)",
                               group="data")
    batch_size: int = flag(64, "windows per training batch (also streams per evaluation batch)", group="data")
    train_mode: str = flag("windows", "windows: shuffled windows, each from a zero state; stateful: --batch-size "
                           "contiguous streams read in order, the hidden state carried (detached) from one "
                           "window to the next and reset each epoch", group="data",
                           choices=["windows", "stateful"])

    # --- model ----------------------------------------------------------------------------
    embedding_dim: int = flag(128, "size of the character embedding fed to the first layer", group="model")
    hidden_size: int = flag(1024, "units per recurrent layer", group="model")
    num_layers: int = flag(2, "number of stacked tanh RNN layers", group="model")
    dropout: float = flag(0.1, "dropout on each layer's outputs, before the next layer and the head",
                          group="model")
    dropout_mask: str = flag("step", "step: a fresh dropout mask at every position; sequence: one mask per "
                             "window, the same units dropped at every step (variational dropout)", group="model",
                             choices=["step", "sequence"])
    weight_drop: float = flag(0.0, "DropConnect on W_hh: in each training batch every recurrent weight is "
                              "zeroed with this probability (one mask for all steps), the rest scaled up; "
                              "evaluation uses W_hh", group="model")
    input_dropout: float = flag(0.0, "in training, each input character's embedding is dropped whole with this "
                                "probability (one draw per position), the rest scaled up: some characters are "
                                "then predicted without seeing the one before; evaluation sees every input",
                                group="model")
    recurrent_weight: str = flag("free", "free: W_hh is trained as it is; orthogonal: W_hh = exp(A - A^T), "
                                 "orthogonal at every step, trained through A (expRNN)", group="model",
                                 choices=["free", "orthogonal"])
    recurrent_init: str = flag("uniform", "initial W_hh: uniform U(-1/sqrt(H), 1/sqrt(H)) like the rest, "
                               "orthogonal, or identity", group="model",
                               choices=["uniform", "orthogonal", "identity"])
    cell: str = flag("vanilla", "the recurrence's equation: vanilla, h = tanh(x W_ih^T + b + h W_hh^T); or an "
                     "opt-in ungated variant: layernorm, h = tanh(g * LN(x W_ih^T + b + h W_hh^T) + s); "
                     "multiplicative, h = tanh(alpha*w*u + beta_h*u + beta_x*w + b) for w = x W_ih^T, u = h W_hh^T; "
                     "factored, h = tanh(x W_ih^T + b + ((x W_fx^T + b_fx) * (h W_hh^T)) W_hf^T); "
                     "zoneout, h = m*h + (1-m)*tanh(...) with m ~ Bernoulli(--zoneout), m = --zoneout at "
                     "evaluation (README)", group="model",
                     choices=["vanilla", "layernorm", "multiplicative", "factored", "zoneout"])
    zoneout: float = flag(0.1, "for --cell zoneout: the probability that a unit keeps its previous value at a "
                          "training step (and the leak at evaluation)", group="model")
    rnn_impl: str = flag("bptt", "recurrence implementation: bptt (hand-written backward, faster) or autograd "
                         "(the plain reference loop); both compute the same function", group="model",
                         choices=["bptt", "autograd"])
    precision: str = flag("auto", "bf16: mixed precision (bf16 matrix multiplies, float32 weights and loss; "
                          "cpu and cuda); fp32; auto: bf16 on CPUs with native bf16 instructions, else fp32",
                          group="model", choices=["auto", "fp32", "bf16"])

    # --- optimisation ---------------------------------------------------------------------
    epochs: int = flag(5, "passes over the training split; the LR schedule is planned over them (or over a "
                       "shorter budget). With --resume, more epochs than the checkpoint's extend the run: the "
                       "decay is re-planned from the current step", group="optimisation")
    max_steps: int | None = flag(None, "stop after this many optimizer steps in total; the LR schedule is "
                                 "planned to end there", group="optimisation")
    max_minutes: float | None = flag(None, "stop cleanly after this many minutes, then validate and test; the LR "
                                     "schedule is planned to end there (re-estimated from the pace as the run "
                                     "goes)", group="optimisation")
    lr: float = flag(2e-3, "peak Adam learning rate", group="optimisation")
    weight_decay: float = flag(0.0, "decoupled (AdamW) weight decay on weight matrices and embeddings, not "
                               "biases", group="optimisation")
    lr_schedule: str = flag("cosine", "linear warmup, then cosine decay to --final-lr-fraction of --lr; or "
                            "constant after warmup", group="optimisation", choices=list(SCHEDULES))
    final_lr_fraction: float = flag(DEFAULT_FINAL_FRACTION, "where the cosine decay ends, as a fraction of --lr "
                                    "(0: decay to zero)",
                                    group="optimisation", metavar="F")
    warmup_steps: int = flag(200, "steps of linear learning-rate warmup", group="optimisation")
    grad_clip: float = flag(1.0, "clip the global gradient norm to this value (0 disables)", group="optimisation")
    weight_average: float = flag(0.0, "keep a moving average of the weights with this decay (e.g. 0.999; 0: off) "
                                 "and validate, test, sample and save it as the model, while training continues "
                                 "from its own weights (src/train/weight_average.py)", group="optimisation",
                                 metavar="DECAY")

    # --- regularisation (src/train/regularisers.py; training loss only) ----------------------------
    ar: float = flag(0.0, "activation regularisation: add ar * mean(h^2) of every layer's states to the "
                     "training loss (pulls tanh units out of saturation)", group="regularisation")
    tar: float = flag(0.0, "temporal activation regularisation: add tar * mean((h_t - h_{t-1})^2)",
                      group="regularisation")
    norm_stabiliser: float = flag(0.0, "norm-stabiliser: add this * mean((||h_t|| - ||h_{t-1}||)^2)",
                                  group="regularisation")

    # --- distillation (src/train/distillation.py) ---------------------------------------------------
    teachers: str | None = flag(None, "comma-separated checkpoints trained on the same training text: the run also "
                                "learns their averaged next-character distribution (windows mode only)",
                                group="distillation", metavar="PATH[,PATH...]")
    distill_weight: float = flag(0.5, "with --teachers: w in objective = (1 - w) * CE(text) + w * CE(teachers); "
                                 "the logged training loss is CE(text)", group="distillation")
    distill_temperature: float = flag(1.0, "with --teachers: tau, dividing both the teachers' and the model's "
                                      "log-probabilities in CE(teachers), which is then scaled by tau^2; above 1 "
                                      "the targets are flatter", group="distillation", metavar="TAU")

    # --- run ------------------------------------------------------------------------------
    seed: int = flag(1337, "random seed for initialisation, data order and samples", group="run")
    device: str = flag("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps", group="run")
    resume: bool = flag(False, "continue from <checkpoint-dir>/last.pt exactly where it stopped", group="run")
    checkpoint_dir: str = flag("checkpoints", "where last.pt, best.pt, metrics.jsonl and results.json go",
                               group="run", metavar="DIR")
    plot: str = flag("loss_curve.png", "where to write the loss curve after every epoch", group="run",
                     metavar="PATH")
    save_every: float = flag(10.0, "minutes of training between mid-epoch saves of last.pt, so a crash or kill -9 "
                             "loses at most this much work (last.pt is also written after every epoch); 0: only "
                             "after epochs", group="run")
    log_interval: int = flag(50, "write the training loss to metrics.jsonl every this many steps", group="run")
    sample_length: int = flag(300, "characters to sample after every epoch (0 disables)", group="run")

    # --- diagnostics (src/analysis/diagnostics.py) -------------------------------------------------
    diagnostics_every: int = flag(0, "measure gradient flow through time, saturation, W_hh's spectrum and "
                                  "effective memory every N optimizer steps; 0: at the end of every epoch",
                                  group="diagnostics", metavar="N")
    no_diagnostics: bool = flag(False, "turn the diagnostics off (no diagnostics.png, nothing logged)",
                                group="diagnostics")
    diagnostics_plot: str = flag("diagnostics.png", "where to write the diagnostics figure", group="diagnostics",
                                 metavar="PATH")

    def __post_init__(self) -> None:
        positive = ["seq_len", "batch_size", "embedding_dim", "hidden_size", "num_layers", "epochs", "log_interval"]
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.diagnostics_every < 0:
            raise UserError(f"--diagnostics-every must not be negative, got {self.diagnostics_every}")
        if self.stride is not None and self.stride < 1:
            raise UserError(f"--stride must be at least 1, got {self.stride}")
        if self.shift_windows and self.train_mode != "windows":
            raise UserError("--shift-windows needs --train-mode windows (stateful streams have no windows to move)")
        if self.teachers is not None and self.train_mode != "windows":
            raise UserError("--teachers needs --train-mode windows (the teacher table is indexed by window starts)")
        if not 0 <= self.distill_weight <= 1:
            raise UserError(f"--distill-weight must be in [0, 1], got {self.distill_weight}")
        if not self.distill_temperature > 0:
            raise UserError(f"--distill-temperature must be positive, got {self.distill_temperature}")
        if self.lr <= 0:
            raise UserError(f"--lr must be positive, got {self.lr}")
        if (self.grad_clip < 0 or self.warmup_steps < 0 or self.sample_length < 0 or self.weight_decay < 0
                or self.save_every < 0):
            raise UserError("--grad-clip, --warmup-steps, --sample-length, --weight-decay and --save-every must not "
                            "be negative")
        if self.ar < 0 or self.tar < 0 or self.norm_stabiliser < 0:
            raise UserError("--ar, --tar and --norm-stabiliser must not be negative")
        if not 0 <= self.dropout < 1:
            raise UserError(f"--dropout must be in [0, 1), got {self.dropout}")
        if not 0 < self.zoneout < 1:
            raise UserError(f"--zoneout must be in (0, 1), got {self.zoneout}")
        if not 0 <= self.weight_drop < 1:
            raise UserError(f"--weight-drop must be in [0, 1), got {self.weight_drop}")
        if not 0 <= self.input_dropout < 1:
            raise UserError(f"--input-dropout must be in [0, 1), got {self.input_dropout}")
        if not 0 <= self.final_lr_fraction <= 1:
            raise UserError(f"--final-lr-fraction must be in [0, 1], got {self.final_lr_fraction}")
        if not 0 <= self.weight_average < 1:
            raise UserError(f"--weight-average must be in [0, 1), got {self.weight_average}")
        if not (0 < self.valid_fraction < 1 and 0 <= self.test_fraction < 1
                and self.valid_fraction + self.test_fraction < 1):
            raise UserError("--valid-fraction must be in (0, 1), --test-fraction in [0, 1), and they must sum "
                            "to less than 1")
        if not 0 < self.train_fraction <= 1:
            raise UserError(f"--train-fraction must be in (0, 1], got {self.train_fraction}")
        if self.max_steps is not None and self.max_steps < 1:
            raise UserError(f"--max-steps must be at least 1, got {self.max_steps}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise UserError(f"--max-minutes must be positive, got {self.max_minutes}")

    @property
    def wikitext_dir(self) -> str:
        """--data-dir, or data/<dataset>-raw."""
        return self.data_dir if self.data_dir is not None else f"data/{self.dataset}-raw"

    @property
    def window_stride(self) -> int:
        """The stride actually used: `--stride`, or `--seq-len` when not given."""
        return self.stride if self.stride is not None else self.seq_len

    def to_dict(self) -> dict[str, Any]:
        """Plain values only, so checkpoints stay loadable with `weights_only=True`."""
        return dataclasses.asdict(self)
