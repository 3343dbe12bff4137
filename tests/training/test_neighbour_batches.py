"""Teacher-mined batches: each image's nearest training images, and groups built from them."""

from __future__ import annotations

import numpy as np
import pytest

from training.teacher.neighbours import neighbour_order, teacher_neighbours


def unit_vectors(count: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_neighbours_are_the_nearest_others_by_cosine_nearest_first():
    vectors = unit_vectors(50)
    found = teacher_neighbours(vectors * 3.0, np.ones(50), pool=5, chunk=7)  # any length
    cosines = vectors @ vectors.T
    np.fill_diagonal(cosines, -np.inf)
    np.testing.assert_array_equal(found, np.argsort(-cosines, axis=1)[:, :5])


def test_images_without_a_teacher_vector_are_never_anyones_neighbour():
    vectors, mask = unit_vectors(30), np.ones(30)
    mask[[3, 17]] = 0
    found = teacher_neighbours(vectors, mask, pool=4)
    assert not np.isin(found, [3, 17]).any()
    assert found.shape == (30, 4)  # they still get (random) partners themselves


def test_too_few_teacher_vectors_are_refused():
    with pytest.raises(ValueError, match="4 needed"):
        teacher_neighbours(unit_vectors(3), np.ones(3), pool=3)


def test_groups_are_an_anchor_and_distinct_partners_from_its_neighbours():
    neighbours = teacher_neighbours(unit_vectors(40), np.ones(40), pool=6)
    order = neighbour_order(neighbours, group=4, length=400, seed=1)
    groups = order.reshape(-1, 4)
    assert len(order) == 400
    for anchor, *partners in groups:
        assert set(partners) <= set(neighbours[anchor]) and len(set(partners)) == 3
    first_pass = groups[:40, 0]  # 100 anchors: two whole passes over the 40 images, then 20
    assert sorted(first_pass) == list(range(40))
    assert sorted(groups[40:80, 0]) == list(range(40))


def test_orders_are_seeded():
    neighbours = teacher_neighbours(unit_vectors(20), np.ones(20), pool=3)
    same = neighbour_order(neighbours, 2, 40, seed=5), neighbour_order(neighbours, 2, 40, seed=5)
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], neighbour_order(neighbours, 2, 40, seed=6))


@pytest.mark.parametrize(("group", "length"), [(1, 10), (5, 20), (3, 10)])
def test_impossible_groups_are_refused(group, length):
    neighbours = teacher_neighbours(unit_vectors(10), np.ones(10), pool=3)
    with pytest.raises(ValueError, match="group"):
        neighbour_order(neighbours, group, length, seed=0)


def test_a_training_dataset_follows_the_order_it_is_given():
    from training.data.datasets import training_dataset
    from training.presets import get_preset

    pixels = np.arange(6, dtype=np.uint8).reshape(6, 1, 1, 1) * np.ones((1, 4, 4, 1), np.uint8)
    targets = {"predictions": np.arange(6, dtype=np.int32), "projection": np.eye(6, 3)}
    config = get_preset("smoke", batch_size=4, augment=False)  # the pixels set the size
    order = np.array([5, 0, 0, 2, 3, 1, 4, 4])
    batches = list(training_dataset(pixels, targets, config, order))
    assert len(batches) == 2  # the order ends the dataset
    images = np.concatenate([x.numpy()[:, 0, 0, 0] for x, _ in batches])
    labels = np.concatenate([y["predictions"].numpy() for _, y in batches])
    np.testing.assert_array_equal(images, order)
    np.testing.assert_array_equal(labels, order)
