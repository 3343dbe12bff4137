"""Benchmark how templates are held in memory: float32 against float16 (and int8, measured aside).

In process, on person-like synthetic templates (:mod:`bench.gallery_fill`): for each precision
of :class:`~app.gallery.index.TemplateIndex`, the resident memory the index adds, exact search
and IVF-shortlist search p50/p99 (top 5, one BLAS thread as in the service), recall@1 against
float32 exact search (same person first; same template first) and the largest difference of the
top similarity from float32's, and the close calls (probes whose first two people are within
2^-10, the most float16 could swap). Two ways not taken are timed on the same rows: float16
converted to float32 in chunks by numpy before the product, and int8 with a scale per row; and
how the shortlist's recall moves with the sample its cells are learned from
(:mod:`bench.shortlist_cells`).
Writes bench/results/template_precision.json.

    python -m bench.bench_template_precision
    python -m bench.bench_template_precision --templates 20000 --probes 50 --no-shortlist
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from pathlib import Path

import numpy as np

from app.gallery.index import TemplateIndex
from app.gallery.records import Template
from app.gallery.service import single_threaded_blas
from bench.bench_gallery_search import percentiles, rss_mib, timed_searches
from bench.gallery_fill import copies, person_centres, probes_of
from bench.results_file import write_result
from bench.shortlist_cells import cells_noise

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 16_384
CLOSE_CALL = 2.0**-10  # first two people this close: float16's error (2^-11 each) could swap them


def person_like(templates: int, dimension: int) -> tuple[np.ndarray, list[Template]]:
    """Centres and ``templates`` templates, two per person."""
    centres = person_centres((templates + 1) // 2, dimension, seed=templates)
    vectors = copies(centres, 2, seed=templates + 1)[:templates]
    return centres, [Template(f"f{i}", f"p{i // 2}", v) for i, v in enumerate(vectors)]


def measured_index(templates: list, dimension: int, precision: str, shortlist: bool) -> tuple:
    """Build an index; returns it, the memory it added and (shortlist) its build seconds."""
    gc.collect()
    before, started = rss_mib(), time.perf_counter()
    index = TemplateIndex(
        dimension, ann_min_templates=len(templates) if shortlist else 0, precision=precision
    )
    index.add(templates)
    index.wait_for_shortlist()
    return index, rss_mib() - before, time.perf_counter() - started


def compare(found: list, truth: list) -> dict:
    """Recall@1 of ``found`` against ``truth`` (lists of top-k matches per probe)."""
    pairs = list(zip(found, truth, strict=True))
    return {
        "recall_at_1_person": sum(f[0].person_id == t[0].person_id for f, t in pairs) / len(pairs),
        "recall_at_1_template": sum(f[0].face_id == t[0].face_id for f, t in pairs) / len(pairs),
        "max_abs_similarity_error": float(
            max(abs(f[0].similarity - t[0].similarity) for f, t in pairs)
        ),
        "close_calls": sum(
            len(f) > 1 and f[0].similarity - f[1].similarity <= CLOSE_CALL for f in found
        ),
    }


def searched(index: TemplateIndex, probes: np.ndarray, top_k: int) -> tuple[dict, list]:
    """Time ``probes`` on ``index``; returns the percentiles and every answer."""
    times, _ = timed_searches(index, probes, top_k)
    return percentiles(times), [index.search(probe, top_k) for probe in probes]


def run_precision(args: argparse.Namespace, templates: list, probes: np.ndarray) -> list[dict]:
    """Each precision, exact and (unless --no-shortlist) with the shortlist."""
    rows, truth = [], None
    for precision in ("float32", "float16"):
        for shortlist in (False, True) if args.shortlist else (False,):
            index, mib, build_s = measured_index(templates, args.dimension, precision, shortlist)
            timing, answers = searched(index, probes, args.top_k)
            truth = answers if truth is None else truth  # float32 exact comes first
            row = {"precision": precision, "search": "shortlist" if shortlist else "exact"}
            row |= {"index_rss_mib": round(mib, 1), **timing, **compare(answers, truth)}
            if shortlist:
                row["build_s"] = round(build_s, 1)
            row["load"] = os.getloadavg()
            print(row, flush=True)
            rows.append(row)
            del index, answers
    return rows


def chunked_scores(stored: np.ndarray, scale: np.ndarray | None, probe: np.ndarray) -> np.ndarray:
    """``stored`` (float16 or int8) converted to float32 a chunk at a time, times ``probe``."""
    out, buffer = np.empty(len(stored), np.float32), np.empty((CHUNK, stored.shape[1]), np.float32)
    for start in range(0, len(stored), CHUNK):
        stop = min(len(stored), start + CHUNK)
        np.copyto(buffer[: stop - start], stored[start:stop])
        np.matmul(buffer[: stop - start], probe, out=out[start:stop])
    return out if scale is None else out * scale


def ways_not_taken(templates: list, probes: np.ndarray) -> list[dict]:
    """numpy float16 and int8-with-scale storage, converted in chunks: time, error, recall."""
    matrix = np.stack([t.embedding for t in templates])
    scale = np.abs(matrix).max(axis=1) / 127
    int8 = np.round(matrix / scale[:, None]).astype(np.int8)
    stores = {
        "float16 (numpy chunks)": (matrix.astype(np.float16), None),
        "int8 + row scale": (int8, scale),
    }
    rows = []
    for name, (stored, row_scale) in stores.items():
        times, errors, agree = [], [], 0
        for probe in probes:
            started = time.perf_counter()
            scores = chunked_scores(stored, row_scale, probe)
            times.append((time.perf_counter() - started) * 1000)
            exact = matrix @ probe
            errors.append(float(np.abs(scores - exact).max()))
            agree += int(np.argmax(scores) == np.argmax(exact))
        bytes_per = stored.itemsize * stored.shape[1] + (4 if row_scale is not None else 0)
        rows.append(
            {
                "storage": name,
                "bytes_per_template": bytes_per,
                **percentiles(times),
                "recall_at_1_template": agree / len(probes),
                "max_abs_similarity_error": max(errors),
                "load": os.getloadavg(),
            }
        )
        print(rows[-1], flush=True)
    return rows


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--templates", type=int, default=1_000_000)
    parser.add_argument("--dimension", type=int, default=128)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--no-shortlist", dest="shortlist", action="store_false")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "template_precision.json"
    )
    return parser.parse_args()


def main() -> None:
    """Measure each precision; write the JSON."""
    args = parse_args()
    single_threaded_blas()
    centres, templates = person_like(args.templates, args.dimension)
    probes, _ = probes_of(centres, args.probes, seed=11)
    result = {
        "machine": {"cpus": os.cpu_count(), "numpy": np.__version__},
        "templates": args.templates,
        "dimension": args.dimension,
        "templates_made": "two per synthetic person, cosine ~0.7 (bench/gallery_fill.py)",
        "index": run_precision(args, templates, probes),
        "ways_not_taken": ways_not_taken(templates, probes[: min(50, len(probes))]),
        "shortlist_recall_by_cells_sample": cells_noise(
            np.stack([t.embedding for t in templates]), probes
        )
        if args.shortlist
        else None,
    }
    write_result(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
