"""Benchmark ``/identify`` over HTTP on a gallery of a million templates (issue 44).

Fills a SQLite gallery with person-like synthetic templates of the served model
(:mod:`bench.gallery_fill`: bulk inserts through the product's row format), then starts
``python -m app`` on 127.0.0.1 with it twice: with the IVF shortlist (the default past
``FACEVERIFY_ANN_MIN_TEMPLATES``, 250,000; a smaller gallery lowers it to its size) and exact
(that setting above the gallery's size). Each time: seconds until ``/ready`` answers 200 (the
gallery loaded) and until the server logs its shortlist for the whole gallery, the server's
resident memory, then ``--clients`` threads each send ``--requests`` ``/identify`` with a real
face photo: p50/p99 per search and searches/s. ``/embed`` of the same photo on the same server
is the cost of everything but the search. Writes bench/results/gallery_search_1m.json.

    python -m bench.bench_gallery_http
    python -m bench.bench_gallery_http --templates 2000 --requests 5   # a quick check
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from app.gallery.records import ModelKey
from app.settings import Settings
from bench.bench_gallery_search import PROBE_PHOTO, percentiles, rss_mib
from bench.gallery_fill import fill_gallery
from bench.local_service import HOST, SERVED_MODEL, free_port, wait_ready
from bench.results_file import write_result
from facecore.metadata import ModelMetadata

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ANN_MIN = Settings.model_fields["ann_min_templates"].default
SHORTLIST_LINE = "cells"  # the server logs "IVF shortlist: C cells over N templates"


@contextmanager
def serve(model_dir: Path, data_dir: Path, log: Path, **settings: str) -> Iterator[dict]:
    """Run ``python -m app`` on ``data_dir``; yields its url, pid and start-up seconds."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FACEVERIFY_HOST": HOST,
        "FACEVERIFY_PORT": str(port),
        "FACEVERIFY_DATA_DIR": str(data_dir),
        "FACEVERIFY_MODEL_PATH": str(model_dir.resolve()),
        "FACEVERIFY_LOG_LEVEL": "INFO",
        **{f"FACEVERIFY_{name.upper()}": value for name, value in settings.items()},
    }
    with log.open("w") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
        try:
            url = f"http://{HOST}:{port}"
            wait_ready(url, process, timeout=1800)
            yield {"url": url, "pid": process.pid, "ready_s": time.perf_counter() - started}
        finally:
            process.terminate()
            process.wait(timeout=120)


def wait_for_line(log: Path, text: str, timeout: float) -> None:
    """Poll the server's log until a line holds ``text`` (raises TimeoutError)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"no {text!r} in {log} within {timeout:.0f} s")


def hammer(url: str, route: str, clients: int, requests: int, top_k: int | None) -> dict:
    """``clients`` threads each send ``requests`` of ``route`` (after one warm-up each).

    ``/identify`` with ``top_k``; without, ``/embed`` of the same photo (all but the search).
    """
    photo, times, failures = PROBE_PHOTO.read_bytes(), [], []
    field, data = ("image", {"top_k": str(top_k)}) if top_k else ("images", {})
    barrier = threading.Barrier(clients + 1, timeout=600)

    def client() -> None:
        with httpx2.Client(base_url=url, timeout=300) as session:
            send = lambda: session.post(route, files={field: ("p.jpg", photo)}, data=data)  # noqa: E731
            warm_up = send().status_code
            barrier.wait()
            if warm_up != 200:
                failures.append(warm_up)
                return
            for _ in range(requests):
                started = time.perf_counter()
                status = send().status_code
                times.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    failures.append(status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{route}: {len(failures)} answers were not 200: {failures[:5]}")
    return {**percentiles(times), "per_s": round(len(times) / wall, 2), "clients": clients}


def measure(args: argparse.Namespace, data_dir: Path, mode: str) -> dict:
    """Start the server in ``mode`` (``shortlist`` or ``exact``) and measure it."""
    minimum = min(args.templates, DEFAULT_ANN_MIN) if mode == "shortlist" else args.templates + 1
    settings = {"ANN_MIN_TEMPLATES": str(minimum), "TEMPLATE_PRECISION": args.precision}
    log = data_dir / f"server-{mode}.log"
    with serve(args.model, data_dir, log, **settings) as server:
        row = {"mode": mode, "ready_s": round(server["ready_s"], 1), "load": os.getloadavg()}
        row["rss_after_load_mib"] = round(rss_mib(server["pid"]), 1)
        if mode == "shortlist":
            wait_for_line(log, f"{SHORTLIST_LINE} over {args.templates} templates", 3600)
            row["shortlist_s"] = round(time.perf_counter() - args.started[mode], 1)
            row["rss_with_shortlist_mib"] = round(rss_mib(server["pid"]), 1)
        row["identify"] = hammer(server["url"], "/identify", args.clients, args.requests, 5)
        row["embed"] = hammer(server["url"], "/embed", args.clients, args.requests, None)
        row["rss_end_mib"] = round(rss_mib(server["pid"]), 1)
        row["load_end"] = os.getloadavg()
    print(mode, row, flush=True)
    return row


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=SERVED_MODEL)
    parser.add_argument("--templates", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=50, help="per client")
    parser.add_argument("--modes", nargs="+", default=["shortlist", "exact"])
    parser.add_argument(
        "--precision", choices=["float16", "float32"], default="float16", help="of the templates"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "gallery_search_1m.json"
    )
    return parser.parse_args()


def main() -> None:
    """Fill the gallery, serve it in each mode, write the JSON."""
    args = parse_args()
    metadata = ModelMetadata.load(args.model)
    model = ModelKey(metadata.name, metadata.version, metadata.embedding.dimension)
    with tempfile.TemporaryDirectory(prefix="faceverify-1m-") as folder:
        data_dir = Path(folder)
        started = time.perf_counter()
        fill_gallery(data_dir, model, args.templates)
        fill_s = time.perf_counter() - started
        database_mib = sum(p.stat().st_size for p in data_dir.iterdir()) / 2**20
        print(f"filled {args.templates} templates in {fill_s:.0f} s", flush=True)
        rows, args.started = [], {}
        for mode in args.modes:
            args.started[mode] = time.perf_counter()
            rows.append(measure(args, data_dir, mode))
    result = {
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "model": model.__dict__,
        "templates": args.templates,
        "template_precision": args.precision,
        "templates_made": "two per synthetic person, cosine ~0.7 (bench/gallery_fill.py)",
        "fill_s": round(fill_s, 1),
        "database_mib": round(database_mib, 1),
        "probe_photo": PROBE_PHOTO.relative_to(ROOT).as_posix(),
        "runs": rows,
    }
    write_result(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
