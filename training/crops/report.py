"""Exact-duplicate detection and the per-set summary of ``training prepare``."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from facecore.file_digest import file_sha256
from training.data.folders import ImageRecord


@dataclass(frozen=True)
class Duplicates:
    """Byte-identical files, and which copies are removed.

    Attributes:
        same_person_removed: Extra copies of a file under one identity (the first, by
            path, is kept).
        label_noise_dropped: Every copy of a file that appears under several identities.
        groups: One entry per duplicated content: sha256, files, identities, action.
    """

    same_person_removed: list[str] = field(default_factory=list)
    label_noise_dropped: list[str] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)

    @property
    def dropped(self) -> set[str]:
        """Every path that is not prepared."""
        return set(self.same_person_removed) | set(self.label_noise_dropped)


def find_duplicates(records: Sequence[ImageRecord]) -> Duplicates:
    """Group byte-identical files across all roots and decide which copies to drop.

    Args:
        records: The scanned images.

    Returns:
        The duplicates and the copies removed.
    """
    by_hash: dict[str, list[ImageRecord]] = defaultdict(list)
    for record in records:
        by_hash[file_sha256(str(record.path))].append(record)
    duplicates = Duplicates()
    for digest, copies in sorted(by_hash.items()):
        if len(copies) < 2:
            continue
        paths = sorted(str(record.path) for record in copies)
        identities = sorted({record.identity for record in copies})
        if len(identities) == 1:
            duplicates.same_person_removed.extend(paths[1:])
            action = "kept first copy"
        else:
            duplicates.label_noise_dropped.extend(paths)
            action = "label noise: all copies dropped"
        duplicates.groups.append(
            {"sha256": digest, "files": paths, "identities": identities, "action": action}
        )
    return duplicates


def build_report(
    records: Sequence[ImageRecord],
    duplicates: Duplicates,
    results: dict[str, dict],
    config: dict,
    wall_seconds: float,
) -> dict:
    """Summarise a prepare run per set and in total.

    Args:
        records: Every scanned image.
        duplicates: The duplicate analysis.
        results: Per-image results (``status``, ``method``, ``faces_detected``) by path.
        config: The ``PreprocessConfig`` used, as a dictionary.
        wall_seconds: Duration of this run.

    Returns:
        The JSON-ready report.
    """
    sets: dict[str, dict] = {}
    for source in sorted({record.source for record in records}):
        paths = [str(record.path) for record in records if record.source == source]
        sets[source] = _set_summary(paths, duplicates, results)
    totals = Counter()
    for summary in sets.values():
        totals.update(
            {
                key: summary[key]
                for key in ("images", "crops", "detected", "fallback_used", "duplicates_dropped")
            }
        )
        totals["skipped"] += sum(len(files) for files in summary["skipped"].values())
    return {
        "sets": sets,
        "totals": dict(totals),
        "duplicate_groups": duplicates.groups,
        "preprocessing": config,
        "wall_seconds": round(wall_seconds, 2),
    }


def _set_summary(paths: list[str], duplicates: Duplicates, results: dict[str, dict]) -> dict:
    """Count and list the outcomes of one set."""
    entries = [results[path] for path in paths if path in results]
    methods = Counter(entry.get("method") for entry in entries if entry["status"] == "ok")
    skipped: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        if entry["status"] != "ok":
            skipped[entry["status"]].append(entry["path"])
    in_set = set(paths)
    same_person = [path for path in duplicates.same_person_removed if path in in_set]
    label_noise = [path for path in duplicates.label_noise_dropped if path in in_set]
    return {
        "images": len(paths),
        "crops": sum(methods.values()),
        "detected": methods["detected"],
        "fallback_used": methods["padded"] + methods["center"],
        "fallback": {"padded_detection": methods["padded"], "center_crop": methods["center"]},
        "center_crop_files": sorted(e["path"] for e in entries if e.get("method") == "center"),
        "several_faces": sum(1 for entry in entries if entry.get("faces_detected", 0) > 1),
        "skipped": {status: sorted(files) for status, files in sorted(skipped.items())},
        "duplicates_dropped": len(same_person) + len(label_noise),
        "duplicates": {"same_person_removed": same_person, "label_noise_dropped": label_noise},
        "not_processed": len(in_set - set(results) - duplicates.dropped),
    }
