"""SecurityEventNotification and SignCertificate (OCPP 1.6 security extension).

A certificate signing request is recorded and raised as an event; signing it and sending
CertificateSigned is the job of whoever holds the CA (an integrator, through the commands API).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from voltyard.events.kinds import CertificateSigningRequested, SecurityEvent
from voltyard.ocpp.router import Payload, Router
from voltyard.ocpp.services import Services
from voltyard.store import certificate_requests

if TYPE_CHECKING:
    from voltyard.ocpp.session import Session

__all__ = ["register"]


def register(router: Router, services: Services) -> None:
    events = services.events
    store = services.store

    @router.on("SecurityEventNotification")
    def security_event(session: Session, payload: Payload) -> Payload:
        events.publish(
            SecurityEvent(session.charger_id, payload["type"], payload["timestamp"], payload.get("techInfo"))
        )
        return {}

    @router.on("SignCertificate")
    def sign_certificate(session: Session, payload: Payload) -> Payload:
        certificate_requests.append_request(store, session.charger_id, payload["csr"], time.time())
        events.publish(CertificateSigningRequested(session.charger_id, len(payload["csr"])))
        return {"status": "Accepted"}
