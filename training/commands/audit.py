"""``training audit``: prepared crops that the teacher places far from their own person.

A crop whose teacher vector is, on median, no closer to the person's other crops than a
stranger's would be (centred cosine below ``--below``, 0 by default; impostor pairs centre
on 0) is a suspect: a wrong face chosen in a group photo, a false detection (a torso, a
pattern), or a mislabelled photo. It is also what the teacher cannot see well (near-black
studio lighting), so the report names the suspects and their sets; it does not remove
anything (``train --exclude REPORT`` leaves them out of a run's training). Read-only:
needs ``training prepare`` and ``training teacher`` first.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from training.data.folders import scan_identity_folders
from training.teacher.cache import load_teacher_embeddings, teacher_dir
from training.teacher.targets import crop_keys, suspects

SHOWN = 20  # suspects printed; the JSON has them all


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``audit`` options."""
    parser.add_argument("--teacher", required=True, type=Path, help="the prepare cache")
    parser.add_argument(
        "--data",
        action="append",
        required=True,
        help="labelled crop roots inside the cache, PATH or NAMESPACE=PATH, as for train",
    )
    parser.add_argument("--below", type=float, default=0.0, help="median cosine threshold")
    parser.add_argument("--out", type=Path, help="report (default: CACHE/teacher/audit.json)")


def run(args: argparse.Namespace) -> int:
    """Write the report, print its summary; returns the exit status."""
    records = scan_identity_folders(args.data)
    teacher = load_teacher_embeddings(args.teacher)
    vectors, mask = teacher.lookup(crop_keys(records, args.teacher))
    found = suspects([r.identity for r in records], vectors, mask, args.below)
    listed = [
        {
            "crop": str(records[row].path.resolve()),
            "identity": records[row].identity,
            "source": records[row].source,
            "median_cosine": round(median, 4),
            "crops_of_person": count,
        }
        for row, median, count in found
    ]
    by_source = Counter(item["source"] for item in listed)
    report = {
        "teacher": teacher.info.name,
        "below": args.below,
        "crops": len(records),
        "crops_with_a_vector": int(mask.sum()),
        "suspects_by_source": dict(by_source.most_common()),
        "suspects": listed,
    }
    out = args.out or teacher_dir(args.teacher) / "audit.json"
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"{len(listed)} of {len(records)} crops below a median cosine of {args.below}:")
    print(f"  by set: {dict(by_source)}")
    for item in listed[:SHOWN]:
        print(f"  {item['median_cosine']:+.3f}  {item['crop']}")
    print(f"report: {out}")
    return 0
