"""A uniform model soup: the mean of the weights of several runs of one recipe, checked first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from training.run.record import write_json

SHARED_CONFIG = (
    "preset",
    "input_size",
    "channels",
    "stage1_stride",
    "data",
    "unlabelled",
    "split",
    "holdout_fraction",
    "split_seed",
    "people_fraction",
    "validation",
    "init_from_model",
)
SHARED_FILES = ("labels.json", "split.json")
SHARED_COUNTS = ("identities", "train_images", "heldout_identities", "validation_images")


class SoupError(ValueError):
    """The runs cannot be averaged into one model; the message says which and why."""


def _read(path: Path) -> Any:
    if not path.is_file():
        raise SoupError(f"{path} is missing: give folders that `training train --out` wrote")
    return json.loads(path.read_text(encoding="utf-8"))


def check_runs(runs: list[Path]) -> dict[str, Any]:
    """Check that ``runs`` may be averaged; return the first run's ``config.json``.

    Raises:
        SoupError: Fewer than two runs, a run folder without its files, runs that did not
            start from the same weights, or runs with other data, split or classes.
    """
    if len(set(runs)) < 2:
        raise SoupError("a soup needs at least two different runs")
    first, *others = runs
    config = _read(first / "config.json")
    if not config.get("init_from_model"):
        raise SoupError(
            f"{first} was trained from scratch: only runs continued from the same weights "
            "(`train --init-from`) lie close enough together to be averaged"
        )
    for run in others:
        other = _read(run / "config.json")
        differ = [key for key in SHARED_CONFIG if other.get(key) != config.get(key)]
        differ += [name for name in SHARED_FILES if _read(run / name) != _read(first / name)]
        if differ:
            raise SoupError(f"{run} differs from {first} in {', '.join(differ)}")
    return config


def average_weights(models: list[Any]) -> Any:
    """Set the first model's weights to the element-wise mean of all models'; return it.

    Raises:
        SoupError: The models do not have the same weights (names and shapes) in one order.
    """
    first, *others = models
    layout = [(weight.path, tuple(weight.shape)) for weight in first.weights]
    for index, model in enumerate(others, start=2):
        other = [(weight.path, tuple(weight.shape)) for weight in model.weights]
        if other != layout:
            extra = sorted(set(other) ^ set(layout))[:3]
            raise SoupError(f"model {index} has other layers than model 1 (e.g. {extra})")
    for position, weight in enumerate(first.weights):
        values = [np.asarray(model.weights[position].numpy()) for model in models]
        weight.assign(np.mean(values, axis=0).astype(values[0].dtype))
    return first


def soup_summary(runs: list[Path]) -> dict[str, Any]:
    """``summary.json`` of the soup: the shared counts, the summed wall time, each run's end."""
    summaries = [_read(run / "summary.json") for run in runs]
    counts = {key: summaries[0].get(key) for key in SHARED_COUNTS}
    for run, summary in zip(runs[1:], summaries[1:], strict=True):
        if {key: summary.get(key) for key in SHARED_COUNTS} != counts:
            raise SoupError(f"{run} trained on other images than {runs[0]} (summary.json)")
    return {
        **counts,
        "unlabelled_images": summaries[0].get("unlabelled_images"),
        "epochs_completed": [summary.get("epochs_completed") for summary in summaries],
        "wall_time_s": round(sum(summary.get("wall_time_s") or 0 for summary in summaries), 2),
        "ingredients": [
            {"run": str(run.resolve()), "last": summary.get("last")}
            for run, summary in zip(runs, summaries, strict=True)
        ],
    }


def make_soup(runs: list[Path], checkpoint: str, out: Path, command: str) -> Path:
    """Average checkpoint ``checkpoint`` of each run into run folder ``out``; return the file.

    Raises:
        SoupError: The runs may not be mixed (:func:`check_runs`), or a checkpoint is missing.
    """
    from training.model.export import load_checkpoint

    config = check_runs(runs)
    summary = soup_summary(runs)
    paths = [run_dir / checkpoint for run_dir in runs]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise SoupError(f"no checkpoint {', '.join(missing)}")
    soup = average_weights([load_checkpoint(path) for path in paths])
    out.mkdir(parents=True, exist_ok=True)
    soup.save(out / "final.keras")
    seeds = [_read(run_dir / "config.json").get("seed") for run_dir in runs]
    soup_of = [str(run_dir.resolve()) for run_dir in runs]
    write_json(
        out / "config.json", {**config, "seed": seeds, "soup_of": soup_of, "command": command}
    )
    write_json(out / "summary.json", summary)
    for name in ("labels.json", "split.json"):
        (out / name).write_bytes((runs[0] / name).read_bytes())
    return out / "final.keras"
