"""Contact sheet of aligned face crops: one row per set, a few evenly spaced images each.

Every crop comes from ``FacePreprocessor.align_crop`` with the default configuration and is
tagged with how it was obtained: ``det`` (detected), ``pad`` (detected after adding a
border) or ``ctr`` (centre-crop fallback).

Usage: ``python -m scripts.contact_sheet [--data DIR] [--out docs/aligned_faces.png]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facecore.decode import decode_image
from facecore.errors import FaceCoreError
from facecore.preprocess import FacePreprocessor
from facecore.preprocess_config import PreprocessConfig

SETS = ("orl", "extended_yaleb", "yale", "celeba_subset", "celeba_aligned_small")
TAGS = {"detected": "det", "padded": "pad", "center": "ctr"}
LABEL_WIDTH = 150
TAG_HEIGHT = 14


def pick_images(root: Path, count: int) -> list[Path]:
    """``count`` evenly spaced images of a set (sorted, so the choice is reproducible)."""
    paths = sorted(p for p in root.glob("*/*") if p.is_file())
    indices = np.linspace(0, len(paths) - 1, count).round().astype(int)
    return [paths[i] for i in indices]


def crop_tile(path: Path, preprocessor: FacePreprocessor) -> Image.Image:
    """Render the aligned crop of one image with its method written underneath."""
    size = preprocessor.config.size
    tile = Image.new("RGB", (size, size + TAG_HEIGHT), "white")
    try:
        image = decode_image(path.read_bytes(), max_bytes=50 << 20, max_pixels=100_000_000)
        prepared = preprocessor.align_crop(image)
        tile.paste(Image.fromarray(prepared.pixels), (0, 0))
        tag = f"{TAGS[prepared.method]} n={prepared.faces_detected}"
    except FaceCoreError as error:
        tag = error.code
    ImageDraw.Draw(tile).text((3, size + 1), tag, fill="black")
    return tile


def build_sheet(data: Path, sets: list[str], per_set: int, size: int) -> Image.Image:
    """Assemble the grid: a label column, then ``per_set`` tiles per row."""
    preprocessor = FacePreprocessor(PreprocessConfig(size=size))
    tile_height = size + TAG_HEIGHT
    sheet = Image.new(
        "RGB", (LABEL_WIDTH + per_set * (size + 2), len(sets) * (tile_height + 2)), "white"
    )
    draw = ImageDraw.Draw(sheet)
    for row, name in enumerate(sets):
        top = row * (tile_height + 2)
        draw.text((4, top + tile_height // 2 - 6), name, fill="black")
        for column, path in enumerate(pick_images(data / name, per_set)):
            sheet.paste(crop_tile(path, preprocessor), (LABEL_WIDTH + column * (size + 2), top))
    return sheet


def main() -> None:
    """Write the contact sheet."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--out", type=Path, default=Path("docs/aligned_faces.png"))
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--per-set", type=int, default=10)
    parser.add_argument("--size", type=int, default=112)
    args = parser.parse_args()
    sheet = build_sheet(args.data, args.sets, args.per_set, args.size)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")


if __name__ == "__main__":
    main()
