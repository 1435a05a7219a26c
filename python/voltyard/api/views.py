"""JSON shapes of the API (docs/api.md "Shapes"), built from domain objects and store rows.

Every time in them goes through `iso_utc` (times the appliance took) or `normalise_time` (times a charger
sent): one format, UTC ISO 8601 with milliseconds and a "Z".
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from voltyard.domain.chargers import ChargerRecord
from voltyard.events.kinds import category_of
from voltyard.ocpp.timefmt import charger_time, iso_utc, normalise_time
from voltyard.store.event_log import AlertState, LoggedEvent
from voltyard.store.queries import TransactionRow

if TYPE_CHECKING:
    from voltyard.runtime import Appliance

__all__ = [
    "alert_view",
    "charger_view",
    "event_view",
    "is_faulted",
    "optional_time",
    "transaction_view",
]


def optional_time(seconds: float | None) -> str | None:
    """A time the appliance took (unix seconds; 0 or None: never) in the API's form."""
    return iso_utc(seconds) if seconds else None


def _sent_time(text: str | None) -> str | None:
    return None if text is None else normalise_time(text)


def is_faulted(record: ChargerRecord) -> bool:
    return any(state.status == "Faulted" for state in record.connectors.values())


def charger_view(appliance: Appliance, record: ChargerRecord) -> dict[str, Any]:
    services = appliance.services
    assert services is not None
    connection = appliance.registry.get(record.id)
    # The connection knows when the charger last sent anything; the record, its last heartbeat or boot.
    last_seen = max(record.last_seen, connection.last_message if connection is not None else 0.0)
    return {
        "id": record.id,
        "registration": record.registration,
        "connected": connection is not None,
        "online": record.online,
        "vendor": record.boot.get("chargePointVendor"),
        "model": record.boot.get("chargePointModel"),
        "firmware_version": record.boot.get("firmwareVersion"),
        "last_seen": optional_time(last_seen),
        "security_profile": services.credentials.of(record.id).profile,
        "connectors": [
            {
                "connector_id": connector_id,
                "status": state.status,
                "error_code": state.error_code,
                "availability": state.availability,
                "info": state.info,
            }
            for connector_id, state in sorted(record.connectors.items())
        ],
    }


def transaction_view(row: TransactionRow) -> dict[str, Any]:
    """A transaction (the store read an active one's latest energy reading with it)."""
    (tx_id, charger_id, connector_id, id_tag, meter_start, start_time, meter_stop, stop_time, reason, flag,
     active, skew, reading) = row  # fmt: skip
    if meter_stop is not None:
        energy_wh: int | None = meter_stop - meter_start
    else:
        # An active one has delivered what its meter reads now (Energy.Active.Import.Register, in Wh: the
        # store converts kWh readings) less what it read at the start.
        energy_wh = round(reading) - meter_start if reading is not None else None
    started = charger_time(start_time)
    ended = (
        charger_time(stop_time)
        if stop_time is not None
        else (None if meter_stop is not None else time.time())
    )
    return {
        "id": tx_id,
        "charger_id": charger_id,
        "connector_id": connector_id,
        "id_tag": id_tag,
        "meter_start": meter_start,
        "start_time": normalise_time(start_time),
        "meter_stop": meter_stop,
        "stop_time": _sent_time(stop_time),
        "stop_reason": reason,
        "stop_flag": flag,
        "active": bool(active),
        "energy_wh": energy_wh,
        "duration_s": round(ended - started, 3) if started is not None and ended is not None else None,
        "clock_skew": bool(skew),
    }


def event_view(event: LoggedEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "time": iso_utc(event.time),
        "kind": event.kind,
        "category": category_of(event.kind, event.data),
        "charger_id": event.charger_id,
        "data": event.data,
    }


def alert_view(state: AlertState) -> dict[str, Any]:
    event = state.event
    return {
        "seq": event.seq,
        "time": iso_utc(event.time),
        "kind": event.kind,
        "charger_id": event.charger_id,
        "data": event.data,
        "acknowledged_by": state.acknowledged_by,
        "acknowledged_at": optional_time(state.acknowledged_at),
    }
