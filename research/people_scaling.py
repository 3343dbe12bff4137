"""Summarise ``research/screen_people.sh``: held-out EER against the number of training people.

Reads each ``runs/people_share_<F>[_seed<S>]`` run (its config, split and last epoch) and its
comparison with the full-data run, gives the EER change from each seed-0 share to the next, and
writes one JSON result:

    python -m research.people_scaling --out research/results/people_scaling.json
"""

from __future__ import annotations

import argparse
import json
import math
from itertools import pairwise
from pathlib import Path

from bench.results_file import write_result

SETS = ("celeba", "wild")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="folder of the runs")
    parser.add_argument("--full", default="people_share_1.0", help="the full-data run's name")
    parser.add_argument("--out", type=Path, help="also write the result here (JSON)")
    return parser.parse_args(argv)


def run_summary(run: Path, full: Path) -> dict:
    """A run's share, seed, people, last validation losses and held-out EER per set.

    The full-data run's EER is side A of every comparison (the same export, the same pairs).
    """
    config = json.loads((run / "config.json").read_text())
    split = json.loads((run / "split.json").read_text())
    history = (run / "history.csv").read_text().splitlines()
    last = dict(zip(history[0].split(","), history[-1].split(","), strict=True))
    summary = {
        "run": str(run),
        "people_fraction": config["people_fraction"],
        "seed": config["seed"],
        "training_people": len(split["train_identities"]),
        "unlabelled_images": json.loads((run / "summary.json").read_text())["unlabelled_images"],
        "steps": config["epochs"] * config["steps_per_epoch"],
        "command": config["command"],
        "val_loss": float(last["val_loss"]),
        "val_projection_loss": float(last["val_projection_loss"]),
    }
    compared = (
        run if run != full else next(full.parent.glob("people_share_*/compare_*.json")).parent
    )
    side = "a" if run == full else "b"
    for name in SETS:
        eer = json.loads((compared / f"compare_{name}.json").read_text())["metrics"]["eer"]
        summary[f"{name}_eer"] = eer[side]
        summary[f"{name}_eer_ci95"] = eer[f"{side}_ci95"]
        if run != full:
            summary[f"{name}_eer_minus_full"] = eer["difference"]
            summary[f"{name}_eer_minus_full_ci95"] = eer["ci95"]
    return summary


def doublings(runs: list[dict], name: str) -> list[dict]:
    """The EER change from each seed-0 run to the next larger one (a line per step, no fit:
    the curve need not be straight in log people, and a seed alone moves a run by a point)."""
    points = sorted((r["training_people"], r[f"{name}_eer"]) for r in runs)
    return [
        {
            "from_people": small,
            "to_people": large,
            "eer_change": large_eer - small_eer,
            "eer_change_per_doubling": (large_eer - small_eer) / math.log2(large / small),
        }
        for (small, small_eer), (large, large_eer) in pairwise(points)
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    full = args.runs / args.full
    runs = [run_summary(run, full) for run in sorted(args.runs.glob("people_share_*"))]
    seed0 = sorted((r for r in runs if r["seed"] == 0), key=lambda r: r["training_people"])
    result = {
        "question": "How does held-out EER change with the number of training people?",
        "runs": runs,
        "steps": {name: doublings(seed0, name) for name in SETS},
    }
    print(json.dumps(result["steps"], indent=1))
    if args.out:
        write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
