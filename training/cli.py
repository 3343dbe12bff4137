"""Command line entry point: ``python -m training COMMAND``, one per entry of ``COMMANDS``.

Each sub-command lives in its own module of :mod:`training.commands`, which exposes
``add_arguments(parser)`` and ``run(args) -> int`` and raises ``OSError`` / ``ValueError``
for a bad input. The libraries below ``commands`` never see argparse. TensorFlow is imported
only inside ``run``, so that ``--help`` is fast and ``prepare`` does not pay for it.
"""

from __future__ import annotations

import argparse
import importlib

COMMANDS: dict[str, str] = {  # name -> help; the module is training.commands.<name, with _>
    "prepare": "detect, align and cache faces from identity folders",
    "teacher": "embed every prepared face once with the teacher (dlib, or its ONNX export)",
    "morph": "new faces for the teacher to label: morphs of two people",
    "train": "train the AM-Softmax ResNet18 on prepared faces",
    "audit": "list crops the teacher places far from their own person",
    "evaluate": "verification metrics on held-out identities or pairs",
    "calibrate": "strict points on held-out photos as served, with cross-set FAR margins",
    "compare": "two exported models on the same pairs, with error bars",
    "soup": "average the weights of several runs from the same start",
    "export": "export the feature model as ONNX + SavedModel",
    "convert-dlib": "dlib's public-domain face ResNet (the teacher) as an export of ours",
    "quantize": "an INT8 copy of an export, calibrated and evaluated against float32",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Prepare faces, embed them with the teacher, train, evaluate and export "
        "the face-embedding model. `python -m training COMMAND --help` for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in COMMANDS.items():
        module_name = f"training.commands.{name.replace('-', '_')}"
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.set_defaults(module_name=module_name)
        importlib.import_module(module_name).add_arguments(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The process exit status.

    Raises:
        SystemExit: With one line, for a missing or malformed input: the commands report those
            (a data root, a pairs file, a checkpoint, an invalid configuration) as ``OSError`` or
            ``ValueError``. Anything else is a bug and keeps its traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(importlib.import_module(args.module_name).run(args) or 0)
    except (OSError, ValueError) as error:  # a bad input: one line, as argparse's own errors
        raise SystemExit(f"python -m training {args.command}: error: {error}") from None
