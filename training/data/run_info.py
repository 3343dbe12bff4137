"""What an export records about its training run: facts from the run and data folders.

``training train`` writes ``RUN/config.json`` (the config plus ``data`` and ``command``)
and ``RUN/summary.json`` (counts, best epoch); ``training prepare`` writes
``CACHE/prepare_report.json`` with the ``PreprocessConfig`` that made the crops. The terms
of use a model inherits come from the face sets (and teacher) it was trained on.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from training.data.folders import parse_root

CONFIG_KEYS = (
    "preset",
    "input_size",
    "channels",
    "stage1_stride",
    "scale",
    "margin",
    "epochs",
    "batch_size",
    "split",
    "holdout_fraction",
    "validation",
    "seed",
    "split_seed",
    "client_augment",
    "erase",
    "distill",
    "classifier_weight",
    "projection_weight",
    "similarity_weight",
    "stage2_hint_weight",
    "stage3_hint_weight",
    "teacher",
    "teacher_views",
    "learning_rate",
    "init_from_model",
    "soup_of",
    "command",
)
SUMMARY_KEYS = (
    "best_epoch",
    "epochs_completed",
    "heldout_identities",
    "validation_images",
    "unlabelled_images",
    "wall_time_s",
)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def training_info(run_dir: Path) -> dict[str, Any] | None:
    """Summarise a run for ``metadata.json``: preset, sets, people, images, command, ...

    Args:
        run_dir: The folder ``training train --out`` wrote.

    Returns:
        The facts found, or None when the folder holds no ``config.json``.
    """
    config = _read_json(run_dir / "config.json")
    if not config:
        return None
    summary = _read_json(run_dir / "summary.json")
    info: dict[str, Any] = {key: config[key] for key in CONFIG_KEYS if key in config}
    info["sets"] = [parse_root(spec)[1].name for spec in config.get("data", [])]
    info["unlabelled_sets"] = [Path(root).name for root in config.get("unlabelled", [])]
    info["data"] = config.get("data", [])
    info["people"] = summary.get("identities")
    info["images"] = summary.get("train_images")
    info.update({key: summary[key] for key in SUMMARY_KEYS if key in summary})
    return info


class RunDirectoryError(ValueError):
    """The run folder does not say how its model's input was made; nothing is guessed."""


def data_roots(run_dir: Path) -> list[Path]:
    """Return the data folders ``config.json`` lists, absolute (relative ones from the cwd).

    Raises:
        RunDirectoryError: A listed folder does not exist from here (e.g. a relative
            ``--data`` and another working directory than training's).
    """
    roots = []
    for spec in _read_json(run_dir / "config.json").get("data", []):
        root = parse_root(spec)[1]
        if not root.is_dir():
            raise RunDirectoryError(
                f"{run_dir / 'config.json'} lists the data folder {spec!r}, which is not a "
                f"folder seen from {Path.cwd()}; run the export from the folder training ran in "
                "(relative --data paths are resolved from there)"
            )
        roots.append(root.resolve())
    return roots


def preprocessing(run_dir: Path, size: int, channels: int) -> dict[str, Any]:
    """Return the ``PreprocessConfig`` dictionary the service must use for this model.

    Taken from the ``prepare_report.json`` of the cache the run's data folders were prepared
    into (``prepare --out``, the folder above each set; or the set folder itself), with
    ``channels`` set to the model input. The crops must have been prepared at the model's input
    size, since the service aligns faces at that size, and all prepared folders alike.
    ``PreprocessConfig`` defaults only when every data folder is unprepared (raw photos).

    Args:
        run_dir: The training run folder.
        size: Model input side.
        channels: Model input channels.

    Returns:
        ``PreprocessConfig.to_dict()`` output.

    Raises:
        RunDirectoryError: A data folder cannot be found, its crops were prepared at another
            size than the model's input, or two folders were prepared differently.
    """
    from facecore.preprocess_config import PreprocessConfig

    prepared = {
        root: PreprocessConfig.from_dict(settings)
        for root in data_roots(run_dir)
        if (settings := prepared_settings(root))
    }
    if not prepared:
        return PreprocessConfig(size=size, channels=channels).to_dict()
    (first, config), *others = prepared.items()
    different = [root for root, other in others if other != config]
    if different:
        raise RunDirectoryError(
            f"the crops in {first} and {different[0]} were prepared with different settings "
            f"({config} vs {prepared[different[0]]}); train on crops of one prepare setting"
        )
    if config.size != size:
        raise RunDirectoryError(
            f"the crops in {first} were prepared at {config.size} px but the model takes "
            f"{size} px: training resized {config.size}-px crops while the service "
            f"would align faces at {size} px. Prepare the data with --size {size}, or train "
            f"at input size {config.size}"
        )
    return replace(config, channels=channels).to_dict()


def prepared_settings(root: Path) -> dict[str, Any] | None:
    """Return the preprocessing a data folder's crops were made with, or None for raw photos."""
    for folder in (root, root.parent):
        report = _read_json(folder / "prepare_report.json")
        if "preprocessing" in report:
            return report["preprocessing"]
    return None


DATA_TERMS = {
    "orl": "AT&T/ORL Database of Faces: credit Olivetti Research Laboratory "
    "(Samaria & Harter 1994).",
    "extended_yaleb": "Extended Yale Face Database B: research use "
    "(Georghiades et al. 2001; Lee, Ho & Kriegman 2005).",
    "yale": "Yale Face Database: research use (Belhumeur, Hespanha & Kriegman 1997).",
    "celeba": "CelebA: non-commercial research use only.",
    "taiwan_frontal": "Taiwanese Facial Expression Image Database: research use "
    "(Chen, Cho & Tseng 2013).",
    "frll": "Face Research Lab London Set: CC BY 4.0, credit DeBruine & Jones.",
    "utkface": "UTKFace: non-commercial research use only (Zhang, Song & Qi 2017).",
    "teacher": "Distilled from dlib's face-recognition ResNet (public domain; Davis King).",
}


def terms_of_training(info: dict[str, Any]) -> str:
    """Return the data terms of the sets (labelled, unlabelled, teacher) of a model."""
    return terms_for_sets(
        [
            *info.get("sets", []),
            *info.get("unlabelled_sets", []),
            *(["teacher"] if info.get("teacher") else []),
        ]
    )


def terms_for_sets(sets: list[str]) -> str:
    """Return the terms a model inherits from the data sets it was trained on."""
    known = [text for key, text in DATA_TERMS.items() if any(key in s for s in sets)]
    if not known:
        return "Trained on unspecified data; check the terms of the data used."
    return "Research terms inherited from the training data. " + " ".join(known)
