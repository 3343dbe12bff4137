"""One ROC chart with every system's curve (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402


def plot_roc(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> Path:
    """Draw TAR against FAR (log scale) for each system and save a PNG.

    Args:
        curves: Legend label -> ``(labels, scores)`` of that system's pairs.
        path: The PNG to write.
        title: The chart title.

    Returns:
        The PNG path.
    """
    figure, axes = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    for label, (same, scores) in curves.items():
        far, tar, _ = roc_curve(same, scores)
        axes.plot(np.clip(far, 1e-5, 1.0), tar, label=label)
    axes.axvline(1e-3, color="grey", linestyle=":", linewidth=1, label="FAR = 1e-3")
    axes.set_xscale("log")
    axes.set_xlim(1e-4, 1.0)
    axes.set_ylim(0.0, 1.0)
    axes.set_xlabel("false accept rate (impostor pairs accepted)")
    axes.set_ylabel("true accept rate (genuine pairs accepted)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
