"""Verification pairs: genuine pairs, seeded impostor samples, LFW ``pairs.txt``."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from math import comb
from pathlib import Path

import numpy as np

LFW_IMAGE_PATTERN = "{name}/{name}_{number:04d}.jpg"


@dataclass(frozen=True)
class Pair:
    """Two images and whether they show the same person; ``fold`` as given by the source."""

    first: Path
    second: Path
    same: bool
    fold: int | None = None


def pair_rows(pairs: Sequence[Pair]) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """Every distinct image of ``pairs`` once (sorted), and each pair's two rows in that list."""
    paths = sorted({path for pair in pairs for path in (pair.first, pair.second)})
    index = {path: row for row, path in enumerate(paths)}
    first = np.fromiter((index[pair.first] for pair in pairs), np.int64, len(pairs))
    second = np.fromiter((index[pair.second] for pair in pairs), np.int64, len(pairs))
    return paths, first, second


def genuine_pairs(groups: Mapping[str, Sequence[Path]]) -> list[Pair]:
    """Every unordered pair of two different images of the same identity, in group order."""
    return [
        Pair(first, second, True)
        for images in groups.values()
        for first, second in itertools.combinations(images, 2)
    ]


def impostor_pairs(groups: Mapping[str, Sequence[Path]], count: int, seed: int) -> list[Pair]:
    """Sample distinct pairs of images of two different identities, uniformly over images.

    Args:
        groups: Images of each identity.
        count: Pairs wanted; fewer are returned when fewer exist.
        seed: Seed of the sampling; the same seed and groups give the same pairs.

    Returns:
        The impostor pairs, sorted so that the order does not depend on the draw.
    """
    images = [(path, owner) for owner, paths in enumerate(groups.values()) for path in paths]
    owners = [owner for _, owner in images]
    chosen = impostor_index_pairs(owners, count, random.Random(seed))
    return [Pair(images[i][0], images[j][0], False) for i, j in chosen]


def impostor_index_pairs(
    owners: Sequence[Hashable], count: int, rng: random.Random
) -> list[tuple[int, int]]:
    """Sample distinct index pairs ``(i, j)``, ``i < j``, whose owners differ.

    Args:
        owners: The owner (identity) of each item.
        count: Pairs wanted; fewer are returned when fewer exist.
        rng: The random source (consumed).

    Returns:
        The pairs, sorted so that the order does not depend on the draw.
    """
    sizes = Counter(owners).values()
    available = comb(len(owners), 2) - sum(comb(size, 2) for size in sizes)
    count = min(count, available)
    if count > available // 2:  # dense: enumerate everything and sample without rejection
        every = [
            (i, j)
            for i, j in itertools.combinations(range(len(owners)), 2)
            if owners[i] != owners[j]
        ]
        chosen = set(rng.sample(every, count))
    else:
        chosen = _sample_sparse(owners, count, rng)
    return sorted(chosen)


def _sample_sparse(owners: Sequence[Hashable], count: int, rng: random.Random) -> set:
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < count:
        i, j = sorted(rng.sample(range(len(owners)), 2))
        if owners[i] != owners[j]:
            chosen.add((i, j))
    return chosen


def parse_lfw_pairs(
    path: str | Path, root: str | Path, pattern: str = LFW_IMAGE_PATTERN
) -> list[Pair]:
    """Read an LFW-style ``pairs.txt``.

    Lines are ``name n1 n2`` (same person) or ``name1 n1 name2 n2`` (different people).
    An optional first line holds ``count`` or ``folds count``; with both, the file is read
    as LFW's ten folds of ``count`` genuine then ``count`` impostor pairs, and each pair
    gets its fold.

    Args:
        path: The pairs file.
        root: Folder holding ``NAME/NAME_0001.jpg`` style images.
        pattern: How a name and image number make a path under ``root``.

    Returns:
        The pairs, in file order.

    Raises:
        ValueError: A line has neither 3 nor 4 fields or a number is not an integer.
    """
    lines = [line.split() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    numbered = [(index + 1, fields) for index, fields in enumerate(lines) if fields]
    per_fold = None
    if numbered and len(numbered[0][1]) <= 2 and all(f.isdigit() for f in numbered[0][1]):
        header = numbered.pop(0)[1]
        per_fold = 2 * int(header[1]) if len(header) == 2 else None
    root = Path(root)
    pairs = []
    for position, (line_number, fields) in enumerate(numbered):
        fold = position // per_fold if per_fold else None
        pairs.append(_parse_pair_line(fields, root, pattern, fold, f"{path}:{line_number}"))
    return pairs


def _parse_pair_line(
    fields: list[str], root: Path, pattern: str, fold: int | None, where: str
) -> Pair:
    try:
        if len(fields) == 3:
            name, first, second = fields
            return Pair(
                _image(root, pattern, name, first), _image(root, pattern, name, second), True, fold
            )
        if len(fields) == 4:
            name1, first, name2, second = fields
            return Pair(
                _image(root, pattern, name1, first),
                _image(root, pattern, name2, second),
                False,
                fold,
            )
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from error
    raise ValueError(f"{where}: expected 3 or 4 fields, got {len(fields)}: {' '.join(fields)}")


def _image(root: Path, pattern: str, name: str, number: str) -> Path:
    return root / pattern.format(name=name, number=int(number))
