"""Which raw photos to compare on: the held-out people of a training run, or given folders.

A run's ``split.json`` lists held-out records by their path in the aligned-crop cache.
Both systems must start from the original photos, and every photo of a held-out person
counts (also those our detector could not prepare for the cache), so the held-out people
are looked up again in the raw sets by source set and person folder.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

from training.data.folders import (
    IMAGE_SUFFIXES,
    ImageRecord,
    group_by_identity,
    scan_identity_folders,
    split_identities,
)


def heldout_people(split_file: Path) -> dict[str, set[tuple[str, str]]]:
    """Read the held-out identities of a run and where each lives in the raw sets.

    Args:
        split_file: A run's ``split.json`` (``runs/NAME/split.json``).

    Returns:
        Identity -> ``{(source set, person folder), ...}`` (one person may span two sets).

    Raises:
        ValueError: The split holds no held-out people (a per-image split).
    """
    split = json.loads(Path(split_file).read_text(encoding="utf-8"))
    people: dict[str, set[tuple[str, str]]] = {}
    for row in split.get("heldout", []):
        folder = Path(row["path"]).parent.name
        people.setdefault(row["identity"], set()).add((row["source"], folder))
    if not people:
        raise ValueError(f"{split_file} holds no held-out people (kind={split.get('kind')!r})")
    return people


def raw_records(people: dict[str, set[tuple[str, str]]], raw_root: Path) -> list[ImageRecord]:
    """Every original photo of the given people under ``raw_root/SOURCE/PERSON/``.

    Args:
        people: Identity -> ``{(source set, person folder)}``, from :func:`heldout_people`.
        raw_root: Folder holding the raw sets (e.g. ``../shared/data/faces``).

    Returns:
        The records, sorted by path.

    Raises:
        FileNotFoundError: A person's folder is not under ``raw_root``.
    """
    records, missing = [], []
    for identity, places in people.items():
        for source, folder in places:
            if not (raw_root / source / folder).is_dir():
                missing.append(f"{source}/{folder}")
            for path in sorted((raw_root / source / folder).glob("*")):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    records.append(ImageRecord(path, identity, source))
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} held-out person folders are not under "
            f"{raw_root} (check --raw-root), e.g. {sorted(missing)[:3]}"
        )
    return sorted(records, key=lambda record: str(record.path))


def folder_records(specs: Sequence[str], holdout: float | None, seed: int) -> list[ImageRecord]:
    """Records from ``ROOT/PERSON/IMAGE`` folders: all people, or a held-out share of them.

    Args:
        specs: Roots as ``PATH`` or ``NAMESPACE=PATH``.
        holdout: Share of people to keep, split as training does; None keeps everyone.
        seed: Seed of the identity split.

    Returns:
        The selected records.
    """
    records = scan_identity_folders(specs)
    if holdout is None:
        return records
    return split_identities(records, holdout, seed)[1]


def sample_people(
    records: Sequence[ImageRecord], max_people: int | None, seed: int, max_images: int | None = None
) -> list[ImageRecord]:
    """Keep at most ``max_people`` people (seeded choice) and ``max_images`` photos each.

    Args:
        records: Candidate records.
        max_people: Person limit, None for all.
        seed: Seed of the choice.
        max_images: Photos kept per person (the first ones by path), None for all.

    Returns:
        The kept records, grouped by person in sorted order.
    """
    groups = group_by_identity(records)
    names = list(groups)
    if max_people is not None and max_people < len(names):
        names = sorted(random.Random(seed).sample(names, max_people))
    return [record for name in names for record in groups[name][:max_images]]
