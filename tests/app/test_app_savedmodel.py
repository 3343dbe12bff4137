"""The TensorFlow SavedModel backend serves the same embeddings as ONNX Runtime."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import image_factory as images
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_export_with_saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny fixture model exported again, seed for seed, with its ``saved_model/``."""
    out = tmp_path_factory.mktemp("tiny") / "model"
    subprocess.run(
        [sys.executable, "scripts/make_tiny_model.py", "--out", str(out), "--saved-model"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert (out / "saved_model" / "saved_model.pb").is_file()
    return out


def embed(client, photo: Path) -> np.ndarray:
    response = client.post("/embed", files=[("images", (photo.name, photo.read_bytes()))])
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["results"][0]["embedding"], dtype=np.float32)


@pytest.mark.slow
def test_savedmodel_backend_matches_onnx(make_client, tiny_export_with_saved_model):
    savedmodel = make_client(model_path=tiny_export_with_saved_model, backend="savedmodel")
    onnx = make_client()  # the committed tiny fixture: same architecture and seed
    assert "tensorflow" in savedmodel.get("/ready").json()["runtime"].lower()
    for photo in (images.PHOTO_ONE_FACE, images.ORL_FACES[0]):
        difference = np.abs(embed(savedmodel, photo) - embed(onnx, photo)).max()
        print(f"{photo.name}: max |savedmodel - onnx| = {difference:.2e}")
        assert difference < 1e-5
