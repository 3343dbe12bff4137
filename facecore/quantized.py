"""The ``int8`` block of ``metadata.json``: a quantised copy of the model and its own calibration.

``training quantize`` writes ``model.int8.onnx`` beside ``model.onnx`` and this block: how it was
quantised, its own default threshold and operating points (INT8 scores differ slightly from
float32's), and the held-out comparison with float32. ``within_budget`` is derived from that
comparison (:data:`BUDGET_POINTS`, :data:`MIN_AGREEMENT`) and checked when the file is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from facecore.file_digest import file_sha256
from facecore.operating_points import FarCalibration, FrozenSchema, OperatingPoint, Threshold

PRECISIONS = ("float32", "int8")
INT8_FILE = "model.int8.onnx"
BUDGET_POINTS = 0.003  # INT8 may lose at most 0.3 points of EER or TAR at FAR 1e-3
MIN_AGREEMENT = 0.99  # of held-out pairs judged alike at the default point

Precision = Literal["float32", "int8"]


class Quantization(FrozenSchema):
    """How the INT8 graph was made (ONNX Runtime static quantisation)."""

    format: Literal["QOperator", "QDQ"]
    activation_type: Literal["QUInt8", "QInt8"]
    weight_type: Literal["QUInt8", "QInt8"]
    per_channel: bool
    calibration_method: Literal["Percentile", "Entropy", "MinMax", "Distribution"]
    calibration_images: int = Field(gt=0)
    calibration_source: str = Field(description="where the calibration photos came from")
    nodes_excluded: tuple[str, ...] = Field(
        default=(),
        description="nodes kept in float32 (at least the normalisation after the last weight)",
    )
    ops_kept_float: tuple[str, ...] = Field(
        default=(), description="operator types left in float32 everywhere (e.g. the residual Add)"
    )
    graph_rewrites: tuple[str, ...] = Field(
        default=(), description="exact rewrites of the float graph before quantisation"
    )
    command: str | None = None


class TemplateProbe(FrozenSchema):
    """Each pair's first photo float32 (an enrolled template), its second INT8 (a probe)."""

    eer: float = Field(ge=0.0, le=1.0)
    tar_at_far_0_001: float = Field(ge=0.0, le=1.0)
    verdict_agreement: float = Field(
        ge=0.0, le=1.0, description="at INT8's default point, with float32 against float32"
    )


class PrecisionEvaluation(FrozenSchema):
    """float32 and INT8 on the same held-out pairs; the verdicts compared at the default points."""

    source: str = Field(description="the held-out pairs")
    genuine_pairs: int = Field(gt=0)
    impostor_pairs: int = Field(gt=0)
    float32_eer: float = Field(ge=0.0, le=1.0)
    int8_eer: float = Field(ge=0.0, le=1.0)
    float32_tar_at_far_0_001: float = Field(ge=0.0, le=1.0)
    int8_tar_at_far_0_001: float = Field(ge=0.0, le=1.0)
    verdict_agreement: float = Field(
        ge=0.0, le=1.0, description="pairs judged alike, each precision at its default threshold"
    )
    embedding_cosine_mean: float = Field(description="float32 vs INT8 embedding of each image")
    embedding_cosine_min: float
    template_probe: TemplateProbe | None = Field(
        default=None, description="float32 templates against INT8 probes on the same pairs"
    )
    report: dict[str, Any] | None = Field(
        default=None, description="the INT8 model's `training evaluate --precision int8` report"
    )

    @property
    def within_budget(self) -> bool:
        """INT8 loses at most BUDGET_POINTS of EER and TAR, and agrees on MIN_AGREEMENT pairs."""
        return (
            self.int8_eer - self.float32_eer <= BUDGET_POINTS
            and self.float32_tar_at_far_0_001 - self.int8_tar_at_far_0_001 <= BUDGET_POINTS
            and self.verdict_agreement >= MIN_AGREEMENT
        )


class Int8Block(FrozenSchema):
    """The quantised model: its file, how it was made, its calibration and its evaluation."""

    file: str = Field(default=INT8_FILE, pattern=r"^[\w.-]+\.onnx$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    quantization: Quantization
    threshold: Threshold
    operating_points: tuple[OperatingPoint, ...] = ()
    far_calibration: FarCalibration | None = None
    evaluation: PrecisionEvaluation
    within_budget: bool = Field(description="derived from evaluation; a mismatch is refused")

    @model_validator(mode="after")
    def _check_budget(self) -> Int8Block:
        if self.within_budget != self.evaluation.within_budget:
            raise ValueError(
                f"int8.within_budget is {self.within_budget} but its evaluation gives "
                f"{self.evaluation.within_budget}"
            )
        return self

    def check_file(self, directory: Path) -> Path:
        """Return the INT8 file in ``directory``, checked against ``sha256``.

        Raises:
            OSError: The file is missing.
            ValueError: Its SHA-256 differs from the block's.
        """
        path = directory / self.file
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the int8 model metadata.json names is missing")
        digest = file_sha256(path)
        if digest != self.sha256:
            raise ValueError(f"{path}: sha256 {digest} differs from metadata.json's {self.sha256}")
        return path


CALIBRATION_FIELDS = ("threshold", "operating_points", "far_calibration")


def evaluation_dir(model_dir: Path, precision: Precision) -> Path:
    """Return the folder of ``precision``'s reports: ``evaluation/`` or ``evaluation/int8/``."""
    reports = model_dir / "evaluation"
    return reports if precision == "float32" else reports / precision
