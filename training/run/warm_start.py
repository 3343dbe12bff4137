"""Warm start a training model from an exported model directory (e.g. ``models/resnet18-2.7.0``).

An export keeps the serving graph only: ONNX with every batch normalisation folded into
the convolution before it, and none of the training heads. This module rebuilds a
training model from it:

* each convolution gets its folded kernel, and its batch normalisation gets statistics
  measured on training images, with gamma and beta chosen so that the inference pass
  (moving statistics) reproduces the export exactly and the training pass (batch
  statistics) reproduces it up to the batch's sampling noise;
* the AM-Softmax class weights become the mean unit feature of each class, "weight
  imprinting" (Qi, Brown & Lowe, Low-Shot Learning with Imprinted Weights, CVPR 2018);
* the teacher projection becomes the export's own when it serves one (``metadata.json``
  ``embedding.layers``), else the ridge-regression fit of the teacher vectors; so does any
  stage hint head (``stage2_projection``, ``stage3_projection``), from its own input.

So fine-tuning a shipped model starts from what it already knows, with any identities.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.config import HINT_STAGES, stage_hint_head
from training.data.vectors import unit_rows
from training.evaluation.embedder import OnnxEmbedder
from training.model.export import embedding_model
from training.model.exported_weights import (
    FoldedConv,
    exported_graph,
    exported_projection,
    folded_convolutions,
)
from training.model.network import (
    BN_EPSILON,
    FEATURE_LAYER,
    TEACHER_PROJECTION,
    has_teacher_projection,
)

log = logging.getLogger(__name__)

CLASSIFIER_LAYER = "predictions"
STATS_BATCHES = 8  # batches whose statistics unfold the batch norms
MAX_EMBEDDING_GAP = 1e-3  # largest difference to the export's unit embeddings
# The training target (``y`` key) of each teacher hint head: the model output it feeds.
OUTPUT_OF_HEAD = {TEACHER_PROJECTION: "projection"} | {
    stage_hint_head(stage): stage_hint_head(stage) for stage in HINT_STAGES
}
RIDGE = 1e-3  # ridge strength, relative to the mean eigenvalue of the features' Gram matrix


def check_compatible(model: Any, exported: OnnxEmbedder, convs: dict[str, FoldedConv]) -> None:
    """Refuse an export whose input or convolutions differ from ``model``'s.

    Raises:
        ValueError: Naming the first difference.
    """
    model_dir = exported.bundle.directory
    height, width, channels = model.inputs[0].shape[1:]
    theirs = [*exported.metadata.input.size], exported.metadata.input.channels
    if theirs != ([height, width], channels):
        raise ValueError(
            f"{model_dir} takes {theirs[0]} x {theirs[1]} images; "
            f"this run trains on {[height, width]} x {channels}"
        )
    ours = {layer.name for layer in model.layers if layer.name.endswith("_conv")}
    if ours != set(convs):
        raise ValueError(f"{model_dir} has other convolutions: {sorted(ours ^ set(convs))}")
    for name, conv in convs.items():
        expected = tuple(model.get_layer(name).kernel.shape)
        if conv.kernel.shape != expected:
            raise ValueError(f"{model_dir}: {name} is {conv.kernel.shape}, expected {expected}")


def load_backbone(model: Any, convs: dict[str, FoldedConv], images: list[np.ndarray]) -> None:
    """Give ``model`` the export's convolutions; unfold its batch norms with ``images``."""
    for name, conv in convs.items():
        model.get_layer(name).kernel.assign(conv.kernel)
        ones = np.ones_like(conv.bias)
        _batch_norm(model, name).set_weights(
            [np.sqrt(ones + BN_EPSILON), conv.bias, 0 * ones, ones]
        )
    moments = _conv_output_moments(model, list(convs), images)
    for name, conv in convs.items():
        mean, variance = moments[name]
        _batch_norm(model, name).set_weights(
            [np.sqrt(variance + BN_EPSILON), mean + conv.bias, mean, variance]
        )


def _batch_norm(model: Any, conv_name: str) -> Any:
    return model.get_layer(conv_name.removesuffix("_conv") + "_bn")


def _conv_output_moments(model: Any, names: list[str], images: list[np.ndarray]) -> dict:
    """Per-channel mean and variance of each named layer's output over ``images`` batches."""
    tensors = [model.get_layer(name).output for name in names]
    return dict(zip(names, tensor_moments(model, tensors, images), strict=True))


def tensor_moments(
    model: Any, tensors: list[Any], batches: Iterable[Any], training: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-channel mean and variance of ``model``'s symbolic ``tensors`` over input ``batches``.

    ``training`` runs the model in training mode (each batch norm normalising by its batch).
    """
    probe = keras.Model(model.inputs[0], tensors)
    sums, squares, positions = [0.0] * len(tensors), [0.0] * len(tensors), [0] * len(tensors)
    for batch in batches:
        for index, output in enumerate(probe(batch, training=training)):
            values = np.asarray(output, dtype=np.float64).reshape(-1, output.shape[-1])
            sums[index] = sums[index] + values.sum(axis=0)
            squares[index] = squares[index] + np.square(values).sum(axis=0)
            positions[index] += len(values)
    means = [total / count for total, count in zip(sums, positions, strict=True)]
    return [
        (mean, np.maximum(square / count - mean**2, 0.0))
        for mean, square, count in zip(means, squares, positions, strict=True)
    ]


def served_features(exported: OnnxEmbedder, images: np.ndarray, width: int) -> np.ndarray:
    """Return the export's unit ``feature`` embeddings of ``images``, also when joined with others.

    A joined embedding holds each layer's unit output scaled alike (mirror-averaged or not),
    so its first ``width`` values, renormalised, are what the feature alone would serve.

    Raises:
        ValueError: The export does not serve ``feature`` first.
    """
    layers, served = exported.metadata.embedding.layers, exported.embed_pixels(images)
    if layers[0] != FEATURE_LAYER:
        raise ValueError(
            f"{exported.bundle.directory} serves {list(layers)}: warm start needs an export "
            f"that serves {FEATURE_LAYER!r} (first); start from the run's checkpoint instead"
        )
    part = served[:, :width]
    return unit_rows(part)


def check_reproduces(model: Any, exported: OnnxEmbedder, images: np.ndarray) -> None:
    """Refuse a rebuilt backbone whose ``feature`` embeddings of ``images`` are not the export's.

    A mirror-averaged export is compared with the rebuilt model's mirror-averaged embeddings.

    Raises:
        ValueError: The largest difference is over ``MAX_EMBEDDING_GAP``.
    """
    served = served_features(exported, images, model.get_layer(FEATURE_LAYER).output.shape[-1])
    rebuilt = embedding_model(model, mirror_average=exported.metadata.embedding.mirror_averaged)
    ours = np.asarray(rebuilt(images, training=False)["embedding"])
    gap = float(np.abs(ours - served).max())
    if gap > MAX_EMBEDDING_GAP:
        raise ValueError(
            f"{exported.bundle.directory}: the rebuilt backbone's embeddings differ by {gap:.1e}"
        )
    log.info("rebuilt backbone: embeddings within %.1e of the export's", gap)


def fit_heads(model: Any, batches: Any, projection: np.ndarray | None = None) -> None:
    """Imprint the AM-Softmax classes and set the teacher hint heads from ``(x, y)`` batches.

    The ``teacher_projection`` is ``projection`` when given (the export's own); every other
    hint head (:func:`hint_heads`) is fitted by ridge regression on its input.
    """
    if projection is not None and has_teacher_projection(model):
        model.get_layer(TEACHER_PROJECTION).kernel.assign(projection)
    heads = [name for name in hint_heads(model) if projection is None or name != TEACHER_PROJECTION]
    taps = keras.Model(
        model.inputs[0],
        {FEATURE_LAYER: model.get_layer(FEATURE_LAYER).output}
        | {head: model.get_layer(head).input for head in heads},
    )
    classifier = model.get_layer(CLASSIFIER_LAYER)
    class_sums = np.zeros(tuple(classifier.kernel.shape)[::-1])
    sums = {head: [0.0, 0.0] for head in heads}  # Gram matrix and cross product
    for x, y in batches:
        tapped = {
            name: np.asarray(t, dtype=np.float64) for name, t in taps(x, training=False).items()
        }
        labels = np.asarray(y[CLASSIFIER_LAYER] if isinstance(y, dict) else y)
        np.add.at(class_sums, labels[labels >= 0], unit_rows(tapped[FEATURE_LAYER])[labels >= 0])
        for head in heads:
            packed = np.asarray(y[OUTPUT_OF_HEAD[head]], dtype=np.float64)
            masked = unit_rows(tapped[head]) * packed[:, -1:]
            sums[head][0] += masked.T @ masked
            sums[head][1] += masked.T @ packed[:, :-1]
    imprint(classifier, class_sums)
    for head, (gram, cross) in sums.items():
        ridge = RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram))
        model.get_layer(head).kernel.assign(np.linalg.solve(gram + ridge, cross))
        log.info("%s: fitted by ridge regression", head)


def imprint(classifier: Any, class_sums: np.ndarray) -> None:
    """Set each class weight of ``classifier`` seen in ``class_sums`` to its mean direction."""
    seen = np.linalg.norm(class_sums, axis=1) > 0
    kernel = np.asarray(classifier.kernel).copy()
    kernel[:, seen] = unit_rows(class_sums[seen]).T
    classifier.kernel.assign(kernel)
    log.info("imprinted %d of %d classes", int(seen.sum()), len(seen))


def hint_heads(model: Any) -> list[str]:
    """Return the hint heads ``model`` has (:func:`training.model.network.wrap_distillation`)."""
    names = {layer.name for layer in model.layers}
    return [head for head in OUTPUT_OF_HEAD if head in names]


def warm_start_from_export(model: Any, model_dir: Path, dataset: Any, steps: int) -> None:
    """Initialise ``model`` from the export at ``model_dir`` (module docstring).

    Args:
        model: A compiled training model (:func:`training.model.build.build_training_model`).
        model_dir: An exported model directory (``model.onnx`` + ``metadata.json``).
        dataset: The run's training ``tf.data`` batches ``(x, y)``.
        steps: Batches to fit the heads on (one epoch); the first ``STATS_BATCHES`` of them
            also measure the batch-normalisation statistics.

    Raises:
        ValueError: The export is invalid (``ModelBundleError``) or does not fit ``model``
            (input or layers differ).
    """
    exported = OnnxEmbedder(model_dir)  # the service's reading of an export
    graph = exported_graph(exported.bundle.directory)
    convs = folded_convolutions(graph, model_dir)
    check_compatible(model, exported, convs)
    images = [np.asarray(x) for x, _ in dataset.take(STATS_BATCHES)]
    load_backbone(model, convs, images)
    check_reproduces(model, exported, images[0])
    served = TEACHER_PROJECTION in exported.metadata.embedding.layers
    projection = exported_projection(graph, model_dir) if served else None
    fit_heads(model, dataset.take(steps), projection)
    log.info("warm start from %s: backbone, batch norms and heads set", model_dir)
