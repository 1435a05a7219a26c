"""JSON shapes of the API (docs/api.md "Shapes"), built from domain objects and store rows."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from voltyard.domain.chargers import ChargerRecord
from voltyard.store.message_log import Exchange

if TYPE_CHECKING:
    from voltyard.runtime import Appliance

__all__ = ["TRANSACTION_COLUMNS", "charger_view", "exchange_view", "is_faulted", "transaction_view"]

TRANSACTION_COLUMNS = (
    "id, charger_id, connector_id, id_tag, meter_start, start_time, meter_stop, stop_time, stop_reason, "
    "stop_flag, stopped_at IS NULL, clock_skew"
)


def is_faulted(record: ChargerRecord) -> bool:
    return any(state.status == "Faulted" for state in record.connectors.values())


def charger_view(appliance: Appliance, record: ChargerRecord) -> dict[str, Any]:
    services = appliance.services
    assert services is not None
    return {
        "id": record.id,
        "registration": record.registration,
        "connected": appliance.registry.get(record.id) is not None,
        "online": record.online,
        "vendor": record.boot.get("chargePointVendor"),
        "model": record.boot.get("chargePointModel"),
        "firmware_version": record.boot.get("firmwareVersion"),
        "last_seen": record.last_seen or None,
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


def transaction_view(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    (tx_id, charger_id, connector_id, id_tag, meter_start, start_time, meter_stop, stop_time, reason, flag,
     active, skew) = row  # fmt: skip
    return {
        "id": tx_id,
        "charger_id": charger_id,
        "connector_id": connector_id,
        "id_tag": id_tag,
        "meter_start": meter_start,
        "start_time": start_time,
        "meter_stop": meter_stop,
        "stop_time": stop_time,
        "stop_reason": reason,
        "stop_flag": flag,
        "active": bool(active),
        "energy_wh": meter_stop - meter_start if meter_stop is not None else None,
        "clock_skew": bool(skew),
    }


def _text(frame: bytes | None) -> str | None:
    return None if frame is None else frame.decode("utf-8", "replace")


def exchange_view(exchange: Exchange) -> dict[str, Any]:
    return {
        "charger_id": exchange.charger_id,
        "direction": exchange.direction,
        "time": exchange.time,
        "message_type": exchange.message_type,
        "message_id": exchange.message_id,
        "action": exchange.action,
        "frame": _text(exchange.frame),
        "reply_type": exchange.reply_type,
        "reply": _text(exchange.reply),
        "reply_time": exchange.reply_time,
    }
