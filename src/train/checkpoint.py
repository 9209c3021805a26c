"""Saving and loading checkpoints: atomic, portable and safe to load.

A checkpoint is a dict of plain Python values and CPU tensors, so it loads with
`torch.load(path, weights_only=True)` (no arbitrary code runs) on any machine, whatever device
it was trained on. It is written to a temporary file in the same folder and renamed over the
target, so a crash or Ctrl-C mid-write never leaves a half-written `last.pt` behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from src.errors import UserError

FORMAT = "rnn-from-scratch/1"
REQUIRED_KEYS = ("format", "config", "model_config", "vocab", "model")


def to_cpu(value: Any) -> Any:
    """A copy of nested dicts/lists/tuples with every tensor moved to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(v) for v in value)
    return value


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Write `state` (plus the format tag) to `path` atomically: temp file, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = to_cpu({"format": FORMAT, **state})
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint onto the CPU with `weights_only=True`; a UserError if it is not one of ours."""
    path = _existing(path)
    return _checked(path, path)


def load_checkpoint_with_digest(path: str | Path) -> tuple[dict[str, Any], str]:
    """`load_checkpoint`, and the SHA-256 of the bytes it loaded.

    The file is read once and both come from those bytes, so the digest is that of the model
    loaded even if the file is replaced in between (a teacher's digest vouches for the teacher used).
    """
    path = _existing(path)
    data = path.read_bytes()
    return _checked(path, io.BytesIO(data)), hashlib.sha256(data).hexdigest()


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    return path


def _checked(path: Path, source: Path | io.BytesIO) -> dict[str, Any]:
    """The checkpoint unpickled (weights only) from `source`, the contents of `path`, checked to be one of ours."""
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - the unpickler raises anything (KeyError, EOFError...) on junk
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise UserError(f"{path} is not a readable checkpoint (truncated, corrupt or not a torch file: "
                        f"{reason[:80]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"{path} is not an rnn-from-scratch checkpoint")
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise UserError(f"{path} is an incomplete checkpoint (missing {', '.join(missing)})")
    return state
