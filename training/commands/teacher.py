"""``python -m training teacher``: embed every prepared face once with the teacher model.

The teacher is dlib's face-recognition ResNet, used for training only. Two backends compute it:

- ``dlib`` (default): dlib itself, on dlib's own 150x150 chip of the face ``prepare`` found in
  the *original* photo (:mod:`training.teacher.dlib_backend`);
- ``onnx``: an export of the network (``training convert-dlib``, by default
  ``models/dlib-resnet-v1``) through ONNX Runtime, on the chip our own detector and the
  export's alignment cut from the original photo, as the service serves it; no dlib
  (:mod:`training.teacher.onnx_backend`).

Vectors are cached per crop beside the crops (:mod:`training.teacher.cache`); re-running
resumes, and the cache records which backend and export made them, so a run with another
one is refused instead of mixed in. ``--view mirror`` embeds each chip mirrored left to right
into its own folder, for targets averaged over both views; the ``onnx`` backend refuses it for
a mirror-averaged export, whose every vector already is the mean of both views.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from training.crops.cache import LOG_NAME, read_log
from training.teacher import cache as teacher_cache
from training.teacher import dlib_backend as teacher_dlib

CHUNK = 256
Chunk = tuple[list[str], np.ndarray, list[dict]]  # keys, their vectors, failure records


@dataclass(frozen=True)
class Backend:
    """What computes the vectors: its record, its once-per-process loader, its chunk embedder."""

    info: teacher_cache.TeacherInfo
    load: Callable[..., None]
    load_args: tuple[str, ...]
    embed: Callable[[list[dict]], Chunk]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``teacher`` options."""
    parser.add_argument(
        "--cache", required=True, type=Path, help="a `training prepare` output directory"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes, one teacher each (onnx: one ONNX Runtime thread each)",
    )
    parser.add_argument("--limit", type=int, default=None, help="embed at most this many crops")
    parser.add_argument(
        "--view",
        choices=teacher_cache.VIEWS,
        default=teacher_cache.ORIGINAL,
        help="embed each chip as cut (original) or mirrored left to right (mirror); the onnx "
        "backend refuses mirror for a mirror-averaged export (its vectors are both views' mean): "
        "give it a single-view one (convert-dlib without --mirror-average)",
    )
    parser.add_argument(
        "--backend",
        choices=teacher_cache.BACKENDS,
        default="dlib",
        help="dlib: dlib itself on dlib's chips; onnx: --model through ONNX Runtime on the chips "
        "of our own detector and the export's alignment, as served (no dlib needed)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="export directory of the onnx backend (default: models/dlib-resnet-v1)",
    )


def run(args: argparse.Namespace) -> int:
    """Embed the crops not embedded yet and write ``teacher/report.json``."""
    started = time.perf_counter()
    backend = choose_backend(args)
    entries = [e for e in read_log(args.cache / LOG_NAME).values() if e["status"] == "ok"]
    if not entries:
        raise ValueError(f"no prepared crops logged in {args.cache / LOG_NAME}")
    view = args.view
    teacher_cache.write_info(args.cache, backend.info, view)
    done = teacher_cache.done_keys(args.cache, view)
    todo = sorted((e for e in entries if e["crop"] not in done), key=lambda e: e["crop"])
    todo = todo[: args.limit] if args.limit is not None else todo
    for keys, vectors, failures in _embed_chunks(todo, args.workers, backend):
        if keys:
            teacher_cache.write_part(args.cache, keys, vectors, view)
        teacher_cache.append_failures(args.cache, failures, view)
    report = _report(args.cache, view, backend.info, len(entries), time.perf_counter() - started)
    (teacher_cache.teacher_dir(args.cache, view) / "report.json").write_text(
        json.dumps(report, indent=2) + "\n"
    )
    print(
        f"teacher: {report['embedded']} of {report['crops']} crops embedded, "
        f"{report['failed']} failed ({report['wall_seconds']:.0f} s)"
    )
    return 0


def choose_backend(args: argparse.Namespace) -> Backend:
    """Return the backend the options ask for, checking that it can run.

    Raises:
        ValueError: dlib is missing for the dlib backend, or ``--model`` given to it.
        ValueError: The ONNX backend's export is unusable or cannot make the view.
    """
    mirror = args.view == teacher_cache.MIRROR
    if args.backend == "dlib":
        if args.model is not None:
            raise ValueError("--model is for --backend onnx (dlib uses its own model)")
        teacher_dlib.require_teacher()
        embed = partial(teacher_dlib.embed_chunk, mirror=mirror)
        return Backend(teacher_dlib.teacher_info(args.view), teacher_dlib.load_teacher, (), embed)
    from training.teacher import onnx_backend as teacher_onnx

    model = args.model or teacher_onnx.DEFAULT_MODEL
    info = teacher_onnx.teacher_info(model, args.view)
    embed = partial(teacher_onnx.embed_chunk, mirror=mirror)
    return Backend(info, teacher_onnx.load_teacher, (str(model),), embed)


def _embed_chunks(entries: list[dict], workers: int, backend: Backend) -> Iterator[Chunk]:
    """Yield ``(keys, vectors, failures)`` per chunk of entries, with a progress bar."""
    chunks = [entries[i : i + CHUNK] for i in range(0, len(entries), CHUNK)]
    loaded = map_chunks(backend.embed, chunks, workers, backend.load, backend.load_args)
    with tqdm(total=len(entries), unit="img", desc="teacher") as bar:
        for keys, vectors, failures in loaded:
            bar.update(len(keys) + len(failures))
            yield keys, vectors, failures


def map_chunks(
    work: Callable[[list], tuple],
    chunks: list[list],
    workers: int,
    load: Callable[..., None] | None = None,
    load_args: tuple[str, ...] = (),
) -> Iterator[tuple]:
    """Run ``work`` on each chunk in worker processes that each ``load`` a teacher (dlib's).

    One worker runs in this process. Results come in completion order.
    """
    load = load or teacher_dlib.load_teacher
    if workers <= 1:
        load(*load_args)
        yield from map(work, chunks)
        return
    context = multiprocessing.get_context("fork")  # no main guard under `-m training`
    with context.Pool(workers, initializer=load, initargs=load_args) as pool:
        yield from pool.imap_unordered(work, chunks)


def _report(
    cache: Path, view: str, info: teacher_cache.TeacherInfo, crops: int, wall_seconds: float
) -> dict:
    """Count the whole view of the cache (all runs) and record this run's duration."""
    embedded = len(teacher_cache.load_teacher_embeddings(cache, view).index)
    failures_path = teacher_cache.teacher_dir(cache, view) / teacher_cache.FAILURES_NAME
    failures = failures_path.read_text().splitlines() if failures_path.is_file() else []
    return {
        "teacher": info.name,
        "backend": info.backend,
        "view": view,
        "crops": crops,
        "embedded": embedded,
        "failed": len(failures),
        "failures": [json.loads(line) for line in failures],
        "wall_seconds": round(wall_seconds, 2),
    }
