"""One comparison run: select photos, embed them with every system, score the same pairs."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bench.peer import summary
from bench.peer.dlib_peer import DlibPeer, peer_missing
from bench.peer.embedders import Embedded, Embedder, embed_files
from bench.peer.options import Options
from bench.peer.our_system import OnnxFaceSystem
from bench.peer.scoring import PairSet, embedded_mask, make_pairs, pair_mask
from bench.peer.selection import folder_records, heldout_people, raw_records, sample_people
from training.data.folders import ImageRecord


def select_records(options: Options) -> list[ImageRecord]:
    """The raw photos to compare on: held-out people of a split, or the ``--data`` folders.

    Raises:
        ValueError: No photo was found.
    """
    if options.split:
        records = raw_records(heldout_people(options.split), options.raw_root)
    else:
        records = folder_records(options.data, options.holdout, options.seed)
    records = sample_people(records, options.max_people, options.seed, options.max_images)
    if not records:
        raise ValueError("no photos selected: check --split/--raw-root or --data")
    return records


def embed_with(
    factory: Callable[[], Embedder], records: Sequence[ImageRecord], options: Options
) -> tuple[str, list[Embedded]]:
    """Build one system and embed every photo with it; returns its name and results."""
    system = factory()
    return system.name, embed_files(system, [r.path for r in records], options.progress)


def describe_system(
    name: str,
    results: list[Embedded],
    records: Sequence[ImageRecord],
    metric: str,
    pairs: PairSet,
    both: np.ndarray,
    seed: int,
) -> dict:
    """Failures, speed and metrics on all pairs and on the pairs every system embedded."""
    return {
        "name": name,
        "metric": metric,
        "faces": summary.failures(results, records),
        "timing": summary.timing([r.seconds for r in results]),
        "decode": summary.timing([r.decode_seconds for r in results]),
        "all_pairs": summary.metrics(results, pairs, metric, seed),
        "both_embedded": summary.metrics(results, pairs.subset(both), metric, seed),
    }


def embed_systems(options: Options, records: Sequence[ImageRecord]) -> dict[str, tuple]:
    """Run our system and, when installed and wanted, the peer: key -> (name, metric, results)."""
    name, ours = embed_with(lambda: OnnxFaceSystem(options.model), records, options)
    runs = {"ours": (name, "cosine", ours)}
    if options.peer and not peer_missing():
        peer_name, theirs = embed_with(DlibPeer, records, options)
        runs["peer"] = (peer_name, "euclidean", theirs)
    return runs


def skipped_peer(options: Options) -> dict:
    """The report entry of a peer that did not run, with the reason."""
    reason = peer_missing() if options.peer else "peer skipped: --no-peer given"
    return {"name": "face_recognition (dlib)", "skipped": reason}


def machine() -> dict[str, object]:
    """Where the timings were taken."""
    return {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class Comparison:
    """Every system's results on the same photos and pairs."""

    systems: dict[str, dict]  # key -> report entry
    runs: dict[str, tuple[str, str, list[Embedded]]]  # key -> (name, metric, results)
    pairs: PairSet
    both: np.ndarray  # bool per pair: every system that ran embedded both photos

    def pair_counts(self) -> dict[str, dict[str, int]]:
        """Genuine and impostor counts of all pairs and of the pairs all systems embedded."""
        return {"all": self.pairs.counts(), "both_embedded": self.pairs.subset(self.both).counts()}


def compare(options: Options, records: Sequence[ImageRecord]) -> Comparison:
    """Embed the photos with every system and score the same pairs for each.

    Args:
        options: The run's options.
        records: The photos, from :func:`select_records`.

    Returns:
        The comparison.
    """
    runs = embed_systems(options, records)
    pairs = make_pairs(records, options.max_impostors, options.seed)
    both = np.ones(len(pairs.same), dtype=bool)
    for _, _, results in runs.values():
        both &= pair_mask(pairs, embedded_mask(results))
    systems = {
        key: describe_system(name, results, records, metric, pairs, both, options.seed)
        for key, (name, metric, results) in runs.items()
    }
    systems.setdefault("peer", skipped_peer(options))
    return Comparison(systems, runs, pairs, both)
