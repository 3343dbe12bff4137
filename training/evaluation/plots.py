"""PNG plots of a verification evaluation: ROC curve and score histograms.

Figures are drawn on Matplotlib's Agg canvas directly, so no display or global backend
setting is involved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def plot_roc(labels: np.ndarray, scores: np.ndarray, auc: float, path: Path) -> Path:
    """Draw the ROC curve (log FAR axis) and write it as PNG.

    Args:
        labels: True for genuine pairs.
        scores: Similarity of each pair.
        auc: Area under the curve, for the legend.
        path: PNG file to write.

    Returns:
        ``path``.
    """
    fpr, tpr, _ = roc_curve(labels, scores)
    floor = 1.0 / max(int(np.sum(~np.asarray(labels, dtype=bool))), 1)
    figure = Figure(figsize=(5, 4))
    axes = figure.add_subplot()
    axes.plot(np.clip(fpr, floor, 1.0), tpr, label=f"AUC {auc:.4f}")
    axes.set_xscale("log")
    axes.set_xlim(floor, 1.0)
    axes.set_ylim(0.0, 1.01)
    axes.set_xlabel("false accept rate (impostor pairs accepted)")
    axes.set_ylabel("true accept rate (genuine pairs accepted)")
    axes.set_title("ROC")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="lower right")
    return _save(figure, path)


def plot_score_histograms(
    genuine: np.ndarray, impostor: np.ndarray, threshold: float | None, path: Path
) -> Path:
    """Draw genuine and impostor similarity histograms with the threshold marked.

    Args:
        genuine: Similarities of same-person pairs.
        impostor: Similarities of different-person pairs.
        threshold: Operating threshold to mark, or None.
        path: PNG file to write.

    Returns:
        ``path``.
    """
    marks = [
        genuine,
        impostor,
        [threshold] if threshold is not None and np.isfinite(threshold) else [],
    ]
    values = np.concatenate([np.asarray(m, dtype=float) for m in marks])
    bins = np.linspace(values.min(), values.max(), 61) if values.size else 60
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    axes.hist(impostor, bins=bins, density=True, alpha=0.6, label=f"impostor ({len(impostor)})")
    axes.hist(genuine, bins=bins, density=True, alpha=0.6, label=f"genuine ({len(genuine)})")
    if threshold is not None and np.isfinite(threshold):
        axes.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    axes.set_xlabel("cosine similarity")
    axes.set_ylabel("density")
    axes.set_title("Similarity of genuine and impostor pairs")
    axes.legend(loc="upper left")
    return _save(figure, path)


def plot_learning_curve(history: list[dict[str, float]], path: Path) -> Path:
    """Draw every ``*loss`` column of ``history.csv`` per epoch (train solid, validation dashed).

    A run validated on new people also gets its ``val_eer`` curve, on a right-hand axis.

    Args:
        history: Rows of :func:`training.run.callbacks.read_history` (one per epoch).
        path: PNG file to write.
    """
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    epochs = [int(row["epoch"]) + 1 for row in history]
    names = sorted(
        {
            key
            for row in history
            for key in row
            if key.endswith("loss") and not key.startswith("val_")
        }
    )
    for index, name in enumerate(names):
        colour = f"C{index}"
        axes.plot(epochs, [row.get(name, np.nan) for row in history], color=colour, label=name)
        if any(f"val_{name}" in row for row in history):
            axes.plot(
                epochs,
                [row.get(f"val_{name}", np.nan) for row in history],
                color=colour,
                linestyle="--",
                label=f"val_{name}",
            )
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss (log scale)")
    axes.set_title("Learning curve")
    axes.grid(True, which="both", alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    if any("val_eer" in row for row in history):
        eer_axes = axes.twinx()
        eer = [100 * row.get("val_eer", np.nan) for row in history]
        eer_axes.plot(epochs, eer, color="black", marker="o", label="val_eer (new people)")
        eer_axes.set_ylabel("validation people's EER (%)")
        more_handles, more_labels = eer_axes.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    axes.legend(handles, labels, fontsize=7, ncol=2)
    return _save(figure, path)
