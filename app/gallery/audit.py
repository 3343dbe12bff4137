"""Audit lines for changes to the gallery: the event, the person, the request; never biometrics.

Logged at INFO on the ``app.audit`` logger, e.g.
``faces_enrolled person=alice templates=2 model=default/1.0.0 request=4f29ff41...``.
"""

from __future__ import annotations

import logging

from app.logging_setup import request_id_var

audit_logger = logging.getLogger("app.audit")


def audit(event: str, person_id: str, **details: object) -> None:
    """Log one audit line; ``details`` must hold counts and ids only."""
    parts = [
        event,
        f"person={person_id}",
        *(f"{key}={value}" for key, value in details.items()),
        f"request={request_id_var.get()}",
    ]
    audit_logger.info(" ".join(parts))
