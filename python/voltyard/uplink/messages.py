"""What the uplink sends and how it caps what comes down: pure functions of their inputs.

The local events (voltyard.events.kinds) and stored readings become OCPP 1.6 payloads (a 2.x charger's
through voltyard.uplink.translate); a charging profile from the central system is capped to the site's
share of the charge point (the site limit always wins).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from voltyard.events.kinds import ConnectorStatusChanged, TransactionStarted
from voltyard.power.profiles import RateUnit
from voltyard.store.meter_log import MeterReading
from voltyard.uplink import translate

__all__ = [
    "STOP_REASONS",
    "Capped",
    "boot_request",
    "cap_profile",
    "iso",
    "meter_values_request",
    "start_request",
    "status_request",
    "stop_request",
]

# OCPP 1.6 StopTransaction.reason: a local reason outside it (a reconciliation's) goes up as "Other".
STOP_REASONS = frozenset({
    "EmergencyStop", "EVDisconnected", "HardReset", "Local", "Other", "PowerLoss", "Reboot", "Remote",
    "SoftReset", "UnlockCommand", "DeAuthorized",
})  # fmt: skip
# The nominal voltage a profile in amperes is converted at (the power manager's default: power/profiles.py).
_NOMINAL = RateUnit("A")


def iso(epoch_s: float) -> str:
    """An OCPP timestamp (UTC, milliseconds) for an instant."""
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def boot_request(boot: dict[str, str], charger_id: str) -> dict[str, str]:
    """BootNotification from the charge point's stored boot data (vendor and model are required: a charge
    point never booted locally, such as the cabinet's, is presented as Voltyard's)."""
    request = translate.boot_16({key: value for key, value in boot.items() if value})
    request.setdefault("chargePointVendor", "Voltyard")
    request.setdefault("chargePointModel", "local-controller")
    return request


def status_request(event: ConnectorStatusChanged, status: str) -> dict[str, Any]:
    """StatusNotification of the event with `status`, its 1.6 word (translate.status_16)."""
    return {
        "connectorId": event.connector_id,
        "errorCode": event.error_code,
        "status": status,
        "timestamp": iso(event.time),
    }


def start_request(event: TransactionStarted) -> dict[str, Any]:
    return {
        "connectorId": event.connector_id,
        "idTag": translate.id_tag_16(event.id_tag),
        "meterStart": event.meter_start,
        "timestamp": event.timestamp,
    }


def stop_request(
    transaction_id: int, meter_stop: int, timestamp: str, reason: str | None, id_tag: str | None
) -> dict[str, Any]:
    """StopTransaction naming the local transaction id (the upstream one is put in when it is sent)."""
    request: dict[str, Any] = {
        "transactionId": transaction_id,
        "meterStop": meter_stop,
        "timestamp": timestamp,
    }
    if reason:
        reason = translate.stop_reason_16(reason)
        request["reason"] = reason if reason in STOP_REASONS else "Other"
    if id_tag:
        request["idTag"] = id_tag
    return request


def meter_values_request(transaction_id: int, readings: list[MeterReading]) -> dict[str, Any] | None:
    """MeterValues of one transaction's stored readings, each meterValue as the charger sent it (a 2.x
    charger's sampled values in 1.6's shape: translate.sampled_values_16); None when no reading has a
    sampled value 1.6 can carry."""
    meter_value = []
    for reading in readings:
        sampled = translate.sampled_values_16(orjson.loads(reading.sampled_value))
        if sampled:
            meter_value.append({"timestamp": reading.timestamp, "sampledValue": sampled})
    if not meter_value:
        return None
    return {
        "connectorId": readings[0].connector_id,
        "transactionId": transaction_id,
        "meterValue": meter_value,
    }


@dataclass(frozen=True, slots=True)
class Capped:
    """A SetChargingProfile request after the cap: what was asked (kW, the highest period) and the cap."""

    request: dict[str, Any]
    requested_kw: float
    cap_kw: float
    unit: str

    @property
    def changed(self) -> bool:
        return self.requested_kw > self.cap_kw


def cap_profile(request: dict[str, Any], cap_kw: float) -> Capped:
    """Cap every period of the request's profile to `cap_kw` (in its own rate unit; amperes per phase at
    230 V on the period's phases, three when it names none). The request is not changed; a copy is."""
    capped = copy.deepcopy(request)
    profile = capped.get("csChargingProfiles") or capped.get("chargingProfile") or {}
    schedule = profile.get("chargingSchedule") or {}
    unit = str(schedule.get("chargingRateUnit", "W"))
    rate = RateUnit("W") if unit == "W" else RateUnit("A", _NOMINAL.voltage_v, _NOMINAL.phases)
    requested_kw = 0.0
    for period in schedule.get("chargingSchedulePeriod") or []:
        phases = period.get("numberPhases")
        phases = phases if phases in (1, 2, 3) else None
        limit = float(period.get("limit", 0.0))
        kw = rate.to_kw(limit, phases)
        requested_kw = max(requested_kw, kw)
        if kw > cap_kw:
            if unit == "W":
                period["limit"] = rate.from_kw(cap_kw)
            else:
                per_phase = RateUnit("A", _NOMINAL.voltage_v, phases or _NOMINAL.phases)
                period["limit"] = per_phase.from_kw(cap_kw)
    return Capped(capped, requested_kw, cap_kw, unit)
