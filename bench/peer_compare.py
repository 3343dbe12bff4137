"""Compare our face verifier with ``face_recognition`` (dlib) on the same raw photos.

Run from the project root::

    python -m bench.peer_compare --split runs/NAME/split.json --model models/resnet18-2.7.0

Writes ``report.json`` and ``roc.png`` under ``--out`` and prints a Markdown table;
``--write-docs`` also puts the table into ``docs/benchmarks.md``. See ``--help``.
"""

from __future__ import annotations

import shlex
import sys

from bench.peer.http_system import embed_files_over_http
from bench.peer.options import Options, parse_options
from bench.peer.plot import plot_roc
from bench.peer.report import markdown_table, write_docs
from bench.peer.run import Comparison, compare, machine, select_records
from bench.peer.scoring import pair_scores
from bench.peer.summary import http_overhead
from bench.results_file import write_result


def http_part(options: Options, comparison: Comparison, files: list) -> dict:
    """Time our service over HTTP on the same photos, or say why it was left out."""
    if not options.http:
        return {"skipped": "HTTP run skipped: --no-http given"}
    try:
        over_http = embed_files_over_http(options.model, files)
    except Exception as error:  # noqa: BLE001 - reported, and the run exits non-zero
        return {"error": f"HTTP run failed: {type(error).__name__}: {error}"}
    return http_overhead(comparison.runs["ours"][2], over_http)


def roc_curves(comparison: Comparison) -> dict:
    """ROC inputs of every system that ran, on all pairs."""
    pairs = comparison.pairs
    return {
        name: (pairs.same, pair_scores(results, pairs, metric))
        for name, metric, results in comparison.runs.values()
    }


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write its outputs.

    Returns:
        0, or 1 when the HTTP run failed.
    """
    options = parse_options(argv)
    records = select_records(options)
    comparison = compare(options, records)
    command = "python -m bench.peer_compare " + shlex.join(sys.argv[1:] if argv is None else argv)
    report = {
        "command": command,
        "model": str(options.model),
        "machine": machine(),
        "data": {
            "split": str(options.split) if options.split else None,
            "roots": options.data,
            "people": len({r.identity for r in records}),
            "images": len(records),
        },
        "pairs": comparison.pair_counts(),
        "systems": comparison.systems,
        "http": http_part(options, comparison, [r.path for r in records]),
    }
    write_result(options.out / "report.json", report)
    plot_roc(
        roc_curves(comparison),
        options.out / "roc.png",
        f"{report['data']['people']} people, {len(records)} raw photos, all pairs",
    )
    table = markdown_table(report)
    print(table)
    if options.write_docs:
        write_docs(table, command, options.docs)
    return 1 if "error" in report["http"] else 0


if __name__ == "__main__":
    sys.exit(main())
