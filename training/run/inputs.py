"""What a training run is given: resolved once from the command line, typed and frozen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from training.config import TrainConfig
from training.teacher.cache import ORIGINAL


@dataclass(frozen=True)
class RunInputs:
    """The inputs of ``training train``: its config, and the paths and flags beside it."""

    config: TrainConfig  # the preset with the command line's overrides
    data: tuple[str, ...]  # identity-folder roots, PATH or NAMESPACE=PATH
    out: Path  # the run directory
    unlabelled: tuple[str, ...] = ()  # prepared crops without identities (distillation only)
    teacher: Path | None = None  # the prepare cache holding the teacher's vectors
    teacher_views: tuple[str, ...] = (ORIGINAL,)  # views averaged into each teacher target
    exclude: Path | None = None  # a `training audit` report: its suspects stay out of training
    init_from: Path | None = None  # a .keras checkpoint or an export directory to start from
    verbose: int = 1  # Keras verbosity

    def check_teacher(self) -> None:
        """Check that the teacher inputs fit the config's distillation.

        Raises:
            ValueError: Unlabelled images or a teacher cache given without distillation, or
                distillation without a teacher cache.
        """
        distilling = self.config.distill != "none"
        if self.unlabelled and not distilling:
            raise ValueError("--unlabelled images train through the teacher only: set --distill")
        if distilling and self.teacher is None:
            raise ValueError(
                f"distill={self.config.distill!r} needs --teacher CACHE "
                "(a prepare directory embedded by `python -m training teacher`)"
            )
        if self.teacher is not None and not distilling:
            raise ValueError("--teacher is given but distill is 'none'")
        if self.teacher is None and self.teacher_views != (ORIGINAL,):
            raise ValueError("--teacher-views chooses views of the --teacher cache: give --teacher")
