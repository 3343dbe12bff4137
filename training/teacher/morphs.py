"""Morphs of two people's training crops, for the teacher to label (``training morph``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facecore.errors import InvalidImageError
from training.crops.cache import LOG_NAME, read_log, write_png_atomically
from training.teacher import cache as teacher_cache
from training.teacher import dlib_backend as teacher_dlib
from training.teacher.embed import CHUNK, map_chunks

MORPHS_DIR = "morphs"
RECORD_NAME = "morphs.json"


@dataclass(frozen=True)
class MorphPlan:
    """Which morphs a folder holds: fixed by its settings, so a re-run resumes it."""

    split: str  # the run's split.json the sources come from
    count: int
    seed: int
    weight_low: float  # the first face's weight is drawn from [low, 1 - low]
    sources: list[list]  # per morph: [crop key a, crop key b, weight of a]

    def __post_init__(self) -> None:
        """Reject impossible settings."""
        if self.count < 1 or not 0.0 < self.weight_low <= 0.5:
            raise ValueError(f"invalid morph settings: count {self.count}, low {self.weight_low}")


def draw_plan(settings: MorphPlan, keys: dict[str, str]) -> MorphPlan:
    """Draw seeded pairs of training crops of different people, each with a blend weight.

    Args:
        settings: The split, count, seed and weight range (no sources yet).
        keys: Crop key -> identity of every training crop of the cache.

    Raises:
        ValueError: Fewer than two people to morph.
    """
    rng = np.random.default_rng(settings.seed)
    crops = sorted(keys)
    if len({keys[crop] for crop in crops}) < 2:
        raise ValueError("the split's training images hold fewer than two people")
    sources: list[list] = []
    while len(sources) < settings.count:
        first, second = (crops[i] for i in rng.integers(0, len(crops), 2))
        if keys[first] != keys[second]:
            weight = float(rng.uniform(settings.weight_low, 1.0 - settings.weight_low))
            sources.append([first, second, round(weight, 4)])
    return replace(settings, sources=sources)


def read_plan(folder: Path) -> MorphPlan:
    """Read the plan recorded in a morph folder.

    Raises:
        FileNotFoundError: The folder holds no morph record.
    """
    return MorphPlan(**json.loads((Path(folder) / RECORD_NAME).read_text()))


def _training_keys(cache: Path, split: Path, log: dict[str, dict]) -> dict[str, str]:
    """Crop key -> identity of the split's training crops that the cache made (``log``)."""
    root = cache.resolve()
    rows = json.loads(split.read_text())["train"]
    keys = {}
    for row in rows:
        path = Path(row["path"]).resolve()
        key = str(path.relative_to(root)) if path.is_relative_to(root) else None
        if key in log:
            keys[key] = row["identity"]
    if not keys:
        raise ValueError(f"no training image of {split} is a crop of {cache}")
    return keys


def _claim_folder(folder: Path, plan: MorphPlan) -> Path:
    """Create the folder with its record, or check that it holds the same plan."""
    record = folder / RECORD_NAME
    if record.is_file():
        if read_plan(folder) != plan:
            raise ValueError(f"{folder} holds morphs of other settings; use another --name")
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(asdict(plan)) + "\n")
    return folder


def _key(cache: Path, folder: Path, number: int) -> str:
    return str((folder / f"m{number:06d}.png").relative_to(cache))


def _task(cache: Path, folder: Path, number: int, sources: list, log: dict[str, dict]) -> dict:
    first, second, weight = sources
    key = _key(cache, folder, number)
    return {
        "key": key,
        "out": str(cache / key),
        "weight": weight,
        "faces": [
            {"crop": str(cache / key), "photo": log[key]["path"], "box": log[key].get("box")}
            for key in (first, second)
        ],
    }


def _make(cache: Path, tasks: list[dict], workers: int) -> int:
    """Morph and embed the tasks in chunks; return how many were made."""
    chunks = [tasks[i : i + CHUNK] for i in range(0, len(tasks), CHUNK)]
    made = 0
    with tqdm(total=len(tasks), unit="morph", desc="morph") as bar:
        for keys, vectors, failures in map_chunks(_morph_chunk, chunks, workers):
            if keys:
                teacher_cache.write_part(cache, keys, vectors)
            teacher_cache.append_failures(cache, failures)
            made += len(keys)
            bar.update(len(keys) + len(failures))
    return made


def _morph_chunk(tasks: list[dict]) -> tuple[list[str], np.ndarray, list[dict]]:
    """Write each task's student morph and return the teacher's vectors of its chips."""
    keys, vectors, failures = [], [], []
    for task in tasks:
        try:
            vectors.append(teacher_dlib.embed_chip(_blend(_chips(task), task["weight"])))
            write_png_atomically(Path(task["out"]), _blend(_crops(task), task["weight"]))
            keys.append(task["key"])
        except (InvalidImageError, OSError, ValueError) as error:
            failures.append({"crop": task["key"], "path": task["out"], "error": str(error)})
    dimension = teacher_dlib.TEACHER.dimension
    matrix = np.stack(vectors) if vectors else np.zeros((0, dimension), np.float32)
    return keys, matrix, failures


def _chips(task: dict) -> list[np.ndarray]:
    return [teacher_dlib.face_chip(Path(face["photo"]), face["box"]) for face in task["faces"]]


def _crops(task: dict) -> list[np.ndarray]:
    crops = [cv2.imread(face["crop"], cv2.IMREAD_COLOR) for face in task["faces"]]
    if any(crop is None for crop in crops):
        raise OSError(f"cannot read the crops of {task['key']}")
    return [cv2.cvtColor(crop, cv2.COLOR_BGR2RGB) for crop in crops]


def _blend(images: list[np.ndarray], weight: float) -> np.ndarray:
    """``weight`` of the first image plus the rest of the second, as uint8."""
    mixed = weight * images[0].astype(np.float32) + (1.0 - weight) * images[1].astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def check_sources(roots: list[str], train_records: list) -> None:
    """Refuse morph folders with a source image that this run does not train on.

    A morph of a validation or held-out person would leak that person into training.

    Raises:
        ValueError: Naming the folder, the count and an example.
    """
    train = {Path(record.path).resolve() for record in train_records}
    for spec in roots:
        folder = Path(spec)
        if not (folder / RECORD_NAME).is_file():
            continue
        cache = folder.resolve().parent.parent
        sources = {key for row in read_plan(folder).sources for key in row[:2]}
        if outside := sorted(key for key in sources if (cache / key).resolve() not in train):
            raise ValueError(
                f"{folder}: {len(outside)} source image(s) of its morphs are not training "
                f"images of this run, e.g. {outside[0]}; make morphs from this run's split.json"
            )


def make_morphs(cache: Path, name: str, settings: MorphPlan, workers: int) -> tuple[Path, int, int]:
    """Make the morphs of ``CACHE/morphs/NAME`` not made yet, with their teacher vectors.

    Returns:
        The folder, the morphs made now, and how many it holds.

    Raises:
        OSError: dlib is missing.
        ValueError: The split has too few people or crops of this cache, or the folder holds
            morphs of other settings.
    """
    teacher_dlib.require_teacher()
    log = {
        entry["crop"]: entry
        for entry in read_log(cache / LOG_NAME).values()
        if entry["status"] == "ok"
    }
    plan = draw_plan(settings, _training_keys(cache, Path(settings.split), log))
    folder = _claim_folder(cache / MORPHS_DIR / name, plan)
    teacher_cache.write_info(cache, teacher_dlib.TEACHER)
    done = teacher_cache.done_keys(cache)
    tasks = [
        _task(cache, folder, number, sources, log) for number, sources in enumerate(plan.sources)
    ]
    todo = [task for task in tasks if task["key"] not in done]
    made = _make(cache, todo, workers)
    return folder, made, plan.count - len(todo) + made
