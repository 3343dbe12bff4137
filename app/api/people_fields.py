"""Field rules of the people routes: only what both databases store and give back unchanged.

- A display name holds no control character (Unicode ``Cc``: NUL, newlines, escapes) and no
  lone surrogate (``Cs``: not encodable as UTF-8). Format characters (``Cf``: ZWJ, ZWNJ, bidi
  marks) are kept: names in Persian or Indic scripts, and emoji sequences, need them.
- Metadata is at most 16 KiB of JSON nested at most :data:`MAX_METADATA_DEPTH` levels (deeper
  values could be stored but not serialised back: every read of the person failed); its keys
  and strings hold no NUL (PostgreSQL's JSON text cannot) and no lone surrogate.
- An id in a path or a query holds no control character or surrogate either (PostgreSQL
  refuses NUL in text): it is refused (422) rather than sent to the database.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator

MAX_METADATA_BYTES = 16 * 1024
MAX_METADATA_DEPTH = 32
METADATA_DESCRIPTION = (
    f"free-form JSON object, at most 16 KiB and {MAX_METADATA_DEPTH} levels deep; "
    "no NUL character or lone surrogate in its keys and strings"
)
_REFUSED_IN_TEXT = frozenset({"Cc", "Cs"})


def _refused_character(text: str, categories: frozenset[str]) -> str | None:
    """Return the first character of ``text`` in ``categories`` as ``U+XXXX``, or None."""
    for character in text:
        if unicodedata.category(character) in categories:
            return f"U+{ord(character):04X}"
    return None


def _plain_text(value: str) -> str:
    refused = _refused_character(value, _REFUSED_IN_TEXT)
    if refused:
        raise ValueError(f"must not contain control characters or lone surrogates ({refused})")
    return value


def _storable_string(text: str, where: str) -> None:
    if "\x00" in text:
        raise ValueError(f"a {where} holds a NUL character (U+0000), which cannot be stored")
    refused = _refused_character(text, frozenset({"Cs"}))
    if refused:
        raise ValueError(f"a {where} holds a lone surrogate ({refused}), which cannot be stored")


def _checked_metadata(value: dict[str, Any]) -> dict[str, Any]:
    """Depth first (iteratively: no recursion on hostile input), then strings, then size."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth > MAX_METADATA_DEPTH:
            raise ValueError(f"must be nested at most {MAX_METADATA_DEPTH} levels deep")
        if isinstance(item, dict):
            for key, child in item.items():
                _storable_string(key, "key")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _storable_string(item, "string")
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_checked_metadata)]
PlainText = Annotated[str, AfterValidator(_plain_text)]
PathId = Annotated[str, AfterValidator(_plain_text), Path()]
