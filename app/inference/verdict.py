"""The verdict, in one place for every route: the threshold chosen and whether a score meets it.

``/verify`` and ``/people/{id}/verify`` take the model's default operating point, the
calibrated point of ``far`` or an explicit ``threshold`` (:func:`verification_threshold`);
``/identify`` takes the point that holds the false-positive identification rate at the
gallery's size (:func:`identification_threshold`, :mod:`app.gallery.threshold`) unless given a
``threshold``. Either way a similarity is a match when it reaches the threshold
(:func:`is_match`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import UnknownOperatingPointError
from app.gallery import threshold as gallery_threshold
from facecore.metadata import ModelMetadata


@dataclass(frozen=True)
class IdentificationThreshold:
    """The threshold of one /identify, the FPIR it aims at and, unless overridden, bounds."""

    cosine: float
    fpir_target: float
    fpir_bound: float | None
    fpir_bound_scope: str | None


def is_match(similarity: float, threshold: float) -> bool:
    """Judge a comparison: the same person when its cosine similarity reaches the threshold."""
    return similarity >= threshold


def verification_threshold(
    metadata: ModelMetadata, threshold: float | None, far: float | None
) -> tuple[float, str]:
    """Return the threshold of a 1:1 comparison and its operating point's name (see metadata).

    Raises:
        UnknownOperatingPointError: ``far`` is not one of the calibrated points.
    """
    try:
        return metadata.choose_threshold(threshold, far)
    except KeyError as error:
        raise UnknownOperatingPointError(error.args[0]) from None


def identification_threshold(
    metadata: ModelMetadata, templates: int, fpir_target: float, threshold: float | None
) -> IdentificationThreshold:
    """Return the threshold of a probe against ``templates`` templates; ``threshold`` overrides."""
    rule = gallery_threshold.identification_threshold(
        gallery_threshold.operating_points(metadata),
        metadata.threshold.cosine,
        templates,
        fpir_target,
    )
    if threshold is not None:
        return IdentificationThreshold(threshold, rule.fpir_target, None, None)
    scope = gallery_threshold.bound_scope(metadata)
    return IdentificationThreshold(rule.cosine, rule.fpir_target, rule.fpir_bound, scope)
