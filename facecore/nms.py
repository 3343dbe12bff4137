"""Weighted non-maximum suppression, as MediaPipe's face graphs configure it.

MediaPipe's ``NonMaxSuppressionCalculator`` with ``algorithm: WEIGHTED`` replaces each
cluster of overlapping detections by their score-weighted mean box and keypoints, which
gives steadier landmarks than keeping the single best detection.
"""

from __future__ import annotations

import numpy as np


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (xmin, ymin, xmax, ymax) box with each of ``boxes``."""
    # Plain element-wise arithmetic: a photo's two detections call this a few times each, on a
    # handful of boxes, where np.prod and np.clip cost more in overhead than in work.
    width = np.maximum(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0)
    height = np.maximum(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0)
    intersection = width * height
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
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
        box = weights @ boxes[cluster]  # what np.tensordot(weights, ..., axes=1) computes
        points = (weights @ keypoints[cluster].reshape(len(cluster), -1)).reshape(
            keypoints.shape[1:]
        )
        merged.append((box, points, float(scores[best])))
        remaining = remaining[~overlaps]
    return merged
