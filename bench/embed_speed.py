"""/embed on face crops against the bare model, per precision, from one run (issue 44).

For each precision: bare ONNX Runtime images/s (batch 32, 2 intra-op threads, through
``facecore.onnx_model.OnnxModel``), then ``python -m app`` on 127.0.0.1 with detection off
loaded by ``wrk`` with one and with eight aligned face crops per /embed request; images/s and
their ratio to the bare model. Crops: the fixture photos through facecore's preprocessing, at
the model's input size. Writes bench/results/embed_speed.json with the machine's load average,
CPU model and its VNNI/AMX flags.

    python -m bench.embed_speed --model models/dlib-resnet-v1 --precision float32 int8

Each precision is asked for explicitly (``ModelBundle.load(dir, precision)``,
``FACEVERIFY_PRECISION``), never ``auto``. With INT8, the held-out accuracy of both precisions
too (:mod:`bench.precision_accuracy`: on ``--eval-data`` crops in this run, or as recorded).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from bench.bench_service import rss_mb
from bench.local_service import SERVED_MODEL, local_service
from bench.model_cost import bare_model
from bench.precision_accuracy import accuracy_line, precision_accuracy
from bench.precision_accuracy import add_arguments as add_accuracy_arguments
from bench.process_cpu import process_cpu_seconds
from bench.results_file import write_result
from bench.wrk_load import multipart_parts, wrk_available, wrk_body_load
from facecore.metadata import ModelMetadata
from facecore.model_bundle import ModelBundle
from facecore.preprocess import FacePreprocessor

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "tests" / "fixtures" / "faces"
CROP_SOURCES = sorted((FACES / "celeba").rglob("*.jpg")) + sorted(
    (FACES / "frll_heldout").rglob("*.jpg")
)
PER_REQUEST = (1, 8)
BARE_THREADS = 2
GOALS = {1: 0.8, 8: 0.9}
# Unmeasured wrk seconds before each measured run: the first batches of each size make ONNX
# Runtime plan their memory, which a server that has run a while has long done.
WARM_UP_S = 3.0


def face_crops(model_dir: Path, count: int = 8) -> list[bytes]:
    """``count`` aligned face crops at the model's input size, JPEG (quality 95)."""
    bundle = ModelBundle.load(model_dir)
    preprocessor = FacePreprocessor(bundle.preprocess)
    crops = []
    for path in CROP_SOURCES:
        pixels = preprocessor.process(np.asarray(Image.open(path).convert("RGB"))).pixels
        image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=95)
        crops.append(buffer.getvalue())
    if not crops:
        raise FileNotFoundError(f"no face photos under {FACES}")
    return [crops[i % len(crops)] for i in range(count)]


def machine() -> dict:
    """CPU model, core count, VNNI/AMX flags, platform and the load average now."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    lines = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    flags = set(lines.get("flags\t\t", "").split())
    model = lines.get("model name\t", platform.processor()).strip()
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "vnni": sorted(flag for flag in flags if "vnni" in flag),
        "amx": sorted(flag for flag in flags if flag.startswith("amx")),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def machine_busy_s() -> float:
    """CPU seconds all cores have spent busy so far (not idle, not waiting on I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def precisions_of(model: Path) -> list[str]:
    """float32, and int8 when the export has an int8 block."""
    return ["float32", "int8"] if ModelMetadata.load(model).int8 is not None else ["float32"]


def server_settings(precision: str, extra: list[str]) -> dict[str, str]:
    """The server's settings: detection off, the precision (never ``auto``), then ``extra``."""
    settings = {"DETECTION": "false", "PRECISION": precision}
    for item in extra:
        name, separator, value = item.partition("=")
        if not separator:
            raise ValueError(f"--server-setting takes NAME=VALUE, got {item!r}")
        settings[name.upper().removeprefix("FACEVERIFY_")] = value
    return settings


def embed_runs(args: argparse.Namespace, precision: str, crops: list[bytes]) -> dict:
    """/embed with 1 and 8 crops per request under wrk, one server for both."""
    settings = server_settings(precision, args.server_setting)
    runs = {}
    with local_service(args.model, **settings) as server:
        pid = server.process.pid
        for count in PER_REQUEST:
            body = multipart_parts([("images", crop) for crop in crops[:count]])
            wrk_body_load(
                server.url, "/embed", body, count, args.connections, WARM_UP_S, lambda: 0.0
            )
            load_before, cpu, busy = os.getloadavg()[0], process_cpu_seconds(pid), machine_busy_s()
            run = wrk_body_load(
                server.url, "/embed", body, count, args.connections, args.seconds,
                lambda: rss_mb(pid),
            )  # fmt: skip
            images = run["images_per_s"] * run["seconds"]
            runs[str(count)] = {
                **run,
                "load_1min_before": load_before,
                "server_cpu_ms_per_image": 1000 * (process_cpu_seconds(pid) - cpu) / images,
                "machine_busy_cores": (machine_busy_s() - busy) / run["seconds"],
            }
    return {"settings": settings, "runs": runs}


def precision_report(args: argparse.Namespace, precision: str, crops: list[bytes]) -> dict:
    """Bare model, then /embed at 1 and 8 per request; images/s and ratios to bare."""
    bare = bare_model(args.model, 32, min(args.seconds, 5.0), BARE_THREADS, precision)
    service = embed_runs(args, precision, crops)
    runs = service["runs"].items()
    ratios = {count: run["images_per_s"] / bare["images_per_s"] for count, run in runs}
    # Bare CPU per image over served: the model's share of the work per image; unlike
    # images/s, it hardly moves when other jobs share the cores.
    cpu = {count: bare["cpu_ms_per_image"] / run["server_cpu_ms_per_image"] for count, run in runs}
    return {"bare": bare, "service": service, "ratio_to_bare": ratios, "cpu_ratio_to_bare": cpu}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SERVED_MODEL)
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=("float32", "int8"),
        help="default: float32, and int8 when the export has an int8 block",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a further FACEVERIFY_ setting of the server (repeatable), e.g. THREADS=2",
    )
    add_accuracy_arguments(parser)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "embed_speed.json")
    return parser.parse_args(argv)


def print_table(report: dict) -> None:
    """One line per precision: bare, /embed x1 and x8 images/s and their ratios."""
    for precision, result in report["precisions"].items():
        bare = result["bare"]["images_per_s"]
        cpu = result["bare"]["cpu_ms_per_image"]
        cells = [f"{precision:8} bare {bare:7.1f} img/s ({cpu:.1f} ms CPU/img)"]
        for count in map(str, PER_REQUEST):
            speed = result["service"]["runs"][count]["images_per_s"]
            ratio = result["ratio_to_bare"][count]
            cpu = result["cpu_ratio_to_bare"][count]
            cells.append(f"/embed x{count} {speed:7.1f} img/s ({ratio:.0%}; CPU/img {cpu:.0%})")
        print(" | ".join(cells))
    if report.get("accuracy"):
        print(accuracy_line(report["accuracy"]))
    print(f"load average {report['machine_after']['load_average']}")


def main(argv: list[str] | None = None) -> int:
    """Run every precision, write the JSON, print the table."""
    args = parse_args(argv)
    args.precision = args.precision or precisions_of(args.model)
    if not wrk_available():
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    crops = face_crops(args.model)
    report = {
        "model": str(args.model),
        "seconds": args.seconds,
        "connections": args.connections,
        "bare_threads": BARE_THREADS,
        "goals": {str(count): goal for count, goal in GOALS.items()},
        "machine": machine(),
        "precisions": {p: precision_report(args, p, crops) for p in args.precision},
    }
    report["machine_after"] = machine()
    if "int8" in args.precision:
        report["accuracy"] = precision_accuracy(args)
    write_result(args.out, report)
    print_table(report)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
