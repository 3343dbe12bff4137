"""Weighted non-maximum suppression, as MediaPipe's face graphs configure it.

MediaPipe's ``NonMaxSuppressionCalculator`` with ``algorithm: WEIGHTED`` replaces each
cluster of overlapping detections by their score-weighted mean box and keypoints, which
gives steadier landmarks than keeping the single best detection.
"""

from __future__ import annotations

import numpy as np


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (xmin, ymin, xmax, ymax) box with each of ``boxes``."""
    top_left = np.maximum(box[:2], boxes[:, :2])
    bottom_right = np.minimum(box[2:], boxes[:, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    union = area + areas - intersection
    return np.where(union > 0, intersection / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Merge overlapping detections into their score-weighted means.

    Args:
        boxes: (N, 4) boxes as (xmin, ymin, xmax, ymax).
        keypoints: (N, K, 2) keypoints.
        scores: (N,) confidences.
        iou_threshold: Detections overlapping the best remaining one by more are merged.

    Returns:
        ``(box, keypoints, score)`` per cluster, best score first; the score is the
        cluster's best.
    """
    remaining = np.argsort(-scores)
    merged: list[tuple[np.ndarray, np.ndarray, float]] = []
    while remaining.size:
        best = remaining[0]
        overlaps = box_iou(boxes[best], boxes[remaining]) > iou_threshold
        overlaps[0] = True
        cluster = remaining[overlaps]
        weights = scores[cluster] / scores[cluster].sum()
        box = np.tensordot(weights, boxes[cluster], axes=1)
        points = np.tensordot(weights, keypoints[cluster], axes=1)
        merged.append((box, points, float(scores[best])))
        remaining = remaining[~overlaps]
    return merged
