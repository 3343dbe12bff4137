"""Embed image files with an exported model (ONNX Runtime), exactly as it is served.

Images (prepared aligned crops, or tight face crops) become model pixels through the same
``training.data.images.load_image`` step as in training (no TensorFlow import).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from facecore.model_bundle import ModelBundle
from facecore.onnx_model import OnnxModel
from facecore.quantized import Precision
from training.data.images import load_image  # the same file -> pixels step training uses


class OnnxEmbedder:
    """An exported model directory (``model.onnx`` + ``metadata.json``) ready to embed."""

    def __init__(self, model_dir: str | Path, precision: Precision = "float32") -> None:
        """Open the export through the same bundle and ONNX wrapper as the service.

        Args:
            model_dir: The export directory written by ``training export``.
            precision: ``float32`` (model.onnx) or ``int8`` (its quantised copy).

        Raises:
            facecore.model_bundle.ModelBundleError: The export is invalid.
        """
        self.bundle = ModelBundle.load(model_dir, precision)
        self.metadata = self.bundle.metadata
        self.size, self.channels = self.bundle.size, self.bundle.channels
        self.model = OnnxModel(self.bundle, ort.get_available_providers())

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Embed a uint8 batch (N, size, size, channels); returns float32 (N, D)."""
        return self.model.embed(pixels)

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
