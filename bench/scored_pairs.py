"""The held-out pairs that post-hoc scoring benchmarks rescore, indexed by image."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.bootstrap import PairOwners
from training.evaluate import folder_pairs


@dataclass(frozen=True)
class ScoredPairs:
    """Every genuine pair and a seeded impostor sample, as rows of one image list."""

    paths: list[Path]  # the images, each embedded once
    first: np.ndarray  # row of each pair's first image in ``paths``
    second: np.ndarray
    owners: PairOwners
    source: str
    excluded_people: frozenset[str]  # evaluated or held out: never in a cohort or a fit

    def raw_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """The cosine of each pair, from unit embeddings of ``paths``."""
        return np.sum(embeddings[self.first] * embeddings[self.second], axis=1)


def load_scored_pairs(
    split: Path | None, data: list[str], impostors: int, seed: int
) -> ScoredPairs:
    """The pairs of the people under ``data`` (held out by ``split`` where given)."""
    pairs, source, identity_of = folder_pairs(split, data, impostors, seed)
    owners = PairOwners.from_identities(
        [identity_of[p.first] for p in pairs],
        [identity_of[p.second] for p in pairs],
        [p.same for p in pairs],
    )
    excluded = set(identity_of.values())
    if split is not None:
        excluded |= set(json.loads(split.read_text(encoding="utf-8"))["heldout_identities"])
    paths = sorted(identity_of)
    row = {path: index for index, path in enumerate(paths)}
    return ScoredPairs(
        paths=paths,
        first=np.array([row[p.first] for p in pairs], np.int64),
        second=np.array([row[p.second] for p in pairs], np.int64),
        owners=owners,
        source=source,
        excluded_people=frozenset(excluded),
    )


def print_against_raw(variants: dict[str, dict]) -> None:
    """One line per variant: its EER against the raw cosines', with the 95% interval."""
    for name, metrics in variants.items():
        eer = metrics["eer"]
        low, high = eer["ci95"]
        print(
            f"{name}: EER {eer['a']:.4f} -> {eer['b']:.4f} ({eer['difference']:+.4f}, "
            f"95% {low:+.4f} .. {high:+.4f})"
        )
