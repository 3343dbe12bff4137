"""Face preprocessing shared by training and serving: decode, detect, align, model pixels."""
