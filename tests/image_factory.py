"""Small real face fixtures and generated image-decoding edge cases, as bytes.

Shared by the facecore tests and the service tests. The generated images use a
left-red / right-blue pattern so a test can tell whether a rotation was applied.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

FACES_DIR = Path(__file__).parent / "fixtures" / "faces"
ORL_FACES = [
    FACES_DIR / "orl" / person / name for person in ("s1", "s2") for name in ("1.pgm", "2.pgm")
]
PHOTO_ONE_FACE = FACES_DIR / "celeba" / "07201" / "001085.jpg"
PHOTO_ONE_FACE_2 = FACES_DIR / "celeba" / "07201" / "007710.jpg"
PHOTO_TWO_FACES = FACES_DIR / "celeba" / "07337" / "132009.jpg"
# A full-body photo where the detector also boxes the torso, larger and far less confident.
PHOTO_FACE_AND_TORSO = FACES_DIR / "scenes" / "torso" / "188499.jpg"
PHOTO_NO_FACE = FACES_DIR / "scenes" / "none" / "no_face.jpg"
YALEB_DARK = FACES_DIR / "extended_yaleb" / "yaleB02" / "yaleB02_P00A+095E+00.pgm"
YALEB_SIDE_LIT = FACES_DIR / "extended_yaleb" / "yaleB02" / "yaleB02_P00A-130E+20.pgm"

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def fixture_bytes(path: Path) -> bytes:
    """Bytes of one fixture file."""
    return path.read_bytes()


def two_colour_rgb(width: int = 40, height: int = 20) -> np.ndarray:
    """RGB uint8 image: left half red, right half blue."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = RED
    image[:, width // 2 :] = BLUE
    return image


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def exif_rotated_jpeg(orientation: int = 6) -> bytes:
    """40x20 JPEG whose EXIF says rotate (6 = the viewer turns it 90 degrees clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(Image.fromarray(two_colour_rgb()), "JPEG", quality=95, exif=exif)


def rgba_png(alpha: int = 0) -> bytes:
    """40x20 RGBA PNG: left half red and opaque, right half blue with ``alpha``."""
    rgba = np.dstack([two_colour_rgb(), np.full((20, 40), 255, np.uint8)])
    rgba[:, 20:, 3] = alpha
    return _encode(Image.fromarray(rgba, "RGBA"), "PNG")


def palette_png() -> bytes:
    """40x20 palette (mode P) PNG of the two-colour pattern."""
    return _encode(Image.fromarray(two_colour_rgb()).convert("P"), "PNG")


def palette_transparent_gif() -> bytes:
    """40x20 palette GIF whose right half is the transparent index."""
    image = Image.new("P", (40, 20), 0)
    image.putpalette([*RED, *BLUE] + [0] * 762)
    image.paste(1, (20, 0, 40, 20))
    return _encode(image, "GIF", transparency=1)


def sixteen_bit_png(value: int = 0xFF00) -> bytes:
    """40x20 16-bit grey PNG filled with ``value``."""
    return _encode(Image.fromarray(np.full((20, 40), value, np.uint16)), "PNG")


def cmyk_jpeg() -> bytes:
    """40x20 CMYK JPEG of the two-colour pattern."""
    return _encode(Image.fromarray(two_colour_rgb()).convert("CMYK"), "JPEG", quality=95)


def grey_png(value: int = 128) -> bytes:
    """40x20 8-bit grey PNG."""
    return _encode(Image.new("L", (40, 20), value), "PNG")


def grey_alpha_png() -> bytes:
    """40x20 grey + alpha (LA) PNG, black and fully transparent on its right half."""
    image = Image.new("LA", (40, 20), (0, 255))
    image.paste((0, 0), (20, 0, 40, 20))
    return _encode(image, "PNG")


def one_bit_png() -> bytes:
    """40x20 1-bit PNG, white on the left half, black on the right."""
    image = Image.new("1", (40, 20), 0)
    image.paste(1, (0, 0, 20, 20))
    return _encode(image, "PNG")


def animated_gif() -> bytes:
    """Two-frame 40x20 GIF: red first, blue second."""
    frames = [Image.new("RGB", (40, 20), colour) for colour in (RED, BLUE)]
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def truncated_jpeg() -> bytes:
    """A real face JPEG cut to half its length."""
    data = PHOTO_ONE_FACE.read_bytes()
    return data[: len(data) // 2]


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG header declaring ``width`` x ``height`` pixels with only a tiny payload."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def not_an_image() -> bytes:
    """Bytes no image decoder accepts."""
    return b"this is plain text, not an image\n" * 4


def make_identity_folders(root, people=3, images=6, size=40):
    """Write PEOPLE x IMAGES synthetic PNGs: each person has its own stripe pattern."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    for person in range(people):
        folder = root / f"person{person}"
        folder.mkdir(parents=True)
        pattern = 127 + 100 * np.sin((xx * (person + 1) + yy * person) / 3.0)
        for index in range(images):
            noisy = pattern + rng.normal(0, 12, size=pattern.shape)
            pixels = np.clip(noisy, 0, 255).astype(np.uint8)
            Image.fromarray(np.stack([pixels] * 3, axis=-1)).save(folder / f"{index}.png")
    return root
