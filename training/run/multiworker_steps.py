"""The compiled steps of the multi-worker loop (:mod:`training.run.multiworker`): one batch each.

Each is a ``tf.function`` around ``strategy.run`` of a per-replica step, with the replicas'
sums (loss, correct predictions, example count) reduced with ``strategy.reduce``; the
per-example loss is averaged over the global batch, as TensorFlow's custom-training guide does.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from training.config import TrainConfig
from training.model.losses import AMSoftmaxLoss

SUM = tf.distribute.ReduceOp.SUM


def replica_sums(
    model: keras.Model, loss_fn: keras.losses.Loss, images, labels, training: bool
) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """Run the model on one replica's batch.

    Returns:
        ``(sums, per_example_loss)``: the batch's summed loss, correct predictions and
        example count (float32), and the per-example loss (for the gradient).
    """
    cosines = model(images, training=training)
    per_example = loss_fn(labels, cosines)
    labels = tf.reshape(tf.cast(labels, tf.int64), [-1])
    correct = tf.equal(tf.argmax(cosines, axis=-1), labels)
    sums = {
        "loss": tf.reduce_sum(per_example),
        "correct": tf.reduce_sum(tf.cast(correct, tf.float32)),
        "count": tf.cast(tf.size(labels), tf.float32),
    }
    return sums, per_example


def make_train_step(
    strategy: tf.distribute.Strategy, model: keras.Model, loss_fn: keras.losses.Loss
):
    """Return a ``tf.function`` that trains one global batch from a distributed iterator."""
    optimizer = model.optimizer

    def replica_step(images, labels):
        # the exact global batch (the last one of a pass may be short or split unevenly)
        global_batch = tf.distribute.get_replica_context().all_reduce(
            SUM, tf.cast(tf.shape(labels)[0], tf.float32)
        )
        with tf.GradientTape() as tape:
            sums, per_example = replica_sums(model, loss_fn, images, labels, training=True)
            loss = tf.reduce_sum(per_example) / tf.maximum(global_batch, 1.0)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = optimizer.scale_loss(loss)  # loss scaling under mixed_float16
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return sums

    @tf.function
    def train_step(iterator):
        sums = strategy.run(replica_step, args=next(iterator))
        return {key: strategy.reduce(SUM, value, axis=None) for key, value in sums.items()}

    return train_step


def make_eval_step(
    strategy: tf.distribute.Strategy, model: keras.Model, loss_fn: keras.losses.Loss
):
    """Return a ``tf.function`` that sums loss, correct and count over one global batch."""

    def replica_step(images, labels):
        return replica_sums(model, loss_fn, images, labels, training=False)[0]

    @tf.function
    def eval_step(images, labels):
        sums = strategy.run(replica_step, args=(images, labels))
        return {key: strategy.reduce(SUM, value, axis=None) for key, value in sums.items()}

    return eval_step


def make_sync_step(strategy: tf.distribute.Strategy, model: keras.Model):
    """Return a ``tf.function`` that averages the float non-trainable variables over replicas.

    Keras 3 creates the batch-normalisation moving statistics with aggregation ``"none"``,
    so under a mirrored strategy each replica updates only its own copy and the workers
    drift apart. The moving averages are linear in the batch statistics, so averaging the
    copies once an epoch equals averaging every step (Keras 2's ``MEAN`` aggregation).
    """
    variables = [v for v in model.non_trainable_variables if "float" in str(v.dtype)]

    def replica_sync():
        context = tf.distribute.get_replica_context()
        means = context.all_reduce(
            tf.distribute.ReduceOp.MEAN, [tf.identity(v.value) for v in variables]
        )
        for variable, mean in zip(variables, means, strict=True):
            variable.assign(mean)

    @tf.function
    def sync_step():
        strategy.run(replica_sync)

    return sync_step


def build_steps(strategy: tf.distribute.Strategy, model: keras.Model, config: TrainConfig) -> tuple:
    """Return the loop's ``(train_step, eval_step, sync_step)`` functions."""
    loss_fn = AMSoftmaxLoss(config.scale, config.margin, config.always_subtract, reduction=None)
    return (
        make_train_step(strategy, model, loss_fn),
        make_eval_step(strategy, model, loss_fn),
        make_sync_step(strategy, model),
    )
