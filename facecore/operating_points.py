"""A model's calibrated decision thresholds, as ``metadata.json`` records them.

``threshold`` is the default point; ``operating_points`` every calibrated one (best accuracy, FAR
1e-2 .. 1e-5), each with what it measured on held-out pairs; ``far_calibration`` where the points
with a cross-set margin were calibrated (the scope of ``/identify``'s bound).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FrozenSchema(BaseModel):
    """A frozen part of the metadata schema: unknown keys are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Threshold(FrozenSchema):
    """Cosine similarity at or above which two faces are called the same person.

    ``calibrated`` is False for a placeholder written at export time; ``training
    evaluate --calibrate`` replaces it with a threshold measured on held-out people.
    """

    cosine: float = Field(ge=-1.0, le=1.0)
    far: float | None = Field(default=None, ge=0.0, le=1.0)
    tar: float | None = Field(default=None, ge=0.0, le=1.0)
    operating_point: str
    calibrated: bool


class OperatingPoint(FrozenSchema):
    """A calibrated threshold and what it measured on held-out pairs.

    ``far_target`` is the false-accept rate the point was chosen for (``/verify``'s
    ``far``); None for the best-accuracy point, which is the service's default.
    """

    name: str = Field(min_length=1, examples=["far_0.001"])
    cosine: float = Field(ge=-1.0, le=1.0)
    far_target: float | None = Field(default=None, gt=0.0, lt=1.0)
    far: float = Field(ge=0.0, le=1.0, description="measured false-accept rate")
    far_upper: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="one-sided 95% upper confidence limit of the FAR given the impostor pairs "
        "measured (Clopper-Pearson); null in exports calibrated before it was recorded",
    )
    far_margin: float | None = Field(
        default=None,
        ge=1.0,
        description="how much the FAR at this cosine may grow on photos of another held-out set: "
        "the worst measured / calibrated FAR over folds that calibrate on some sets and test on "
        "another (training calibrate); /identify's bound multiplies far_upper by it; null in "
        "exports without it (no margin)",
    )
    tar: float = Field(ge=0.0, le=1.0, description="measured true-accept rate")
    accuracy: float | None = Field(
        default=None, ge=0.0, le=1.0, description="balanced accuracy on the calibration pairs"
    )

    @model_validator(mode="after")
    def _check_far_upper(self) -> OperatingPoint:
        if self.far_upper is not None and self.far_upper < self.far:
            raise ValueError(f"far_upper {self.far_upper} is below the measured far {self.far}")
        return self


class FarCalibration(FrozenSchema):
    """Where the points with a ``far_margin`` were calibrated: the scope of /identify's bound."""

    sets: tuple[str, ...] = Field(min_length=1, description="photo sets pooled for the FARs")
    impostor_pairs: int = Field(gt=0, description="impostor pairs (both photos of one set)")
    margin_folds: int = Field(ge=2, description="held-out sets the margins were measured across")
    command: str | None = None
