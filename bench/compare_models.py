"""Held-out verification accuracy against serving cost, for several exported models.

Each model is ``NAME=EXPORT_DIR:REPORT_JSON`` (an export of ``python -m training export`` and the
``report.json`` that ``python -m training evaluate`` wrote for it). Serving cost is measured here,
in one run: forward GFLOPs per image and bare ONNX Runtime images/s at batch 1 and 32.

Usage:
    python -m bench.compare_models rgb112=models/default:models/default/evaluation/report.json \\
        rgb64=runs/x/export:runs/x/eval/report.json --out bench/results/model_choice.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.model_cost import bare_model, model_flops_per_image
from bench.results_file import write_result


def describe(name: str, export: Path, report_file: Path, seconds: float) -> dict:
    """Return one table row: the model's input, accuracy figures and serving cost."""
    metadata = json.loads((export / "metadata.json").read_text())
    report = json.loads(report_file.read_text())
    training = metadata.get("training", {})
    return {
        "name": name,
        "input": f"{metadata['input']['size'][0]}x{metadata['input']['size'][1]}"
        f"x{metadata['input']['channels']}",
        "stage1_stride": training.get("stage1_stride"),
        "epochs": training.get("epochs_completed"),
        "accuracy_10fold": report["accuracy"]["mean"],
        "auc": report["auc"],
        "eer": report["eer"],
        "tar_at_far_1e-3": report["tar_at_far"]["0.001"],
        "gflops_per_image": model_flops_per_image(export / "model.onnx") / 1e9,
        "ort_images_per_s_batch1": bare_model(export, 1, seconds)["images_per_s"],
        "ort_images_per_s_batch32": bare_model(export, 32, seconds)["images_per_s"],
    }


def markdown(rows: list[dict]) -> str:
    """Render the rows as a Markdown table."""
    lines = [
        "| model | input | stage-1 stride | epochs | 10-fold acc | AUC | EER | TAR@FAR=1e-3 "
        "| GFLOPs/img | ORT img/s b1 | ORT img/s b32 |",
        "|" + "---|" * 11,
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['input']} | {r['stage1_stride']} | {r['epochs']} "
            f"| {r['accuracy_10fold']:.4f} | {r['auc']:.4f} | {r['eer']:.4f} "
            f"| {r['tar_at_far_1e-3']:.4f} | {r['gflops_per_image']:.3f} "
            f"| {r['ort_images_per_s_batch1']:.0f} | {r['ort_images_per_s_batch32']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Parse the models, measure them, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="NAME=EXPORT_DIR:REPORT_JSON")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per measurement")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    rows = []
    for spec in args.models:
        name, _, paths = spec.partition("=")
        export, _, report = paths.partition(":")
        rows.append(describe(name, Path(export), Path(report), args.seconds))
    print(markdown(rows))
    if args.out:
        write_result(args.out, {"rows": rows, "table": markdown(rows)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
