"""Where the test fixtures live: shared by every test module (import it, not conftest)."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
TINY_MODEL = FIXTURES / "tiny_model"  # a random-weight export: the service's mechanics only
