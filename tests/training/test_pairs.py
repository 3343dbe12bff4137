from pathlib import Path

import pytest

from training.data.pairs import Pair, genuine_pairs, impostor_pairs, parse_lfw_pairs

GROUPS = {
    "a": [Path("a/1"), Path("a/2"), Path("a/3")],
    "b": [Path("b/1"), Path("b/2")],
    "c": [Path("c/1")],
}


def test_genuine_pairs_are_every_same_person_combination():
    pairs = genuine_pairs(GROUPS)
    assert len(pairs) == 3 + 1
    assert {(p.first.name, p.second.name, p.first.parent.name) for p in pairs} == {
        ("1", "2", "a"),
        ("1", "3", "a"),
        ("2", "3", "a"),
        ("1", "2", "b"),
    }
    assert all(p.same and p.first.parent == p.second.parent for p in pairs)


def test_impostor_sampling_is_seeded_distinct_and_cross_identity():
    many = {f"p{i}": [Path(f"p{i}/{j}") for j in range(5)] for i in range(20)}
    first = impostor_pairs(many, 100, seed=1)
    assert first == impostor_pairs(many, 100, seed=1)
    assert first != impostor_pairs(many, 100, seed=2)
    assert len({(p.first, p.second) for p in first}) == 100
    assert all(not p.same and p.first.parent != p.second.parent for p in first)


def test_impostor_count_is_capped_at_what_exists():
    pairs = impostor_pairs(GROUPS, 1000, seed=0)
    assert len(pairs) == 6 * 5 // 2 - 4  # all image pairs minus the 4 genuine ones
    assert all(p.first.parent != p.second.parent for p in pairs)


def test_lfw_pairs_with_folds_header(tmp_path):
    pairs_file = tmp_path / "pairs.txt"
    pairs_file.write_text(
        "2\t1\n"
        "Abel_Pacheco\t1\t4\n"
        "Abdullah\t1\tAbdullah_Gul\t13\n"
        "Zico 2 3\n"
        "Ann_Veneman 10 Zoe_Ball 1\n"
    )
    pairs = parse_lfw_pairs(pairs_file, tmp_path / "lfw")
    assert pairs[0] == Pair(
        tmp_path / "lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg",
        tmp_path / "lfw/Abel_Pacheco/Abel_Pacheco_0004.jpg",
        True,
        0,
    )
    assert pairs[1] == Pair(
        tmp_path / "lfw/Abdullah/Abdullah_0001.jpg",
        tmp_path / "lfw/Abdullah_Gul/Abdullah_Gul_0013.jpg",
        False,
        0,
    )
    assert [p.same for p in pairs] == [True, False, True, False]
    assert [p.fold for p in pairs] == [0, 0, 1, 1]


def test_lfw_pairs_without_header_or_with_count_only(tmp_path):
    body = "Zico 2 3\nAnn_Veneman 10 Zoe_Ball 1\n"
    (tmp_path / "plain.txt").write_text(body)
    (tmp_path / "count.txt").write_text("1\n" + body + "\n")
    plain = parse_lfw_pairs(tmp_path / "plain.txt", tmp_path)
    assert plain == parse_lfw_pairs(tmp_path / "count.txt", tmp_path)
    assert [(p.same, p.fold) for p in plain] == [(True, None), (False, None)]


def test_lfw_pairs_bad_line_names_the_line(tmp_path):
    pairs_file = tmp_path / "pairs.txt"
    pairs_file.write_text("Zico 2 3\nZico 2\n")
    with pytest.raises(ValueError, match="pairs.txt:2: expected 3 or 4 fields"):
        parse_lfw_pairs(pairs_file, tmp_path)
    pairs_file.write_text("Zico two 3\n")
    with pytest.raises(ValueError, match="pairs.txt:1"):
        parse_lfw_pairs(pairs_file, tmp_path)
