"""metrics.jsonl: every number a run reports, one JSON object per line, appended as it happens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class MetricsLog:
    """Append-only JSON-lines log. A fresh run starts it empty; a resumed run keeps appending."""

    def __init__(self, path: str | Path, append: bool) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not append:
            self.path.write_text("", encoding="utf-8")

    def write(self, event: str, **values: Any) -> None:
        """Append one record `{"event": event, **values}` and flush it to disk."""
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, **values}) + "\n")
