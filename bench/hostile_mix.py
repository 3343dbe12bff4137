"""Replay the hostile mix of issue 10 against a real ``python -m app`` on 127.0.0.1.

For each case it prints the answers (status/code), how often it was sent (short cases repeat
for 2 s) and the longest send, the server's peak RSS growth
over its RSS at the start of the case (sampled every 5 ms from /proc), and the latency of
``/health`` polled every 50 ms by another client during the case. Default settings, except
the ones printed at the start.

    .venv/bin/python -m bench.hostile_mix [--model DIR] [--out bench/results/hostile.json]
        [--only TEXT]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import hostile_payloads as payloads
from bench.hostile_clients import parallel, post_raw, trickle
from bench.hostile_monitor import monitor, window
from bench.local_service import ROOT, local_service

JSON = "application/json"
FORM = f"multipart/form-data; boundary={payloads.BOUNDARY}"

Prepare = Callable[[], Callable[[], list[str]]]


def cases(port: int) -> list[tuple[str, bool, Prepare]]:
    """(name, within the limits?, prepare) of every case; prepare() returns the timed send."""

    def once(
        path: str, content_type: str, build: Callable[[], bytes], times: int = 1
    ) -> Callable[[], Callable[[], list[str]]]:
        def prepare() -> Callable[[], list[str]]:  # builds the body before the timing starts
            body = build()

            def send() -> list[str]:
                with ThreadPoolExecutor(times) as pool:
                    return list(
                        pool.map(lambda _: post_raw(port, path, content_type, body), range(times))
                    )

            return send

        return prepare

    slow_head = b"GET /health HTTP/1.1\r\nHost: bench\r\nX-Slow: "
    slow_body = (
        b"POST /verify HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n{"
    )
    p = payloads

    def idle() -> Callable[[], list[str]]:
        return lambda: (time.sleep(2.0), ["-"])[1]

    return [
        ("baseline: idle service (noise floor)", True, idle),
        (
            "H1 40000x1000 PNG, no face",
            False,
            once("/verify", FORM, lambda: p.verify_pair(p.png(40_000, 1_000))),
        ),
        (
            "H1 20000x2000 PNG, no face",
            False,
            once("/verify", FORM, lambda: p.verify_pair(p.png(20_000, 2_000))),
        ),
        (
            "H1 40,000,000x1 PNG",
            False,
            once("/verify", FORM, lambda: p.verify_pair(p.png_header_only(40_000_000, 1))),
        ),
        (
            "H1 8000x1000 PNG, no face (aspect 8)",
            True,
            once("/verify", FORM, lambda: p.verify_pair(p.png(8_000, 1_000))),
        ),
        (
            "40 MP JPEG of a face (max pixels)",
            True,
            once("/verify", FORM, lambda: p.verify_pair(p.max_pixels_jpeg())),
        ),
        (
            "H2 60 MB JSON of tiny strings -> /embed",
            False,
            once("/embed", JSON, lambda: p.tiny_strings_json(60)),
        ),
        (
            "H2 170 MB JSON of tiny strings -> /embed",
            False,
            once("/embed", JSON, lambda: p.tiny_strings_json(170)),
        ),
        (
            "M1 4 x 170 MB JSON at once -> /embed",
            False,
            once("/embed", JSON, lambda: p.tiny_strings_json(170), times=4),
        ),
        (
            "M1 179 MB body -> /verify",
            False,
            once("/verify", JSON, lambda: b" " * (179 * 1024 * 1024)),
        ),
        ("M6 JSON nested 100000 deep", False, once("/verify", JSON, lambda: b"[" * 100_000)),
        (
            "M6 5000-digit integer",
            False,
            once("/verify", JSON, lambda: b'{"threshold": ' + b"9" * 5000 + b"}"),
        ),
        (
            "16 face JPEGs, base64 JSON -> /embed",
            True,
            once("/embed", JSON, lambda: p.base64_images_json([p.FACE] * 16)),
        ),
        (
            "16 x 7.9 MiB noise PNGs, multipart -> /embed",
            True,
            once("/embed", FORM, lambda: p.multipart([("images", p.png(1600, 1740, True))] * 16)),
        ),
        (
            "16 x 7.9 MiB noise PNGs, base64 JSON -> /embed",
            True,
            once("/embed", JSON, lambda: p.base64_images_json([p.png(1600, 1740, True)] * 16)),
        ),
        (
            "M1 8 x 126 MiB multipart at once -> /embed",
            True,
            once(
                "/embed",
                FORM,
                lambda: p.multipart([("images", p.png(1600, 1740, True))] * 16),
                times=8,
            ),
        ),
        (
            "M4 20 clients, 1 header byte/s",
            False,
            lambda: lambda: parallel(20, lambda: trickle(port, slow_head, 30)),
        ),
        (
            "M4 10 clients, 1 body byte/s",
            False,
            lambda: lambda: parallel(10, lambda: trickle(port, slow_body, 90)),
        ),
    ]


def run_case(log: Path, name: str, within: bool, prepare: Prepare) -> dict:
    """Build the case's payload, then send it and measure the server meanwhile."""
    send = prepare()
    time.sleep(0.3)  # let the server settle; RSS just before the case is the baseline
    started, answers, durations = time.monotonic(), [], []
    while True:  # short cases repeat for 2 s (200 sends at most): /health gets ~40 probes
        sent = time.monotonic()
        answers += send()
        durations.append(time.monotonic() - sent)
        once_only = name.startswith(("M4", "baseline"))
        if once_only or time.monotonic() - started >= 2 or len(durations) >= 200:
            break
    ended = time.monotonic()
    time.sleep(0.1)
    rss, latencies = window(log, started - 0.2, ended + 0.05)
    before = window(log, started - 0.2, started)[0] or rss[:1]
    latencies = sorted(latencies) or [float("nan")]
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return {
        "case": name,
        "within_limits": within,
        "answers": sorted(set(answers)),
        "sends": len(durations),
        "seconds": round(max(durations), 2),
        "rss_before_mb": round(before[-1] / 1024),
        "rss_growth_mb": round((max(rss) - before[-1]) / 1024),
        "health_p99_ms": round(p99, 1),
        "health_max_ms": round(latencies[-1], 1),
        "health_median_ms": round(statistics.median(latencies), 1),
        "health_probes": len(latencies),
        "_latencies": latencies,
    }


def main() -> None:
    """Start the service, replay every case, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument(
        "--out",
        type=Path,
        help="results file (default: bench/results/hostile.json; not saved with --only)",
    )
    parser.add_argument("--only", help="run only the cases whose name contains this text")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp()) / "monitor.log"
    context = multiprocessing.get_context("spawn")
    with local_service(args.model, DRAIN_S="0") as service:
        port = int(service.url.rsplit(":", 1)[1])
        stop = context.Event()
        probe = context.Process(
            target=monitor, args=(service.process.pid, service.url, str(log), stop)
        )
        probe.start()
        time.sleep(1.0)
        print(f"model {args.model}, defaults except FACEVERIFY_DRAIN_S=0")
        rows = []
        for name, within, prepare in cases(port):
            if args.only and args.only not in name:
                continue
            rows.append(run_case(log, name, within, prepare))
            row = rows[-1]
            print(
                f"{name:44s} {','.join(row['answers']):38s} {row['sends']:2d}x "
                f"max {row['seconds']:6.2f} s "
                f"RSS {row['rss_before_mb']:5d}+{row['rss_growth_mb']:5d} MB  /health p99 "
                f"{row['health_p99_ms']:6.1f} max {row['health_max_ms']:6.1f} ms",
                flush=True,
            )
        stop.set()
        probe.join(timeout=10)
    pooled = sorted(v for row in rows for v in row.pop("_latencies"))
    within = [row for row in rows if row["within_limits"] and row["answers"] != ["-"]]
    summary = {
        "health_p99_ms_all_cases": round(pooled[int(0.99 * (len(pooled) - 1))], 1),
        "health_probes": len(pooled),
        "max_rss_growth_mb_within_limits": max(row["rss_growth_mb"] for row in within),
        "max_seconds_within_limits": max(row["seconds"] for row in within),
        "answers_5xx": sorted({a for row in rows for a in row["answers"] if a[:1] == "5"}),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(summary))
    out = args.out or (None if args.only else ROOT / "bench" / "results" / "hostile.json")
    if out is not None:
        out.write_text(json.dumps({"summary": summary, "cases": rows}, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
