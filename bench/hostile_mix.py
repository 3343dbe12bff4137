"""Replay the hostile mix of issue 10 against a real ``python -m app`` on 127.0.0.1.

For each case it prints the answers (status/code), how often it was sent (short cases repeat
for 2 s) and the longest send, the server's peak RSS growth (its preparation processes
included) over its RSS at the start of the case (sampled every 5 ms from /proc), and the
latency of ``/health`` polled every 50 ms and of a normal ``/verify`` (two face photos) sent
every 200 ms by another client during the case. Default settings, except the ones printed at
the start.

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
from pathlib import Path

from bench.hostile_cases import Prepare, cases
from bench.hostile_monitor import monitor, window
from bench.local_service import ROOT, SERVED_MODEL, local_service


def run_case(log: Path, name: str, within: bool, prepare: Prepare, settle: float = 0) -> dict:
    """Build the case's payload, then send it and measure the server meanwhile (and
    ``settle`` seconds after it, when given)."""
    send = prepare()
    time.sleep(0.5)  # let the server settle; RSS just before the case is the baseline
    started, answers, durations = time.monotonic(), [], []
    while True:  # short cases repeat for 2 s (200 sends at most): /health gets ~40 probes
        sent = time.monotonic()
        answers += send()
        durations.append(time.monotonic() - sent)
        once_only = name.startswith(("M4", "baseline", "F"))
        if once_only or time.monotonic() - started >= 2 or len(durations) >= 200:
            break
    ended = time.monotonic()
    log_text = _after(log, ended)
    samples = window(log_text, started - 0.2, ended + 0.05)
    rss = samples["rss"]
    before = window(log_text, started - 0.2, started)["rss"] or rss[:1]
    health, verify = _ranked(samples["health"]), _ranked(samples["verify"])
    settled = None
    if settle:
        time.sleep(settle)
        now = time.monotonic()
        settled = round((window(log, now - 0.5, now)["rss"][-1] - before[-1]) / 1024)
    return {
        "case": name,
        "within_limits": within,
        "answers": sorted(set(answers)),
        "sends": len(durations),
        "seconds": round(max(durations), 2),
        "rss_before_mb": round(before[-1] / 1024),
        "rss_growth_mb": round((max(rss) - before[-1]) / 1024),
        "rss_after_settle_mb": settled,
        "health_p99_ms": _p99(health),
        "health_max_ms": round(health[-1], 1),
        "health_median_ms": round(statistics.median(health), 1),
        "health_probes": len(health),
        "verify_p99_ms": _p99(verify),
        "verify_max_ms": round(verify[-1], 1),
        "verify_probes": len(verify),
        "probe_5xx": len(samples.get("health_5xx", [])) + len(samples.get("verify_5xx", [])),
        "_latencies": health,
        "_verify": verify,
    }


def _after(log: Path, ended: float, timeout: float = 120.0) -> Path:
    """Wait until the probes have logged a /verify started after ``ended`` (every /verify of
    the case has then finished: they are sent one after the other); the log."""
    deadline = time.monotonic() + max(timeout, 0)
    while time.monotonic() < deadline:
        if any(float(line.split()[0]) > ended for line in _verify_lines(log)):
            break
        time.sleep(0.1)
    return log


def _verify_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " verify " in line]


def _ranked(values: list[float]) -> list[float]:
    return sorted(values) or [float("nan")]


def _p99(ranked: list[float]) -> float:
    return round(ranked[min(len(ranked) - 1, int(0.99 * len(ranked)))], 1)


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SERVED_MODEL)
    parser.add_argument(
        "--out",
        type=Path,
        help="results file (default: bench/results/hostile.json; not saved with --only)",
    )
    parser.add_argument("--only", help="run only the cases whose name contains this text")
    parser.add_argument(
        "--settle", type=float, default=0, help="also report RSS this many seconds after each case"
    )
    return parser.parse_args()


def run_cases(model: Path, only: str | None, settle: float = 0) -> list[dict]:
    """Start the service and its monitor, replay the chosen cases, one row each."""
    log = Path(tempfile.mkdtemp()) / "monitor.log"
    context = multiprocessing.get_context("spawn")
    rows = []
    with local_service(model, DRAIN_S="0") as service:
        port = int(service.url.rsplit(":", 1)[1])
        stop = context.Event()
        probe = context.Process(
            target=monitor, args=(service.process.pid, service.url, str(log), stop)
        )
        probe.start()
        time.sleep(1.0)
        changed = " ".join(f"{k}={v}" for k, v in os.environ.items() if k.startswith("FACEVERIFY_"))
        print(f"model {model}, defaults except FACEVERIFY_DRAIN_S=0 {changed}".rstrip())
        for name, within, prepare in cases(port):
            if only and only not in name:
                continue
            row = run_case(log, name, within, prepare, settle)
            rows.append(row)
            print(
                f"{name:44s} {','.join(row['answers']):38s} {row['sends']:2d}x "
                f"max {row['seconds']:6.2f} s "
                f"RSS {row['rss_before_mb']:5d}+{row['rss_growth_mb']:5d} MB  /health p99 "
                f"{row['health_p99_ms']:6.1f} max {row['health_max_ms']:6.1f} ms  /verify p99 "
                f"{row['verify_p99_ms']:7.1f} ms ({row['verify_probes']})"
                + (
                    f"  RSS +{settled} MB {settle:g} s after"
                    if (settled := row["rss_after_settle_mb"]) is not None
                    else ""
                ),
                flush=True,
            )
        stop.set()
        probe.join(timeout=10)
    return rows


def summarise(rows: list[dict]) -> dict:
    """Pooled /health latency, worst cost within limits, any 5xx; pops the raw latencies."""
    pooled = sorted(v for row in rows for v in row.pop("_latencies"))
    verify = sorted(v for row in rows for v in row.pop("_verify"))
    within = [row for row in rows if row["within_limits"] and row["answers"] != ["-"]]
    return {
        "health_p99_ms_all_cases": round(pooled[int(0.99 * (len(pooled) - 1))], 1),
        "health_probes": len(pooled),
        "verify_p99_ms_all_cases": round(verify[int(0.99 * (len(verify) - 1))], 1),
        "verify_probes": len(verify),
        "probe_5xx": sum(row["probe_5xx"] for row in rows),
        "max_rss_growth_mb_within_limits": max(
            (row["rss_growth_mb"] for row in within), default=None
        ),
        "max_seconds_within_limits": max((row["seconds"] for row in within), default=None),
        "answers_5xx": sorted({a for row in rows for a in row["answers"] if a[:1] == "5"}),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    """Start the service, replay every case, print and save the table."""
    args = parse_args()
    rows = run_cases(args.model, args.only, args.settle)
    summary = summarise(rows)
    print(json.dumps(summary))
    out = args.out or (None if args.only else ROOT / "bench" / "results" / "hostile.json")
    if out is not None:
        out.write_text(json.dumps({"summary": summary, "cases": rows}, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
