"""Charger records: registration (the unknown-charger policy), boot data, connector states and status history.

Records live in memory for the hot path and are written behind to the store as telemetry; they are
loaded back at start, so a charger accepted before a restart stays accepted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from voltyard.config import OcppConfig
from voltyard.events.bus import EventBus
from voltyard.events.kinds import ChargerBooted, ChargerRegistered, ConnectorStatusChanged
from voltyard.store import chargers as charger_store
from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

__all__ = ["ChargerRecord", "Chargers", "ConnectorState"]

# Boot fields as (payload key, column): the order of store.chargers.BOOT_COLUMNS.
_BOOT_FIELDS = (
    ("chargePointVendor", "vendor"),
    ("chargePointModel", "model"),
    ("chargePointSerialNumber", "serial_number"),
    ("chargeBoxSerialNumber", "box_serial_number"),
    ("firmwareVersion", "firmware_version"),
    ("iccid", "iccid"),
    ("imsi", "imsi"),
    ("meterType", "meter_type"),
    ("meterSerialNumber", "meter_serial_number"),
)


@dataclass(slots=True)
class ConnectorState:
    """The last StatusNotification of one connector (0 = the charger as a whole)."""

    status: str
    error_code: str
    info: str | None = None
    vendor_error_code: str | None = None
    timestamp: str | None = None
    availability: str = "Operative"

    def reported(self) -> tuple[str, str, str | None, str | None]:
        """What a StatusNotification states, without when: two equal ones report the same state."""
        return self.status, self.error_code, self.info, self.vendor_error_code


@dataclass(slots=True)
class ChargerRecord:
    """What the central system knows of one charger."""

    id: str
    registration: str = "Unknown"
    boot: dict[str, str] = field(default_factory=dict)
    connectors: dict[int, ConnectorState] = field(default_factory=dict)
    last_seen: float = 0.0
    firmware_status: str | None = None
    diagnostics_status: str | None = None
    log_status: str | None = None
    security_profile: int = 0
    local_list_version: int = 0
    online: bool = False
    max_frame_size: int | None = None
    leniency: tuple[str, ...] = ()


class Chargers:
    """The charger registry of the domain: boot decisions, status, and everything read from it."""

    def __init__(self, config: OcppConfig, store: StoreWriter, events: EventBus) -> None:
        self.config = config
        self._store = store
        self._events = events
        self.records: dict[str, ChargerRecord] = {}
        self._seen: set[str] = set()

    def load(self, conn: Connection) -> None:
        """Fill the registry from the store (at start)."""
        for row in charger_store.load_chargers(conn):
            record = ChargerRecord(
                id=row.id,
                registration=row.registration,
                boot={key: row.boot[col] for key, col in _BOOT_FIELDS if col in row.boot},
                last_seen=row.last_seen or 0.0,
                firmware_status=row.firmware_status,
                diagnostics_status=row.diagnostics_status,
                log_status=row.log_status,
                security_profile=row.security_profile,
                local_list_version=row.local_list_version,
                max_frame_size=row.max_frame_size,
                leniency=tuple(rule for rule in (row.leniency or "").split(",") if rule),
            )
            self.records[record.id] = record
        for connector in charger_store.load_connectors(conn):
            owner = self.records.get(connector.charger_id)
            if owner is not None:
                owner.connectors[connector.connector_id] = ConnectorState(
                    connector.status,
                    connector.error_code,
                    connector.info,
                    connector.vendor_error_code,
                    connector.timestamp,
                    connector.availability,
                )

    def get(self, charger_id: str) -> ChargerRecord:
        """The record of `charger_id`, created (Unknown) on first sight."""
        record = self.records.get(charger_id)
        if record is None:
            record = self.records[charger_id] = ChargerRecord(charger_id)
            self._events.publish(ChargerRegistered(charger_id))
        return record

    def set_online(self, charger_id: str, *, online: bool) -> None:
        self.get(charger_id).online = online

    def max_frame_size(self, charger_id: str) -> int:
        """The largest message this charger may send: its own override, else the configured default."""
        record = self.records.get(charger_id)
        override = record.max_frame_size if record is not None else None
        return override or self.config.max_frame_size

    async def set_limits(
        self, charger_id: str, *, max_frame_size: int | None, leniency: tuple[str, ...] | None = None
    ) -> None:
        """Per-charger overrides (durable): the frame size limit and the tolerated deviations."""
        record = self.get(charger_id)
        rules = record.leniency if leniency is None else leniency
        now, listed = time.time(), ",".join(rules)
        await self._store.durable(
            lambda conn: charger_store.save_limits(conn, charger_id, max_frame_size, listed, now)
        )
        record.max_frame_size = max_frame_size
        record.leniency = rules

    def boot(self, charger_id: str, payload: dict[str, Any], defer: int | None = None) -> tuple[str, int]:
        """Decide a BootNotification: (status, interval). Known chargers keep Accepted/Rejected."""
        record = self.get(charger_id)
        now = time.time()
        if defer is not None and record.registration != "Rejected":
            # A boot storm: come back later, without changing what the charger is registered as.
            record.boot = {key: payload[key] for key, _ in _BOOT_FIELDS if key in payload}
            return "Pending", defer
        if record.registration in ("Accepted", "Rejected"):
            status = record.registration
        else:
            status = {"accept": "Accepted", "pending": "Pending", "reject": "Rejected"}[
                self.config.unknown_charger
            ]
        record.registration = status
        record.boot = {key: payload[key] for key, _ in _BOOT_FIELDS if key in payload}
        record.last_seen = now
        charger_store.append_boot(
            self._store, charger_id, tuple(payload.get(key) for key, _ in _BOOT_FIELDS), status, now
        )
        boot = record.boot
        self._events.publish(
            ChargerBooted(
                charger_id,
                status,
                charge_point_vendor=boot.get("chargePointVendor"),
                charge_point_model=boot.get("chargePointModel"),
                charge_point_serial_number=boot.get("chargePointSerialNumber"),
                charge_box_serial_number=boot.get("chargeBoxSerialNumber"),
                firmware_version=boot.get("firmwareVersion"),
                iccid=boot.get("iccid"),
                imsi=boot.get("imsi"),
                meter_type=boot.get("meterType"),
                meter_serial_number=boot.get("meterSerialNumber"),
            )
        )
        interval = self.config.heartbeat_interval if status == "Accepted" else self.config.pending_interval
        return status, interval

    def seen(self, charger_id: str, at: float) -> None:
        """A sign of life (a heartbeat received `at`): kept in memory; `flush_seen` writes it behind in one
        batch."""
        record = self.records.get(charger_id)
        if record is None:  # `get` would make one; known chargers skip its call
            record = self.get(charger_id)
        record.last_seen = at
        self._seen.add(charger_id)

    def flush_seen(self) -> int:
        """Write the last-seen times that changed since the previous flush; returns how many."""
        seen, self._seen = self._seen, set()
        for charger_id in seen:
            charger_store.append_seen(self._store, charger_id, self.records[charger_id].last_seen)
        return len(seen)

    def set_registration(self, charger_id: str, registration: str) -> None:
        """Accept, reject or set pending a charger (operator decision); effective at its next boot."""
        self.get(charger_id).registration = registration
        self._set_field(charger_id, "registration", registration)

    def status(self, charger_id: str, payload: dict[str, Any]) -> ConnectorState:
        """Record a StatusNotification: current state per connector plus the history row."""
        record = self.get(charger_id)
        connector_id: int = payload["connectorId"]
        previous = record.connectors.get(connector_id)
        state = ConnectorState(
            payload["status"],
            payload["errorCode"],
            payload.get("info"),
            payload.get("vendorErrorCode"),
            payload.get("timestamp"),
            previous.availability if previous else "Operative",
        )
        record.connectors[connector_id] = state
        now = time.time()
        row = (
            charger_id,
            connector_id,
            state.status,
            state.error_code,
            state.info,
            payload.get("vendorId"),
            state.vendor_error_code,
            state.timestamp,
            now,
        )
        # History is of changes: a repeated notification of the same state (chargers resend theirs after a
        # reconnect or a trigger) is in the message log, not a new history row.
        changed = previous is None or previous.reported() != state.reported()
        charger_store.append_status(self._store, row, changed=changed)
        if previous is None or previous.status != state.status or previous.error_code != state.error_code:
            before = previous.status if previous else None
            self._events.publish(
                ConnectorStatusChanged(charger_id, connector_id, state.status, state.error_code, before)
            )
        return state

    def set_availability(self, charger_id: str, connector_id: int, availability: str) -> None:
        """Record an accepted ChangeAvailability (connector 0 = every connector)."""
        record = self.get(charger_id)
        targets = list(record.connectors) if connector_id == 0 else [connector_id]
        for target in targets:
            state = record.connectors.setdefault(target, ConnectorState("Unknown", "NoError"))
            state.availability = availability
            charger_store.append_availability(self._store, charger_id, target, availability)

    def set_status_field(self, charger_id: str, column: str, value: str) -> None:
        """firmware_status, diagnostics_status or log_status from the charger's notifications."""
        setattr(self.get(charger_id), column, value)
        self._set_field(charger_id, column, value)

    def _set_field(self, charger_id: str, column: str, value: object) -> None:
        charger_store.append_field(self._store, charger_id, column, value, time.time())
