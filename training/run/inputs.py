"""What a training run is given: resolved once from the command line, typed and frozen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from training.config import TrainConfig
from training.teacher.cache import ORIGINAL


@dataclass(frozen=True)
class RunInputs:
    """The inputs of ``training train``.

    Attributes:
        config: The preset with the command line's overrides.
        data: Identity-folder roots, ``PATH`` or ``NAMESPACE=PATH``.
        out: The run directory.
        unlabelled: Prepared crops without identities (distillation only).
        teacher: The prepare cache holding the teacher's vectors, or None.
        teacher_views: The teacher views averaged into each target.
        exclude: A ``training audit`` report whose suspects stay out of training, or None.
        init_from: A ``.keras`` checkpoint or an export directory to start from, or None.
        verbose: Keras verbosity.
    """

    config: TrainConfig
    data: tuple[str, ...]
    out: Path
    unlabelled: tuple[str, ...] = ()
    teacher: Path | None = None
    teacher_views: tuple[str, ...] = (ORIGINAL,)
    exclude: Path | None = None
    init_from: Path | None = None
    verbose: int = 1

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
