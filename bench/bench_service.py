"""Benchmark the HTTP service against the bare model and the machine's matmul rate.

Starts ``python -m app`` on 127.0.0.1 with the given export, then measures throughput and
p50/p95/p99 latency of /embed and /verify with 1, 8 and 32 concurrent clients, for aligned
crops (detection off) and 640x480 photos (detection on); beside it the bare ONNX Runtime
throughput at batch 32, a matmul yardstick (model FLOPs per image / numpy matmul GFLOP/s: what
the machine's numpy would do at the same FLOPs; ONNX Runtime's convolutions can beat it, so it
is no ceiling) and the server's RSS at idle and under load. Writes bench/results/service.json.

    python -m bench.bench_service --model models/resnet18-2.7.0
    python -m bench.bench_service --model tests/fixtures/tiny_model --quick
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx2
from PIL import Image

from bench.cpu_reference import matmul_gflops
from bench.local_service import SERVED_MODEL, LocalService, local_service
from bench.model_cost import bare_model, model_flops_per_image
from bench.results_file import write_result
from bench.wrk_load import wrk_available, wrk_load

ROOT = Path(__file__).resolve().parents[1]
FACE_PHOTO = ROOT / "tests" / "fixtures" / "faces" / "celeba" / "07201" / "001085.jpg"
CONCURRENCY = (1, 8, 32)


def test_images(size: int) -> dict[str, bytes]:
    """An aligned-size crop and a 640x480 photo, both JPEG."""
    photo = Image.open(FACE_PHOTO).convert("RGB")
    canvas = Image.new("RGB", (640, 480), (90, 90, 90))
    canvas.paste(photo.resize((300, 385)), (170, 50))
    crop = photo.crop((60, 40, 190, 170)).resize((size, size))
    return {name: _jpeg(image) for name, image in (("crop", crop), ("photo", canvas))}


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (psutil if installed, else /proc)."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def load(
    url: str, route: str, image: bytes, clients: int, requests: int, seconds: float, pid: int
) -> dict:
    """``clients`` concurrent loops of requests; latencies, throughput and peak RSS."""
    latencies: list[float] = []
    files = (
        [("images", ("i.jpg", image))]
        if route == "/embed"
        else [("image1", ("a.jpg", image)), ("image2", ("b.jpg", image))]
    )
    deadline = time.perf_counter() + seconds
    peak = [rss_mb(pid)]

    async def client_loop(client: httpx2.AsyncClient) -> None:
        while len(latencies) < requests and time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.post(f"{url}{route}", files=files)
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    async def sample_rss() -> None:
        while True:
            peak.append(rss_mb(pid))
            await asyncio.sleep(0.2)

    limits = httpx2.Limits(max_connections=clients)
    async with httpx2.AsyncClient(timeout=120, limits=limits) as client:
        sampler = asyncio.create_task(sample_rss())
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
        sampler.cancel()
    images = len(latencies) * (1 if route == "/embed" else 2)
    summary = load_summary(latencies, images, elapsed)
    return {"clients": clients, **summary, "peak_rss_mb": max(peak)}


def load_summary(latencies: list[float], images: int, elapsed: float) -> dict:
    """Requests, throughput and latency quantiles of one load level."""
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "requests_per_s": len(latencies) / elapsed,
        "images_per_s": images / elapsed,
        "p50_ms": quantiles[49] * 1000,
        "p95_ms": quantiles[94] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


def measure(
    server: LocalService,
    route: str,
    image: bytes,
    clients: int,
    requests: int,
    seconds: float,
    use_wrk: bool,
) -> dict:
    """One route at one concurrency level, loaded by wrk or by httpx2 in this process."""
    pid = server.process.pid
    if use_wrk:
        return wrk_load(server.url, route, image, clients, seconds, lambda: rss_mb(pid))
    return asyncio.run(load(server.url, route, image, clients, requests, seconds, pid))


def run_service(
    model_dir: Path, inputs: dict[str, bytes], requests: int, seconds: float, use_wrk: bool
) -> dict:
    """All routes x inputs x concurrency levels; crops without detection, photos with it.

    ``use_wrk``: load from ``wrk`` for ``seconds`` per level; otherwise from httpx2 in this
    process, at most ``requests`` per level (the client then competes for the same cores).
    """
    results: dict = {}
    for name, image in inputs.items():
        with local_service(model_dir, detection=str(name == "photo").lower()) as server:
            idle = rss_mb(server.process.pid)
            runs = {
                route: [
                    measure(server, route, image, clients, requests, seconds, use_wrk)
                    for clients in CONCURRENCY
                ]
                for route in ("/embed", "/verify")
            }
            results[name] = {"detection": name == "photo", "idle_rss_mb": idle, "routes": runs}
    return results


def best_crop_embed(service: dict) -> float:
    """Return the images/s of the best /embed run on face crops, over the client counts."""
    return max(run["images_per_s"] for run in service["crop"]["routes"]["/embed"])


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SERVED_MODEL)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "service.json")
    parser.add_argument("--quick", action="store_true", help="few requests: a CI smoke run")
    parser.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="auto: wrk when installed (apt-get install wrk), else httpx2",
    )
    return parser.parse_args()


def service_report(args: argparse.Namespace) -> dict:
    """The model's cost, the machine's yardstick and the service's throughput, as one report."""
    use_wrk = args.load_generator == "wrk" or (args.load_generator == "auto" and wrk_available())
    requests, seconds = (24, 3.0) if args.quick else (400, 20.0)
    metadata = json.loads((args.model / "metadata.json").read_text())
    flops = model_flops_per_image(args.model / "model.onnx")
    gflops = matmul_gflops()
    bare = bare_model(args.model, batch=32, seconds=1.0 if args.quick else 5.0)
    service = run_service(
        args.model,
        test_images(metadata["input"]["size"][0]),
        requests,
        seconds if not use_wrk or args.quick else 8.0,
        use_wrk,
    )
    return {
        "model": {
            "dir": str(args.model),
            "name": metadata["name"],
            "version": metadata["version"],
            "flops_per_image": flops,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "numpy_matmul_gflops": gflops,
        },
        "quick": args.quick,
        "load_generator": "wrk" if use_wrk else "httpx",
        "matmul_yardstick_images_per_s": gflops * 1e9 / flops if flops else None,
        "bare_model": bare,
        "service": service,
        "embed_crops_vs_bare": best_crop_embed(service) / bare["images_per_s"],
        "target_embed_crops_vs_bare": 0.6,
    }


def main() -> int:
    """Parse arguments, run everything, write the JSON."""
    args = parse_args()
    report = service_report(args)
    write_result(args.out, report)
    print(
        json.dumps(
            {key: report[key] for key in ("matmul_yardstick_images_per_s", "embed_crops_vs_bare")},
            indent=2,
        )
    )
    print(
        f"bare model: {report['bare_model']['images_per_s']:.0f} img/s; best /embed crops: "
        f"{best_crop_embed(report['service']):.0f} img/s; written {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
