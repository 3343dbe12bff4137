"""float32 against INT8 on the same held-out pairs: figures, verdicts and embeddings compared.

Both models embed every distinct image of the pairs (prepared crops, as ``training evaluate``
scores them). The INT8 model gets its own points, calibrated as ``evaluate --calibrate`` does;
each precision's verdict at its default point is compared pair by pair.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecore.operating_points import OperatingPoint
from facecore.quantized import PrecisionEvaluation, TemplateProbe
from training.data.pairs import Pair, pair_rows
from training.data.vectors import unit_rows
from training.evaluation.calibration import DEFAULT_POINT, FAR_TARGETS, operating_points
from training.evaluation.embedder import OnnxEmbedder
from training.evaluation.heldout import pair_scores
from training.evaluation.verification import verification_report

OPERATING_FAR = 1e-3


@dataclass(frozen=True)
class PrecisionComparison:
    """The comparison, and the INT8 model's calibrated points on the same pairs."""

    evaluation: PrecisionEvaluation
    int8_points: tuple[OperatingPoint, ...]


def compare_precisions(
    model_dir: Path, int8_file: Path, pairs: list[Pair], source: str, batch_size: int, seed: int
) -> PrecisionComparison:
    """Score ``pairs`` with model.onnx and ``int8_file``; calibrate INT8's points on them.

    float32's verdicts use the default threshold of its metadata.json, INT8's the best-accuracy
    point calibrated here. ``int8_file`` needs no int8 block yet (this measures it).
    """
    paths, first, second = pair_rows(pairs)
    labels = np.array([pair.same for pair in pairs])
    embedded, float_threshold = _embed_both(model_dir, int8_file, paths, batch_size)
    scores = {name: pair_scores(rows, first, second) for name, rows in embedded.items()}
    reports = {
        name: verification_report(
            labels, score, far_targets=FAR_TARGETS, operating_far=OPERATING_FAR, seed=seed
        )
        for name, score in scores.items()
    }
    points = operating_points(labels, scores["int8"])
    int8_threshold = next(p.cosine for p in points if p.name == DEFAULT_POINT)
    float_verdicts = scores["float32"] >= float_threshold
    agree = float_verdicts == (scores["int8"] >= int8_threshold)
    cosines = np.sum(embedded["float32"] * embedded["int8"], axis=1)
    key = f"{OPERATING_FAR:g}"
    both = np.concatenate([embedded["float32"], embedded["int8"]])  # INT8 rows after float32's
    mixed = pair_scores(both, first, second + len(paths))
    template_probe = _template_probe(labels, mixed, mixed >= int8_threshold, float_verdicts)
    evaluation = PrecisionEvaluation(
        source=source,
        genuine_pairs=int(labels.sum()),
        impostor_pairs=int((~labels).sum()),
        float32_eer=reports["float32"].eer,
        int8_eer=reports["int8"].eer,
        float32_tar_at_far_0_001=reports["float32"].tar_at_far[key],
        int8_tar_at_far_0_001=reports["int8"].tar_at_far[key],
        verdict_agreement=float(agree.mean()),
        embedding_cosine_mean=float(cosines.mean()),
        embedding_cosine_min=float(cosines.min()),
        template_probe=template_probe,
    )
    return PrecisionComparison(evaluation, points)


def _template_probe(
    labels: np.ndarray, mixed: np.ndarray, verdicts: np.ndarray, float_verdicts: np.ndarray
) -> TemplateProbe:
    """Figures of float32 templates against INT8 probes (``mixed`` scores, their verdicts)."""
    report = verification_report(labels, mixed, far_targets=(OPERATING_FAR,))
    return TemplateProbe(
        eer=report.eer,
        tar_at_far_0_001=report.tar_at_far[f"{OPERATING_FAR:g}"],
        verdict_agreement=float((verdicts == float_verdicts).mean()),
    )


def _embed_both(
    model_dir: Path, int8_file: Path, paths: list[Path], batch_size: int
) -> tuple[dict[str, np.ndarray], float]:
    """Return unit embeddings of ``paths`` by float32 and INT8, and float32's threshold."""
    float32 = _embedder(model_dir, None)
    embedded = {"float32": unit_rows(float32.embed_files(paths, batch_size))}
    embedded["int8"] = unit_rows(_embedder(model_dir, int8_file).embed_files(paths, batch_size))
    return embedded, float32.metadata.threshold.cosine


def _embedder(model_dir: Path, onnx_file: Path | None) -> OnnxEmbedder:
    """Open the export, or ``onnx_file`` in its place (from a scratch copy of the export)."""
    if onnx_file is None:
        return OnnxEmbedder(model_dir)
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(model_dir / "metadata.json", scratch)
        shutil.copy(onnx_file, Path(scratch) / "model.onnx")
        return OnnxEmbedder(scratch)  # the session holds the graph; the copy may go
