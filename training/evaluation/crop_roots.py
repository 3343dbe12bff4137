"""Which crops a model may be scored on, and the same photos in another crop cache.

A model must be scored on crops made the way the service will make its input: at its size
and with its alignment. ``compare`` can score two models prepared differently on the same
photos: model B reads the same relative paths under its own roots (``--data-b``).
"""

from __future__ import annotations

from pathlib import Path

from facecore.preprocess_config import PreprocessConfig
from training.data.folders import parse_root
from training.data.pairs import Pair
from training.data.run_info import prepared_settings


def require_crops_of(model: PreprocessConfig, data: list[str], name: str) -> None:
    """Refuse data roots whose crops were framed otherwise than the model's input.

    Only the size and the alignment are compared: they decide where a face is in a crop; the
    other settings (face policies, detector) only decide which face or whether one is found.

    Raises:
        ValueError: A prepared root's size or alignment differs from the model's.
    """
    wanted = _framing(model)
    for spec in data:
        root = parse_root(spec)[1]
        settings = prepared_settings(root)
        if settings is None:
            continue
        framing = _framing(PreprocessConfig.from_dict(settings))
        if framing != wanted:
            raise ValueError(
                f"{name}: the crops in {root} were prepared with {framing}, but the "
                f"model takes {wanted}: give crops prepared as its metadata.json says"
            )


def _framing(config: PreprocessConfig) -> str:
    return f"size {config.size}, alignment {config.alignment!r}"


def pairs_in_roots(pairs: list[Pair], data: list[str], other: list[str]) -> list[Pair]:
    """Return ``pairs`` with each image read from the same place under ``other``'s roots.

    Raises:
        ValueError: The root lists differ in length, or an image is missing under ``other``.
    """
    if len(data) != len(other):
        raise ValueError(f"--data-b needs one root per --data root ({len(data)}), not {len(other)}")
    roots = [(parse_root(a)[1], parse_root(b)[1]) for a, b in zip(data, other, strict=True)]

    def moved(path: Path) -> Path:
        for root, other_root in roots:
            if path.is_relative_to(root):
                found = other_root / path.relative_to(root)
                if not found.is_file():
                    raise ValueError(f"--data-b: {found} missing (the same photo as {path})")
                return found
        raise ValueError(f"--data-b: {path} is under none of the --data roots")

    images = {path for pair in pairs for path in (pair.first, pair.second)}
    place = {path: moved(path) for path in images}  # each image looked up once, not per pair
    return [Pair(place[p.first], place[p.second], p.same, p.fold) for p in pairs]
