"""``python -m training teacher``: embed every prepared face once with the teacher model.

The teacher is dlib's face-recognition ResNet (public domain; PyPI ``dlib-bin`` +
``face-recognition-models``), used for training only: the service never loads it. It is
given the input it was built for: dlib's own 5-point landmarks, found inside the face box
that ``prepare`` detected on the *original* photo, then dlib's 150x150 face chip of that
photo (not our 112x112 crop). Crops that ``prepare`` made by centre-cropping an already
cropped face use the central square as the box. Vectors are cached per crop beside the
crops (:mod:`training.teacher_cache`); re-running resumes. ``--view mirror`` embeds each
chip mirrored left to right into its own folder, for targets averaged over both views.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecore.decode import decode_image
from facecore.errors import InvalidImageError
from training import teacher_cache
from training.prepare import LOG_NAME, MAX_FILE_BYTES, MAX_PIXELS, read_log

TEACHER = teacher_cache.TeacherInfo(
    name="dlib_face_recognition_resnet_model_v1",
    dimension=128,
    alignment="dlib 5-point landmarks in the prepare box of the original photo",
)
CHUNK = 256


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``teacher`` options."""
    parser.add_argument(
        "--cache", required=True, type=Path, help="a `training prepare` output directory"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes, one teacher each",
    )
    parser.add_argument("--limit", type=int, default=None, help="embed at most this many crops")
    parser.add_argument(
        "--view",
        choices=teacher_cache.VIEWS,
        default=teacher_cache.ORIGINAL,
        help="embed each chip as cut (original) or mirrored left to right (mirror)",
    )


def teacher_info(view: str) -> teacher_cache.TeacherInfo:
    """Return the teacher record of one view: the mirror view says its chips were mirrored."""
    if view == teacher_cache.ORIGINAL:
        return TEACHER
    return replace(TEACHER, alignment=f"{TEACHER.alignment}, chip mirrored left to right")


def run(args: argparse.Namespace) -> int:
    """Embed the crops not embedded yet and write ``teacher/report.json``."""
    started = time.perf_counter()
    require_teacher()
    entries = [e for e in read_log(args.cache / LOG_NAME).values() if e["status"] == "ok"]
    if not entries:
        raise SystemExit(f"teacher: no prepared crops logged in {args.cache / LOG_NAME}")
    view = args.view
    teacher_cache.write_info(args.cache, teacher_info(view), view)
    done = teacher_cache.done_keys(args.cache, view)
    todo = sorted((e for e in entries if e["crop"] not in done), key=lambda e: e["crop"])
    todo = todo[: args.limit] if args.limit is not None else todo
    for keys, vectors, failures in _embed_chunks(todo, args.workers, view == teacher_cache.MIRROR):
        if keys:
            teacher_cache.write_part(args.cache, keys, vectors, view)
        teacher_cache.append_failures(args.cache, failures, view)
    report = _report(args.cache, view, len(entries), time.perf_counter() - started)
    (teacher_cache.teacher_dir(args.cache, view) / "report.json").write_text(
        json.dumps(report, indent=2) + "\n"
    )
    print(
        f"teacher: {report['embedded']} of {report['crops']} crops embedded, "
        f"{report['failed']} failed ({report['wall_seconds']:.0f} s)"
    )
    return 0


def require_teacher() -> None:
    """Fail with the install command when dlib or its models are missing."""
    try:
        import dlib  # noqa: F401
        import face_recognition_models  # noqa: F401
    except ImportError as error:
        raise SystemExit(
            f"teacher: {error}; install it with `make install-test` (the `teacher` extra)"
        ) from None


def _embed_chunks(
    entries: list[dict], workers: int, mirror: bool
) -> Iterator[tuple[list, np.ndarray, list]]:
    """Yield ``(keys, vectors, failures)`` per chunk of entries, with a progress bar."""
    chunks = [entries[i : i + CHUNK] for i in range(0, len(entries), CHUNK)]
    work = partial(_embed_chunk, mirror=mirror)
    with tqdm(total=len(entries), unit="img", desc="teacher") as bar:
        for keys, vectors, failures in map_chunks(work, chunks, workers):
            bar.update(len(keys) + len(failures))
            yield keys, vectors, failures


def map_chunks(work: Callable[[list], tuple], chunks: list[list], workers: int) -> Iterator[tuple]:
    """Run ``work`` on each chunk in worker processes that each hold a teacher.

    One worker runs in this process. Results come in completion order.
    """
    if workers <= 1:
        load_teacher()
        yield from map(work, chunks)
        return
    context = multiprocessing.get_context("fork")  # no main guard under `-m training`
    with context.Pool(workers, initializer=load_teacher) as pool:
        yield from pool.imap_unordered(work, chunks)


_MODELS: tuple | None = None


def load_teacher() -> None:
    """Load dlib's landmark model and face-recognition ResNet once per process."""
    global _MODELS
    import dlib
    import face_recognition_models as files

    _MODELS = (
        dlib.shape_predictor(files.pose_predictor_five_point_model_location()),
        dlib.face_recognition_model_v1(files.face_recognition_model_location()),
    )


def _embed_chunk(
    entries: list[dict], mirror: bool = False
) -> tuple[list[str], np.ndarray, list[dict]]:
    """Embed one chunk (each chip mirrored if asked); a failing image becomes a record."""
    keys, vectors, failures = [], [], []
    for entry in entries:
        try:
            chip = face_chip(Path(entry["path"]), entry.get("box"))
            vectors.append(embed_chip(np.ascontiguousarray(chip[:, ::-1]) if mirror else chip))
            keys.append(entry["crop"])
        except (InvalidImageError, OSError, ValueError) as error:
            failures.append({"crop": entry["crop"], "path": entry["path"], "error": str(error)})
    matrix = np.stack(vectors) if vectors else np.zeros((0, TEACHER.dimension), np.float32)
    return keys, matrix, failures


def embed_photo(path: Path, box: list[float] | None) -> np.ndarray:
    """Embed the face in ``box`` of the photo at ``path`` with the teacher (unit length).

    Raises:
        InvalidImageError: The photo cannot be decoded.
        ValueError: The teacher's vector is degenerate.
    """
    return embed_chip(face_chip(path, box))


def face_chip(path: Path, box: list[float] | None) -> np.ndarray:
    """Cut dlib's own 150x150 aligned chip (uint8 RGB) of the face in ``box`` of a photo.

    Raises:
        InvalidImageError: The photo cannot be decoded.
    """
    import dlib

    assert _MODELS is not None, "call load_teacher() first"
    rgb = decode_image(path.read_bytes(), max_bytes=MAX_FILE_BYTES, max_pixels=MAX_PIXELS)
    left, top, right, bottom = _dlib_box(box, rgb.shape)
    shape_predictor, _ = _MODELS
    landmarks = shape_predictor(rgb, dlib.rectangle(left, top, right, bottom))
    return dlib.get_face_chip(rgb, landmarks)


def embed_chip(chip: np.ndarray) -> np.ndarray:
    """Embed one aligned 150x150 chip with the teacher (unit length).

    Raises:
        ValueError: The teacher's vector is degenerate.
    """
    assert _MODELS is not None, "call load_teacher() first"
    _, recogniser = _MODELS
    vector = np.asarray(recogniser.compute_face_descriptor(chip), np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm < 1e-6:
        raise ValueError("teacher returned a degenerate vector")
    return vector / norm


def _dlib_box(box: list[float] | None, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)``: the prepare box, or the central square without one."""
    height, width = shape[:2]
    if box is None:
        side = min(height, width)
        left, top = (width - side) // 2, (height - side) // 2
        return left, top, left + side - 1, top + side - 1
    x, y, w, h = box
    return round(x), round(y), round(x + w), round(y + h)


def _report(cache: Path, view: str, crops: int, wall_seconds: float) -> dict:
    """Count the whole view of the cache (all runs) and record this run's duration."""
    embedded = len(teacher_cache.load_teacher_embeddings(cache, view).index)
    failures_path = teacher_cache.teacher_dir(cache, view) / teacher_cache.FAILURES_NAME
    failures = failures_path.read_text().splitlines() if failures_path.is_file() else []
    return {
        "teacher": TEACHER.name,
        "view": view,
        "crops": crops,
        "embedded": embedded,
        "failed": len(failures),
        "failures": [json.loads(line) for line in failures],
        "wall_seconds": round(wall_seconds, 2),
    }
