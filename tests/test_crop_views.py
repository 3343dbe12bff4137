"""The extra views of a crop that bench.crop_views averages."""

from __future__ import annotations

import numpy as np

from bench.crop_views import VIEWS, moved


def test_the_identity_view_leaves_the_crop_alone_and_a_shift_moves_it_down():
    crop = np.zeros((112, 112, 3), np.uint8)
    crop[50] = 255
    assert np.array_equal(moved(1.0)(crop), crop)
    assert moved(1.0, 3.0)(crop)[53].min() == 255 and moved(1.0, 3.0)(crop)[50].max() == 0


def test_zooming_in_spreads_the_centre_and_every_view_keeps_the_shape():
    crop = np.zeros((112, 112, 3), np.uint8)
    crop[40:72, 40:72] = 255
    bright = {name: int((view(crop)[..., 0] > 127).sum()) for name, view in VIEWS.items()}
    assert bright["zoom_in"] > 32 * 32 > bright["zoom_out"]
    assert all(view(crop).shape == crop.shape for view in VIEWS.values())
