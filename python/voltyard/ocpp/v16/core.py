"""BootNotification, Heartbeat, StatusNotification and DataTransfer."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from voltyard.ocpp.connector_ids import CHARGE_POINT_OR_CONNECTOR, check_id
from voltyard.ocpp.router import Payload, Router
from voltyard.ocpp.services import Services
from voltyard.ocpp.timefmt import charger_instant, utc_now

if TYPE_CHECKING:
    from voltyard.ocpp.session import Session

__all__ = ["register"]

# A connector that says it is free has no transaction any more.
_IDLE = frozenset({"Available", "Preparing"})
_LOWEST_CONNECTOR = CHARGE_POINT_OR_CONNECTOR[0]


def register(router: Router, services: Services) -> None:
    chargers = services.chargers
    vendors = services.vendors
    transactions = services.transactions
    health = services.health
    boot_storm = services.boot_storm

    @router.on("BootNotification")
    def boot_notification(session: Session, payload: Payload) -> Payload:
        status, interval = chargers.boot(session.charger_id, payload, boot_storm.defer())
        session.admitted = status == "Accepted"
        if session.admitted:
            session.mark_ready()
            if transactions.open_on(session.charger_id):
                # A boot is a reboot: whatever was open on the charger is over.
                transactions.reconcile(session.charger_id, "ChargerRebooted")
        return {"status": status, "currentTime": utc_now(), "interval": interval}

    @router.on("Heartbeat")
    def heartbeat(session: Session, payload: Payload) -> Payload:
        chargers.seen(session.charger_id, session.last_message)  # when it came
        return {"currentTime": utc_now()}

    @router.on("StatusNotification")
    def status_notification(session: Session, payload: Payload) -> Payload:
        charger_id = session.charger_id
        connector_id = payload["connectorId"]
        if connector_id < _LOWEST_CONNECTOR:  # `check_id`'s test first: nearly every frame passes it
            check_id(connector_id, "/connectorId", CHARGE_POINT_OR_CONNECTOR)
        chargers.status(charger_id, payload)
        if payload["status"] in _IDLE and connector_id > 0 and transactions.open_on(charger_id, connector_id):
            # Compared as instants: the codec let only RFC 3339 date-times through (a "Z" or an offset).
            timestamp = payload.get("timestamp")
            before = charger_instant(timestamp) if timestamp is not None else time.time()
            transactions.reconcile(charger_id, f"Connector{payload['status']}", connector_id, before)
        health.on_status(charger_id, payload)
        return {}

    @router.on("DataTransfer")
    def data_transfer(session: Session, payload: Payload) -> Payload:
        handler = vendors.get(payload["vendorId"])
        if handler is None:
            return {"status": "UnknownVendorId"}
        return handler(session.charger_id, payload.get("messageId"), payload.get("data"))
