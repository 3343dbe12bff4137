"""Inference: image preparation and its workers, scheduling, batching and the model runtime."""
