"""Templates held as float16: the same people found as with float32, similarities within 2^-11,
and a gallery bulk-filled through the product's row format loaded at start-up."""

import numpy as np
import pytest

from app.gallery.index import TemplateIndex
from app.gallery.records import ModelKey, Template
from app.gallery.template_matrix import TemplateMatrix
from bench.gallery_fill import copies, fill_gallery, person_centres, probes_of

HALF_FLOAT_BOUND = 2.0**-11  # relative rounding of a half float, summed over |q_i t_i| <= 1


def person_like(people: int, dimension: int, seed: int = 0):
    centres = person_centres(people, dimension, seed)
    vectors = copies(centres, 2, seed + 1)
    templates = [Template(f"f{i}", f"p{i // 2}", v) for i, v in enumerate(vectors)]
    return centres, templates


@pytest.mark.parametrize("dimension", [128, 768])
def test_float16_finds_the_float32_top_match_within_the_similarity_bound(dimension):
    centres, templates = person_like(1500, dimension)
    exact, half = TemplateIndex(dimension, precision="float32"), TemplateIndex(dimension)
    assert half.precision == "float16"
    for index in (exact, half):
        index.add(templates)
    probes, _ = probes_of(centres, 200, seed=3)
    worst = 0.0
    for probe in probes:
        truth, found = exact.search(probe, 5), half.search(probe, 5)
        assert found[0].person_id == truth[0].person_id
        assert found[0].face_id == truth[0].face_id
        worst = max(worst, abs(found[0].similarity - truth[0].similarity))
    assert 0 < worst <= HALF_FLOAT_BOUND


def test_float16_rows_move_and_drop_as_float32_ones():
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((50, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    matrices = [TemplateMatrix(16, "float32"), TemplateMatrix(16, "float16")]
    order = list(range(50))
    for row in (0, 10, 47, 5):  # the last row moves into the hole; 47 is the last by then
        order[row] = order[-1]
        order.pop()
    for matrix in matrices:
        matrix.append(vectors[:30])
        matrix.append(vectors[30:])
        for row in (0, 10, 47, 5):
            matrix.drop_row(row)
    full, half = (matrix.read(0, len(matrix)) for matrix in matrices)
    assert np.array_equal(full, vectors[order])
    assert len(matrices[1]) == 46 and np.abs(half - full).max() < 1e-3
    for matrix in matrices:
        rows, scores = matrix.top(vectors[48], 3)
        assert rows[0] == 10 and abs(scores[0] - 1) < 1e-3


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="float32"):
        TemplateMatrix(8, "int8")


def test_start_up_loads_a_bulk_filled_gallery(make_client, tmp_path):
    model = ModelKey("tiny-random", "0.0.1", 16)
    fill_gallery(tmp_path / "data", model, 3001)
    client = make_client()
    ready = client.get("/ready").json()["gallery"]
    assert ready["templates"] == 3001
    index = client.app.state.gallery.index
    assert index.people == 1501 and index.precision == "float16"
    stored = copies(person_centres(1501, 16, seed=0), 2, seed=1)  # the one batch's templates
    for number in (0, 1401, 3000):
        assert index.search(stored[number], 1)[0].person_id == f"synthetic-{number // 2:07d}"


def test_a_loaded_gallery_gets_cells_for_its_full_size(monkeypatch):
    """Stored a chunk at a time, but the shortlist is built once, for every template."""
    from app.gallery import index as index_module
    from app.gallery.ann import cells_for

    monkeypatch.setattr(index_module, "ADD_CHUNK", 100)
    _, templates = person_like(600, 32)
    index = TemplateIndex(32, ann_min_templates=250)
    index.add(templates)
    index.wait_for_shortlist()
    assert index.shortlist_cells == cells_for(1200) != cells_for(300)
