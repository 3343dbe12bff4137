"""faceverify HTTP service: FastAPI app serving an exported face-embedding model."""
