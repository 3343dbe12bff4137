"""The prepare stage: detect, align and cache face crops (and morphs of them)."""
