"""End-to-end photo throughput: each served model over HTTP vs dlib's own pipeline, one run.

Raw photos (CelebA in the wild, the first photo of each person). Ours: ``python -m
app`` on 127.0.0.1 with default settings, ``--clients`` threads each sending ``POST /embed`` with
``--per-request`` photos (detection, alignment, quality gate, model), every photo ``--rounds``
times; the server's CPU seconds (its process and its workers) per photo sent. dlib:
``face_recognition`` (its decode, HOG detector, landmarks, chip and ResNet on the largest face)
in ``--processes`` worker processes, and its CPU per photo (``x_dlib_cpu``: the ratio of CPU per
photo, which other load on the machine disturbs far less than photos/s). Also the bare network
(ONNX Runtime, batch 32), float32 and at the served precision.

    python -m bench.photo_throughput   (both shipped models; --models DIR... for others)
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2

from app.inference.precision import choose_precision
from app.settings import Settings
from bench.local_service import local_service
from bench.model_cost import bare_model
from bench.peer.dlib_peer import dlib_processes
from bench.process_cpu import tree_cpu_seconds
from bench.results_file import write_result
from facecore.model_bundle import ModelBundle

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODELS = [ROOT / "models" / "dlib-resnet-v1", ROOT / "models" / "resnet18-2.7.0"]
RAW_SET = "celeba_subset"  # photos in the wild, uncropped


def raw_photos(data: Path, count: int) -> list[Path]:
    """The first photo of each person of ``celeba_subset`` (uncropped), up to ``count``."""
    people = sorted(path for path in (data / RAW_SET).iterdir() if path.is_dir())
    firsts = (min(person.iterdir()) for person in people)
    return list(itertools.islice(firsts, count))


def _send(url: str, batches: list[list[tuple[str, bytes]]]) -> tuple[int, int]:
    """One client: each batch as one ``/embed``; (photos sent, faces embedded)."""
    sent = embedded = 0
    with httpx2.Client(base_url=url, timeout=120.0) as client:
        for batch in batches:
            response = client.post("/embed", files=[("images", part) for part in batch])
            response.raise_for_status()
            results = response.json()["results"]
            sent += len(batch)
            embedded += sum(1 for result in results if result.get("embedding") is not None)
    return sent, embedded


def service_throughput(model_dir: Path, photos: list[Path], args: argparse.Namespace) -> dict:
    """Photos/s of ``/embed`` with ``args.clients`` concurrent clients."""
    parts = [(path.name, path.read_bytes()) for path in photos]
    step = args.per_request
    batches = [parts[i : i + step] for i in range(0, len(parts), step)] * args.rounds
    shares = [batches[i :: args.clients] for i in range(args.clients)]
    with local_service(model_dir) as service:
        _send(service.url, batches[:1])  # warm-up, not timed
        cpu, started = tree_cpu_seconds(service.process.pid), time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            counts = list(pool.map(lambda share: _send(service.url, share), shares))
        elapsed = time.perf_counter() - started
        cpu = tree_cpu_seconds(service.process.pid) - cpu
    sent, embedded = (sum(column) for column in zip(*counts, strict=True))
    return {
        "photos": sent,
        "embedded": embedded,
        "seconds": elapsed,
        "photos_per_s": sent / elapsed,
        "server_cpu_ms_per_photo": 1000 * cpu / sent,
    }


def served_precision(model_dir: Path) -> str:
    """The precision the service serves ``model_dir`` at with default settings, here."""
    settings = Settings(model_path=model_dir)
    return choose_precision(settings, ModelBundle.load(model_dir).metadata)[0]


def dlib_throughput(photos: list[Path], processes: int) -> dict:
    """Photos/s of ``face_recognition`` over ``photos`` in ``processes`` worker processes."""
    with dlib_processes(processes) as embed:
        embed(photos[:processes])  # warm-up, not timed
        cpu, started = tree_cpu_seconds(os.getpid()), time.perf_counter()
        found = embed(photos)
        elapsed = time.perf_counter() - started
        cpu = tree_cpu_seconds(os.getpid()) - cpu  # its workers, and this process waiting
    return {
        "photos": len(photos),
        "embedded": sum(vector is not None for vector in found),
        "seconds": elapsed,
        "photos_per_s": len(photos) / elapsed,
        "cpu_ms_per_photo": 1000 * cpu / len(photos),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, nargs="+", default=SHIPPED_MODELS)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument("--photos", type=int, default=256)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--per-request", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="times each photo is sent")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-peer", action="store_true", help="leave dlib out")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "photo_throughput.json"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    photos = raw_photos(args.data, args.photos)
    report: dict = {"photos": len(photos), "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    report["dlib"] = None if args.no_peer else dlib_throughput(photos, args.processes)
    for model_dir in args.models:
        served = service_throughput(model_dir, photos, args)
        if report["dlib"]:
            served["x_dlib"] = served["photos_per_s"] / report["dlib"]["photos_per_s"]
            dlib_cpu = report["dlib"]["cpu_ms_per_photo"]
            served["x_dlib_cpu"] = dlib_cpu / served["server_cpu_ms_per_photo"]
        served["precision"] = served_precision(model_dir)
        served["bare_batch32"] = bare_model(model_dir, 32, 5.0)["images_per_s"]
        if served["precision"] != "float32":
            bare = bare_model(model_dir, 32, 5.0, precision=served["precision"])
            served["bare_batch32_served"] = bare["images_per_s"]
        report[model_dir.name] = served
        print(model_dir.name, served, flush=True)
    report["load_after"] = os.getloadavg()
    report["options"] = {key: str(value) for key, value in vars(args).items()}
    print("dlib", report["dlib"])
    write_result(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
