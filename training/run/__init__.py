"""A training run: its inputs, data, callbacks, distribution, warm start and record."""
