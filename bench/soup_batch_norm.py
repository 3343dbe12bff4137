"""Does a weight soup need its batch-norm statistics measured again?

A soup (``training soup``) averages every weight of its runs, the batch norms' moving means and
variances included; the mean of the runs' statistics is not the statistics of the averaged
network. Stochastic weight averaging therefore measures them again on training batches
(Izmailov et al., "Averaging Weights Leads to Wider Optima and Better Generalization", UAI
2018: ``bn_update``). This does that for a soup's run folder: its training images (``split.json``
and the unlabelled folders of ``config.json``), augmented as in training, go through the
network in training mode (each batch norm normalising with its batch's statistics, as SWA
does), and every batch norm gets the mean and variance of its input over those batches. The
result is a run folder for ``export`` and ``training compare``; it prints how far each batch
norm's mean moved, in units of its old standard deviation.

    python -m bench.soup_batch_norm --run runs/soup23 --out runs/soup23bn --batches 200
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from training.folders import ImageRecord, scan_unlabelled_folders

RUN_FILES = ("config.json", "labels.json", "split.json", "summary.json")


def training_images(run: Path, config: dict) -> list[ImageRecord]:
    """The run's training images: labelled (``split.json``) and unlabelled (``config``)."""
    split = json.loads((run / "split.json").read_text(encoding="utf-8"))
    labelled = [
        ImageRecord(Path(entry["path"]), entry["identity"], entry["source"])
        for entry in split["train"]
    ]
    return labelled + scan_unlabelled_folders(config["unlabelled"] or [])


def batch_norms(model) -> list:
    """Every batch-normalisation layer of ``model``, in layer order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def input_moments(model, batches) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-channel mean and variance of every batch norm's input, in training mode."""
    from training.warm_start import tensor_moments

    inputs = [norm.input for norm in batch_norms(model)]
    return tensor_moments(model, inputs, (images for images, _ in batches), training=True)


def remeasure(model, moments) -> list[float]:
    """Give every batch norm its measured statistics; return each mean's shift in old stds."""
    shifts = []
    for norm, (mean, variance) in zip(batch_norms(model), moments, strict=True):
        old_mean, old_variance = np.asarray(norm.moving_mean), np.asarray(norm.moving_variance)
        old_std = np.sqrt(old_variance + norm.epsilon)
        shifts.append(float(np.mean(np.abs(mean - old_mean) / old_std)))
        norm.moving_mean.assign(mean.astype(np.float32))
        norm.moving_variance.assign(variance.astype(np.float32))
    return shifts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, type=Path, help="a soup's run folder")
    parser.add_argument("--out", required=True, type=Path, help="the new run folder")
    parser.add_argument("--batches", type=int, default=200, help="training batches of 64")
    parser.add_argument("--seed", type=int, default=123, help="shuffle and augmentation seed")
    args = parser.parse_args(argv)

    from training import data
    from training.export import load_checkpoint
    from training.presets import get_preset

    run_config = json.loads((args.run / "config.json").read_text(encoding="utf-8"))
    records = training_images(args.run, run_config)
    pixels = data.load_pixels(records, run_config["input_size"], run_config["channels"])
    config = get_preset(run_config["preset"], seed=args.seed, steps_per_epoch=args.batches)
    batches = data.training_dataset(pixels, np.zeros(len(pixels), np.int32), config)
    model = load_checkpoint(args.run / "final.keras")
    shifts = remeasure(model, input_moments(model, batches.take(args.batches)))
    print(f"{len(records)} training images, {args.batches} batches of {config.batch_size}")
    print("mean |shift| of each batch norm's mean, in old stds:", np.round(shifts, 4).tolist())
    args.out.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        shutil.copy(args.run / name, args.out / name)
    model.save(args.out / "final.keras")
    print(f"saved {args.out / 'final.keras'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
