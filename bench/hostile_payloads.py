"""The request bodies of the hostile mix (bench/hostile_mix.py), built in memory."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FACE = (ROOT / "tests" / "fixtures" / "faces" / "celeba" / "07201" / "001085.jpg").read_bytes()
BOUNDARY = "b0undary"


def png(width: int, height: int, noise: bool = False) -> bytes:
    """A real PNG (every pixel encoded): grey, or RGB noise that does not compress."""
    if noise:
        pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
    else:
        image = Image.new("L", (width, height), 90)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1 if noise else 9)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring ``width`` x ``height`` with a tiny payload (the header is what counts)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def max_pixels_jpeg() -> bytes:
    """A 7744x5164 (40 MP, the pixel limit) photo-like JPEG: the face photo, upscaled."""
    image = Image.open(io.BytesIO(FACE)).convert("RGB").resize((7744, 5164))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def multipart(files: list[tuple[str, bytes]], fields: dict[str, str] | None = None) -> bytes:
    """A multipart/form-data body with ``BOUNDARY``."""
    body = bytearray()
    for name, data in files:
        body += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}.bin"\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    for name, value in (fields or {}).items():
        body += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    return bytes(body + f"--{BOUNDARY}--\r\n".encode())


def verify_pair(first: bytes, second: bytes = FACE) -> bytes:
    """A multipart /verify body."""
    return multipart([("image1", first), ("image2", second)])


def tiny_strings_json(megabytes: int) -> bytes:
    """``{"images": ["QQ==", ...]}`` of about ``megabytes`` MB."""
    count = megabytes * 1024 * 1024 // 8
    return b'{"images": [' + b",".join([b'"QQ=="'] * count) + b"]}"


def base64_images_json(images: list[bytes]) -> bytes:
    """``{"images": [...]}`` with each image base64-encoded."""
    return json.dumps({"images": [base64.b64encode(data).decode() for data in images]}).encode()
