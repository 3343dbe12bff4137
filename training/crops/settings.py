"""The settings a crop cache was made with, so that a resumed ``prepare`` cannot mix crops.

``prepare`` skips images an earlier run finished. Re-run into the same ``--out`` with another
crop size or face rule, it would otherwise keep the old crops beside new ones. The first run
records its settings in ``OUT/prepare_settings.json``; later runs must ask for the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from facecore.preprocess import CONFIDENT_FRACTION, DETECTION_MAX_SIDE
from facecore.preprocess_config import PreprocessConfig

SETTINGS_NAME = "prepare_settings.json"


def crop_settings(config: PreprocessConfig) -> dict[str, Any]:
    """Everything that decides a crop: the preprocessing options and the face-rule constants."""
    return {
        **config.to_dict(),
        "confident_fraction": CONFIDENT_FRACTION,
        "detection_max_side": DETECTION_MAX_SIDE,
    }


def claim_cache(out: Path, settings: dict[str, Any], log_name: str) -> None:
    """Record ``settings`` in a new cache, or check them against the ones it was made with.

    Raises:
        ValueError: The cache was made with other settings, or by a run that recorded none.
    """
    stamp = out / SETTINGS_NAME
    if stamp.is_file():
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        changed = [
            f"{key} {recorded.get(key)!r} -> {settings.get(key)!r}"
            for key in sorted({*recorded, *settings})
            if recorded.get(key) != settings.get(key)
        ]
        if changed:
            raise ValueError(
                f"{out} holds crops made with other settings ({'; '.join(changed)}): "
                "prepare into a new --out, or repeat the recorded settings"
            )
        return
    if (out / log_name).is_file():
        raise ValueError(
            f"{out} holds crops of a run that did not record its settings "
            f"({SETTINGS_NAME}); prepare into a new --out"
        )
    partial = stamp.with_suffix(".partial")
    partial.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    partial.replace(stamp)
