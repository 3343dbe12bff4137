"""A minimal valid ``metadata.json`` for tests of thresholds and operating points."""

from __future__ import annotations

from facecore.metadata import ModelMetadata


def minimal_metadata(**fields: object) -> ModelMetadata:
    """An 8x8 RGB, 4-d model with an uncalibrated threshold; ``fields`` replace any key."""
    return ModelMetadata.model_validate(
        {
            "name": "m",
            "version": "1",
            "input": {"size": [8, 8], "channels": 3},
            "embedding": {"dimension": 4},
            "preprocessing": {},
            "threshold": {"cosine": 0.5, "operating_point": "placeholder", "calibrated": False},
            **fields,
        }
    )
