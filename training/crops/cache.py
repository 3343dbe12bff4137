"""The crop cache of ``training prepare`` (:mod:`training.commands.prepare`), logged and resumed.

Each image's aligned crop is written once, its result logged to ``OUT/prepare_log.jsonl``; a
cache is only resumed with the settings recorded in ``OUT/prepare_settings.json``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
from tqdm import tqdm

from facecore.decode import decode_image
from facecore.errors import FaceCoreError, InvalidImageError
from facecore.preprocess import CONFIDENT_FRACTION, DETECTION_MAX_SIDE, FacePreprocessor
from facecore.preprocess_config import PreprocessConfig
from training.crops.report import build_report, find_duplicates
from training.data.folders import UNLABELLED, ImageRecord

LOG_NAME = "prepare_log.jsonl"
REPORT_NAME = "prepare_report.json"
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 100_000_000


@dataclass(frozen=True)
class Task:
    """One image to prepare and where its crop goes."""

    source: str
    path: str
    cache: str  # the cache directory
    crop: str  # where the crop goes, relative to ``cache``

    @property
    def out_path(self) -> Path:
        """The crop file."""
        return Path(self.cache) / self.crop


def plan_tasks(records: Sequence[ImageRecord], out: Path, dropped: set[str]) -> list[Task]:
    """One task per record not dropped as a duplicate, mirroring ``ROOT/PERSON/IMAGE``.

    Unlabelled images mirror ``ROOT/IMAGE``.
    """
    return [
        Task(record.source, str(record.path), str(out), str(crop_path(record)))
        for record in records
        if str(record.path) not in dropped
    ]


def crop_path(record: ImageRecord) -> Path:
    """Where a record's crop goes, relative to the cache directory."""
    name = f"{record.path.stem}.png"
    if record.identity == UNLABELLED:
        return Path(record.source) / name
    return Path(record.source) / record.path.parent.name / name


def read_log(log_path: Path) -> dict[str, dict]:
    """Results of earlier runs by image path; a torn last line is ignored."""
    if not log_path.is_file():
        return {}
    results: dict[str, dict] = {}
    for line in log_path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        results[entry["path"]] = entry
    return results


def _finished(task: Task, done: dict[str, dict]) -> bool:
    """Whether an earlier run handled this image (and its crop is still there)."""
    entry = done.get(task.path)
    if entry is None:
        return False
    return entry["status"] != "ok" or task.out_path.is_file()


def _run_tasks(
    tasks: list[Task], config: PreprocessConfig, workers: int, log_path: Path
) -> Iterator[dict]:
    """Process tasks in worker processes (or in-process for one worker), logging each."""
    with log_path.open("a") as log, tqdm(total=len(tasks), unit="img", desc="prepare") as bar:
        if workers <= 1 or len(tasks) <= 1:
            _init_worker(config)
            results: Iterator[dict] = map(_prepare_one, tasks)
            yield from _logged(results, log, bar)
            return
        # fork: ``python -m training`` has no main guard, so spawn would re-run the CLI.
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=_init_worker, initargs=(config,)) as pool:
            yield from _logged(pool.imap_unordered(_prepare_one, tasks, chunksize=16), log, bar)


def _logged(results: Iterator[dict], log, bar: tqdm) -> Iterator[dict]:
    """Append each result to the log as it arrives and advance the progress bar."""
    for result in results:
        log.write(json.dumps(result) + "\n")
        log.flush()
        bar.update()
        yield result


_PREPROCESSOR: FacePreprocessor | None = None


def _init_worker(config: PreprocessConfig) -> None:
    """Build this process's detector once."""
    global _PREPROCESSOR
    _PREPROCESSOR = FacePreprocessor(config)


def _prepare_one(task: Task) -> dict:
    """Decode, detect, align and write one crop; failures become a status, not an error."""
    assert _PREPROCESSOR is not None, "worker not initialised"
    result = {"path": task.path, "source": task.source, "status": "ok"}
    try:
        rgb = decode_image(
            Path(task.path).read_bytes(), max_bytes=MAX_FILE_BYTES, max_pixels=MAX_PIXELS
        )
        prepared = _PREPROCESSOR.align_crop(rgb)
    except InvalidImageError as error:
        return {**result, "status": "undecodable", "error": str(error)}
    except FaceCoreError as error:
        return {**result, "status": error.code, "error": str(error)}
    write_png_atomically(task.out_path, prepared.pixels)
    box = None if prepared.face is None else [round(float(v), 2) for v in prepared.face.box]
    return {
        **result,
        "crop": task.crop,
        "method": prepared.method,
        "faces_detected": prepared.faces_detected,
        "box": box,
    }


def write_png_atomically(path: Path, rgb) -> None:
    """Write an RGB crop as PNG so that a killed run never leaves a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.png")
    if not cv2.imwrite(str(partial), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {partial}")
    os.replace(partial, path)


def prepare_crops(
    records: list[ImageRecord], out: Path, config: PreprocessConfig, workers: int, started: float
) -> dict:
    """Crop every record not cropped yet into ``out``; write and return the report.

    Raises:
        ValueError: ``out`` holds crops of other settings (:func:`claim_cache`).
    """
    duplicates = find_duplicates(records)
    out.mkdir(parents=True, exist_ok=True)
    claim_cache(out, crop_settings(config), LOG_NAME)
    log_path = out / LOG_NAME
    done = read_log(log_path)
    tasks = [t for t in plan_tasks(records, out, duplicates.dropped) if not _finished(t, done)]
    for result in _run_tasks(tasks, config, workers, log_path):
        done[result["path"]] = result
    report = build_report(
        records, duplicates, done, config.to_dict(), time.perf_counter() - started
    )
    (out / REPORT_NAME).write_text(json.dumps(report, indent=2))
    return report


SETTINGS_NAME = "prepare_settings.json"


def crop_settings(config: PreprocessConfig) -> dict[str, Any]:
    """Everything that decides a crop: the preprocessing options and the face-rule constants."""
    return {
        **config.to_dict(),
        "confident_fraction": CONFIDENT_FRACTION,
        "detection_max_side": DETECTION_MAX_SIDE,
    }


def claim_cache(out: Path, settings: dict[str, Any], log_name: str) -> None:
    """Record ``settings`` in a new cache, or check them against the ones it was made with.

    Raises:
        ValueError: The cache was made with other settings, or by a run that recorded none.
    """
    stamp = out / SETTINGS_NAME
    if stamp.is_file():
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        changed = [
            f"{key} {recorded.get(key)!r} -> {settings.get(key)!r}"
            for key in sorted({*recorded, *settings})
            if recorded.get(key) != settings.get(key)
        ]
        if changed:
            raise ValueError(
                f"{out} holds crops made with other settings ({'; '.join(changed)}): "
                "prepare into a new --out, or repeat the recorded settings"
            )
        return
    if (out / log_name).is_file():
        raise ValueError(
            f"{out} holds crops of a run that did not record its settings "
            f"({SETTINGS_NAME}); prepare into a new --out"
        )
    partial = stamp.with_suffix(".partial")
    partial.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    partial.replace(stamp)
