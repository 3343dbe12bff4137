"""The compiled training model of a run: backbone, head(s), losses and optimizer."""

from __future__ import annotations

from typing import Any

import keras

from training.config import TrainConfig, stage_hint_head
from training.model.distillation import (
    ContrastiveHintLoss,
    ProjectionCosineLoss,
    SimilarityMatrixLoss,
)
from training.model.losses import AMSoftmaxLoss
from training.model.network import build_resnet18, wrap_cnn, wrap_distillation


def make_optimizer(config: TrainConfig, steps_per_epoch: int, model: Any):
    """Adam (AdamW when weight decay is set) with a constant or warm-up + cosine rate.

    Weight decay (decoupled; Loshchilov & Hutter, ICLR 2019) applies to ``model``'s kernels
    only: biases and BatchNorm's scale and offset (every trainable vector) are left out, as is
    usual, since shrinking them changes what the layer computes rather than regularising it.
    """
    rate: Any = config.learning_rate
    if config.schedule == "cosine":
        total = config.epochs * steps_per_epoch
        warmup = min(int(round(config.warmup_epochs * steps_per_epoch)), total - 1)
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=config.learning_rate * 0.01 if warmup else config.learning_rate,
            decay_steps=max(total - warmup, 1),
            alpha=0.01,
            warmup_target=config.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    if config.weight_decay <= 0:
        return keras.optimizers.Adam(rate)
    optimizer = keras.optimizers.AdamW(rate, weight_decay=config.weight_decay)
    optimizer.exclude_from_weight_decay(var_list=decay_free_variables(model))
    return optimizer


def decay_free_variables(model: Any) -> list:
    """Return the trainable variables weight decay leaves alone: those of fewer than 2 axes."""
    return [variable for variable in model.trainable_variables if len(variable.shape) < 2]


def build_training_model(
    config: TrainConfig, num_classes: int, steps_per_epoch: int, teacher_dim: int | None = None
):
    """Build and compile ResNet18 + AM-Softmax head (call inside the strategy scope).

    With ``config.distill`` other than ``none``, the model also has the distillation
    outputs (:func:`training.model.network.wrap_distillation`) and their weighted losses.

    Raises:
        ValueError: Distillation without ``teacher_dim``.
    """
    backbone = build_resnet18(
        config.input_shape, num_classes, config.stage1_stride, bn_momentum=config.bn_momentum
    )
    margin_loss = AMSoftmaxLoss(config.scale, config.margin, config.always_subtract)
    if config.distill == "none":
        model = wrap_cnn(backbone, num_classes, dropout_rate=config.dropout)
        optimizer = make_optimizer(config, steps_per_epoch, model)
        model.compile(optimizer=optimizer, loss=margin_loss, metrics=["accuracy"])
        return model
    if teacher_dim is None:
        raise ValueError(f"distill={config.distill!r} needs the teacher's dimension")
    model = wrap_distillation(
        backbone,
        num_classes,
        teacher_dim,
        dropout_rate=config.dropout,
        hint_stages=tuple(config.stage_hints),
    )
    losses = {"predictions": margin_loss, **distillation_losses(config)}
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch, model),
        loss=losses,
        loss_weights=config.loss_weights,
        metrics={"predictions": ["accuracy"]},
    )
    return model


def distillation_losses(config: TrainConfig) -> dict[str, Any]:
    """Return the loss of each teacher output of a distillation model (weighted by config)."""
    projection = (
        ContrastiveHintLoss(config.contrastive_weight, config.contrastive_temperature)
        if config.contrastive_weight > 0
        else ProjectionCosineLoss()
    )
    losses = {"projection": projection, "embedding": SimilarityMatrixLoss()}
    for stage in config.stage_hints:
        losses[stage_hint_head(stage)] = ProjectionCosineLoss(name=f"stage{stage}_hint_loss")
    return losses
