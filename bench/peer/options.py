"""Command line options of ``python -m bench.peer_compare``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from bench.local_service import SERVED_MODEL

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_FACES = PROJECT_ROOT / "tests" / "fixtures" / "faces"
FIXTURE_MODEL = PROJECT_ROOT / "tests" / "fixtures" / "tiny_model"
DEFAULT_RAW_ROOT = PROJECT_ROOT.parent / "shared" / "data" / "faces"
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "peer"
DEFAULT_DOCS = PROJECT_ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Options:
    """What to compare on and where to write the results."""

    model: Path
    split: Path | None
    data: tuple[str, ...]
    holdout: float | None
    raw_root: Path
    max_people: int | None
    max_images: int | None
    max_impostors: int
    seed: int
    out: Path
    peer: bool
    http: bool
    write_docs: bool
    docs: Path
    progress: bool
    quick: bool


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with the defaults of a full run."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.peer_compare",
        description=("Compare our verifier with face_recognition (dlib) on the same raw photos."),
    )
    _add_inputs(parser)
    _add_run_controls(parser)
    return parser


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    """Which model, which photos and how many pairs."""
    parser.add_argument("--model", type=Path, default=SERVED_MODEL, help="exported model directory")
    parser.add_argument("--split", type=Path, help="a run's split.json: use its held-out people")
    parser.add_argument(
        "--data",
        nargs="+",
        default=(),
        metavar="ROOT",
        help="identity folders (PATH or NAMESPACE=PATH) instead of --split",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        help="with --data: held-out share of people "
        "(split as training does, with --seed); default: all people",
    )
    parser.add_argument(
        "--raw-root",
        type=Path,
        default=DEFAULT_RAW_ROOT,
        help="folder of the raw sets named in split.json (default %(default)s)",
    )
    parser.add_argument("--max-people", type=int, help="compare on at most N people (seeded)")
    parser.add_argument("--max-images", type=int, help="at most N photos per person")
    parser.add_argument("--max-impostors", type=int, default=20_000, help="impostor pairs")
    parser.add_argument("--seed", type=int, default=0)


def _add_run_controls(parser: argparse.ArgumentParser) -> None:
    """What runs and where the results go."""
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-peer", action="store_true", help="leave face_recognition out")
    parser.add_argument("--no-http", action="store_true", help="leave the HTTP API run out")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write the table into docs/benchmarks.md between its markers",
    )
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: fixture photos and the "
        "tiny fixture model (random weights: its figures mean nothing)",
    )


def parse_options(argv: list[str] | None = None) -> Options:
    """Parse the command line; ``--quick`` swaps in the fixtures and small limits.

    Raises:
        SystemExit: Bad arguments, or neither ``--split`` nor ``--data`` without ``--quick``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.model = FIXTURE_MODEL
        args.split = None
        args.data = tuple(str(path) for path in sorted(FIXTURE_FACES.iterdir()) if path.is_dir())
        args.max_impostors = min(args.max_impostors, 100)
        args.out = args.out if args.out != DEFAULT_OUT else DEFAULT_OUT / "quick"
    if not args.split and not args.data:
        parser.error("give --split runs/NAME/split.json or --data ROOT ... (or --quick)")
    return Options(
        model=args.model,
        split=args.split,
        data=tuple(args.data),
        holdout=args.holdout,
        raw_root=args.raw_root,
        max_people=args.max_people,
        max_images=args.max_images,
        max_impostors=args.max_impostors,
        seed=args.seed,
        out=args.out,
        peer=not args.no_peer,
        http=not args.no_http,
        write_docs=args.write_docs,
        docs=args.docs,
        progress=not args.no_progress,
        quick=args.quick,
    )
