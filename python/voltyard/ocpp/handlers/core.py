"""BootNotification, Heartbeat, StatusNotification and DataTransfer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltyard.ocpp.router import Payload, Router
from voltyard.ocpp.timefmt import utc_now
from voltyard.services import Services

if TYPE_CHECKING:
    from voltyard.gateway.connection import ChargerConnection

__all__ = ["register"]


def register(router: Router, services: Services) -> None:
    chargers = services.chargers
    vendors = services.vendors

    @router.on("BootNotification")
    def boot_notification(session: ChargerConnection, payload: Payload) -> Payload:
        status, interval = chargers.boot(session.charger_id, payload)
        session.admitted = status == "Accepted"
        if session.admitted:
            session.mark_ready()
        return {"status": status, "currentTime": utc_now(), "interval": interval}

    @router.on("Heartbeat")
    def heartbeat(session: ChargerConnection, payload: Payload) -> Payload:
        chargers.seen(session.charger_id)
        return {"currentTime": utc_now()}

    @router.on("StatusNotification")
    def status_notification(session: ChargerConnection, payload: Payload) -> Payload:
        chargers.status(session.charger_id, payload)
        return {}

    @router.on("DataTransfer")
    def data_transfer(session: ChargerConnection, payload: Payload) -> Payload:
        handler = vendors.get(payload["vendorId"])
        if handler is None:
            return {"status": "UnknownVendorId"}
        return handler(session.charger_id, payload.get("messageId"), payload.get("data"))
