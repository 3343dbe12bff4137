"""Face detection with MediaPipe BlazeFace models run under LiteRT.

The ``.tflite`` files are vendored as package data in ``facecore/models/`` (origin, checksums
and licence in its README.md), so nothing is downloaded at run time.
Keypoints, in model order: right eye, left eye, nose tip, mouth centre, right ear
tragion, left ear tragion ("right" = the person's right, i.e. the image's left side).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.resources import files

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from facecore.anchors import (
    FULL_RANGE,
    SHORT_RANGE,
    SsdAnchorOptions,
    decode_predictions,
    generate_anchor_centers,
    sigmoid_scores,
)
from facecore.nms import weighted_nms

RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH_CENTER, RIGHT_EAR, LEFT_EAR = range(6)


@dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class Face:
    """One detected face, in pixels of the image given to ``detect``."""

    box: tuple[float, float, float, float]  # x, y, width, height
    confidence: float
    landmarks: np.ndarray  # (6, 2) float32 (x, y), order as in the module docstring

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return self.box[2] * self.box[3]

    def scaled(self, factor: float) -> Face:
        """Return this face in an image ``factor`` times larger."""
        if factor == 1.0:
            return self
        box = tuple(float(value) * factor for value in self.box)
        return Face(
            box,
            self.confidence,  # type: ignore[arg-type]
            (self.landmarks * np.float32(factor)).astype(np.float32),
        )


@dataclass(frozen=True)
class BlazeFaceModel:
    """A BlazeFace variant: its file and the options of its MediaPipe graph."""

    file_name: str
    anchors: SsdAnchorOptions


MODELS: dict[str, BlazeFaceModel] = {
    "short": BlazeFaceModel("face_detection_short_range.tflite", SHORT_RANGE),
    "full": BlazeFaceModel("face_detection_full_range.tflite", FULL_RANGE),
}


def model_bytes(file_name: str) -> bytes:
    """Contents of a ``.tflite`` file vendored in ``facecore/models/``.

    Raises:
        FileNotFoundError: The file is not part of the installed package.
    """
    resource = files("facecore") / "models" / file_name
    if not resource.is_file():
        raise FileNotFoundError(f"BlazeFace model not found in facecore/models: {file_name}")
    return resource.read_bytes()


class BlazeFace:
    """One BlazeFace model: letterbox, inference, decoding and weighted NMS.

    The LiteRT interpreter is not thread-safe; a lock serialises inference, so one
    instance may be shared by the threads of a service.
    """

    def __init__(
        self, model: BlazeFaceModel, min_confidence: float, nms_iou: float, num_threads: int = 1
    ) -> None:
        self._size = model.anchors.input_size
        self._anchors = generate_anchor_centers(model.anchors)
        self._min_confidence = min_confidence
        self._nms_iou = nms_iou
        self._interpreter = Interpreter(
            model_content=model_bytes(model.file_name), num_threads=num_threads
        )
        self._interpreter.allocate_tensors()
        self._lock = threading.Lock()
        self._input_index = self._interpreter.get_input_details()[0]["index"]
        outputs = self._interpreter.get_output_details()
        by_width = {int(d["shape"][-1]): d["index"] for d in outputs}
        self._boxes_index, self._scores_index = by_width[16], by_width[1]

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 image, most confident first."""
        tensor, scale, offset = self._letterbox(rgb)
        with self._lock:
            self._interpreter.set_tensor(self._input_index, tensor)
            self._interpreter.invoke()
            raw_boxes = self._interpreter.get_tensor(self._boxes_index)[0]
            raw_scores = self._interpreter.get_tensor(self._scores_index)[0]
        scores = sigmoid_scores(raw_scores)
        keep = scores >= self._min_confidence
        if not keep.any():
            return []
        boxes, keypoints = decode_predictions(raw_boxes[keep], self._anchors[keep], self._size)
        merged = weighted_nms(boxes, keypoints, scores[keep], self._nms_iou)
        to_pixels = self._size / scale
        shift = offset / scale
        height, width = rgb.shape[:2]
        return [
            _face_in_image(
                box * to_pixels - np.tile(shift, 2),
                points * to_pixels - shift,
                score,
                width,
                height,
            )
            for box, points, score in merged
        ]

    def _letterbox(self, rgb: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """Resize keeping the aspect ratio, pad to the square input, scale to [-1, 1].

        Returns:
            The (1, S, S, 3) float32 tensor, the resize factor and the (x, y) padding.
        """
        height, width = rgb.shape[:2]
        scale = self._size / max(height, width)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(rgb, (new_w, new_h), interpolation=interpolation)
        left, top = (self._size - new_w) // 2, (self._size - new_h) // 2
        canvas = np.zeros((self._size, self._size, 3), np.uint8)
        canvas[top : top + new_h, left : left + new_w] = resized
        offset = np.array([left, top], np.float64)
        tensor = canvas.astype(np.float32) * (2.0 / 255.0) - 1.0
        return tensor[None], scale, offset


def _face_in_image(
    box: np.ndarray, points: np.ndarray, score: float, width: int, height: int
) -> Face:
    """Build a ``Face`` from a pixel (xmin, ymin, xmax, ymax) box clipped to the image."""
    x0, y0 = np.clip(box[0], 0, width), np.clip(box[1], 0, height)
    x1, y1 = np.clip(box[2], 0, width), np.clip(box[3], 0, height)
    return Face(
        (float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
        float(score),
        points.astype(np.float32),
    )


class FaceDetector:
    """Face detector; with several models, the next runs only when the previous finds none.

    The default, short range then full range, was chosen on ``celeba_subset`` (6,300
    in-the-wild photos, see bench/results/faces.json): short range finds a face in 98.8 %
    at ~2 ms, full range in 99.7 % at ~5 ms (2-3x slower), short-then-full in 99.95 % and
    costs the full-range time only on the ~1 % of photos short range misses.

    Args:
        models: Model names from ``MODELS`` in the order to try, e.g. ``("short", "full")``.
        min_confidence: Minimum sigmoid score of a detection.
        nms_iou: Overlap above which detections are merged (MediaPipe uses 0.3).
        num_threads: LiteRT threads per model.
    """

    def __init__(
        self,
        models: tuple[str, ...] = ("short", "full"),
        min_confidence: float = 0.5,
        nms_iou: float = 0.3,
        num_threads: int = 1,
    ) -> None:
        unknown = [name for name in models if name not in MODELS]
        if not models or unknown:
            raise ValueError(f"models must be a non-empty subset of {sorted(MODELS)}, got {models}")
        self._models = [
            BlazeFace(MODELS[name], min_confidence, nms_iou, num_threads) for name in models
        ]

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Detect faces.

        Args:
            rgb: uint8 (H, W, 3) RGB image of any size.

        Returns:
            Faces in image pixels, most confident first; empty when none is found.
        """
        image = np.ascontiguousarray(rgb, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
        for model in self._models:
            faces = model.detect(image)
            if faces:
                return faces
        return []
