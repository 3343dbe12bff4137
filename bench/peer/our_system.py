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
        import onnxruntime

        from facecore.preprocess import FacePreprocessor, PreprocessConfig

        self.model_dir = Path(self.model_dir)
        self.metadata = ModelMetadata.load(self.model_dir)
        config = PreprocessConfig.from_dict(self._preprocessing_dict())
        self._preprocessor = FacePreprocessor(config)
        self._session = onnxruntime.InferenceSession(
            str(self.model_dir / "model.onnx"), providers=["CPUExecutionProvider"]
        )

    def _preprocessing_dict(self) -> dict[str, Any]:
        """The metadata's preprocessing block, with size and channels from ``input``."""
        spec = self.metadata.input
        return {**self.metadata.preprocessing, "size": spec.size[0], "channels": spec.channels}

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
        batch = prepared.pixels[None].astype(np.float32)
        feeds = {self.metadata.input.name: batch}
        (embedding,) = self._session.run([self.metadata.embedding.name], feeds)
        return np.asarray(embedding[0], dtype=np.float32)
