"""Benchmark 1:N search: /identify latency and memory at 10k, 100k and 1M templates.

Two measurements on synthetic templates:
  * in process: ``TemplateIndex.search``, exact (one matrix product plus the top-k) and with the
    IVF shortlist, p50/p99 over probes, the resident memory each index adds, and the shortlist's
    recall@1 against exact search; the templates are person-like (two noisy copies of a random
    direction per person, cosine ~0.7 within a person), probes are new noisy copies;
  * over HTTP: ``POST /identify`` with a real face photo on ``python -m app`` (127.0.0.1),
    whose SQLite gallery was filled with that many templates of the served model, p50/p99
    and the server's resident memory (sizes up to ``--http-max``, as filling takes time).
Writes bench/results/gallery_search.json.

    python -m bench.bench_gallery_search --model models/resnet18-2.7.0
    python -m bench.bench_gallery_search --model tests/fixtures/tiny_model --sizes 1000 --probes 20
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import httpx2
import numpy as np

from app.gallery.index import TemplateIndex
from app.gallery.records import ModelKey, Template
from app.gallery.service import single_threaded_blas
from bench.gallery_fill import fill_gallery
from bench.local_service import SERVED_MODEL, local_service
from bench.results_file import write_result
from facecore.metadata import ModelMetadata

ROOT = Path(__file__).resolve().parents[1]
NOISE = 0.03  # per dimension: two templates of a person at cosine ~0.7 in 512 dimensions
PROBE_PHOTO = ROOT / "tests" / "fixtures" / "faces" / "celeba" / "07201" / "001085.jpg"


def rss_mib(pid: int | str = "self") -> float:
    """Resident memory of a process in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found")


def unit_vectors(count: int, dimension: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dimension), np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
        "samples": len(ordered),
    }


def people_like(count: int, dimension: int, seed: int) -> tuple[np.ndarray, list[Template]]:
    """``count`` templates, two per synthetic person: a random direction plus noise such
    that two templates of one person have cosine ~0.7 and different people ~0."""
    centres = unit_vectors(count // 2, dimension, seed)
    noise = np.random.default_rng(seed + 1).standard_normal((count, dimension), np.float32)
    vectors = np.repeat(centres, 2, axis=0) + NOISE * noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return centres, [Template(f"f{i}", f"p{i // 2}", vector) for i, vector in enumerate(vectors)]


def timed_searches(index: TemplateIndex, probes: np.ndarray, top_k: int) -> tuple[list, list]:
    index.search(probes[0], top_k)  # warm-up
    times, firsts = [], []
    for probe in probes:
        started = time.perf_counter()
        matches = index.search(probe, top_k)
        times.append((time.perf_counter() - started) * 1000)
        firsts.append(matches[0].person_id)
    return times, firsts


def in_process(size: int, dimension: int, probes: int, top_k: int, nprobes: list[int]) -> dict:
    """Exact and IVF-shortlist search over ``size`` person-like templates."""
    centres, templates = people_like(size, dimension, seed=size)
    rng = np.random.default_rng(1)
    queries = centres[rng.integers(0, len(centres), probes)] + NOISE * rng.standard_normal(
        (probes, dimension), np.float32
    )
    before = rss_mib()
    exact = TemplateIndex(dimension)
    exact.add(templates)
    exact_mib = rss_mib() - before
    exact_ms, truth = timed_searches(exact, queries, top_k)
    del exact
    before, started = rss_mib(), time.perf_counter()
    approximate = TemplateIndex(dimension, ann_min_templates=size)
    approximate.add(templates)
    approximate.wait_for_shortlist()  # built in the background; timed to the swap
    build_s, ann_mib = time.perf_counter() - started, rss_mib() - before
    shortlists = []
    for nprobe in nprobes:
        approximate.set_nprobe(nprobe)
        ann_ms, found = timed_searches(approximate, queries, top_k)
        recall = sum(a == b for a, b in zip(found, truth, strict=True)) / len(truth)
        shortlists.append({"nprobe": nprobe, **percentiles(ann_ms), "recall_at_1_vs_exact": recall})
    return {
        "templates": size,
        "top_k": top_k,
        "matrix_mib": round(size * dimension / 2**18, 1),
        "exact": {**percentiles(exact_ms), "index_rss_mib": round(exact_mib, 1)},
        "ivf_shortlist": {
            "build_s": round(build_s, 1),
            "index_rss_mib": round(ann_mib, 1),
            "by_nprobe": shortlists,
        },
    }


def over_http(model_dir: Path, model: ModelKey, size: int, probes: int, top_k: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="faceverify-gallery-bench-") as data_dir:
        started = time.perf_counter()
        fill_gallery(Path(data_dir), model, size)
        fill_s = time.perf_counter() - started
        with local_service(model_dir, timeout=600, DATA_DIR=data_dir) as service:
            ready = httpx2.get(f"{service.url}/ready").json()
            assert ready["gallery"]["templates"] == size, ready
            photo = PROBE_PHOTO.read_bytes()
            times = []
            with httpx2.Client(base_url=service.url, timeout=120) as client:
                for number in range(probes + 1):
                    started = time.perf_counter()
                    response = client.post(
                        "/identify", files={"image": ("p.jpg", photo)}, data={"top_k": str(top_k)}
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    if number:  # the first is a warm-up
                        times.append(elapsed)
            server_rss = rss_mib(service.process.pid)
    return {
        "templates": size,
        "top_k": top_k,
        **percentiles(times),
        "server_rss_mib": round(server_rss, 1),
        "fill_s": round(fill_s, 1),
    }


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=SERVED_MODEL)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--http-max", type=int, default=100_000, help="largest size also measured over HTTP"
    )
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument(
        "--nprobe",
        type=int,
        nargs="+",
        default=[32, 64, 128, 256],
        help="IVF cells scanned per probe (each measured)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "gallery_search.json"
    )
    return parser.parse_args()


def main() -> None:
    """Measure search in process and over HTTP at each gallery size; write the JSON."""
    args = parse_args()
    single_threaded_blas()  # as the service does
    metadata = ModelMetadata.load(args.model)
    model = ModelKey(metadata.name, metadata.version, metadata.embedding.dimension)
    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "model": model.__dict__,
        "in_process": [],
        "http_identify": [],
    }
    for size in args.sizes:
        row = in_process(size, model.dimension, args.probes, args.top_k, args.nprobe)
        print("in process", row, flush=True)
        results["in_process"].append(row)
    for size in (s for s in args.sizes if s <= args.http_max):
        row = over_http(args.model, model, size, max(20, args.probes // 4), args.top_k)
        print("http /identify", row, flush=True)
        results["http_identify"].append(row)
    write_result(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
