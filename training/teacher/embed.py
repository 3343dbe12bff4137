"""Embed a prepare cache's crops with a teacher backend, in worker processes, chunk by chunk."""

from __future__ import annotations

import json
import multiprocessing
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


def choose_backend(name: str, view: str, model: Path | None) -> Backend:
    """Return backend ``name`` (``dlib`` or ``onnx``, with export ``model``), checking it can run.

    Raises:
        OSError: dlib is missing for the dlib backend.
        ValueError: ``model`` given to the dlib backend; the ONNX backend's export is unusable
            or cannot make the view.
    """
    mirror = view == teacher_cache.MIRROR
    if name == "dlib":
        if model is not None:
            raise ValueError("--model is for --backend onnx (dlib uses its own model)")
        teacher_dlib.require_teacher()
        embed = partial(teacher_dlib.embed_chunk, mirror=mirror)
        return Backend(teacher_dlib.teacher_info(view), teacher_dlib.load_teacher, (), embed)
    from training.teacher import onnx_backend as teacher_onnx

    model = model or teacher_onnx.DEFAULT_MODEL
    info = teacher_onnx.teacher_info(model, view)
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


def embed_cache(
    cache: Path, view: str, backend: Backend, workers: int, limit: int | None, started: float
) -> dict:
    """Embed the cache's crops not embedded yet (at most ``limit``); write and return the report.

    Raises:
        ValueError: The cache logs no prepared crop, or holds another teacher's vectors.
    """
    entries = [e for e in read_log(cache / LOG_NAME).values() if e["status"] == "ok"]
    if not entries:
        raise ValueError(f"no prepared crops logged in {cache / LOG_NAME}")
    teacher_cache.write_info(cache, backend.info, view)
    done = teacher_cache.done_keys(cache, view)
    todo = sorted((e for e in entries if e["crop"] not in done), key=lambda e: e["crop"])
    todo = todo[:limit] if limit is not None else todo
    for keys, vectors, failures in _embed_chunks(todo, workers, backend):
        if keys:
            teacher_cache.write_part(cache, keys, vectors, view)
        teacher_cache.append_failures(cache, failures, view)
    report = _report(cache, view, backend.info, len(entries), time.perf_counter() - started)
    (teacher_cache.teacher_dir(cache, view) / "report.json").write_text(
        json.dumps(report, indent=2) + "\n"
    )
    return report
