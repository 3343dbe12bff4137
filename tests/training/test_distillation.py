"""Distillation losses against NumPy references, and the distillation model's save/load."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from training.model.distillation import (
    ContrastiveHintLoss,
    ProjectionCosineLoss,
    SimilarityMatrixLoss,
    contrastive_hint_loss,
    projection_cosine_loss,
    similarity_matrix_loss,
)
from training.model.losses import am_softmax_loss
from training.model.network import build_resnet18, wrap_distillation
from training.teacher.targets import centred


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    teacher = unit(rng.normal(size=(6, 5)).astype(np.float32))
    mask = np.array([1, 1, 0, 1, 1, 0], np.float32)
    packed = np.concatenate([teacher * mask[:, None], mask[:, None]], axis=1)
    return teacher, mask, packed, rng


def test_projection_cosine_matches_numpy(batch):
    teacher, mask, packed, rng = batch
    student = rng.normal(size=(6, 5)).astype(np.float32)
    expected = (1.0 - np.sum(unit(student) * teacher, axis=1)) * mask
    got = keras.ops.convert_to_numpy(projection_cosine_loss(packed, student))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got[2] == 0.0 and got[5] == 0.0  # no teacher vector: no loss


def test_similarity_matrix_matches_numpy(batch):
    teacher, mask, packed, rng = batch
    student = rng.normal(size=(6, 9)).astype(np.float32)  # any width: dimension-free
    gap = unit(student) @ unit(student).T - teacher @ teacher.T
    valid = np.outer(mask, mask) * (1 - np.eye(6))
    expected = (gap**2 * valid).sum(1) / np.maximum(valid.sum(1), 1)
    got = keras.ops.convert_to_numpy(similarity_matrix_loss(packed, student))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got[2] == 0.0


def test_contrastive_hint_matches_numpy(batch):
    teacher, mask, packed, rng = batch
    student = rng.normal(size=(6, 5)).astype(np.float32)
    cosines = unit(student) @ teacher.T
    own = np.diag(cosines)
    expected = np.zeros(6)
    for i in np.flatnonzero(mask):
        logits = cosines[i, mask > 0] / 0.2
        top = logits.max()
        info_nce = top + np.log(np.exp(logits - top).sum()) - own[i] / 0.2
        expected[i] = 1.0 - own[i] + 0.5 * info_nce
    got = keras.ops.convert_to_numpy(contrastive_hint_loss(packed, student, 0.5, 0.2))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    plain = keras.ops.convert_to_numpy(projection_cosine_loss(packed, student))
    hint_alone = keras.ops.convert_to_numpy(contrastive_hint_loss(packed, student, 0.0, 0.2))
    np.testing.assert_allclose(hint_alone, plain, atol=1e-6)  # weight 0: the hint alone


def test_contrastive_hint_prefers_a_student_nearest_its_own_teacher(batch):
    teacher, _, packed, _ = batch
    exact = keras.ops.convert_to_numpy(contrastive_hint_loss(packed, teacher, 1.0, 0.1))
    swapped = keras.ops.convert_to_numpy(contrastive_hint_loss(packed, teacher[::-1], 1.0, 0.1))
    assert exact.sum() < swapped.sum()
    with pytest.raises(ValueError, match="temperature > 0"):
        ContrastiveHintLoss(1.0, 0.0)


def test_a_student_equal_to_its_teacher_has_zero_loss(batch):
    teacher, _, packed, _ = batch
    assert float(
        np.max(keras.ops.convert_to_numpy(projection_cosine_loss(packed, teacher)))
    ) == pytest.approx(0.0, abs=1e-6)
    assert float(
        np.max(keras.ops.convert_to_numpy(similarity_matrix_loss(packed, 3 * teacher)))
    ) == pytest.approx(0.0, abs=1e-6)


def test_am_softmax_ignores_unlabelled_rows():
    cosines = np.random.default_rng(1).uniform(-1, 1, size=(3, 4)).astype(np.float32)
    losses = keras.ops.convert_to_numpy(am_softmax_loss(np.array([2, -1, 0]), cosines))
    assert losses[1] == 0.0 and losses[0] > 0 and losses[2] > 0


def test_centring_spreads_cosines_and_keeps_unit_length():
    rng = np.random.default_rng(2)
    common = np.ones(8, np.float32) * 3
    vectors = unit(common + rng.normal(size=(50, 8)).astype(np.float32))
    mask = np.ones(50, np.float32)
    mask[7] = 0
    out, mean = centred(vectors * mask[:, None], mask)
    assert np.allclose(np.linalg.norm(out[mask > 0], axis=1), 1.0, atol=1e-5)
    assert np.all(out[7] == 0)
    before = (vectors @ vectors.T)[np.triu_indices(50, 1)].mean()
    after = (out @ out.T)[np.triu_indices(50, 1)].mean()
    assert before > 0.7 and abs(after) < 0.1


@pytest.mark.parametrize(
    "loss", [ProjectionCosineLoss(), SimilarityMatrixLoss(), ContrastiveHintLoss(0.1, 0.07)]
)
def test_losses_serialise(loss):
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(again) is type(loss) and again.name == loss.name
    assert again.get_config() == loss.get_config()


@pytest.mark.parametrize("hint_stages", [(), (3,), (2, 3)])
def test_distillation_model_saves_loads_and_keeps_outputs(tmp_path, hint_stages):
    backbone = build_resnet18((32, 32, 3), 4)
    model = wrap_distillation(backbone, 4, teacher_dim=5, hint_stages=hint_stages)
    x = np.random.default_rng(3).uniform(0, 255, size=(2, 32, 32, 3)).astype(np.float32)
    before = model.predict(x, verbose=0)
    assert before["projection"].shape == (2, 5) and before["embedding"].shape == (2, 512)
    assert before["predictions"].shape == (2, 4)
    assert {name for name in before if name.startswith("stage")} == {
        f"stage{stage}_projection" for stage in hint_stages
    }
    assert all(before[f"stage{stage}_projection"].shape == (2, 5) for stage in hint_stages)
    model.save(tmp_path / "m.keras")
    after = keras.models.load_model(tmp_path / "m.keras").predict(x, verbose=0)
    for name in before:
        np.testing.assert_allclose(after[name], before[name], atol=1e-5)
    with pytest.raises(ValueError, match="teacher_dim"):
        wrap_distillation(build_resnet18((32, 32, 3), 4, name="other"), 4, teacher_dim=0)
    with pytest.raises(ValueError, match=r"hint stages must be among \[2, 3\], got \[4\]"):
        wrap_distillation(build_resnet18((32, 32, 3), 4, name="more"), 4, 5, hint_stages=(4,))
