"""How an image becomes model pixels: the typed options saved in an export's metadata.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from facecore.align import DEFAULT_ALIGNMENT, TEMPLATES
from facecore.detect import MODELS

FACE_POLICIES = ("largest", "most_confident", "reject")
NO_FACE_POLICIES = ("error", "padded", "padded_or_center")


@dataclass(frozen=True)
class PreprocessConfig:
    """How an image becomes model pixels; saved in metadata.json so serving matches training.

    Attributes:
        size: Side of the aligned crop and of the model input.
        channels: 1 (grey) or 3 (RGB) model input channels.
        alignment: Where the landmarks land in the crop: ``arcface`` or ``dlib_chip``
            (``facecore.align.TEMPLATES``).
        face_policy: With several faces: ``largest`` box among those at least
            ``facecore.preprocess.CONFIDENT_FRACTION`` as confident as the best,
            ``most_confident``, or ``reject`` (raises ``MultipleFacesError``).
        no_face_policy: ``error``, ``padded`` or ``padded_or_center`` (module docstring).
        detector_models: BlazeFace models to try in order (``short``, ``full``).
        min_confidence: Minimum detection score.
        nms_iou: Overlap above which detections are merged.
        pad_fraction: Border added on each side for the padded retry, share of longest side.
        crop_like_max_side: Longest side up to which an image may be centre-cropped.
        crop_like_aspect: Range of width/height for the centre-crop fallback.
    """

    size: int = 112
    channels: int = 3
    alignment: str = DEFAULT_ALIGNMENT
    face_policy: str = "largest"
    no_face_policy: str = "padded_or_center"
    detector_models: tuple[str, ...] = ("short", "full")
    min_confidence: float = 0.5
    nms_iou: float = 0.3
    pad_fraction: float = 0.25
    crop_like_max_side: int = 256
    crop_like_aspect: tuple[float, float] = (0.6, 1.25)

    def __post_init__(self) -> None:
        checks = {
            "size": self.size >= 16,
            "channels": self.channels in (1, 3),
            "alignment": self.alignment in TEMPLATES,
            "face_policy": self.face_policy in FACE_POLICIES,
            "no_face_policy": self.no_face_policy in NO_FACE_POLICIES,
            "detector_models": bool(self.detector_models)
            and all(name in MODELS for name in self.detector_models),
            "min_confidence": 0.0 < self.min_confidence < 1.0,
            "pad_fraction": self.pad_fraction >= 0.0,
        }
        invalid = [name for name, ok in checks.items() if not ok]
        if invalid:
            raise ValueError(f"invalid PreprocessConfig fields: {invalid} in {self}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (tuples become lists)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PreprocessConfig:
        """Rebuild a config from ``to_dict`` output.

        Raises:
            ValueError: Unknown keys or invalid values.
        """
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown PreprocessConfig keys: {unknown}")
        return cls(
            **{
                key: tuple(value) if isinstance(value, list) else value
                for key, value in values.items()
            }
        )
