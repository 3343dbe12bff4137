"""Benchmark the IVF shortlist re-learning its cells while a gallery grows.

A gallery of ``--start`` synthetic person-like templates gets its shortlist, then grows to 4x
by enrolment-sized batches while one thread keeps searching. Reported, for the index as served
(cells re-learned in the background at 4x) and for one whose cells stay as first learned:

  * search latency while the gallery grows and the new cells are learned (p50, p99, max: a
    build that held the lock would show as a stall of its whole duration);
  * the build time, from the add that crossed 4x to the swap;
  * afterwards, per ``--nprobe``: search p50/p99 and recall@1 against exact search.

Writes bench/results/gallery_relearn.json.

    python -m bench.bench_gallery_relearn
    python -m bench.bench_gallery_relearn --start 2000 --probes 50   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path
from unittest import mock

import numpy as np

from app.gallery import index as index_module
from app.gallery.index import TemplateIndex
from app.gallery.service import single_threaded_blas
from bench.bench_gallery_search import NOISE, people_like, percentiles, timed_searches
from bench.results_file import write_result

ROOT = Path(__file__).resolve().parents[1]
BATCH = 1_000  # templates per add while growing


def grow_while_searching(index: TemplateIndex, templates: list, queries: np.ndarray) -> dict:
    """Add ``templates`` in batches while a thread searches; latency and build time."""
    latencies, done = [], threading.Event()

    def search_loop() -> None:
        for number in range(10**9):
            if done.is_set():
                return
            started = time.perf_counter()
            index.search(queries[number % len(queries)], 5)
            latencies.append((time.perf_counter() - started) * 1000)

    searcher = threading.Thread(target=search_loop)
    searcher.start()
    for start in range(0, len(templates), BATCH):
        index.add(templates[start : start + BATCH])
    crossed = time.perf_counter()
    index.wait_for_shortlist()
    build_s = time.perf_counter() - crossed
    done.set()
    searcher.join()
    return {
        "searches": len(latencies),
        **percentiles(latencies),
        "max_ms": round(max(latencies), 1),
        "build_after_last_add_s": round(build_s, 2),
    }


def scenario(args: argparse.Namespace, relearn: bool) -> dict:
    """Grow one gallery from ``--start`` to 4x; measure during and after."""
    # Without re-learning, the cells stay as first learned; the module is restored afterwards.
    growth = index_module.RELEARN_GROWTH if relearn else 10**9
    with mock.patch.object(index_module, "RELEARN_GROWTH", growth):
        return measure_growth(args, relearn)


def measure_growth(args: argparse.Namespace, relearn: bool) -> dict:
    """Grow the gallery and measure, under the re-learning policy :func:`scenario` set."""
    centres, templates = people_like(args.start * 4, args.dimension, seed=args.start)
    rng = np.random.default_rng(1)
    queries = centres[rng.integers(0, len(centres), args.probes)] + NOISE * rng.standard_normal(
        (args.probes, args.dimension), np.float32
    )
    index = TemplateIndex(args.dimension, ann_min_templates=args.start)
    index.add(templates[: args.start])
    index.wait_for_shortlist()
    cells_before = index.shortlist_cells
    growing = grow_while_searching(index, templates[args.start :], queries)
    exact = TemplateIndex(args.dimension)
    exact.add(templates)
    _, truth = timed_searches(exact, queries, 5)
    after = []
    for nprobe in args.nprobe:
        index.set_nprobe(nprobe)
        times, found = timed_searches(index, queries, 5)
        recall = sum(a == b for a, b in zip(found, truth, strict=True)) / len(truth)
        after.append({"nprobe": nprobe, **percentiles(times), "recall_at_1_vs_exact": recall})
    return {
        "relearn": relearn,
        "cells": [cells_before, index.shortlist_cells],
        "while_growing": growing,
        "after": after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--start", type=int, default=50_000)
    parser.add_argument("--dimension", type=int, default=512)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[32, 256])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "gallery_relearn.json"
    )
    args = parser.parse_args()
    single_threaded_blas()  # as the service does
    results = {
        "machine": {"cpus": os.cpu_count()},
        "templates": [args.start, args.start * 4],
        "scenarios": [scenario(args, relearn=True), scenario(args, relearn=False)],
    }
    print(json.dumps(results, indent=2))
    write_result(args.out, results)


if __name__ == "__main__":
    main()
