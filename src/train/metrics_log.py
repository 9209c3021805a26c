"""metrics.jsonl: every number a run reports, one JSON object per line, appended as it happens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class MetricsLog:
    """Append-only JSON-lines log. A fresh run starts it empty; a resumed run keeps appending."""

    def __init__(self, path: str | Path, resumed_at_step: int | None = None, enabled: bool = True) -> None:
        """Start empty, or, resuming at a step, keep the records up to it.

        A run killed after its last save had logged steps that the resumed run trains again; their
        records are dropped so that every step appears once. `enabled=False` (the ranks other than
        0) writes nothing.
        """
        self.path = Path(path)
        self.enabled = enabled
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = []
        if resumed_at_step is not None and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if json.loads(line).get("step", 0) <= resumed_at_step:
                    kept.append(line + "\n")
        self.path.write_text("".join(kept), encoding="utf-8")

    def write(self, event: str, **values: Any) -> None:
        """Append one record `{"event": event, **values}` and flush it to disk."""
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, **values}) + "\n")
