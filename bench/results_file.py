"""How every benchmark writes its result: one indented JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_result(path: Path, content: Any) -> Path:
    """Write ``content`` to ``path`` as indented JSON (UTF-8), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    return path
