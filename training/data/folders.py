"""Identity folders (``ROOT/PERSON/IMAGE``): scanning and deterministic splits.

A root may be given as ``NAMESPACE=PATH``. Identities are keyed ``NAMESPACE/PERSON``;
the namespace defaults to the root folder's name, so two roots given the same
namespace (e.g. both CelebA folders as ``celeba=...``) merge people with the same
folder name into one class, and different sets never collide.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".pgm", ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
)


@dataclass(frozen=True)
class ImageRecord:
    """One labelled image file."""

    path: Path
    identity: str  # "namespace/person"
    source: str  # the set (root) it came from, e.g. "orl"


def parse_root(spec: str) -> tuple[str, Path]:
    """Split ``NAMESPACE=PATH`` (or a plain ``PATH``) into its namespace and path.

    Args:
        spec: A root as given on the command line.

    Returns:
        The namespace and the root path.
    """
    name, sep, path = spec.partition("=")
    if sep and name and "/" not in name:
        return name, Path(path)
    root = Path(spec)
    return root.resolve().name, root


def absolute_spec(spec: str) -> str:
    """Return ``spec`` with its path made absolute, its namespace (if any) kept.

    ``config.json`` records data folders this way, so the run folder can be read from any
    working directory.
    """
    name, sep, path = spec.partition("=")
    if sep and name and "/" not in name:
        return f"{name}={Path(path).resolve()}"
    return str(Path(spec).resolve())


def scan_identity_folders(specs: Iterable[str]) -> list[ImageRecord]:
    """List every image under each root, sorted, labelled by its person folder.

    Args:
        specs: Roots as ``PATH`` or ``NAMESPACE=PATH``.

    Returns:
        The records of all roots, sorted by path, so the order is reproducible.

    Raises:
        FileNotFoundError: A root does not exist or holds no images.
    """
    records: list[ImageRecord] = []
    for spec in specs:
        namespace, root = parse_root(spec)
        if not root.is_dir():
            raise FileNotFoundError(f"data root not found: {root}")
        found = [
            ImageRecord(path, f"{namespace}/{path.parent.name}", root.resolve().name)
            for path in sorted(root.glob("*/*"))
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
        ]
        if not found:
            raise FileNotFoundError(f"no images in ROOT/PERSON/IMAGE layout under {root}")
        records.extend(found)
    return records


UNLABELLED = ""  # identity of an image without a person label (distillation only)


def scan_unlabelled_folders(roots: Iterable[str]) -> list[ImageRecord]:
    """List every image directly inside each root (``ROOT/IMAGE``), with no identity.

    Args:
        roots: Folders of faces without person labels.

    Returns:
        Records with identity :data:`UNLABELLED`, sorted by path.

    Raises:
        FileNotFoundError: A root does not exist or holds no images.
    """
    records: list[ImageRecord] = []
    for spec in roots:
        root = Path(spec)
        if not root.is_dir():
            raise FileNotFoundError(f"unlabelled root not found: {root}")
        found = [
            ImageRecord(path, UNLABELLED, root.resolve().name)
            for path in sorted(root.iterdir())
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
        ]
        if not found:
            raise FileNotFoundError(f"no images directly under {root}")
        records.extend(found)
    return records


def group_by_identity(records: Iterable[ImageRecord]) -> dict[str, list[ImageRecord]]:
    """Group records by identity, identities and images in sorted order."""
    groups: dict[str, list[ImageRecord]] = defaultdict(list)
    for record in records:
        groups[record.identity].append(record)
    return {key: sorted(groups[key], key=lambda r: str(r.path)) for key in sorted(groups)}


def split_identities(
    records: Sequence[ImageRecord], holdout_fraction: float, seed: int
) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """Identity-disjoint split: held-out people never appear in the training part.

    The share is taken from every source set separately, so each set is represented
    among the held-out people. An identity spanning several sets is assigned once.

    Args:
        records: The labelled images.
        holdout_fraction: Share of each set's people to hold out, in [0, 1).
        seed: Seed of the shuffle; the same seed gives the same split.

    Returns:
        ``(train, heldout)`` records.
    """
    if not 0.0 <= holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in [0, 1), got {holdout_fraction}")
    by_source: dict[str, set[str]] = defaultdict(set)
    for record in records:
        by_source[record.source].add(record.identity)
    heldout: set[str] = set()
    assigned: set[str] = set()
    rng = random.Random(seed)
    for source in sorted(by_source):
        people = sorted(by_source[source] - assigned)
        rng.shuffle(people)
        count = round(len(people) * holdout_fraction)
        heldout.update(people[:count])
        assigned.update(people)
    train = [r for r in records if r.identity not in heldout]
    return train, [r for r in records if r.identity in heldout]


def keep_share_of_people(
    records: Sequence[ImageRecord], fraction: float, seed: int
) -> list[ImageRecord]:
    """Keep a seeded share of the people, for data-scaling studies.

    Labelled people are drawn from every source set separately (as the hold-out is);
    each unlabelled face counts as a person of its own. A smaller share keeps a subset of
    a larger one's people (same seed), so runs at several shares are nested.

    Args:
        records: Labelled and/or unlabelled images.
        fraction: Share of the people to keep, in (0, 1].
        seed: Seed of the draw.

    Returns:
        The kept records in their input order, labelled first, then unlabelled ones (so a
        share of 1 returns every record in the order a run without this step sees them).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    labelled = [r for r in records if r.identity != UNLABELLED]
    kept, _ = split_identities(labelled, 1.0 - fraction, seed)
    unlabelled = [r for r in records if r.identity == UNLABELLED]
    drawn = list(unlabelled)
    random.Random(seed).shuffle(drawn)
    chosen = set(drawn[: round(len(drawn) * fraction)])
    return kept + [r for r in unlabelled if r in chosen]


def split_per_image(
    records: Sequence[ImageRecord], validation_fraction: float, seed: int
) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """Closed-set split: inside each person, a share of the images goes to validation.

    People with a single image stay entirely in training.

    Args:
        records: The labelled images.
        validation_fraction: Share of each person's images for validation, in [0, 1).
        seed: Seed of the shuffle.

    Returns:
        ``(train, validation)`` records.
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    rng = random.Random(seed)
    train: list[ImageRecord] = []
    validation: list[ImageRecord] = []
    for images in group_by_identity(records).values():
        shuffled = list(images)
        rng.shuffle(shuffled)
        count = min(round(len(shuffled) * validation_fraction), len(shuffled) - 1)
        validation.extend(shuffled[:count])
        train.extend(shuffled[count:])
    return train, validation
