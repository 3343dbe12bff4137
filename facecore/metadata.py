"""Schema of an exported model's ``metadata.json``: written by training, read by the service.

The file travels next to ``model.onnx`` and ``saved_model/`` and says everything the
service needs to feed the model and to judge its scores: input size and channels, the
preprocessing configuration, the embedding size and the verification threshold.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from facecore.operating_points import FarCalibration, FrozenSchema, OperatingPoint, Threshold
from facecore.quantized import CALIBRATION_FIELDS, Int8Block, Precision

METADATA_FILENAME = "metadata.json"
FORMAT_VERSION = 1


class MetadataError(ValueError):
    """``metadata.json`` is missing, not JSON, or does not follow the schema."""


class InputSpec(FrozenSchema):
    """The model's input tensor: raw pixel values, batch first, channels last."""

    size: tuple[int, int] = Field(description="[height, width] in pixels")
    channels: Literal[1, 3]
    name: str = "image"
    range: tuple[float, float] = (0.0, 255.0)

    @model_validator(mode="after")
    def _check(self) -> InputSpec:
        if min(self.size) < 1:
            raise ValueError(f"input size must be positive, got {list(self.size)}")
        if self.range[0] >= self.range[1]:
            raise ValueError(f"input range must be [low, high], got {list(self.range)}")
        return self


class EmbeddingSpec(FrozenSchema):
    """The model's output tensor: one embedding per image."""

    dimension: int = Field(gt=0)
    name: str = "embedding"
    normalized: bool = True
    mirror_averaged: bool = Field(
        default=False,
        description="the graph returns the mean of the image's and its left-right mirror "
        "image's embeddings (test-time augmentation; the thresholds were calibrated on it); "
        "false in exports before it was offered",
    )
    layers: tuple[str, ...] = Field(
        default=("feature",),
        min_length=1,
        description="the model's layers the embedding is made of: with several, each layer's "
        "unit-length output weighs the same (the cosine is the mean of the layers' cosines); "
        "exports before it was recorded served `feature`",
    )


class TrainingInfo(BaseModel):
    """Where the weights came from; extra keys (epochs, seed, ...) are kept as given."""

    model_config = ConfigDict(frozen=True, extra="allow")

    preset: str | None = None
    sets: list[str] = Field(default_factory=list)
    people: int | None = Field(default=None, ge=0)
    images: int | None = Field(default=None, ge=0)
    command: str | None = None


class ModelMetadata(FrozenSchema):
    """Everything about an exported model that is not its weights."""

    format_version: int = FORMAT_VERSION
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    git_commit: str | None = None
    input: InputSpec
    embedding: EmbeddingSpec
    preprocessing: dict[str, Any]
    threshold: Threshold
    operating_points: tuple[OperatingPoint, ...] = ()
    training: TrainingInfo | None = None
    evaluation: dict[str, Any] | None = None
    far_calibration: FarCalibration | None = Field(
        default=None, description="absent in exports calibrated before cross-set margins"
    )
    terms: str = ""
    int8: Int8Block | None = Field(
        default=None, description="a quantised model.int8.onnx and its own calibration"
    )
    _precision: Precision = PrivateAttr("float32")

    @model_validator(mode="after")
    def _check_format(self) -> ModelMetadata:
        if self.format_version != FORMAT_VERSION:
            raise ValueError(
                f"metadata format_version {self.format_version} is not supported "
                f"(this code reads version {FORMAT_VERSION})"
            )
        names = [point.name for point in self.operating_points]
        targets = [p.far_target for p in self.operating_points if p.far_target is not None]
        if len(set(names)) != len(names) or len(set(targets)) != len(targets):
            raise ValueError(f"operating point names and FAR targets must be unique: {names}")
        margins = [p.name for p in self.operating_points if p.far_margin is not None]
        if margins and self.far_calibration is None:
            raise ValueError(f"points {margins} have a far_margin but far_calibration is missing")
        return self

    def operating_point(self, far: float) -> OperatingPoint:
        """Return the calibrated point for a false-accept-rate target.

        Raises:
            KeyError: No point was calibrated for ``far``; the message lists those that were.
        """
        for point in self.operating_points:
            if point.far_target is not None and _same_rate(point.far_target, far):
                return point
        raise KeyError(f"no operating point for far={far:g}; allowed: {list(self.far_targets)}")

    def choose_threshold(
        self, threshold: float | None = None, far: float | None = None
    ) -> tuple[float, str]:
        """Return the cosine threshold to apply and the name of its operating point.

        An explicit ``threshold`` is ``custom``; ``far`` picks its calibrated point; neither
        gives the default threshold.

        Raises:
            KeyError: ``far`` names no calibrated point (see :meth:`operating_point`).
        """
        if threshold is not None:
            return threshold, "custom"
        if far is None:
            return self.threshold.cosine, self.default_operating_point
        point = self.operating_point(far)
        return point.cosine, point.name

    @property
    def default_operating_point(self) -> str:
        """Name of the point ``threshold`` holds: the table's one without a FAR target."""
        for point in self.operating_points:
            if point.far_target is None and point.cosine == self.threshold.cosine:
                return point.name
        return "default"

    @property
    def precision(self) -> Precision:
        """Which model this metadata describes: float32, or an INT8 view (:meth:`view`)."""
        return self._precision

    def view(self, precision: Precision) -> ModelMetadata:
        """Return the metadata as ``precision`` is served: INT8 takes its block's calibration.

        Raises:
            ValueError: ``int8`` without an int8 block.
        """
        if precision == "float32":
            return self
        if self.int8 is None:
            raise ValueError(f"{self.name} {self.version} has no int8 block in metadata.json")
        update = {name: getattr(self.int8, name) for name in CALIBRATION_FIELDS}
        view = self.model_copy(update={**update, "evaluation": self.int8.evaluation.model_dump()})
        view._precision = precision
        return view

    def with_precision(self, view: ModelMetadata) -> ModelMetadata:
        """Fold a (possibly recalibrated) :meth:`view` back: float32 as is, INT8 into its block.

        An INT8 view's ``evaluation`` other than its block's own is an evaluate report, kept
        as the block's ``evaluation.report``.
        """
        if view.precision == "float32":
            return view
        if self.int8 is None:
            raise ValueError(f"{self.name} {self.version} has no int8 block to fold a view into")
        evaluation = self.int8.evaluation
        if view.evaluation != evaluation.model_dump():
            evaluation = evaluation.model_copy(update={"report": view.evaluation})
        update = {name: getattr(view, name) for name in CALIBRATION_FIELDS}
        block = self.int8.model_copy(update={**update, "evaluation": evaluation})
        return self.model_copy(update={"int8": Int8Block.model_validate(block.model_dump())})

    @property
    def far_targets(self) -> tuple[float, ...]:
        """The FAR targets of the calibrated operating points, ascending."""
        return tuple(
            sorted(p.far_target for p in self.operating_points if p.far_target is not None)
        )

    @classmethod
    def load(cls, path: str | Path) -> ModelMetadata:
        """Read and validate ``metadata.json``.

        Args:
            path: The JSON file, or the exported model directory holding it.

        Returns:
            The validated metadata.

        Raises:
            MetadataError: The file is missing, not JSON, or breaks the schema.
        """
        file = _metadata_file(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise MetadataError(f"cannot read model metadata {file}: {error}") from error
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            raise MetadataError(f"invalid model metadata {file}:\n{error}") from error

    def save(self, path: str | Path) -> Path:
        """Write the metadata as indented JSON.

        Args:
            path: The JSON file, or an existing directory to write ``metadata.json`` into.

        Returns:
            The file written.
        """
        if self.precision != "float32":
            raise ValueError("an int8 view of metadata.json is saved through with_precision")
        file = _metadata_file(path)
        payload = json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False)
        file.write_text(payload + "\n", encoding="utf-8")
        return file


def _same_rate(first: float, second: float) -> bool:
    """Whether two rates are the same number written differently (1e-3 vs 0.001)."""
    return abs(first - second) <= 1e-9 * max(abs(first), abs(second))


def _metadata_file(path: str | Path) -> Path:
    path = Path(path)
    return path / METADATA_FILENAME if path.is_dir() else path
