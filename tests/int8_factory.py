"""An export with an ``int8`` block for tests: the tiny model and a copy of it as the INT8 file.

The copy is float32 (the service's mechanics only; ``tests/training/test_quantize.py``
quantises for real). Its evaluation is made up, within the budget unless told otherwise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fixture_paths import TINY_MODEL

from facecore.file_digest import file_sha256
from facecore.quantized import INT8_FILE

INT8_THRESHOLD = 0.25  # the tiny model's float32 default is 0.5


def evaluation(**fields: object) -> dict:
    """A PrecisionEvaluation dict within budget; ``fields`` replace any key."""
    return {
        "source": "test pairs",
        "genuine_pairs": 10,
        "impostor_pairs": 1000,
        "float32_eer": 0.05,
        "int8_eer": 0.051,
        "float32_tar_at_far_0_001": 0.76,
        "int8_tar_at_far_0_001": 0.77,
        "verdict_agreement": 0.995,
        "embedding_cosine_mean": 0.9997,
        "embedding_cosine_min": 0.999,
        **fields,
    }


def int8_block(sha256: str, **fields: object) -> dict:
    """An int8 block dict whose default point is INT8_THRESHOLD; ``fields`` replace any key."""
    point = {"name": "best_accuracy", "cosine": INT8_THRESHOLD, "far": 0.03, "tar": 0.9}
    return {
        "file": INT8_FILE,
        "sha256": sha256,
        "quantization": {
            "format": "QOperator",
            "activation_type": "QUInt8",
            "weight_type": "QInt8",
            "per_channel": True,
            "calibration_method": "Percentile",
            "calibration_images": 16,
            "calibration_source": "test photos",
        },
        "threshold": {"cosine": INT8_THRESHOLD, "operating_point": "test", "calibrated": True},
        "operating_points": [point],
        "evaluation": evaluation(),
        "within_budget": True,
        **fields,
    }


def tiny_int8_model(directory: Path, **fields: object) -> Path:
    """Copy the tiny model to ``directory`` with model.int8.onnx and its block; returns it."""
    shutil.copytree(TINY_MODEL, directory)
    shutil.copy(directory / "model.onnx", directory / INT8_FILE)
    metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
    metadata["int8"] = int8_block(file_sha256(directory / INT8_FILE), **fields)
    (directory / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory
