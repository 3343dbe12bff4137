"""Start a training model from a ``.keras`` checkpoint, layer by layer name.

Keras restores a checkpoint by the model's structure, so a checkpoint of another layout
does not load: the original layout (stage 1 strided, with a 1x1 projection shortcut) into
the standard ResNet18 (``stage1_stride`` 1, identity shortcut), for instance. Every layer
has a stable name (``training.model.network``), so this copies the weights by name instead. It is
strict where it matters: every layer of the new model that has weights must find a layer of
the same name and shapes in the checkpoint. Checkpoint layers the new model lacks (that
projection shortcut) are reported, not silently used or ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.model.network import load_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transfer:
    """What a by-name transfer did.

    Attributes:
        copied: Layers whose weights came from the checkpoint.
        unused: Checkpoint layers with weights that the new model does not have.
    """

    copied: tuple[str, ...]
    unused: tuple[str, ...]


def weighted_layers(model: Any) -> dict[str, Any]:
    """``model``'s layers that hold weights, by name (nested models flattened)."""
    found = {}
    for layer in model.layers:
        if hasattr(layer, "layers"):
            found.update(weighted_layers(layer))
        elif layer.weights:
            found[layer.name] = layer
    return found


def copy_weights_by_name(target: Any, source: Any) -> Transfer:
    """Copy every weighted layer of ``source`` into the layer of the same name in ``target``.

    Raises:
        ValueError: A weighted layer of ``target`` is missing from ``source``, or its
            weights' shapes differ (named, with both shapes).
    """
    targets, sources = weighted_layers(target), weighted_layers(source)
    missing = sorted(set(targets) - set(sources))
    if missing:
        raise ValueError(f"the checkpoint has no layer named {', '.join(missing)}")
    for name, layer in targets.items():
        weights = sources[name].get_weights()
        want = [tuple(w.shape) for w in layer.get_weights()]
        have = [tuple(w.shape) for w in weights]
        if want != have:
            raise ValueError(f"layer {name}: the checkpoint's weights are {have}, expected {want}")
        layer.set_weights(weights)
    return Transfer(tuple(sorted(targets)), tuple(sorted(set(sources) - set(targets))))


def load_weights_by_name(model: Any, checkpoint: Path) -> Transfer:
    """Load ``checkpoint`` (a ``.keras`` file) into ``model`` by layer name; see the module."""
    source = load_model(checkpoint)
    transfer = copy_weights_by_name(model, source)
    if transfer.unused:
        log.warning(
            "%s: %d checkpoint layer(s) not in this model's layout, left out: %s",
            checkpoint,
            len(transfer.unused),
            ", ".join(transfer.unused),
        )
    return transfer
