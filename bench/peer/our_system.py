"""Our system in process: facecore detection + alignment, then the exported ONNX model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facecore.errors import NoFaceError
from facecore.metadata import ModelMetadata


@dataclass
class OnnxFaceSystem:
    """``FacePreprocessor.process`` + ONNX Runtime on an exported model directory.

    A centre-crop fallback (when the model's policy allows one) counts as "no face found",
    like a peer detector miss, so both systems are judged on what their detectors find.

    Attributes:
        model_dir: Directory with ``model.onnx`` and ``metadata.json``.
    """

    model_dir: Path
    name: str = "ours (facecore + ONNX)"
    metric: str = "cosine"
    metadata: ModelMetadata = field(init=False)
    _session: Any = field(default=None, init=False, repr=False)
    _preprocessor: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        from facecore.model_bundle import ModelBundle
        from facecore.onnx_model import OnnxModel
        from facecore.preprocess import FacePreprocessor

        bundle = ModelBundle.load(self.model_dir)
        self.model_dir, self.metadata = bundle.directory, bundle.metadata
        self._preprocessor = FacePreprocessor(bundle.preprocess)
        self._session = OnnxModel(bundle)

    def embed(self, rgb: np.ndarray) -> np.ndarray | None:
        """Detect, align and embed the main face.

        Args:
            rgb: uint8 (H, W, 3) RGB image.

        Returns:
            The L2-normalised embedding, or None when no face is detected.
        """
        try:
            prepared = self._preprocessor.process(rgb)
        except NoFaceError:
            return None
        if prepared.fallback or prepared.face is None:
            return None
        return self._session.embed(prepared.pixels[None])[0]
