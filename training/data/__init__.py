"""Training data on disk: identity folders, images, augmentation, datasets, pairs."""
