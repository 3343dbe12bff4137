"""Training and serving feed the model identical pixels for the same photo.

The training side caches aligned crops with ``python -m training prepare`` and reads them back
with ``training.data.images.load_image``; the service detects, aligns and embeds uploaded bytes.
Both
go through facecore, so the embeddings of one photo must agree.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fixture_paths import FIXTURES, TINY_MODEL

from training.cli import main as training_cli
from training.data.images import load_image
from training.evaluation.embedder import OnnxEmbedder

PHOTOS = [FIXTURES / "faces/celeba/07201/001085.jpg", FIXTURES / "faces/orl/s1/1.pgm"]


@pytest.fixture
def prepared_crops(tmp_path: Path) -> list[Path]:
    """Prepare the photos at the tiny model's input size, as training would."""
    root = tmp_path / "raw"
    for photo in PHOTOS:
        person = root / photo.parent.name
        person.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, person / photo.name)
    size = str(OnnxEmbedder(TINY_MODEL).metadata.input.size[0])
    out = tmp_path / "cache"
    assert (
        training_cli(
            ["prepare", "--data", str(root), "--out", str(out), "--size", size, "--workers", "1"]
        )
        == 0
    )
    return [out / "raw" / p.parent.name / f"{p.stem}.png" for p in PHOTOS]


def test_service_embedding_equals_training_crop_embedding(client, prepared_crops):
    embedder = OnnxEmbedder(TINY_MODEL)
    size, channels = embedder.metadata.input.size[0], embedder.metadata.input.channels
    pixels = np.stack([load_image(crop, size, channels) for crop in prepared_crops])
    training_side = embedder.embed_pixels(pixels)

    files = [("images", (p.name, p.read_bytes(), "application/octet-stream")) for p in PHOTOS]
    response = client.post("/embed", files=files)
    assert response.status_code == 200, response.text
    served = np.asarray([r["embedding"] for r in response.json()["results"]], dtype=np.float32)

    difference = float(np.abs(served - training_side).max())
    print(f"max |service - training| = {difference:.2e}")
    assert served.shape == training_side.shape
    assert difference < 1e-5
