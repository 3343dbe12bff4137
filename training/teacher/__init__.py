"""The teacher stage: embed prepared crops with the teacher; its cache and targets."""
