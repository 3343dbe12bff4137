"""``python -m app``: serve with uvicorn on the configured host and port."""

from __future__ import annotations

import sys

import uvicorn

from app.settings import SettingsError, get_settings


def main() -> int:
    """Run the server until interrupted; returns the exit status."""
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"faceverify: {exc}", file=sys.stderr)
        return 2
    uvicorn.run("app.main:create_app", factory=True, host=settings.host, port=settings.port,
                log_config=None, access_log=False, timeout_graceful_shutdown=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
