"""SSD anchor centres of the MediaPipe BlazeFace models.

A port of the parts of MediaPipe's ``SsdAnchorsCalculator``
(mediapipe/calculators/tflite/ssd_anchors_calculator.cc) that the face detection graphs
use, with the options of ``face_detection_short_range_common.pbtxt`` and
``face_detection_full_range_common.pbtxt``. Both graphs set ``fixed_anchor_size: true``,
so every anchor is a unit square and only its centre matters for decoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SsdAnchorOptions:
    """The ``SsdAnchorsCalculatorOptions`` fields that shape the face detectors' anchors."""

    input_size: int
    strides: tuple[int, ...]
    interpolated_scale_aspect_ratio: float
    anchor_offset: float = 0.5


# face_detection_short_range_common.pbtxt: 128x128 input, 896 anchors.
SHORT_RANGE = SsdAnchorOptions(
    input_size=128, strides=(8, 16, 16, 16), interpolated_scale_aspect_ratio=1.0
)
# face_detection_full_range_common.pbtxt: 192x192 input, 2304 anchors.
FULL_RANGE = SsdAnchorOptions(input_size=192, strides=(4,), interpolated_scale_aspect_ratio=0.0)


def anchors_per_cell(options: SsdAnchorOptions, layer: int) -> int:
    """Anchors one grid cell of ``layer`` gets after merging layers of equal stride.

    Each layer has one aspect ratio (1.0) plus, when ``interpolated_scale_aspect_ratio``
    is positive, one interpolated-scale anchor; consecutive layers with the same stride
    share one grid, so their anchors add up.
    """
    per_layer = 2 if options.interpolated_scale_aspect_ratio > 0 else 1
    return per_layer * _same_stride_run(options.strides, layer)


def _same_stride_run(strides: tuple[int, ...], layer: int) -> int:
    """Count the consecutive layers from ``layer`` on that share its stride."""
    run = 1
    while layer + run < len(strides) and strides[layer + run] == strides[layer]:
        run += 1
    return run


def generate_anchor_centers(options: SsdAnchorOptions) -> np.ndarray:
    """Anchor centres in the order the model emits its predictions.

    Args:
        options: The anchor layout of one detector.

    Returns:
        float32 array (N, 2) of (x, y) centres, normalised to [0, 1] of the model input.
    """
    centers: list[np.ndarray] = []
    layer = 0
    while layer < len(options.strides):
        stride = options.strides[layer]
        count = anchors_per_cell(options, layer)
        grid = int(np.ceil(options.input_size / stride))
        ys, xs = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
        cell = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32)
        cell = (cell + options.anchor_offset) / grid
        centers.append(np.repeat(cell, count, axis=0))
        layer += _same_stride_run(options.strides, layer)
    return np.concatenate(centers, axis=0)


def decode_predictions(
    raw_boxes: np.ndarray, anchor_centers: np.ndarray, input_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Decode BlazeFace regressors as ``TensorsToDetectionsCalculator`` does.

    The face graphs set ``x_scale = y_scale = w_scale = h_scale = input_size``: each row is
    (dx, dy, w, h, kx0, ky0, ..., kx5, ky5) in input pixels, centre and keypoints relative
    to the anchor centre.

    Args:
        raw_boxes: float32 (N, 4 + 2K) regressor output of the model, batch axis removed.
        anchor_centers: (N, 2) normalised anchor centres.
        input_size: Side of the square model input, the decoder's scale.

    Returns:
        ``(boxes, keypoints)``: (N, 4) boxes as normalised (xmin, ymin, xmax, ymax) and
        (N, K, 2) normalised keypoints.
    """
    values = raw_boxes.reshape(len(raw_boxes), -1, 2) / float(input_size)
    center = values[:, 0] + anchor_centers
    half_size = values[:, 1] / 2.0
    boxes = np.concatenate([center - half_size, center + half_size], axis=1)
    keypoints = values[:, 2:] + anchor_centers[:, None, :]
    return boxes, keypoints


def sigmoid_scores(raw_scores: np.ndarray, clip: float = 100.0) -> np.ndarray:
    """Scores as the calculator computes them: logits clipped to +-``clip``, then sigmoid."""
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -clip, clip)
    return 1.0 / (1.0 + np.exp(-logits))
