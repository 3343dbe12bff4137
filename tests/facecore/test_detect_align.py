import hashlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import cv2
import image_factory as images
import numpy as np
import pytest

from facecore.align import align_face, similarity_transform, template_points
from facecore.anchors import (
    FULL_RANGE,
    SHORT_RANGE,
    decode_predictions,
    generate_anchor_centers,
    sigmoid_scores,
)
from facecore.decode import decode_image
from facecore.detect import (
    LEFT_EYE,
    MODELS,
    MOUTH_CENTER,
    NOSE_TIP,
    RIGHT_EYE,
    FaceDetector,
    model_bytes,
)
from facecore.nms import box_iou, weighted_nms


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(("short",))


def load(path) -> np.ndarray:
    return decode_image(path.read_bytes(), max_bytes=10**7, max_pixels=10**7)


def test_anchor_counts_match_the_models():
    short = generate_anchor_centers(SHORT_RANGE)
    full = generate_anchor_centers(FULL_RANGE)
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    # stride 8: 16x16 cells, 2 anchors each, first centre half a cell in
    assert np.allclose(short[0], [0.5 / 16, 0.5 / 16]) and np.allclose(short[1], short[0])
    # stride 16: 8x8 cells, 6 anchors each
    assert np.allclose(short[512:518], [0.5 / 8, 0.5 / 8])
    assert np.allclose(full[1], [1.5 / 48, 0.5 / 48])


def test_decoding_offsets_are_relative_to_anchor_and_scaled_by_input_size():
    anchors = np.array([[0.5, 0.25]], np.float32)
    raw = np.zeros((1, 16), np.float32)
    raw[0, :4] = [12.8, 0.0, 25.6, 12.8]  # dx, dy, w, h in input pixels (input 128)
    raw[0, 4:6] = [-12.8, 12.8]  # first keypoint
    boxes, keypoints = decode_predictions(raw, anchors, 128)
    assert np.allclose(boxes[0], [0.5, 0.2, 0.7, 0.3])
    assert np.allclose(keypoints[0, 0], [0.4, 0.35]) and keypoints.shape == (1, 6, 2)


def test_scores_are_clipped_sigmoids():
    scores = sigmoid_scores(np.array([[-1000.0], [0.0], [1000.0]], np.float32))
    assert np.allclose(scores, [1 / (1 + np.exp(100)), 0.5, 1 / (1 + np.exp(-100))])


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float64)
    keypoints = np.zeros((3, 6, 2))
    keypoints[1] += 3.0
    merged = weighted_nms(boxes, keypoints, np.array([0.9, 0.3, 0.8]), iou_threshold=0.3)
    assert len(merged) == 2
    box, points, score = merged[0]
    assert score == 0.9 and np.allclose(box, [0.25, 0, 10.25, 10])
    assert np.allclose(points, 0.75)
    assert np.allclose(merged[1][0], boxes[2])
    assert points.shape == (6, 2)


def test_box_iou_of_overlapping_disjoint_and_empty_boxes():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [3, 3, 3, 3]], np.float32)
    iou = box_iou(boxes[0], boxes)
    assert np.allclose(iou, [1.0, 50 / 150, 0.0, 0.0])
    assert box_iou(boxes[3], boxes[3:])[0] == 0.0  # an empty box overlaps nothing, not NaN


@pytest.mark.parametrize("models", [("short",), ("full",)])
def test_one_face_photo_gives_plausible_landmarks(models):
    faces = FaceDetector(models).detect(load(images.PHOTO_ONE_FACE))
    assert len(faces) == 1
    face = faces[0]
    x, y, w, h = face.box
    assert face.confidence > 0.5 and 40 < w < 200 and face.landmarks.shape == (6, 2)
    points = face.landmarks
    assert np.all((points[:4, 0] > x) & (points[:4, 0] < x + w))
    assert np.all((points[:4, 1] > y) & (points[:4, 1] < y + h))
    assert points[RIGHT_EYE, 0] < points[NOSE_TIP, 0] < points[LEFT_EYE, 0]
    assert points[RIGHT_EYE, 1] < points[NOSE_TIP, 1] < points[MOUTH_CENTER, 1]


def test_two_faces_and_no_face(detector):
    assert len(detector.detect(load(images.PHOTO_TWO_FACES))) == 2
    assert detector.detect(load(images.PHOTO_NO_FACE)) == []


def test_letterbox_maps_back_to_image_pixels(detector):
    rgb = load(images.PHOTO_ONE_FACE)
    face = detector.detect(rgb)[0]
    bigger = cv2.resize(rgb, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
    shift = rgb.shape[0] - rgb.shape[1] - 8  # pad the left, keeping the longest side
    padded = cv2.copyMakeBorder(rgb, 0, 0, shift, 0, cv2.BORDER_CONSTANT, value=0)
    on_bigger = detector.detect(bigger)[0]
    on_padded = detector.detect(padded)[0]
    assert np.abs(on_bigger.landmarks / 2 - face.landmarks)[:4].max() < 4
    assert np.abs(on_padded.landmarks - [shift, 0] - face.landmarks)[:4].max() < 4


def test_detector_rejects_bad_input():
    with pytest.raises(ValueError):
        FaceDetector(("tiny",))
    with pytest.raises(ValueError):
        FaceDetector(("short",)).detect(np.zeros((10, 10), np.uint8))


def test_models_load_without_importing_tensorflow():
    code = (
        "import sys; from facecore.detect import FaceDetector; FaceDetector(); "
        "assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_vendored_models_match_the_checksums_in_their_readme():
    models = resources.files("facecore") / "models"
    rows = (models / "README.md").read_text(encoding="utf-8").splitlines()
    for model in MODELS.values():
        digest = hashlib.sha256(model_bytes(model.file_name)).hexdigest()
        row = next(line for line in rows if line.startswith(f"| `{model.file_name}` |"))
        assert row.endswith(f"| `{digest}` |")


def test_missing_model_file_is_reported():
    with pytest.raises(FileNotFoundError, match="no_such_model.tflite"):
        model_bytes("no_such_model.tflite")


def test_similarity_transform_recovers_rotation_scale_shift():
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 100, (4, 2))
    angle = np.deg2rad(25)
    rotation = 1.5 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = source @ rotation.T + [7.0, -3.0]
    assert np.allclose(similarity_transform(source, target), np.hstack([rotation, [[7], [-3]]]))
    with pytest.raises(ValueError):
        similarity_transform(np.ones((4, 2)), target)
    with pytest.raises(ValueError, match="non-finite"):
        similarity_transform(np.full((4, 2), np.nan), target)


def _umeyama(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Umeyama's similarity through the SVD (the closed form's reference), no reflections."""
    src_mean, dst_mean = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - src_mean, target - dst_mean
    u, singular, vt = np.linalg.svd(dst.T @ src / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    scale = np.trace(np.diag(singular) @ sign) / ((src**2).sum() / len(src))
    linear = scale * u @ sign @ vt
    return np.hstack([linear, (dst_mean - linear @ src_mean)[:, None]])


def test_similarity_transform_is_umeyamas_least_squares_fit():
    """Noisy and mirrored point sets: the closed form equals the SVD solution."""
    rng = np.random.default_rng(1)
    for trial in range(200):
        source = rng.normal(0, 50, (4, 2))
        mixing = rng.normal(0, 1, (2, 2))  # about half of them mirror the points
        target = source @ mixing + rng.normal(0, 5 if trial % 2 else 50, (4, 2))
        assert np.allclose(similarity_transform(source, target), _umeyama(source, target))


def test_align_with_template_landmarks_is_identity():
    rgb = np.random.default_rng(1).integers(0, 255, (112, 112, 3), dtype=np.uint8)
    assert np.array_equal(align_face(rgb, template_points(112), 112), rgb)


@pytest.mark.parametrize(
    ("size", "alignment"), [(112, "arcface"), (160, "arcface"), (112, "dlib_chip")]
)
def test_aligned_real_face_has_landmarks_on_the_template(detector, size, alignment):
    rgb = load(images.PHOTO_ONE_FACE)
    crop = align_face(rgb, detector.detect(rgb)[0].landmarks, size, alignment)
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    upscaled = cv2.copyMakeBorder(
        crop, size // 2, size // 2, size // 2, size // 2, cv2.BORDER_CONSTANT, value=0
    )
    again = detector.detect(upscaled)[0].landmarks[:4] - size // 2
    assert np.abs(again - template_points(size, alignment)).max() < 0.06 * size


def test_dlib_chip_framing_shows_the_face_larger_and_higher():
    arcface, dlib_chip = template_points(112, "arcface"), template_points(112, "dlib_chip")
    eye_distance = [abs(points[1, 0] - points[0, 0]) for points in (arcface, dlib_chip)]
    assert eye_distance[1] > 1.1 * eye_distance[0]
    assert dlib_chip[3, 1] < arcface[3, 1] - 10  # the mouth higher: the chin is in the crop
    with pytest.raises(ValueError, match="unknown alignment 'tight'"):
        template_points(112, "tight")


def test_detector_can_be_shared_by_threads(detector):
    rgb = load(images.PHOTO_TWO_FACES)
    expected = [face.box for face in detector.detect(rgb)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: [f.box for f in detector.detect(rgb)], range(16)))
    assert all(boxes == expected for boxes in results)
