"""Client-style degradations used in training."""

import os

from fixture_paths import FIXTURES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf

from training.data.augment import ERASED_AREA, build_augmenter, degrade_like_clients
from training.data.images import load_image

FACE = str(FIXTURES / "faces" / "celeba" / "07201" / "001085.jpg")


@pytest.fixture
def face():
    return load_image(FACE, 112, 3).astype(np.float32)


def test_shape_and_range_are_kept(face):
    tf.random.set_seed(0)
    for _ in range(5):
        out = degrade_like_clients(face).numpy()
        assert out.shape == face.shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 255.0


def test_grey_copy_has_equal_channels(face):
    out = degrade_like_clients(
        face, grey=1.0, jpeg=0.0, rescale=0.0, rotate_degrees=0.0, colour=0.0
    ).numpy()
    assert np.allclose(out[..., 0], out[..., 1], atol=1.0)
    assert np.allclose(out[..., 1], out[..., 2], atol=1.0)


def test_down_up_scaling_blurs_without_moving_the_face(face):
    out = degrade_like_clients(
        face, grey=0.0, jpeg=0.0, rescale=1.0, rotate_degrees=0.0, colour=0.0
    ).numpy()
    assert np.abs(np.diff(out, axis=1)).mean() < np.abs(np.diff(face, axis=1)).mean()
    assert np.abs(out.mean() - face.mean()) < 3.0


def test_nothing_enabled_is_the_identity(face):
    out = degrade_like_clients(
        face, grey=0.0, jpeg=0.0, rescale=0.0, rotate_degrees=0.0, colour=0.0
    ).numpy()
    np.testing.assert_allclose(out, face, atol=1e-3)


def test_one_channel_images_skip_colour_steps():
    grey = np.full((32, 32, 1), 100.0, np.float32)
    out = degrade_like_clients(grey, grey=1.0, colour=1.0).numpy()
    assert out.shape == (32, 32, 1)


def erased_share(erase: float) -> np.ndarray:
    """Share of each of 64 flat grey images that the augmenter's erasing changed."""
    flat = np.full((64, 48, 48, 3), 128.0, np.float32)
    out = build_augmenter(seed=1, brightness=0.0, contrast=0.0, erase=erase)(flat, training=True)
    return (np.abs(np.asarray(out) - 128.0) > 1e-3).any(axis=-1).mean(axis=(1, 2))


def test_erasing_covers_part_of_the_share_of_images_it_is_given():
    share = erased_share(0.5)
    erased = share[share > 0]
    assert 0.25 <= len(erased) / len(share) <= 0.75
    assert erased.min() >= ERASED_AREA[0] / 2 and erased.max() <= ERASED_AREA[1] * 1.1
    assert not erased_share(0.0).any()
