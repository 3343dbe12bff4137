import json

import image_factory as images
import numpy as np
import pytest

from facecore.decode import decode_image
from facecore.detect import Face, FaceDetector
from facecore.errors import MultipleFacesError, NoFaceError
from facecore.preprocess import CONFIDENT_FRACTION, FacePreprocessor, to_model_input
from facecore.preprocess_config import PreprocessConfig


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(("short", "full"))


def preprocessor(detector: FaceDetector, **options) -> FacePreprocessor:
    return FacePreprocessor(PreprocessConfig(**options), detector=detector)


def load(path) -> np.ndarray:
    return decode_image(path.read_bytes(), max_bytes=10**7, max_pixels=10**7)


class StubDetector:
    """Returns fixed faces: a big one (``big_confidence``) and a small one scored 0.95."""

    def __init__(self, big_confidence: float = 0.9) -> None:
        points = np.array([[40, 50], [70, 50], [55, 70], [55, 90], [30, 55], [80, 55]], np.float32)
        self.big = Face((20.0, 20.0, 80.0, 80.0), big_confidence, points)
        self.small = Face((150.0, 20.0, 30.0, 30.0), 0.95, points / 3 + [150, 20])

    def detect(self, rgb: np.ndarray) -> list[Face]:
        return [self.small, self.big]


def test_config_round_trips_through_json():
    config = PreprocessConfig(size=96, channels=1, face_policy="reject", detector_models=("full",))
    restored = PreprocessConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config


@pytest.mark.parametrize(
    "bad",
    [
        {"channels": 2},
        {"face_policy": "smallest"},
        {"no_face_policy": "guess"},
        {"detector_models": ("tiny",)},
        {"min_confidence": 1.5},
        {"alignment": "tight"},
    ],
)
def test_config_rejects_invalid_values(bad):
    with pytest.raises(ValueError):
        PreprocessConfig(**bad)


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError):
        PreprocessConfig.from_dict({**PreprocessConfig().to_dict(), "colour": "blue"})


@pytest.mark.parametrize("channels", [1, 3])
def test_process_photo_ends_with_to_model_input(detector, channels):
    rgb = load(images.PHOTO_ONE_FACE)
    engine = preprocessor(detector, channels=channels)
    prepared = engine.process(rgb)
    assert prepared.pixels.shape == (112, 112, channels) and prepared.pixels.dtype == np.uint8
    assert prepared.faces_detected == 1 and not prepared.fallback
    assert prepared.method == "detected" and prepared.face is not None
    crop = engine.align_crop(rgb).pixels
    assert crop.shape == (112, 112, 3)
    assert np.array_equal(prepared.pixels, to_model_input(crop, 112, channels))


def test_largest_face_policy_picks_the_bigger_real_face(detector):
    prepared = preprocessor(detector, face_policy="largest").process(load(images.PHOTO_TWO_FACES))
    assert prepared.faces_detected == 2 and prepared.face.box[2] > 80


def test_model_input_of_each_face_matches_process_for_the_chosen_one(detector):
    rgb = load(images.PHOTO_TWO_FACES)
    chooser = preprocessor(detector, face_policy="largest", channels=1)
    faces, _ = chooser.find_faces(rgb)
    inputs = [chooser.model_input_of(rgb, face) for face in faces]
    chosen = faces.index(chooser.choose(faces))
    assert [pixels.shape for pixels in inputs] == [(112, 112, 1)] * 2
    np.testing.assert_array_equal(inputs[chosen], chooser.process(rgb).pixels)
    assert not np.array_equal(inputs[0], inputs[1])


def test_largest_face_policy_skips_a_bigger_unsure_torso(detector):
    rgb = load(images.PHOTO_FACE_AND_TORSO)
    boxes = sorted(detector.detect(rgb), key=lambda face: face.area)
    assert len(boxes) == 2 and boxes[1].confidence < CONFIDENT_FRACTION * boxes[0].confidence
    prepared = preprocessor(detector, face_policy="largest").process(rgb)
    assert prepared.face.box == boxes[0].box  # the face, high in the photo, not the torso
    assert prepared.face.box[1] < 100 < boxes[1].box[1]


def test_reject_policy_raises_on_several_faces(detector):
    with pytest.raises(MultipleFacesError) as raised:
        preprocessor(detector, face_policy="reject").process(load(images.PHOTO_TWO_FACES))
    assert raised.value.code == "multiple_faces"
    assert (
        preprocessor(detector, face_policy="reject")
        .process(load(images.PHOTO_ONE_FACE))
        .faces_detected
        == 1
    )


@pytest.mark.parametrize(
    ("policy", "big_confidence", "expected"),
    [
        ("largest", 0.9, "big"),
        ("largest", 0.6, "small"),  # a big box far less sure than the best: a false positive
        ("most_confident", 0.9, "small"),
    ],
)
def test_face_policy_choice(policy, big_confidence, expected):
    stub = StubDetector(big_confidence)
    engine = FacePreprocessor(PreprocessConfig(face_policy=policy), detector=stub)
    prepared = engine.process(np.zeros((200, 200, 3), np.uint8))
    assert prepared.face is getattr(stub, expected) and prepared.faces_detected == 2


@pytest.mark.parametrize("policy", ["error", "padded", "padded_or_center"])
def test_photo_without_face_raises_under_every_policy(detector, policy):
    with pytest.raises(NoFaceError) as raised:
        preprocessor(detector, no_face_policy=policy).process(load(images.PHOTO_NO_FACE))
    assert raised.value.code == "no_face"


def test_tight_orl_crops_are_detected_directly(detector):
    engine = preprocessor(detector, no_face_policy="error")
    for path in images.ORL_FACES:
        assert engine.process(load(path)).method == "detected"


def test_padded_retry_finds_a_tight_side_lit_face(detector):
    rgb = load(images.YALEB_SIDE_LIT)
    with pytest.raises(NoFaceError):
        preprocessor(detector, no_face_policy="error").process(rgb)
    prepared = preprocessor(detector, no_face_policy="padded").process(rgb)
    assert prepared.method == "padded" and prepared.fallback and prepared.face is not None
    x, y, w, h = prepared.face.box  # mapped back into the unpadded image
    assert x >= 0 and y >= 0 and x + w <= rgb.shape[1] and y + h <= rgb.shape[0]
    assert np.all(prepared.face.landmarks[:4] > 0)


def test_center_crop_fallback_for_an_almost_black_crop(detector):
    rgb = load(images.YALEB_DARK)
    with pytest.raises(NoFaceError):
        preprocessor(detector, no_face_policy="padded").process(rgb)
    prepared = preprocessor(detector, no_face_policy="padded_or_center").process(rgb)
    assert prepared.method == "center" and prepared.fallback and prepared.face is None
    height, width = rgb.shape[:2]  # 192 x 168: the centre 168 x 168 square
    top = (height - width) // 2
    assert np.array_equal(prepared.pixels, to_model_input(rgb[top : top + width], 112, 3))


def test_center_crop_is_only_for_small_crop_like_images(detector):
    engine = preprocessor(detector, crop_like_max_side=100)
    with pytest.raises(NoFaceError):
        engine.process(load(images.YALEB_DARK))  # 192 px > 100 px
