"""Print the requirements declared in pyproject.toml, one per line, for `pip install -r`.

Container builds install dependencies in their own layer, before the source is copied, so
that editing code does not re-download them. pyproject.toml stays the single list:

    python scripts/requirements_from_pyproject.py                      # core (serving)
    python scripts/requirements_from_pyproject.py --extras train       # core + training
    python scripts/requirements_from_pyproject.py --extras train --gpu # CUDA builds

`--gpu` swaps the CPU-only packages for their CUDA builds (same version range), because
both variants install the same Python module and must never sit side by side.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

# CPU-only distribution name -> distribution (with extras) that brings CUDA support.
GPU_REPLACEMENTS: dict[str, str] = {
    "onnxruntime": "onnxruntime-gpu",
    "tensorflow-cpu": "tensorflow[and-cuda]",
}

_NAME_PATTERN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$", re.DOTALL)


def read_requirements(pyproject: Path, extras: list[str]) -> list[str]:
    """Collect the core dependencies plus the named optional-dependency groups.

    Args:
        pyproject: Path to pyproject.toml.
        extras: Names of `[project.optional-dependencies]` groups to add.

    Returns:
        Requirement strings in declaration order, without duplicates.

    Raises:
        KeyError: If an extra is not declared in pyproject.toml.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise KeyError(f"extra {extra!r} is not declared in {pyproject}")
        requirements.extend(optional[extra])
    return list(dict.fromkeys(requirements))


def distribution_name(requirement: str) -> str:
    """Return the normalised distribution name of a requirement string.

    Args:
        requirement: One PEP 508 requirement string.

    Returns:
        The lower-case name, `_` and `.` folded to `-`.
    """
    match = _NAME_PATTERN.match(requirement)
    name = match.group(1) if match else requirement
    return re.sub(r"[-_.]+", "-", name).lower()


def use_gpu_builds(requirement: str) -> str:
    """Swap a CPU-only distribution for its CUDA build, keeping the version range.

    Args:
        requirement: One PEP 508 requirement string.

    Returns:
        The requirement, rewritten when its distribution has a CUDA counterpart.
    """
    match = _NAME_PATTERN.match(requirement)
    replacement = GPU_REPLACEMENTS.get(distribution_name(requirement))
    if match is None or replacement is None:
        return requirement
    return f"{replacement}{match.group(2)}"


def main(argv: list[str] | None = None) -> int:
    """Print the requirement list selected by the command line.

    Args:
        argv: Command-line arguments (defaults to sys.argv[1:]).

    Returns:
        Process exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--extras", default="", help="comma-separated extras, e.g. train")
    parser.add_argument("--gpu", action="store_true", help="use CUDA builds of ORT and TF")
    args = parser.parse_args(argv)
    extras = [name.strip() for name in args.extras.split(",") if name.strip()]
    requirements = read_requirements(args.pyproject, extras)
    if args.gpu:
        requirements = [use_gpu_builds(requirement) for requirement in requirements]
    sys.stdout.write("".join(f"{requirement}\n" for requirement in requirements))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
