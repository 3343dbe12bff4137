"""Where the server's CPU goes under /embed load on face crops: the share of each stage.

Starts the service as ``bench.embed_speed`` does (detection off), loads it with ``wrk`` and,
meanwhile, samples it with ``py-spy`` (``pip install py-spy``; not a dependency of the
project). Each thread's CPU seconds come from /proc; a Python thread's are split between
stages in proportion to its py-spy samples, each sample going to the deepest frame a stage
names. Threads py-spy does not see are ONNX Runtime's own pool.

    python -m bench.embed_profile --model models/dlib-resnet-v1 --per-request 1
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.embed_speed import WARM_UP_S, face_crops
from bench.local_service import SERVED_MODEL, local_service
from bench.process_cpu import thread_cpu_seconds
from bench.wrk_load import multipart_parts, wrk_body_load

# Stage -> frame names (substrings of py-spy's "function (file:line)"), deepest match wins.
STAGES = {
    "model (ONNX Runtime, calling thread)": ["OnnxModel.embed"],
    "decode (Pillow)": ["decode_image_reduced"],
    "quality gate (contrast, sharpness)": ["check_crop_detail"],
    "model pixels (resize, float32)": ["to_model_input", "_prepare_crop"],
    "prepare: memory holder, CPU timing": ["prepare_here", "prepare_timed", "ImagePreparer"],
    "batcher (collect, stack, answer)": ["DynamicBatcher"],
    "response (pydantic, JSON)": ["serialize_response", "embed_result", "Response.__init__"],
    "body: read + parse (multipart)": ["read_upload", "multipart_reader", "json_reader"],
    "body limits": ["body_limits"],
    "scheduler, decode reservation": ["FairScheduler", "reserve_decode", "MemoryBudget"],
    "service (embed_many, embed_one)": ["FaceService"],
    "middleware": ["middleware.py", "starlette/middleware"],
    "routing, dependencies (FastAPI)": ["solve_dependencies", "routing.py"],
    "HTTP protocol (h11)": ["h11"],
    "thread hand-off (pools, futures)": ["concurrent/futures", "call_soon_threadsafe"],
}
ORT_POOL = "model (ONNX Runtime, its pool threads)"


def stage_of(stack: str) -> str:
    """The stage of one sampled stack (frames ``;``-separated, outermost first)."""
    for frame in reversed(stack.split(";")):
        for stage, names in STAGES.items():
            if any(name in frame for name in names):
                return stage
    return "event loop, other"


def samples_by_thread(raw: Path) -> dict[int, collections.Counter]:
    """py-spy's raw output (``--threads``): sample counts per thread id and stage."""
    counts: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        match = re.match(r"thread \((\d+)\)", stack)
        if match:
            counts[int(match.group(1))][stage_of(stack)] += int(count)
    return counts


def stage_cpu(cpu: dict[int, float], samples: dict[int, collections.Counter]) -> dict:
    """CPU seconds per stage: each thread's split by its samples; unsampled: ONNX Runtime's."""
    stages: collections.Counter = collections.Counter()
    for tid, seconds in cpu.items():
        sampled = samples.get(tid)
        if not sampled:
            stages[ORT_POOL] += seconds
            continue
        total = sum(sampled.values())
        for stage, count in sampled.items():
            stages[stage] += seconds * count / total
    return dict(stages.most_common())


def profile(args: argparse.Namespace, raw: Path) -> tuple[dict, dict]:
    """One server, warmed up, then wrk and py-spy together; the run and CPU per stage."""
    body = multipart_parts([("images", crop) for crop in face_crops(args.model, args.per_request)])
    with local_service(args.model, DETECTION="false") as server:
        pid, url = server.process.pid, server.url
        load = (url, "/embed", body, args.per_request, args.connections)
        wrk_body_load(*load, WARM_UP_S, lambda: 0.0)
        before = thread_cpu_seconds(pid)
        spy = subprocess.Popen(
            [args.py_spy, "record", "-p", str(pid), "-d", str(round(args.seconds)), "-r", "100"]
            + ["--format", "raw", "--threads", "--nonblocking", "-o", str(raw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        run = wrk_body_load(*load, args.seconds, lambda: 0.0)
        after = thread_cpu_seconds(pid)
        spy.wait()
    cpu = {tid: seconds - before.get(tid, 0.0) for tid, seconds in after.items()}
    return run, stage_cpu(cpu, samples_by_thread(raw))


def print_table(run: dict, stages: dict) -> None:
    """The run's figures, then one Markdown row per stage."""
    images, total = run["images_per_s"] * run["seconds"], sum(stages.values())
    print(
        f"{run['images_per_s']:.1f} img/s; server {total / run['seconds']:.2f} cores, "
        f"{1000 * total / images:.2f} ms CPU per image; load average {os.getloadavg()}"
    )
    print("| stage | share of server CPU | ms CPU per image |\n|---|---:|---:|")
    for stage, seconds in stages.items():
        print(f"| {stage} | {seconds / total:.1%} | {1000 * seconds / images:.2f} |")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, profile, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SERVED_MODEL)
    parser.add_argument("--per-request", type=int, default=1, help="face crops per request")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    args = parser.parse_args(argv)
    if shutil.which(args.py_spy) is None or shutil.which("wrk") is None:
        print("needs py-spy (pip install py-spy) and wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        run, stages = profile(args, Path(folder) / "raw.txt")
    print_table(run, stages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
