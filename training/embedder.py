"""Embed image files with an exported model (ONNX Runtime), exactly as it is served.

Images (prepared aligned crops, or tight face crops) become model pixels through the same
``training.images.load_image`` step as in training (no TensorFlow import).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from facecore.metadata import ModelMetadata
from training.images import load_image  # the same file -> pixels step training uses


class OnnxEmbedder:
    """An exported model directory (``model.onnx`` + ``metadata.json``) ready to embed."""

    def __init__(self, model_dir: str | Path) -> None:
        """Load the metadata and the ONNX session.

        Args:
            model_dir: The export directory written by ``training export``.
        """
        model_dir = Path(model_dir)
        self.metadata = ModelMetadata.load(model_dir)
        height, width = self.metadata.input.size
        if height != width:
            raise ValueError(f"square model input expected, got {height}x{width}")
        self.size = height
        self.channels = self.metadata.input.channels
        self.session = ort.InferenceSession(
            str(model_dir / "model.onnx"), providers=ort.get_available_providers()
        )

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Embed a uint8 batch (N, size, size, channels); returns float32 (N, D)."""
        feed = {self.metadata.input.name: pixels.astype(np.float32)}
        return self.session.run([self.metadata.embedding.name], feed)[0]

    def embed_files(self, paths: Sequence[Path], batch_size: int = 64) -> np.ndarray:
        """Embed image files in batches.

        Args:
            paths: The images.
            batch_size: Images per ONNX Runtime call.

        Returns:
            float32 (len(paths), D) embeddings, in the order of ``paths``.
        """
        batches = [
            self.embed_pixels(
                np.stack(
                    [load_image(p, self.size, self.channels) for p in paths[i : i + batch_size]]
                )
            )
            for i in range(0, len(paths), batch_size)
        ]
        if not batches:
            return np.empty((0, self.metadata.embedding.dimension), np.float32)
        return np.concatenate(batches)
