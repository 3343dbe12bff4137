"""Data-scaling runs: a seeded, nested share of the people, with the held-out people kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.data.datasets import make_splits
from training.data.folders import UNLABELLED, ImageRecord, keep_share_of_people
from training.presets import get_preset


def labelled(people: int, images: int, source: str) -> list[ImageRecord]:
    return [
        ImageRecord(Path(f"/{source}/{p}/{i}.png"), f"{source}/{p}", source)
        for p in range(people)
        for i in range(images)
    ]


def unlabelled(count: int) -> list[ImageRecord]:
    return [ImageRecord(Path(f"/utk/{i:04d}.jpg"), UNLABELLED, "utk") for i in range(count)]


def people(records) -> set[str]:
    return {r.identity for r in records}


def test_each_set_keeps_its_share_of_people_with_all_their_images():
    faces = labelled(40, 3, "a") + labelled(20, 2, "b")
    kept = keep_share_of_people(faces, 0.5, seed=0)
    assert len(people(r for r in kept if r.source == "a")) == 20
    assert len(people(r for r in kept if r.source == "b")) == 10
    assert len(kept) == 20 * 3 + 10 * 2  # a kept person keeps every photo


def test_unlabelled_faces_are_each_a_person_of_their_own():
    kept = keep_share_of_people(labelled(10, 2, "a") + unlabelled(100), 0.25, seed=0)
    faces = [r for r in kept if r.identity == UNLABELLED]
    assert len(faces) == 25
    assert faces == sorted(faces, key=lambda r: str(r.path))


def test_smaller_shares_are_nested_in_larger_ones():
    faces = labelled(40, 2, "a") + unlabelled(80)
    quarter, half = (set(keep_share_of_people(faces, f, seed=3)) for f in (0.25, 0.5))
    assert quarter < half < set(faces)
    assert set(keep_share_of_people(faces, 1.0, seed=3)) == set(faces)


def test_a_run_on_fewer_people_is_scored_on_the_same_heldout_people():
    faces = labelled(60, 3, "a")
    full = make_splits(faces, get_preset("teacher"))
    half = make_splits(faces, get_preset("teacher", people_fraction=0.5))
    assert half.heldout == full.heldout
    assert len(people(half.train)) == len(people(full.train)) // 2
    assert people(half.validation) <= people(half.train)
    assert not people(half.train) & people(half.heldout)


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_a_share_outside_zero_to_one_is_refused(fraction):
    with pytest.raises(ValueError, match="people_fraction"):
        get_preset("teacher", people_fraction=fraction)
    with pytest.raises(ValueError, match="fraction"):
        keep_share_of_people(labelled(4, 1, "a"), fraction, seed=0)
