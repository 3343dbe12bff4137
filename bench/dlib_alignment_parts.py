"""Parts of ``bench.dlib_alignment``: dlib's chips and descriptors, and the figures."""

from __future__ import annotations

from typing import Any

import numpy as np

from facecore.align import similarity_transform
from facecore.preprocess import FacePreprocessor
from training.data.vectors import unit_rows
from training.evaluation.verification import verification_report

# dlib's 5-point chip template (get_face_chip_details, dlib/image_transforms/interpolation.h):
# where landmarks 0..4 of shape_predictor_5_face_landmarks land in a chip, before padding.
DLIB_FIVE = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)
PADDING = 0.25  # dlib.get_face_chip's default, as compute_face_descriptor cuts them


class DlibChipper:
    """Our detector's face, dlib's landmarks inside its box, dlib's chip and descriptor."""

    def __init__(self, preprocessor: FacePreprocessor, size: int) -> None:
        """Load dlib's 5-point shape predictor and face ResNet (``face-recognition-models``)."""
        import dlib
        import face_recognition_models as files

        self.dlib = dlib
        self.preprocessor = preprocessor
        self.size = size
        self.predictor = dlib.shape_predictor(files.pose_predictor_five_point_model_location())
        self.recogniser = dlib.face_recognition_model_v1(files.face_recognition_model_location())
        self.chip_points = (PADDING + DLIB_FIVE) / (2 * PADDING + 1) * size

    def landmarks(self, rgb: np.ndarray) -> tuple[np.ndarray, Any] | None:
        """Return our four points and dlib's 5-point shape of the chosen face, or None."""
        rgb = np.ascontiguousarray(rgb)
        faces, _ = self.preprocessor.find_faces(rgb)
        if not faces:
            return None
        face = self.preprocessor.choose(faces)
        x, y, w, h = face.box
        box = self.dlib.rectangle(round(x), round(y), round(x + w), round(y + h))
        return np.asarray(face.landmarks[:4], np.float64), self.predictor(rgb, box)

    def in_chip(self, points: np.ndarray, shape: Any) -> np.ndarray:
        """Map image ``points`` into the chip dlib cuts for ``shape`` (chip pixels)."""
        landmarks = np.array([(p.x, p.y) for p in shape.parts()], np.float64)
        to_image = similarity_transform(self.chip_points, landmarks)
        linear, shift = to_image[:, :2], to_image[:, 2]
        return (np.linalg.inv(linear) @ (points - shift).T).T

    def chip(self, rgb: np.ndarray, shape: Any) -> np.ndarray:
        """Return dlib's chip of the face (uint8 RGB, size x size)."""
        return self.dlib.get_face_chip(np.ascontiguousarray(rgb), shape, self.size, PADDING)

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """Return dlib's unit descriptors of a batch of chips."""
        found = self.recogniser.compute_face_descriptor(list(chips))
        return unit_rows(np.array([np.asarray(v) for v in found], np.float32))


def summary(embedded: dict) -> dict:
    """Cosine of each export view to dlib's own descriptor, per photo: min, mean, quantiles."""
    reference = unit_rows(embedded["dlib"])
    result = {"photos": len(embedded["identities"])}
    for name, vectors in embedded.items():
        if not name.startswith("converted_"):
            continue
        cosines = np.sum(unit_rows(vectors) * reference, axis=1)
        result[f"cosine_to_dlib_{name.removeprefix('converted_')}"] = {
            "min": round(float(cosines.min()), 6),
            "p1": round(float(np.quantile(cosines, 0.01)), 6),
            "median": round(float(np.median(cosines)), 6),
            "mean": round(float(cosines.mean()), 6),
        }
    return result


def pair_figures(embedded: dict) -> dict:
    """EER, balanced 10-fold accuracy and TAR at FAR 1e-3 of every view, on all pairs."""
    labels = np.array(embedded["identities"])
    upper = np.triu_indices(len(labels), 1)
    same = labels[upper[0]] == labels[upper[1]]
    figures = {"genuine_pairs": int(same.sum()), "impostor_pairs": int((~same).sum())}
    for name, vectors in embedded.items():
        if name == "identities":
            continue
        unit = unit_rows(vectors)
        report = verification_report(same, (unit @ unit.T)[upper], far_targets=(1e-3,))
        figures[name] = {
            "eer": round(report.eer, 4),
            "accuracy": round(report.accuracy.mean, 4),
            "tar_at_far_1e-3": round(report.tar_at_far["0.001"], 4),
        }
    return figures
