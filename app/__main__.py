"""``python -m app``: serve with uvicorn on the configured host and port.

Start-up problems are reported in one line naming the setting to change, before the server
starts: invalid settings, a port already in use, a model directory that cannot be served.
"""

from __future__ import annotations

import sys

from app.main import create_app
from app.model_loading import ModelLoadError, load_model
from app.server import ListenError, bind_socket, build_server
from app.settings import SettingsError, get_settings


def main() -> int:
    """Run the server until stopped; returns the exit status."""
    try:
        settings = get_settings()
        sock = bind_socket(settings.host, settings.port)
        app = create_app(settings, preloaded=load_model(settings))
    except (SettingsError, ListenError, ModelLoadError) as exc:
        print(f"faceverify: {exc}", file=sys.stderr)
        return 2
    server = build_server(app, settings, app.state.service.begin_drain)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
