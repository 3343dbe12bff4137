"""Held-out accuracy of float32 against INT8 for ``bench.embed_speed``, beside the speed figures.

With ``--eval-data`` (prepared crops of held-out people, as ``training evaluate --data``) the
two precisions are scored on the same pairs in this run
(:func:`training.evaluation.precision.compare_precisions`, as ``training quantize`` does);
without it, the comparison ``training quantize`` recorded in the export's int8 block is reported,
marked as recorded.
"""

from __future__ import annotations

import argparse

from facecore.metadata import ModelMetadata
from facecore.model_bundle import ModelBundle

FIGURES = (
    "float32_eer",
    "int8_eer",
    "float32_tar_at_far_0_001",
    "int8_tar_at_far_0_001",
    "verdict_agreement",
    "embedding_cosine_mean",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the accuracy options (the held-out pair options of ``training evaluate``)."""
    from training.commands.pair_options import add_pair_arguments

    add_pair_arguments(parser, data_flag="--eval-data")


def precision_accuracy(args: argparse.Namespace) -> dict | None:
    """float32 vs INT8 on held-out pairs: measured now with ``--eval-data``, else as recorded.

    Returns None when the export has no int8 block (nothing to compare).
    """
    block = ModelMetadata.load(args.model).int8
    if block is None:
        return None
    if not args.eval_data:
        figures = block.evaluation.model_dump(include=set(FIGURES) | {"source"})
        return {"measured": "recorded by training quantize (metadata.json int8 block)", **figures}
    from training.evaluation.heldout import folder_pairs
    from training.evaluation.precision import compare_precisions

    pairs, source, _ = folder_pairs(args.split, args.eval_data, args.impostors, args.seed)
    int8_file = ModelBundle.load(args.model, "int8").model_file("onnx")
    comparison = compare_precisions(
        args.model, int8_file, pairs, source, args.batch_size, args.seed
    )
    figures = comparison.evaluation.model_dump(include=set(FIGURES) | {"source"})
    return {"measured": "in this run", **figures}


def accuracy_line(accuracy: dict) -> str:
    """One line: EER and TAR at FAR 1e-3 of both, verdicts alike, and where they come from."""
    return (
        f"held-out ({accuracy['measured']}): EER {accuracy['float32_eer']:.2%} -> "
        f"{accuracy['int8_eer']:.2%}, TAR@FAR1e-3 {accuracy['float32_tar_at_far_0_001']:.2%} -> "
        f"{accuracy['int8_tar_at_far_0_001']:.2%}, verdicts alike "
        f"{accuracy['verdict_agreement']:.2%}"
    )
