"""The verdict of every route: the threshold to apply, and whether a similarity reaches it.

1:1 (/verify, /people/{id}/verify) takes the default point, ``far``'s or ``threshold``. The
identification threshold (/identify) grows with the gallery. A probe of someone not enrolled is
compared with all N templates; it is a false positive when any comparison passes the threshold.
With a per-comparison false-accept rate FAR, the chance of that (the false-positive
identification rate, FPIR) is ``1 - (1 - FAR) ** N`` ~ ``N * FAR``. To hold FPIR at a target,
each comparison may pass only ``FAR = 1 - (1 - FPIR) ** (1 / N)``.

The model's calibrated operating points (FAR -> cosine, measured on held-out people, in
metadata.json) give the threshold: the most lenient point whose FAR is at most the one needed.
A point's FAR is taken at its 95% upper confidence limit (``far_upper``): 20 false accepts in
200,000 impostor pairs measure 1e-4 but only bound it by 1.5e-4, and a gallery multiplies the
difference. Points calibrated with a cross-set ``far_margin`` (``python -m training calibrate``)
take their FAR times that margin: the most their FAR moved on a held-out set they were not
calibrated on. The bound then holds for photos like those sets, not for any photo source. When
the gallery is too large for the strictest calibrated point to hold the target, that point is
used and ``fpir_bound`` says the FPIR it actually bounds, so callers are never misled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.errors import UnknownOperatingPointError
from facecore.metadata import ModelMetadata


@dataclass(frozen=True)
class RatedThreshold:
    """A calibrated cosine and the FAR it holds (read from a metadata ``OperatingPoint``)."""

    far: float
    cosine: float


@dataclass(frozen=True)
class IdentificationThreshold:
    """The threshold for one gallery size, and the FPIR it bounds."""

    cosine: float
    comparison_far: float | None
    fpir_target: float
    fpir_bound: float | None


def operating_points(metadata: ModelMetadata) -> list[RatedThreshold]:
    """Return the model's FAR-calibrated operating points, most lenient last.

    Each point's rate is the largest of its FAR target, the FAR measured at it and that
    measurement's upper confidence limit (exports calibrated before ``far_upper`` was recorded
    have only the first two), times its cross-set ``far_margin`` where it has one;
    ``threshold`` counts too when it names its FAR.
    """
    points = {
        round(point.cosine, 6): RatedThreshold(
            max(point.far, point.far_target, point.far_upper or 0.0) * (point.far_margin or 1.0),
            point.cosine,
        )
        for point in metadata.operating_points
        if point.far_target is not None
    }
    threshold = metadata.threshold
    if threshold.far is not None:
        points.setdefault(
            round(threshold.cosine, 6), RatedThreshold(threshold.far, threshold.cosine)
        )
    return sorted(points.values(), key=lambda point: point.far)


def identification_threshold(
    points: Sequence[RatedThreshold], default_cosine: float, templates: int, fpir_target: float
) -> IdentificationThreshold:
    """Choose the threshold for a gallery of ``templates`` templates.

    Args:
        points: Calibrated operating points, any order.
        default_cosine: The model's threshold, used when it has no calibrated point.
        templates: Templates a probe is compared with (N).
        fpir_target: The false-positive identification rate to hold.
    """
    if not points:
        return IdentificationThreshold(default_cosine, None, fpir_target, None)
    needed = 1.0 - (1.0 - fpir_target) ** (1.0 / max(templates, 1))
    meeting = [point for point in points if point.far <= needed]
    chosen = max(meeting, key=lambda p: p.far) if meeting else min(points, key=lambda p: p.far)
    bound = 1.0 - (1.0 - chosen.far) ** max(templates, 1)
    return IdentificationThreshold(chosen.cosine, chosen.far, fpir_target, bound)


def bound_scope(metadata: ModelMetadata) -> str:
    """Say what ``fpir_bound`` guarantees for this model's calibration, in one sentence."""
    calibration = metadata.far_calibration
    margins = sorted({p.far_margin for p in metadata.operating_points if p.far_margin})
    if calibration is None or not margins:  # evaluate --calibrate rewrites points unmargined
        return (
            "measured on the model's held-out pairs with no margin for other photo sources: "
            "not a guarantee for photos unlike those"
        )
    return (
        f"holds for photos like the calibration sets ({', '.join(calibration.sets)}): their "
        f"FAR, widened x{margins[0]:g}..x{margins[-1]:g} for the most it moved from some of "
        f"those sets to another ({calibration.margin_folds} sets measured); not a guarantee "
        "for other photo sources"
    )


def is_match(similarity: float, threshold: float) -> bool:
    """Judge a comparison: the same person when its cosine similarity reaches the threshold."""
    return similarity >= threshold


def verification_threshold(
    metadata: ModelMetadata, threshold: float | None, far: float | None
) -> tuple[float, str]:
    """Return the threshold of a 1:1 comparison and its operating point's name.

    Raises:
        UnknownOperatingPointError: ``far`` is not one of the calibrated points.
    """
    try:
        return metadata.choose_threshold(threshold, far)
    except KeyError as error:
        raise UnknownOperatingPointError(error.args[0]) from None


def identify_threshold(
    metadata: ModelMetadata, templates: int, fpir_target: float, threshold: float | None
) -> tuple[IdentificationThreshold, str | None]:
    """Return the threshold of a probe against ``templates`` templates and its bound's scope."""
    points, default = operating_points(metadata), metadata.threshold.cosine
    rule = identification_threshold(points, default, templates, fpir_target)
    if threshold is not None:
        return replace(rule, cosine=threshold, comparison_far=None, fpir_bound=None), None
    return rule, bound_scope(metadata)
