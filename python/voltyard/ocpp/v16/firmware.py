"""Firmware, diagnostics and log upload progress notifications (core and security extension)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltyard.events.kinds import (
    DiagnosticsStatusNotification,
    FirmwareStatusNotification,
    LogStatusNotification,
    SignedFirmwareStatusNotification,
)
from voltyard.ocpp.router import Payload, Router
from voltyard.ocpp.services import Services

if TYPE_CHECKING:
    from voltyard.ocpp.session import Session

__all__ = ["register"]


def register(router: Router, services: Services) -> None:
    chargers = services.chargers
    events = services.events

    def progress(
        kind: type[
            FirmwareStatusNotification
            | SignedFirmwareStatusNotification
            | DiagnosticsStatusNotification
            | LogStatusNotification
        ],
        column: str,
    ) -> None:
        # The event kind is the action's name: one name for what the charger sent and what was recorded.
        @router.on(kind.__name__)
        def notification(session: Session, payload: Payload) -> Payload:
            chargers.set_status_field(session.charger_id, column, payload["status"])
            events.publish(kind(session.charger_id, payload["status"], payload.get("requestId")))
            return {}

    progress(FirmwareStatusNotification, "firmware_status")
    progress(SignedFirmwareStatusNotification, "firmware_status")
    progress(DiagnosticsStatusNotification, "diagnostics_status")
    progress(LogStatusNotification, "log_status")
