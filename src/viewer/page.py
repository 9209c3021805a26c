"""Write the viewer as one self-contained HTML file: page.html with page.css, page.js and the data inlined.

Nothing is loaded from anywhere else (no CDN, no web fonts), so the file works offline from
file:// with a double-click. The data travel as a JSON block; "<" is escaped in it so that no text
(a "</script>" in the viewed text, say) can end the block early.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

HERE = Path(__file__).parent


def render_page(data: dict) -> str:
    """The whole HTML page for the viewer data of `src.viewer.data.build_view_data`."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    meta = data["meta"]
    title = html.escape(f"RNN viewer: {Path(meta['checkpoint']).name} on {Path(meta['source']).name}")
    values = {"TITLE": title, "STYLE": (HERE / "page.css").read_text(encoding="utf-8"),
              "SCRIPT": (HERE / "page.js").read_text(encoding="utf-8"), "DATA": payload}
    template = (HERE / "page.html").read_text(encoding="utf-8")
    # One pass over the template: what is substituted is never scanned again, whatever it contains.
    return re.sub(r"__(TITLE|STYLE|SCRIPT|DATA)__", lambda match: values[match.group(1)], template)
