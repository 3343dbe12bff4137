"""facecore.quality on real fixture faces and on altered copies: each check names itself."""

import cv2
import image_factory as images
import numpy as np
import pytest

from facecore.decode import decode_image
from facecore.detect import Face
from facecore.errors import LowQualityFaceError
from facecore.preprocess import FacePreprocessor
from facecore.preprocess_config import PreprocessConfig
from facecore.quality import QualityLimits, check_crop_detail, check_detected_face

LIMITS = QualityLimits()


@pytest.fixture(scope="module")
def preprocessor():
    return FacePreprocessor(PreprocessConfig(no_face_policy="padded"))


def photo(path=images.PHOTO_ONE_FACE):
    return decode_image(path.read_bytes(), max_bytes=10**7, max_pixels=10**8)


def found(preprocessor, rgb) -> Face:
    faces, _ = preprocessor.find_faces(rgb)
    return preprocessor.choose(faces)


def test_real_faces_pass(preprocessor):
    for path in (images.PHOTO_ONE_FACE, images.ORL_FACES[0], images.PHOTO_ONE_FACE_2):
        rgb = photo(path)
        check_detected_face(rgb, found(preprocessor, rgb), preprocessor.detector, LIMITS)


def test_a_small_face_is_refused_with_its_eye_distance(preprocessor):
    rgb = photo()
    face = found(preprocessor, rgb)
    strict = QualityLimits(min_eye_distance_px=500)
    with pytest.raises(LowQualityFaceError, match=r"px between the eyes; at least 500"):
        check_detected_face(rgb, face, preprocessor.detector, strict)


def test_landmarks_without_a_face_layout_are_refused(preprocessor):
    rgb = photo()
    face = found(preprocessor, rgb)
    scrambled = Face(face.box, face.confidence, face.landmarks[[3, 2, 1, 0, 4, 5]])
    with pytest.raises(LowQualityFaceError, match="layout"):
        check_detected_face(rgb, scrambled, preprocessor.detector, LIMITS)


def test_a_face_moved_off_its_detection_is_not_confirmed(preprocessor):
    rgb = photo()
    face = found(preprocessor, rgb)
    blank = np.full_like(rgb, 128)  # the same landmarks on an empty picture
    with pytest.raises(LowQualityFaceError, match="not confirmed"):
        check_detected_face(blank, face, preprocessor.detector, LIMITS)


def test_flat_and_blurred_crops_are_refused():
    crop = photo(images.ORL_FACES[0])
    check_crop_detail(crop, LIMITS)
    with pytest.raises(LowQualityFaceError, match="nearly uniform"):
        check_crop_detail(np.full((112, 112, 3), 90, np.uint8), LIMITS)
    with pytest.raises(LowQualityFaceError, match="too blurred"):
        check_crop_detail(cv2.GaussianBlur(crop, (0, 0), 12), LIMITS)


def test_the_detail_check_does_not_depend_on_the_crop_size():
    crop = photo(images.ORL_FACES[0])
    for side in (112, 150, 224):
        check_crop_detail(cv2.resize(crop, (side, side), interpolation=cv2.INTER_CUBIC), LIMITS)


def test_limits_are_validated():
    with pytest.raises(ValueError, match="min_confirmation"):
        QualityLimits(min_confirmation=1.5)
